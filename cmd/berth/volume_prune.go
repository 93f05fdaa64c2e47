package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// VolumePruneOptions are the flags of `berth volume prune`.
type VolumePruneOptions struct {
	All     bool
	Force   bool
	Filters []string
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdVolumePrune(streams *IOStreams, g *GlobalOptions, runF func(*VolumePruneOptions) error) *cobra.Command {
	opts := &VolumePruneOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runVolumePrune(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.All, "all", "a", false, "remove all unused volumes, not just anonymous ones")
	f.BoolVarP(&opts.Force, "force", "f", false, "do not prompt for confirmation")
	f.StringArrayVar(&opts.Filters, "filter", nil, "provide filter values (e.g. \"label=<label>\")")
	return cmd
}

func runVolumePrune(ctx context.Context, opts *VolumePruneOptions) error {
	filters, err := parseFilters(opts.Filters)
	if err != nil {
		return err
	}
	for k := range filters {
		if k != "label" && k != "label!" && k != "all" {
			return usageErrorf("invalid filter %q: volume prune takes label", k)
		}
	}
	warning := "WARNING! This will remove anonymous local volumes not used by at least one container."
	if opts.All {
		filters["all"] = []string{"true"}
		warning = "WARNING! This will remove all local volumes not used by at least one container."
	}
	if !opts.Force && !confirm(opts.Streams, warning) {
		return nil
	}
	c := engineClient(opts.Global)
	defer c.Close()
	rep, err := c.VolumesPrune(ctx, filters)
	if err != nil {
		return engineError(err)
	}
	if len(rep.VolumesDeleted) > 0 {
		fmt.Fprintln(opts.Streams.Out, "Deleted Volumes:")
		for _, n := range rep.VolumesDeleted {
			fmt.Fprintln(opts.Streams.Out, n)
		}
		fmt.Fprintln(opts.Streams.Out)
	}
	fmt.Fprintf(opts.Streams.Out, "Total reclaimed space: %s\n", humanSize(int64(rep.SpaceReclaimed)))
	return nil
}
