package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// ContainerPruneOptions are the flags of `berth container prune`.
type ContainerPruneOptions struct {
	Force   bool
	Filters []string
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdContainerPrune(streams *IOStreams, g *GlobalOptions, runF func(*ContainerPruneOptions) error) *cobra.Command {
	opts := &ContainerPruneOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runContainerPrune(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "do not prompt for confirmation")
	cmd.Flags().StringArrayVar(&opts.Filters, "filter", nil, "provide filter values (e.g. \"until=<timestamp>\", \"label=<key>=<value>\")")
	return cmd
}

// confirm asks the question on standard output and reads the answer, as
// docker's prune commands do.
func confirm(streams *IOStreams, warning string) bool {
	fmt.Fprint(streams.Out, warning+"\nAre you sure you want to continue? [y/N] ")
	answer, _ := bufio.NewReader(streams.In).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes"
}

func runContainerPrune(ctx context.Context, opts *ContainerPruneOptions) error {
	filters, err := parseFilters(opts.Filters)
	if err != nil {
		return err
	}
	for k := range filters {
		if k != "until" && k != "label" && k != "label!" {
			return usageErrorf("invalid filter %q: container prune takes until and label", k)
		}
	}
	if !opts.Force && !confirm(opts.Streams, "WARNING! This will remove all stopped containers.") {
		return nil
	}
	c := engineClient(opts.Global)
	defer c.Close()
	rep, err := c.ContainersPrune(ctx, filters)
	if err != nil {
		return engineError(err)
	}
	if len(rep.ContainersDeleted) > 0 {
		fmt.Fprintln(opts.Streams.Out, "Deleted Containers:")
		for _, id := range rep.ContainersDeleted {
			fmt.Fprintln(opts.Streams.Out, id)
		}
		fmt.Fprintln(opts.Streams.Out)
	}
	fmt.Fprintf(opts.Streams.Out, "Total reclaimed space: %s\n", humanSize(int64(rep.SpaceReclaimed)))
	return nil
}
