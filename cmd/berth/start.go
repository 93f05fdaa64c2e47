package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// StartOptions are the flags of `berth start`.
type StartOptions struct {
	Containers  []string
	Attach      bool
	Interactive bool
	DetachKeys  string
	Streams     *IOStreams
	Global      *GlobalOptions
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
	cmd.Flags().BoolVarP(&opts.Interactive, "interactive", "i", false, "attach container's STDIN")
	cmd.Flags().StringVar(&opts.DetachKeys, "detach-keys", "", "override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
	return cmd
}

func runStart(ctx context.Context, opts *StartOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	if !opts.Attach && !opts.Interactive {
		return eachRef(opts.Streams, opts.Containers, func(ref string) error {
			return c.ContainerStart(ctx, ref)
		})
	}
	if len(opts.Containers) > 1 {
		return usageErrorf("you cannot start and attach multiple containers at once")
	}
	keysFlag := detachKeys(opts.DetachKeys, opts.Streams)
	keys, err := parseDetachKeys(keysFlag)
	if err != nil {
		return err
	}
	ref := opts.Containers[0]
	info, err := c.ContainerInspect(ctx, ref, false)
	if err != nil {
		return engineError(err)
	}
	var cfg api.ContainerConfig
	if info.Config != nil {
		cfg = *info.Config
	}
	o := attachOptions{
		// As docker: stdin only to a container created to take it (-i).
		stdin: opts.Interactive && cfg.OpenStdin, tty: cfg.Tty,
		detachKeys: keysFlag, keys: keys, sigProxy: !cfg.Tty,
		autoRemove: info.HostConfig != nil && info.HostConfig.AutoRemove,
	}
	if err := checkTTY(opts.Streams.In, o.stdin, o.tty); err != nil {
		return err
	}
	code, err := runAttached(ctx, c, opts.Streams, info.ID, o, func(ctx context.Context) error {
		return engineError(c.ContainerStart(ctx, info.ID))
	})
	if errors.Is(err, errDetached) {
		return nil
	}
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
