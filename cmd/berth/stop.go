package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// StopOptions are the flags of `berth stop` and `berth restart`.
type StopOptions struct {
	Containers []string
	Signal     string
	Timeout    int
	// TimeoutSet says -t was given; otherwise the container's own stop
	// timeout applies.
	TimeoutSet bool
	Streams    *IOStreams
	Global     *GlobalOptions
}

// stopFlags registers -s and -t (and docker's old --time).
func stopFlags(cmd *cobra.Command, opts *StopOptions) {
	f := cmd.Flags()
	f.StringVarP(&opts.Signal, "signal", "s", "", "signal to send to the container")
	f.IntVarP(&opts.Timeout, "timeout", "t", 0, "seconds to wait before killing the container (-1 waits forever)")
	f.IntVar(&opts.Timeout, "time", 0, "seconds to wait before killing the container")
	_ = f.MarkHidden("time")
}

func (o *StopOptions) api(cmd *cobra.Command) (api.StopOptions, error) {
	var out api.StopOptions
	if o.Signal != "" {
		name, _, err := api.ParseSignal(o.Signal)
		if err != nil {
			return out, usageError(err)
		}
		out.Signal = name
	}
	if cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time") {
		t := o.Timeout
		out.Timeout = &t
	}
	return out, nil
}

func newCmdStop(streams *IOStreams, g *GlobalOptions, runF func(*StopOptions) error) *cobra.Command {
	return newCmdStopping(streams, g, runF, "stop", "Stop one or more running containers", (*api.Client).ContainerStop)
}

func newCmdRestart(streams *IOStreams, g *GlobalOptions, runF func(*StopOptions) error) *cobra.Command {
	return newCmdStopping(streams, g, runF, "restart", "Restart one or more containers", (*api.Client).ContainerRestart)
}

// newCmdStopping builds stop and restart, which take the same flags and
// differ only in the request they send.
func newCmdStopping(streams *IOStreams, g *GlobalOptions, runF func(*StopOptions) error, use, short string,
	call func(*api.Client, context.Context, string, api.StopOptions) error) *cobra.Command {
	opts := &StopOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: short,
		Args:  minArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		opts.Containers = args
		so, err := opts.api(cmd)
		if err != nil {
			return err
		}
		if runF != nil {
			return runF(opts)
		}
		c := engineClient(opts.Global)
		defer c.Close()
		return eachRef(opts.Streams, opts.Containers, func(ref string) error {
			return call(c, cmd.Context(), ref, so)
		})
	}
	stopFlags(cmd, opts)
	return cmd
}
