package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// AttachOptions are the flags of `berth attach`.
type AttachOptions struct {
	Container  string
	NoStdin    bool
	SigProxy   bool
	DetachKeys string
	Streams    *IOStreams
	Global     *GlobalOptions
}

func newCmdAttach(streams *IOStreams, g *GlobalOptions, runF func(*AttachOptions) error) *cobra.Command {
	opts := &AttachOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Long: `Attach local standard input, output, and error streams to a running
container, until it exits (berth then exits with its status) or Ctrl-P
Ctrl-Q (--detach-keys) detaches, leaving it running. Its output from now
on is shown; stdin goes to it when it was created with -i.`,
		Example: `  berth run -dit --name box busybox sh
  berth attach box`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Container = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runAttach(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.NoStdin, "no-stdin", false, "do not attach STDIN")
	fl.BoolVar(&opts.SigProxy, "sig-proxy", true, "proxy all received signals to the process (without a TTY)")
	fl.StringVar(&opts.DetachKeys, "detach-keys", "", "override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
	return cmd
}

// attachable inspects ref and says, as docker does, why it cannot be
// attached to.
func attachable(ctx context.Context, c *api.Client, ref string) (*api.ContainerJSON, error) {
	info, err := c.ContainerInspect(ctx, ref, false)
	if err != nil {
		return nil, engineError(err)
	}
	st := info.State
	switch {
	case st == nil || !st.Running:
		return nil, errors.New("cannot attach to a stopped container, start it first")
	case st.Paused:
		return nil, errors.New("cannot attach to a paused container, unpause it first")
	case st.Restarting:
		return nil, errors.New("cannot attach to a restarting container, wait until it is running")
	}
	return info, nil
}

func runAttach(ctx context.Context, opts *AttachOptions) error {
	keysFlag := detachKeys(opts.DetachKeys, opts.Streams)
	keys, err := parseDetachKeys(keysFlag)
	if err != nil {
		return err
	}
	c := engineClient(opts.Global)
	defer c.Close()
	session, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	// The wait first, so that an exit between the checks and the attach
	// still reports its status; no condition, as docker sends none (the
	// engine's default, not-running).
	waitCh, err := c.ContainerWait(session, opts.Container, "")
	if err != nil {
		return engineError(err)
	}
	info, err := attachable(ctx, c, opts.Container)
	if err != nil {
		return err
	}
	var cfg api.ContainerConfig
	if info.Config != nil {
		cfg = *info.Config
	}
	if err := checkTTY(opts.Streams.In, !opts.NoStdin, cfg.Tty); err != nil {
		return err
	}
	stdin := !opts.NoStdin && cfg.OpenStdin
	var interrupt <-chan struct{}
	if opts.SigProxy && !cfg.Tty {
		stop := proxySignals(session, c, info.ID)
		defer stop()
	} else {
		interrupt = ctx.Done()
	}
	hj, err := c.ContainerAttach(session, info.ID, api.ContainerAttachOptions{Stream: true, Stdin: stdin, Stdout: true, Stderr: true, DetachKeys: keysFlag})
	if err != nil {
		return engineError(err)
	}
	defer hj.Close()
	// It may have stopped while berth attached: the stream would then
	// wait for nothing.
	if _, err := attachable(ctx, c, info.ID); err != nil {
		return err
	}
	if cfg.Tty {
		if h, w, ok := terminalSize(opts.Streams.Out); ok {
			// A size that differs makes the shell redraw its prompt
			// for this new client (as docker does); the monitor then
			// sets the true one.
			_ = c.ContainerResize(session, info.ID, h+1, w+1)
		}
		stop := monitorSize(session, opts.Streams.Out, opts.Streams.ErrOut, func(ctx context.Context, h, w uint) error {
			return c.ContainerResize(ctx, info.ID, h, w)
		})
		defer stop()
	}
	s := &hijackSession{streams: opts.Streams, hj: hj, stdin: stdin, tty: cfg.Tty, keys: keys}
	if err := sessionEnd(ctx, s.run(interrupt), opts.Streams); err != nil {
		if errors.Is(err, errDetached) {
			fmt.Fprintln(opts.Streams.ErrOut, err.Error())
			return silentExit(ExitFailure)
		}
		return err
	}
	select {
	case r := <-waitCh:
		switch {
		case r.Err != nil:
			return fmt.Errorf("waiting for %s: %w", opts.Container, r.Err)
		case r.Response.Error != nil:
			return fmt.Errorf("waiting for %s: %s", opts.Container, r.Response.Error.Message)
		case r.Response.StatusCode != 0:
			return silentExit(r.Response.StatusCode)
		}
		return nil
	case <-interrupt:
		return ctx.Err()
	}
}
