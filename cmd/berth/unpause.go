package main

import (
	"github.com/spf13/cobra"
)

func newCmdUnpause(streams *IOStreams, g *GlobalOptions, runF func(*PauseOptions) error) *cobra.Command {
	opts := &PauseOptions{Streams: streams, Global: g}
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Containers = args
			if runF != nil {
				return runF(opts)
			}
			c := engineClient(opts.Global)
			defer c.Close()
			return eachRef(opts.Streams, opts.Containers, func(ref string) error {
				return c.ContainerUnpause(cmd.Context(), ref)
			})
		},
	}
}
