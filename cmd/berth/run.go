package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// RunOptions are the flags of `berth run`.
type RunOptions struct {
	Image      string
	Args       []string
	Detach     bool
	SigProxy   bool
	DetachKeys string
	Flags      ContainerFlags
	Streams    *IOStreams
	Global     *GlobalOptions
}

func newCmdRun(streams *IOStreams, g *GlobalOptions, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Long: `Create and run a new container from an image. Without -d, berth waits for the
container, shows its output and exits with its status; 125 means the
container did not run (berth or the engine failed), 126 that its command
cannot be invoked, 127 that it was not found. Signals berth receives are
passed to the container (--sig-proxy), except with -t.

With -i, berth's standard input is the container's; with -t, the
container has a terminal, berth's own is raw while attached and follows
its size, and Ctrl-P Ctrl-Q (--detach-keys) detaches, leaving the
container running (berth attach reconnects).`,
		Example: `  berth run --rm busybox echo hi
  berth run -it --rm busybox sh
  echo hi | berth run --rm -i busybox cat
  berth run -d --name web --restart unless-stopped --memory 256m nginx:1.22`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return runFailure(usageErrorf("\"berth run\" requires at least 1 argument: the image; see berth run --help"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Image, opts.Args = args[0], args[1:]
			if runF != nil {
				return runF(opts)
			}
			return runFailure(runRun(cmd.Context(), opts))
		},
	}
	containerFlagSet(cmd, &opts.Flags)
	cmd.Flags().BoolVarP(&opts.Detach, "detach", "d", false, "run container in background and print container ID")
	cmd.Flags().BoolVar(&opts.SigProxy, "sig-proxy", true, "proxy received signals to the process (without -t)")
	cmd.Flags().StringVar(&opts.DetachKeys, "detach-keys", "", "override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
	// The message must not begin as cobra's do: run() would call it exit 2.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitEngine, err: fmt.Errorf("run: %w", err)}
	})
	return cmd
}

// runFailure gives a failure of run docker's exit status: 125 unless it
// already is 125, 126 or 127, 1 (no terminal for -it, as docker's) or the
// container's own (silentExit).
func runFailure(err error) error {
	var ee *exitError
	var se silentExit
	switch {
	case err == nil, errors.As(err, &se):
		return err
	case errors.As(err, &ee) && (ee.code >= ExitEngine && ee.code <= ExitNotFound || ee.code == ExitFailure):
		return err
	}
	return &exitError{code: ExitEngine, err: err}
}

// startError is a failed start, with docker's status for what the engine
// said: the command not found (127) or not invocable (126).
func startError(err error) error {
	msg := err.Error()
	code := ExitEngine
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
		code = ExitNotFound
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "is a directory"):
		code = ExitCannotInvoke
	}
	return &exitError{code: code, err: engineError(err)}
}

