package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// ImagePruneOptions are the flags of `berth image prune`.
type ImagePruneOptions struct {
	All     bool
	Force   bool
	Filters []string
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdImagePrune(streams *IOStreams, g *GlobalOptions, runF func(*ImagePruneOptions) error) *cobra.Command {
	opts := &ImagePruneOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runImagePrune(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.All, "all", "a", false, "remove all unused images, not just dangling ones")
	f.BoolVarP(&opts.Force, "force", "f", false, "do not prompt for confirmation")
	f.StringArrayVar(&opts.Filters, "filter", nil, "provide filter values (e.g. \"until=<timestamp>\", \"label=<key>=<value>\")")
	return cmd
}

func runImagePrune(ctx context.Context, opts *ImagePruneOptions) error {
	filters, err := parseFilters(opts.Filters)
	if err != nil {
		return err
	}
	for k := range filters {
		if k != "until" && k != "label" && k != "label!" {
			return usageErrorf("invalid filter %q: image prune takes until and label", k)
		}
	}
	warning := "WARNING! This will remove all dangling images."
	if opts.All {
		filters["dangling"] = []string{"false"}
		warning = "WARNING! This will remove all images without at least one container associated to them."
	}
	if !opts.Force {
		fmt.Fprint(opts.Streams.Out, warning+"\nAre you sure you want to continue? [y/N] ")
		answer, _ := bufio.NewReader(opts.Streams.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return nil
		}
	}
	c := engineClient(opts.Global)
	defer c.Close()
	rep, err := c.ImagesPrune(ctx, filters)
	if err != nil {
		return engineError(err)
	}
	if len(rep.ImagesDeleted) > 0 {
		fmt.Fprintln(opts.Streams.Out, "Deleted Images:")
		for _, d := range rep.ImagesDeleted {
			if d.Untagged != "" {
				fmt.Fprintln(opts.Streams.Out, "untagged: "+d.Untagged)
			} else {
				fmt.Fprintln(opts.Streams.Out, "deleted: "+d.Deleted)
			}
		}
		fmt.Fprintln(opts.Streams.Out)
	}
	fmt.Fprintf(opts.Streams.Out, "Total reclaimed space: %s\n", humanSize(int64(rep.SpaceReclaimed)))
	return nil
}
