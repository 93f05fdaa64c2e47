package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// ImagesOptions are the flags of `berth images` (and `berth image ls`).
type ImagesOptions struct {
	Repository string
	All        bool
	Quiet      bool
	Digests    bool
	NoTrunc    bool
	Filters    []string
	Format     string
	Streams    *IOStreams
	Global     *GlobalOptions
	Now        func() time.Time
}

func newCmdImages(streams *IOStreams, g *GlobalOptions, use string, runF func(*ImagesOptions) error) *cobra.Command {
	opts := &ImagesOptions{Streams: streams, Global: g, Now: time.Now}
	cmd := &cobra.Command{
		Use:     use + " [OPTIONS] [REPOSITORY[:TAG]]",
		Short:   "List images",
		Args:    maxArgs(1),
		Aliases: aliasesFor(use),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Repository = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runImages(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.All, "all", "a", false, "show all images (default hides intermediate images)")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "only show image IDs")
	f.BoolVar(&opts.Digests, "digests", false, "show digests")
	f.BoolVar(&opts.NoTrunc, "no-trunc", false, "don't truncate output")
	f.StringArrayVarP(&opts.Filters, "filter", "f", nil, "filter output based on conditions provided (dangling, label, before, since, reference, until)")
	f.StringVar(&opts.Format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	return cmd
}

func aliasesFor(use string) []string {
	if use == "ls" {
		return []string{"list"}
	}
	return nil
}

// maxArgs is cobra.MaximumNArgs with the wording and exit code of a usage
// error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageErrorf("%q accepts at most %d argument(s); see berth %s --help", cmd.CommandPath(), n, cmd.Name())
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs as a usage error.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErrorf("%q requires at least %d argument(s); see %s --help", cmd.CommandPath(), n, cmd.CommandPath())
		}
		return nil
	}
}

// exactArgs is cobra.ExactArgs as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%q requires exactly %d argument(s); see %s --help", cmd.CommandPath(), n, cmd.CommandPath())
		}
		return nil
	}
}

var imageHeaders = map[string]string{
	"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
	"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
	"Containers": "CONTAINERS", "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
}

func runImages(ctx context.Context, opts *ImagesOptions) error {
	filters, err := parseFilters(opts.Filters)
	if err != nil {
		return err
	}
	if opts.Repository != "" {
		filters["reference"] = append(filters["reference"], opts.Repository)
	}
	c := engineClient(opts.Global)
	defer c.Close()
	images, err := c.ImageList(ctx, api.ImageListOptions{All: opts.All, Digests: opts.Digests, Filters: filters})
	if err != nil {
		return engineError(err)
	}
	rows := imageRows(images, opts)
	if opts.Quiet {
		seen := map[string]bool{}
		for _, r := range rows {
			id := r["ID"].(string)
			if !seen[id] {
				seen[id] = true
				fmt.Fprintln(opts.Streams.Out, id)
			}
		}
		return nil
	}
	format := opts.Format
	switch format {
	case "", "table":
		format = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		if opts.Digests {
			format = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		}
	case "json":
		format = "{{json .}}"
	}
	return writeRows(opts.Streams, format, imageHeaders, rows)
}

// imageRows makes docker's rows: one per repository tag, <none> for
// untagged images.
func imageRows(images []api.ImageSummary, opts *ImagesOptions) []map[string]any {
	now := opts.Now()
	var rows []map[string]any
	for _, im := range images {
		id := im.ID
		if !opts.NoTrunc {
			id = strings.TrimPrefix(id, "sha256:")[:12]
		}
		created := time.Unix(im.Created, 0)
		base := func(repo, tag, digest string) map[string]any {
			return map[string]any{
				"ID": id, "Repository": repo, "Tag": tag, "Digest": digest,
				"CreatedSince": humanDuration(now.Sub(created)) + " ago",
				"CreatedAt":    created.Format("2006-01-02 15:04:05 -0700 MST"),
				"Size":         humanSize(im.Size), "VirtualSize": humanSize(im.Size),
				"SharedSize": naSize(im.SharedSize), "UniqueSize": naSize(im.Size - max(im.SharedSize, 0)),
				"Containers": naCount(im.Containers),
			}
		}
		digestOf := func(repo string) string {
			for _, d := range im.RepoDigests {
				if r, dg, ok := strings.Cut(d, "@"); ok && r == repo {
					return dg
				}
			}
			return "<none>"
		}
		if len(im.RepoTags) == 0 {
			repo := "<none>"
			digest := "<none>"
			if len(im.RepoDigests) > 0 {
				repo, digest, _ = strings.Cut(im.RepoDigests[0], "@")
			}
			rows = append(rows, base(repo, "<none>", digest))
			continue
		}
		for _, t := range im.RepoTags {
			i := strings.LastIndex(t, ":")
			repo, tag := t[:i], t[i+1:]
			rows = append(rows, base(repo, tag, digestOf(repo)))
		}
	}
	return rows
}

func naSize(n int64) string {
	if n < 0 {
		return "N/A"
	}
	return humanSize(n)
}

func naCount(n int64) string {
	if n < 0 {
		return "N/A"
	}
	return fmt.Sprint(n)
}
