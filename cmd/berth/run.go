package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// RunOptions are the flags of `berth run`.
type RunOptions struct {
	Image   string
	Args    []string
	Detach  bool
	Flags   ContainerFlags
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdRun(streams *IOStreams, g *GlobalOptions, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Long: `Create and run a new container from an image. Without -d, berth waits for the
container, shows its output and exits with its status; 125 means the
container did not run (berth or the engine failed), 126 that its command
cannot be invoked, 127 that it was not found. Ctrl-C is passed to the
container.`,
		Example: `  berth run --rm busybox echo hi
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
	// The message must not begin as cobra's do: run() would call it exit 2.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitEngine, err: fmt.Errorf("run: %w", err)}
	})
	return cmd
}

// runFailure gives a failure of run docker's exit status: 125 unless it
// already is 125, 126 or 127 or the container's own (silentExit).
func runFailure(err error) error {
	var ee *exitError
	var se silentExit
	switch {
	case err == nil, errors.As(err, &se):
		return err
	case errors.As(err, &ee) && ee.code >= ExitEngine && ee.code <= ExitNotFound:
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
	code, err := runAttached(ctx, c, opts.Streams, resp.ID, req.HostConfig.AutoRemove, func(ctx context.Context) error {
		if err := c.ContainerStart(ctx, resp.ID); err != nil {
			return startError(err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return silentExit(code)
	}
	return nil
}

// runAttached is docker run's dance: attach, register the wait (for the
// removal with --rm), start, copy the output until the container's
// streams end, then return its status. SIGINT and SIGTERM go to the
// container meanwhile; the session outlives berth's own interrupt so the
// status still arrives. A failed start returns start's error, after the
// engine removed an AutoRemove container.
func runAttached(ctx context.Context, c *api.Client, streams *IOStreams, id string, autoRemove bool, start func(context.Context) error) (int, error) {
	session, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	hj, err := c.ContainerAttach(session, id, api.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return 0, engineError(err)
	}
	defer hj.Close()
	cond := api.WaitNextExit
	if autoRemove {
		cond = api.WaitRemoved
	}
	waitCh, err := c.ContainerWait(session, id, cond)
	if err != nil {
		return 0, engineError(err)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	copied := make(chan error, 1)
	go func() {
		var err error
		if hj.Multiplexed {
			_, err = api.StdCopy(streams.Out, streams.ErrOut, hj.Reader)
		} else {
			_, err = io.Copy(streams.Out, hj.Reader)
		}
		copied <- err
	}()
	if err := start(session); err != nil {
		hj.Close()
		if autoRemove {
			// The engine removes a container whose start failed; say so
			// only after it has.
			select {
			case <-waitCh:
			case <-time.After(10 * time.Second):
			}
		}
		return 0, err
	}
	forward := func(s os.Signal) {
		name := "SIGTERM"
		if s == os.Interrupt {
			name = "SIGINT"
		}
		go c.ContainerKill(session, id, name)
	}
	for done := false; !done; {
		select {
		case s := <-sigs:
			forward(s)
		case err := <-copied:
			if err != nil {
				fmt.Fprintln(streams.ErrOut, "berth: "+err.Error())
			}
			done = true
		}
	}
	for {
		select {
		case s := <-sigs:
			forward(s)
		case r := <-waitCh:
			switch {
			case r.Err != nil:
				return 0, &exitError{code: ExitEngine, err: fmt.Errorf("waiting for the container: %w", r.Err)}
			case r.Response.Error != nil:
				return 0, &exitError{code: ExitEngine, err: fmt.Errorf("waiting for the container: %s", r.Response.Error.Message)}
			}
			return r.Response.StatusCode, nil
		}
	}
}
