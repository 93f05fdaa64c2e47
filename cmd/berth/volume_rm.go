package main

import (
	"github.com/spf13/cobra"
)

// VolumeRmOptions are the flags of `berth volume rm`.
type VolumeRmOptions struct {
	Names   []string
	Force   bool
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdVolumeRm(streams *IOStreams, g *GlobalOptions, runF func(*VolumeRmOptions) error) *cobra.Command {
	opts := &VolumeRmOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			c := engineClient(opts.Global)
			defer c.Close()
			return eachRef(opts.Streams, opts.Names, func(name string) error {
				return c.VolumeRemove(cmd.Context(), name, opts.Force)
			})
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "force the removal of one or more volumes")
	return cmd
}
