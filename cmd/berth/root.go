package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// DefaultHost is the engine's socket when neither -H nor BERTH_HOST says
// otherwise.
const DefaultHost = "unix:///run/berth/berth.sock"

// GlobalOptions are the flags every command takes.
type GlobalOptions struct {
	Debug bool
	// Host is the engine's address as given; SocketPath is its parsed form.
	Host       string
	SocketPath string
}

// newRootCmd builds the berth command tree.
func newRootCmd(streams *IOStreams) *cobra.Command {
	return newRootCmdWith(streams, &GlobalOptions{})
}

// newRootCmdWith builds the command tree around g, which PersistentPreRunE
// fills before any command runs.
func newRootCmdWith(streams *IOStreams, g *GlobalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "berth",
		Short: "Turn this machine into a verified container host, and run its containers",
		Long: `Berth checks a host, configures it, and runs containers on it with its own
engine, which speaks the Docker Engine API.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.Debug {
				slog.SetDefault(slog.New(slog.NewTextHandler(streams.ErrOut, &slog.HandlerOptions{Level: slog.LevelDebug})))
			}
			if !cmd.Flags().Changed("host") {
				if env := os.Getenv("BERTH_HOST"); env != "" {
					g.Host = env
				}
			}
			p, err := parseHost(g.Host)
			if err != nil {
				return usageError(err)
			}
			g.SocketPath = p
			return nil
		},
	}
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetIn(streams.In)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.CompletionOptions.HiddenDefaultCmd = false

	pf := root.PersistentFlags()
	pf.BoolVarP(&g.Debug, "debug", "D", false, "print debug logs to standard error")
	pf.StringVarP(&g.Host, "host", "H", DefaultHost, "engine socket: unix:///path or a path (env BERTH_HOST)")

	root.AddCommand(
		newCmdVersion(streams, g, nil),
		newCmdCheck(streams, nil),
		newCmdDaemon(streams, g, nil),
		newCmdInfo(streams, g, nil),
		newCmdLogin(streams, g, nil),
		newCmdLogout(streams, nil),
		newCmdMirror(streams, g),
		newCmdVerify(streams, g, nil),
	)
	root.AddCommand(imageCommands(streams, g)...)
	root.AddCommand(containerCommands(streams, g)...)
	root.AddCommand(containerInternalCommands()...)
	return root
}

// parseHost accepts "unix:///path" or an absolute path and returns the
// socket path.
func parseHost(h string) (string, error) {
	switch {
	case h == "":
		return "", errors.New("empty engine address (-H/BERTH_HOST)")
	case strings.HasPrefix(h, "unix://"):
		p := strings.TrimPrefix(h, "unix://")
		if !strings.HasPrefix(p, "/") {
			return "", fmt.Errorf("engine address %q: the socket path must be absolute (unix:///path)", h)
		}
		return p, nil
	case strings.HasPrefix(h, "/"):
		return h, nil
	case strings.Contains(h, "://"):
		scheme, _, _ := strings.Cut(h, "://")
		return "", fmt.Errorf("engine address %q: %s is not supported; Berth's engine listens on a unix socket (unix:///path)", h, scheme)
	}
	return "", fmt.Errorf("engine address %q: expected unix:///path or an absolute path", h)
}

// run executes berth with args and returns the exit code.
func run(args []string, streams *IOStreams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var se silentExit
	if errors.As(err, &se) {
		// The container's own status, even when it came after an
		// interrupt that berth passed on to it.
		return exitCode(err)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(streams.ErrOut, "berth: interrupted")
		return ExitInterrupted
	}
	code := exitCode(err)
	if isCobraUsageError(err) {
		code = ExitUsage
	}
	fmt.Fprintln(streams.ErrOut, "berth: "+err.Error())
	return code
}

// isCobraUsageError recognises the errors cobra itself returns for a wrong
// command line (it has no types for them).
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
