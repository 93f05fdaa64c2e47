package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/mirror"
)

// MirrorAddOptions are the flags of `berth mirror add`.
type MirrorAddOptions struct {
	URL          string
	Registry     string
	Insecure     bool
	CA           string
	Capabilities []string
	First        bool
	Mirror       *MirrorOptions
	Streams      *IOStreams
}

func newCmdMirrorAdd(streams *IOStreams, mo *MirrorOptions, runF func(*MirrorAddOptions) error) *cobra.Command {
	opts := &MirrorAddOptions{Mirror: mo, Streams: streams}
	cmd := &cobra.Command{
		Use:   "add [OPTIONS] URL",
		Short: "Add a mirror of a registry to daemon.json",
		Long: `Add a mirror to the engine's daemon.json, after the registry's other mirrors
(or --first). A Docker Hub mirror with nothing but its URL goes into
registry-mirrors, as Docker writes it; any other into "mirrors". The file is
checked before and after the change and written atomically with every other
setting kept; a change the engine would refuse is never written.
A URL with a path is a prefix-style mirror: https://m.example/ghcr.io serves
ghcr.io/owner/repo as /v2/ghcr.io/owner/repo.`,
		Example: `  berth mirror add https://mirror.gcr.io
  berth mirror add --registry ghcr.io https://m.example/ghcr.io
  berth mirror add --registry registry.lan:5000 --ca /etc/berth/certs/lan.pem https://cache.lan
  berth mirror add --capabilities pull https://static-mirror.example`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.URL = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runMirrorAdd(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Registry, "registry", mirror.DockerHub, "the registry mirrored (host[:port])")
	f.BoolVar(&opts.Insecure, "insecure", false, "allow plain http and skip TLS verification for this mirror")
	f.StringVar(&opts.CA, "ca", "", "PEM file of CA certificates trusted for this mirror (absolute path)")
	f.StringSliceVar(&opts.Capabilities, "capabilities", nil, "what the mirror is asked for: pull (content by digest), resolve (tags); default both")
	f.BoolVar(&opts.First, "first", false, "put the mirror before the registry's other mirrors")
	return cmd
}

func runMirrorAdd(opts *MirrorAddOptions) error {
	ec := mirror.EndpointConfig{URL: opts.URL, Insecure: opts.Insecure, CA: opts.CA, Capabilities: opts.Capabilities}
	base, _ := mirror.NewConfig(nil, nil, nil)
	if _, err := base.ParseEndpoint(opts.Registry, ec); err != nil {
		return usageError(err)
	}
	reg := mirror.NormalizeRegistry(opts.Registry)
	path := opts.Mirror.ConfigFile
	var exists bool
	changed, err := editConfig(path, func(s *mirror.Settings) error {
		err := s.AddEndpoint(reg, ec, opts.First)
		if errors.Is(err, mirror.ErrExists) {
			exists = true
			return nil
		}
		if err != nil {
			return usageError(err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if exists || !changed {
		fmt.Fprintf(opts.Streams.ErrOut, "%s is already a mirror of %s; nothing changed.\n", opts.URL, reg)
		return nil
	}
	where := "last"
	if opts.First {
		where = "first"
	}
	fmt.Fprintf(opts.Streams.Out, "Added %s as a mirror of %s (%s); test it with: berth mirror test %s\n", opts.URL, reg, where, testArgs(reg, opts.URL))
	reloadHint(opts.Streams, path)
	return nil
}

func testArgs(reg, url string) string {
	if reg == mirror.DockerHub {
		return url
	}
	return strings.Join([]string{"--registry", reg, url}, " ")
}
