package main

import (
	"context"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// TopOptions are the arguments of `berth top`.
type TopOptions struct {
	Container string
	PsArgs    string
	Streams   *IOStreams
	Global    *GlobalOptions
}

func newCmdTop(streams *IOStreams, g *GlobalOptions, runF func(*TopOptions) error) *cobra.Command {
	opts := &TopOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Container, opts.PsArgs = args[0], strings.Join(args[1:], " ")
			if runF != nil {
				return runF(opts)
			}
			return runTop(cmd.Context(), opts)
		},
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func runTop(ctx context.Context, opts *TopOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	top, err := c.ContainerTop(ctx, opts.Container, opts.PsArgs)
	if err != nil {
		return engineError(err)
	}
	// docker top's layout: columns at least 20 wide.
	w := tabwriter.NewWriter(opts.Streams.Out, 20, 1, 3, ' ', 0)
	w.Write([]byte(strings.Join(top.Titles, "\t") + "\n"))
	for _, p := range top.Processes {
		w.Write([]byte(strings.Join(p, "\t") + "\n"))
	}
	return w.Flush()
}
