package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// RmOptions are the flags of `berth rm`.
type RmOptions struct {
	Containers []string
	Force      bool
	Volumes    bool
	Streams    *IOStreams
	Global     *GlobalOptions
}

func newCmdRm(streams *IOStreams, g *GlobalOptions, use string, runF func(*RmOptions) error) *cobra.Command {
	opts := &RmOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Containers = args
			if runF != nil {
				return runF(opts)
			}
			return runRm(cmd.Context(), opts)
		},
	}
	if use == "rm" {
		cmd.Aliases = []string{"remove"}
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&opts.Volumes, "volumes", "v", false, "remove anonymous volumes associated with the container")
	return cmd
}

// runRm removes each container; with -f a container that does not exist
// is no error, as with docker rm -f.
func runRm(ctx context.Context, opts *RmOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	var errs []error
	for _, ref := range opts.Containers {
		err := c.ContainerRemove(ctx, ref, api.RemoveOptions{Force: opts.Force, Volumes: opts.Volumes})
		switch {
		case err == nil:
			opts.Streams.Out.Write([]byte(ref + "\n"))
		case opts.Force && errors.Is(err, api.ErrNotFound):
		default:
			errs = append(errs, engineError(err))
		}
	}
	return reportAll(opts.Streams, errs)
}