func runRun(ctx context.Context, opts *RunOptions) error {
	req, err := opts.Flags.request(opts.Image, opts.Args, opts.Detach)
	if err != nil {
		return err
	}
	keysFlag := detachKeys(opts.DetachKeys, opts.Streams)
	keys, err := parseDetachKeys(keysFlag)
	if err != nil {
		return err
	}
	if !opts.Detach {
		if err := checkTTY(opts.Streams.In, req.AttachStdin, req.Tty); err != nil {
			return err
		}
	}
	if h, w, ok := terminalSize(opts.Streams.Out); ok && req.Tty {
		// The terminal has the user's size from its first instant.
		req.HostConfig.ConsoleSize = [2]uint{h, w}
	}
	c := engineClient(opts.Global)
	defer c.Close()
	resp, err := createContainer(ctx, c, opts.Streams, &opts.Flags, req)
	if err != nil {
		return engineError(err)
	}
	if opts.Detach {
		if err := c.ContainerStart(ctx, resp.ID); err != nil {
			return startError(err)
		}
		fmt.Fprintln(opts.Streams.Out, resp.ID)
		return nil
	}
	o := attachOptions{
		stdin: req.AttachStdin, tty: req.Tty, detachKeys: keysFlag, keys: keys,
		// With a terminal, the keys are the signals (Ctrl-C is a byte
		// on it), as docker has it.
		sigProxy:   opts.SigProxy && !req.Tty,
		autoRemove: req.HostConfig.AutoRemove,
	}
	code, err := runAttached(ctx, c, opts.Streams, resp.ID, o, func(ctx context.Context) error {
		if err := c.ContainerStart(ctx, resp.ID); err != nil {
			return startError(err)
		}
		return nil
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

// attachOptions say how runAttached joins the user to a container.
type attachOptions struct {
	stdin, tty bool
	// detachKeys is sent to the engine as given ("" for its default);
	// keys is the same sequence, parsed, for the client's own watch.
	detachKeys string
	keys       []byte
	sigProxy   bool
	autoRemove bool
}

// runAttached is docker run's dance: attach, register the wait (for the
// removal with --rm), start, stream until the container's output ends,
// then return its status. With sigProxy the signals berth receives go to
// the container and the session outlives berth's own interrupt, so the
// status still arrives; without, the interrupt ends the session and
// leaves the container running. A terminal's size follows the user's. A
// failed start returns start's error, after the engine removed an
// AutoRemove container; the detach sequence returns errDetached.
func runAttached(ctx context.Context, c *api.Client, streams *IOStreams, id string, o attachOptions, start func(context.Context) error) (int, error) {
	session, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	hj, err := c.ContainerAttach(session, id, api.ContainerAttachOptions{Stream: true, Stdin: o.stdin, Stdout: true, Stderr: true, DetachKeys: o.detachKeys})
	if err != nil {
		return 0, engineError(err)
	}
	defer hj.Close()
	cond := api.WaitNextExit
	if o.autoRemove {
		cond = api.WaitRemoved
	}
	waitCh, err := c.ContainerWait(session, id, cond)
	if err != nil {
		return 0, engineError(err)
	}
	var interrupt <-chan struct{}
	if o.sigProxy {
		stop := proxySignals(session, c, id)
		defer stop()
	} else {
		interrupt = ctx.Done()
	}
	s := &hijackSession{streams: streams, hj: hj, stdin: o.stdin, tty: o.tty, keys: o.keys}
	streamed := make(chan error, 1)
	go func() { streamed <- s.run(interrupt) }()
	if err := start(session); err != nil {
		hj.Close()
		<-streamed
		if o.autoRemove {
			// The engine removes a container whose start failed; say so
			// only after it has.
			select {
			case <-waitCh:
			case <-time.After(10 * time.Second):
			}
		}
		return 0, err
	}
	if o.tty {
		stop := monitorSize(session, streams.Out, streams.ErrOut, func(ctx context.Context, h, w uint) error {
			return c.ContainerResize(ctx, id, h, w)
		})
		defer stop()
	}
	if err := sessionEnd(ctx, <-streamed, streams); err != nil {
		return 0, err
	}
	select {
	case r := <-waitCh:
		switch {
		case r.Err != nil:
			return 0, &exitError{code: ExitEngine, err: fmt.Errorf("waiting for the container: %w", r.Err)}
		case r.Response.Error != nil:
			return 0, &exitError{code: ExitEngine, err: fmt.Errorf("waiting for the container: %s", r.Response.Error.Message)}
		}
		return r.Response.StatusCode, nil
	case <-interrupt:
		return 0, ctx.Err()
	}
}

// sessionEnd says what the end of a session means for the command: a
// broken output stream is reported and the status still awaited; the
// detach sequence and interrupts end the command (errDetached, ctx's
// error, 128 + the signal), as does a session that could not begin.
func sessionEnd(ctx context.Context, err error, streams *IOStreams) error {
	var hup errHangup
	var oe *outputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &oe):
		fmt.Fprintln(streams.ErrOut, "berth: "+err.Error())
		return nil
	case errors.Is(err, errDetached):
		return errDetached
	case errors.Is(err, errInterrupted):
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	case errors.As(err, &hup):
		code := ExitFailure
		if n, ok := hup.sig.(syscall.Signal); ok {
			code = 128 + int(n)
		}
		return &exitError{code: code, err: err}
	}
	return err
}
