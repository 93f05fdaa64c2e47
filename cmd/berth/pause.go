package main

import (
	"github.com/spf13/cobra"
)

// PauseOptions are the arguments of `berth pause` and `berth unpause`.
type PauseOptions struct {
	Containers []string
	Streams    *IOStreams
	Global     *GlobalOptions
}

func newCmdPause(streams *IOStreams, g *GlobalOptions, runF func(*PauseOptions) error) *cobra.Command {
	opts := &PauseOptions{Streams: streams, Global: g}
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Containers = args
			if runF != nil {
				return runF(opts)
			}
			c := engineClient(opts.Global)
			defer c.Close()
			return eachRef(opts.Streams, opts.Containers, func(ref string) error {
				return c.ContainerPause(cmd.Context(), ref)
			})
		},
	}
}
