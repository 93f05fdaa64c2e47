package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// DiffOptions are the arguments of `berth diff`.
type DiffOptions struct {
	Container string
	Streams   *IOStreams
	Global    *GlobalOptions
}

func newCmdDiff(streams *IOStreams, g *GlobalOptions, runF func(*DiffOptions) error) *cobra.Command {
	opts := &DiffOptions{Streams: streams, Global: g}
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Long: `Inspect changes to files or directories on a container's filesystem since
it was created from its image: A added, C changed, D deleted.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Container = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runDiff(cmd.Context(), opts)
		},
	}
}

func runDiff(ctx context.Context, opts *DiffOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	changes, err := c.ContainerDiff(ctx, opts.Container)
	if err != nil {
		return engineError(err)
	}
	for _, ch := range changes {
		fmt.Fprintf(opts.Streams.Out, "%s %s\n", api.ChangeKindString(ch.Kind), ch.Path)
	}
	return nil
}
