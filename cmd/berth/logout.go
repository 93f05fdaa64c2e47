package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// LogoutOptions are the arguments of `berth logout`.
type LogoutOptions struct {
	Server  string
	Streams *IOStreams
}

func newCmdLogout(streams *IOStreams, runF func(*LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{Streams: streams}
	cmd := &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Long: `Remove the stored login for a registry (Docker Hub when no server is given)
from Docker's config.json or its credential helper. The engine is not
needed.`,
		Args: maxLoginArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Server = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runLogout(cmd.Context(), opts)
		},
	}
	return cmd
}

func runLogout(ctx context.Context, opts *LogoutOptions) error {
	server := loginServer(opts.Server)
	// The forms docker may have stored the login under.
	keys := []string{server}
	shown := server
	if server != api.DockerHubServer {
		h := hostname(server)
		shown = h
		keys = append(keys, h, "http://"+h, "https://"+h)
	}
	cfg, err := loadDockerConfig()
	if err != nil {
		return err
	}
	auths, err := cfg.auths()
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.Streams.Out, "Removing login credentials for", shown)
	changed := false
	for _, k := range keys {
		if h := cfg.helper(k); h != "" {
			if _, ok := auths[k]; ok || k == credentialKey(server) {
				if err := runCredentialHelper(ctx, h, "erase", k); err != nil {
					fmt.Fprintln(opts.Streams.ErrOut, "WARNING: could not erase credentials:", err)
				}
			}
		}
		if _, ok := auths[k]; ok {
			delete(auths, k)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := cfg.setAuths(auths); err != nil {
		return err
	}
	if err := cfg.save(); err != nil {
		return fmt.Errorf("saving %s: %w", cfg.path, err)
	}
	return nil
}
