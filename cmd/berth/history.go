package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// HistoryOptions are the flags of `berth history`.
type HistoryOptions struct {
	Image   string
	Human   bool
	NoTrunc bool
	Quiet   bool
	Format  string
	Streams *IOStreams
	Global  *GlobalOptions
	Now     func() time.Time
}

func newCmdHistory(streams *IOStreams, g *GlobalOptions, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{Streams: streams, Global: g, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Image = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runHistory(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	// docker's -H shorthand for --human would clash with the global -H/--host.
	f.BoolVar(&opts.Human, "human", true, "print sizes and dates in human readable format")
	f.BoolVar(&opts.NoTrunc, "no-trunc", false, "don't truncate output")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "only show image IDs")
	f.StringVar(&opts.Format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	return cmd
}

var historyHeaders = map[string]string{
	"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
}

func runHistory(ctx context.Context, opts *HistoryOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	items, err := c.ImageHistory(ctx, opts.Image)
	if err != nil {
		return engineError(err)
	}
	now := opts.Now()
	var rows []map[string]any
	for _, it := range items {
		id := it.ID
		if !opts.NoTrunc && strings.HasPrefix(id, "sha256:") {
			id = strings.TrimPrefix(id, "sha256:")[:12]
		}
		created := time.Unix(it.Created, 0)
		by := strings.Join(strings.Fields(strings.ReplaceAll(it.CreatedBy, "\t", " ")), " ")
		if !opts.NoTrunc && len([]rune(by)) > 45 {
			by = string([]rune(by)[:44]) + "…"
		}
		row := map[string]any{
			"ID": id, "CreatedBy": by, "Comment": it.Comment, "Tags": it.Tags,
			"CreatedSince": humanDuration(now.Sub(created)) + " ago",
			"CreatedAt":    created.Format(time.RFC3339), "Size": humanSize(it.Size),
		}
		if !opts.Human {
			row["CreatedSince"] = created.Format(time.RFC3339)
			row["Size"] = it.Size
		}
		rows = append(rows, row)
	}
	if opts.Quiet {
		for _, r := range rows {
			opts.Streams.Out.Write([]byte(r["ID"].(string) + "\n"))
		}
		return nil
	}
	format := opts.Format
	switch format {
	case "", "table":
		format = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
	case "json":
		format = "{{json .}}"
	}
	return writeRows(opts.Streams, format, historyHeaders, rows)
}
