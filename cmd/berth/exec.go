package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// ExecOptions are the flags of `berth exec`.
type ExecOptions struct {
	Container   string
	Command     []string
	Detach      bool
	Interactive bool
	TTY         bool
	Env         []string
	EnvFiles    []string
	User        string
	Workdir     string
	Privileged  bool
	DetachKeys  string
	Streams     *IOStreams
	Global      *GlobalOptions
}

func newCmdExec(streams *IOStreams, g *GlobalOptions, runF func(*ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Long: `Execute a command in a running container. berth exits with the command's
status: 126 when it cannot be invoked, 127 when it is not found, as docker.
With -i berth's standard input is the command's; with -t the command has
a terminal, berth's own is raw and follows its size, and Ctrl-P Ctrl-Q
(--detach-keys) detaches, leaving the command running.`,
		Example: `  berth exec web cat /etc/hostname
  berth exec -it web sh
  berth exec -d -e MODE=fast -w /srv -u 1000 web ./reindex`,
		Args: minArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Container, opts.Command = args[0], args[1:]
			if runF != nil {
				return runF(opts)
			}
			return runExec(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	// The command's own flags pass through (exec web ls -l).
	fl.SetInterspersed(false)
	fl.BoolVarP(&opts.Detach, "detach", "d", false, "detached mode: run command in the background")
	fl.BoolVarP(&opts.Interactive, "interactive", "i", false, "keep STDIN open even if not attached")
	fl.BoolVarP(&opts.TTY, "tty", "t", false, "allocate a pseudo-TTY")
	fl.StringArrayVarP(&opts.Env, "env", "e", nil, "set environment variables (KEY=VALUE, or KEY to take it from here)")
	fl.StringArrayVar(&opts.EnvFiles, "env-file", nil, "read in a file of environment variables")
	fl.StringVarP(&opts.User, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	fl.StringVarP(&opts.Workdir, "workdir", "w", "", "working directory inside the container")
	fl.BoolVar(&opts.Privileged, "privileged", false, "give extended privileges to the command")
	fl.StringVar(&opts.DetachKeys, "detach-keys", "", "override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
	return cmd
}

// request is the exec the docker CLI would create, after the checks that
// need no engine.
func (o *ExecOptions) request(keys string) (*api.ExecCreateRequest, error) {
	if o.Workdir != "" && !path.IsAbs(o.Workdir) {
		return nil, usageErrorf("the working directory '%s' is invalid, it needs to be an absolute path", o.Workdir)
	}
	env, err := (&ContainerFlags{Env: o.Env, EnvFiles: o.EnvFiles}).environment()
	if err != nil {
		return nil, err
	}
	req := &api.ExecCreateRequest{
		Cmd: o.Command, Env: env, User: o.User, WorkingDir: o.Workdir,
		Privileged: o.Privileged, Tty: o.TTY, DetachKeys: keys,
	}
	if !o.Detach {
		req.AttachStdout, req.AttachStderr = true, true
		req.AttachStdin = o.Interactive
	}
	return req, nil
}

func runExec(ctx context.Context, opts *ExecOptions) error {
	keysFlag := detachKeys(opts.DetachKeys, opts.Streams)
	keys, err := parseDetachKeys(keysFlag)
	if err != nil {
		return err
	}
	req, err := opts.request(keysFlag)
	if err != nil {
		return err
	}
	c := engineClient(opts.Global)
	defer c.Close()
	// As docker: a missing container is said before a terminal problem,
	// and nothing is created on the engine that cannot be started.
	if _, err := c.ContainerInspect(ctx, opts.Container, false); err != nil {
		return engineError(err)
	}
	if !opts.Detach {
		if err := checkTTY(opts.Streams.In, req.AttachStdin, req.Tty); err != nil {
			return err
		}
	}
	if h, w, ok := terminalSize(opts.Streams.Out); ok && req.Tty {
		req.ConsoleSize = &[2]uint{h, w}
	}
	id, err := c.ExecCreate(ctx, opts.Container, req)
	if err != nil {
		return engineError(err)
	}
	start := api.ExecStartRequest{Detach: opts.Detach, Tty: req.Tty, ConsoleSize: req.ConsoleSize}
	if opts.Detach {
		_, err := c.ExecStart(ctx, id, start)
		return engineError(err)
	}

	// berth's interrupt ends the session and leaves the process running,
	// as with docker exec, which has no --sig-proxy; on a terminal Ctrl-C
	// is a key that goes to the process instead.
	session, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	hj, err := c.ExecStart(session, id, start)
	if err != nil {
		return engineError(err)
	}
	defer hj.Close()
	s := &hijackSession{streams: opts.Streams, hj: hj, stdin: req.AttachStdin, tty: req.Tty, keys: keys}
	streamed := make(chan error, 1)
	go func() { streamed <- s.run(ctx.Done()) }()
	if req.Tty {
		stop := monitorSize(session, opts.Streams.Out, opts.Streams.ErrOut, func(ctx context.Context, h, w uint) error {
			return c.ExecResize(ctx, id, h, w)
		})
		defer stop()
	}
	if err := sessionEnd(ctx, <-streamed, opts.Streams); err != nil {
		if errors.Is(err, errDetached) {
			// docker exec says so and fails: the command's status is
			// not known.
			fmt.Fprintln(opts.Streams.ErrOut, err.Error())
			return silentExit(ExitFailure)
		}
		return err
	}
	code, err := execExitCode(session, c, id)
	if err != nil {
		return err
	}
	if code != 0 {
		return silentExit(code)
	}
	return nil
}

// execExitCode is the exec's status once it has ended. The engine records
// it as the stream ends; the short wait covers an answer that comes
// between the two.
func execExitCode(ctx context.Context, c *api.Client, id string) (int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ei, err := c.ExecInspect(ctx, id)
		if err != nil {
			return 0, engineError(err)
		}
		if ei.ExitCode != nil && !ei.Running {
			return *ei.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("exec %s: its output ended but the engine reports no exit status", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
