package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// StartOptions are the flags of `berth start`.
type StartOptions struct {
	Containers []string
	Attach     bool
	Streams    *IOStreams
	Global     *GlobalOptions
}

func newCmdStart(streams *IOStreams, g *GlobalOptions, runF func(*StartOptions) error) *cobra.Command {
	opts := &StartOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Containers = args
			if runF != nil {
				return runF(opts)
			}
			return runStart(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Attach, "attach", "a", false, "attach STDOUT/STDERR and forward signals; exit with the container's status")
	return cmd
}

func runStart(ctx context.Context, opts *StartOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	if !opts.Attach {
		return eachRef(opts.Streams, opts.Containers, func(ref string) error {
			return c.ContainerStart(ctx, ref)
		})
	}
	if len(opts.Containers) > 1 {
		return usageErrorf("you cannot start and attach multiple containers at once")
	}
	ref := opts.Containers[0]
	info, err := c.ContainerInspect(ctx, ref, false)
	if err != nil {
		return engineError(err)
	}
	code, err := runAttached(ctx, c, opts.Streams, info.ID, info.HostConfig != nil && info.HostConfig.AutoRemove, func(ctx context.Context) error {
		return engineError(c.ContainerStart(ctx, info.ID))
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return silentExit(code)
	}
	return nil
}

// eachRef does op for every reference (a container, a volume), printing
// each one that succeeds as docker does, and going on after failures: each
// is reported, the last is the command's error.
func eachRef(streams *IOStreams, refs []string, op func(ref string) error) error {
	var errs []error
	for _, ref := range refs {
		if err := op(ref); err != nil {
			errs = append(errs, engineError(err))
			continue
		}
		fmt.Fprintln(streams.Out, ref)
	}
	return reportAll(streams, errs)
}

// reportAll prints all but the last error and returns the last.
func reportAll(streams *IOStreams, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, e := range errs[:len(errs)-1] {
		fmt.Fprintln(streams.ErrOut, "berth: "+e.Error())
	}
	return errs[len(errs)-1]
}
