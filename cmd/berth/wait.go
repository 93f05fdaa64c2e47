package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// WaitOptions are the arguments of `berth wait`.
type WaitOptions struct {
	Containers []string
	Streams    *IOStreams
	Global     *GlobalOptions
}

func newCmdWait(streams *IOStreams, g *GlobalOptions, runF func(*WaitOptions) error) *cobra.Command {
	opts := &WaitOptions{Streams: streams, Global: g}
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Containers = args
			if runF != nil {
				return runF(opts)
			}
			return runWait(cmd.Context(), opts)
		},
	}
}

// runWait prints each container's status in turn; a failure is reported
// and the others still waited for.
func runWait(ctx context.Context, opts *WaitOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	var errs []error
	for _, ref := range opts.Containers {
		ch, err := c.ContainerWait(ctx, ref, api.WaitNotRunning)
		if err != nil {
			errs = append(errs, engineError(err))
			continue
		}
		r := <-ch
		switch {
		case r.Err != nil:
			errs = append(errs, r.Err)
		case r.Response.Error != nil:
			errs = append(errs, fmt.Errorf("waiting for %s: %s", ref, r.Response.Error.Message))
		default:
			fmt.Fprintln(opts.Streams.Out, r.Response.StatusCode)
		}
	}
	return reportAll(opts.Streams, errs)
}
