package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/daemon"
)

// newImageBackend builds the engine's image backend over the store under
// the data root. The image store's wiring sets it (in its own file, in an
// init function); a binary without it refuses to start the daemon.
var newImageBackend daemon.NewImagesFunc

// newContainerBackend builds the container engine over the image store;
// set like newImageBackend. A binary (or test) without it serves images
// alone.
var newContainerBackend daemon.NewContainersFunc

// DaemonOptions are the flags of `berth daemon`.
type DaemonOptions struct {
	ConfigFile string
	DataRoot   string
	Group      string
	BIP        string
	// Validate checks the configuration and exits, as dockerd --validate.
	Validate bool
	// Flags are the settings given on the command line (-H and --debug
	// included), which daemon.json must not contradict.
	Flags   daemon.Flags
	Global  *GlobalOptions
	Streams *IOStreams
}

func newCmdDaemon(streams *IOStreams, g *GlobalOptions, runF func(*DaemonOptions) error) *cobra.Command {
	opts := &DaemonOptions{Global: g, Streams: streams}
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the container engine (normally started by systemd)",
		Long: `Run Berth's engine: serve the Docker Engine API on a unix socket (-H, default
unix:///run/berth/berth.sock, owned root:berth with mode 0660), or on the
socket systemd passes. Settings come from daemon.json (--config-file), with
Docker's keys; a flag and the file must not disagree. SIGHUP reloads the
registry mirrors; SIGTERM stops after the requests in flight.`,
		Example: `  berth daemon
  berth daemon -H unix:///tmp/berth.sock --data-root /tmp/berth --config-file /dev/null`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if f.Changed("data-root") {
				opts.Flags.DataRoot = &opts.DataRoot
			}
			if f.Changed("group") {
				opts.Flags.Group = &opts.Group
			}
			if f.Changed("bip") {
				opts.Flags.BIP = &opts.BIP
			}
			if f.Changed("debug") {
				opts.Flags.Debug = &g.Debug
			}
			// The daemon listens where -H says; BERTH_HOST is the
			// clients' setting, as DOCKER_HOST is not dockerd's.
			if f.Changed("host") {
				opts.Flags.Hosts = []string{g.Host}
			}
			if runF != nil {
				return runF(opts)
			}
			return runDaemon(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.ConfigFile, "config-file", daemon.DefaultConfigFile, "daemon configuration file (Docker's daemon.json keys)")
	fl.StringVar(&opts.DataRoot, "data-root", daemon.DefaultDataRoot, "where the engine keeps its state")
	fl.StringVarP(&opts.Group, "group", "G", daemon.DefaultGroup, "group that owns the API socket")
	fl.StringVar(&opts.BIP, "bip", "", "the bridge's address and prefix (default 10.213.0.1/16, or the next free /16)")
	fl.BoolVar(&opts.Validate, "validate", false, "check the configuration file and flags, then exit")
	return cmd
}

func runDaemon(ctx context.Context, opts *DaemonOptions) error {
	cfg, err := daemon.LoadConfig(opts.ConfigFile)
	if err != nil {
		return usageError(err)
	}
	if err := cfg.ApplyFlags(opts.Flags); err != nil {
		return usageError(err)
	}
	if opts.Validate {
		for _, w := range cfg.Warnings {
			fmt.Fprintln(opts.Streams.ErrOut, "WARNING:", w)
		}
		fmt.Fprintln(opts.Streams.Out, "configuration OK")
		return nil
	}
	if newImageBackend == nil {
		return errors.New("this berth binary was built without an image store; the daemon cannot start")
	}
	if os.Geteuid() != 0 {
		return errors.New("berth daemon must run as root: the engine owns its data root and will mount filesystems and create namespaces for containers")
	}
	level := new(slog.LevelVar)
	logger := slog.New(slog.NewTextHandler(opts.Streams.ErrOut, &slog.HandlerOptions{Level: level}))
	v := currentVersion().Client
	return daemon.Run(ctx, cfg, daemon.Options{
		NewImages:     newImageBackend,
		NewContainers: newContainerBackend,
		ConfigFile:    opts.ConfigFile,
		Flags:         opts.Flags,
		Version:       v.Version, GitCommit: v.GitCommit, BuildTime: v.BuildTime,
		Logger: logger, LogLevel: level,
	})
}
