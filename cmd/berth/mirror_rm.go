package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/mirror"
)

// MirrorRmOptions are the flags of `berth mirror rm`.
type MirrorRmOptions struct {
	URLs     []string
	Registry string
	Mirror   *MirrorOptions
	Streams  *IOStreams
}

func newCmdMirrorRm(streams *IOStreams, mo *MirrorOptions, runF func(*MirrorRmOptions) error) *cobra.Command {
	opts := &MirrorRmOptions{Mirror: mo, Streams: streams}
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] URL [URL...]",
		Aliases: []string{"remove"},
		Short:   "Remove mirrors from daemon.json",
		Long: `Remove mirrors from the engine's daemon.json, from registry-mirrors and from
"mirrors", for every registry that lists them (or only --registry). The file
is checked and written atomically with every other setting kept; removing the
last mirror of a registry whose "fallback" is false is refused.`,
		Example: `  berth mirror rm https://dead-mirror.example
  berth mirror rm --registry ghcr.io https://m.example/ghcr.io`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.URLs = args
			if runF != nil {
				return runF(opts)
			}
			return runMirrorRm(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Registry, "registry", "", "remove only from this registry's mirrors")
	return cmd
}

func runMirrorRm(opts *MirrorRmOptions) error {
	if opts.Registry != "" {
		if _, err := mirror.NewConfig(nil, nil, map[string]mirror.RegistryConfig{opts.Registry: {}}); err != nil {
			return usageError(fmt.Errorf("--registry: %w", err))
		}
	}
	path := opts.Mirror.ConfigFile
	var removed []string
	_, err := editConfig(path, func(s *mirror.Settings) error {
		for _, u := range opts.URLs {
			from, err := s.RemoveEndpoint(opts.Registry, u)
			if err != nil {
				return err
			}
			removed = append(removed, fmt.Sprintf("Removed %s (a mirror of %s)", u, strings.Join(from, ", ")))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, line := range removed {
		fmt.Fprintln(opts.Streams.Out, line)
	}
	reloadHint(opts.Streams, path)
	return nil
}
