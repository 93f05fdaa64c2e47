package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// KillOptions are the flags of `berth kill`.
type KillOptions struct {
	Containers []string
	Signal     string
	Streams    *IOStreams
	Global     *GlobalOptions
}

func newCmdKill(streams *IOStreams, g *GlobalOptions, runF func(*KillOptions) error) *cobra.Command {
	opts := &KillOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Containers = args
			if runF != nil {
				return runF(opts)
			}
			return runKill(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Signal, "signal", "s", "", "signal to send to the container (default KILL)")
	return cmd
}

func runKill(ctx context.Context, opts *KillOptions) error {
	sig := ""
	if opts.Signal != "" {
		name, _, err := api.ParseSignal(opts.Signal)
		if err != nil {
			return usageError(err)
		}
		sig = name
	}
	c := engineClient(opts.Global)
	defer c.Close()
	return eachRef(opts.Streams, opts.Containers, func(ref string) error {
		return c.ContainerKill(ctx, ref, sig)
	})
}
