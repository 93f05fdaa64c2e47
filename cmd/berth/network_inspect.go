package main

import (
	"context"

	"github.com/spf13/cobra"
)

// NetworkInspectOptions are the flags of `berth network inspect`.
type NetworkInspectOptions struct {
	Names   []string
	Format  string
	Verbose bool
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdNetworkInspect(streams *IOStreams, g *GlobalOptions, runF func(*NetworkInspectOptions) error) *cobra.Command {
	opts := &NetworkInspectOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			return runNetworkInspect(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Format, "format", "f", "", "format output using a Go template or 'json'")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "verbose output for diagnostics (a local network shows the same)")
	return cmd
}

func runNetworkInspect(ctx context.Context, opts *NetworkInspectOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	return printInspected(opts.Streams, opts.Format, opts.Names, func(name string) (inspected, error) {
		n, raw, err := c.NetworkInspectWithRaw(ctx, name)
		if err != nil {
			return inspected{}, engineError(err)
		}
		return inspected{n, raw}, nil
	})
}
