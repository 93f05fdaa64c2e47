package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/image"
)

// CreateOptions are the flags of `berth create`.
type CreateOptions struct {
	Image   string
	Args    []string
	Flags   ContainerFlags
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdCreate(streams *IOStreams, g *GlobalOptions, runF func(*CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Image, opts.Args = args[0], args[1:]
			if runF != nil {
				return runF(opts)
			}
			return runCreate(cmd.Context(), opts)
		},
	}
	containerFlagSet(cmd, &opts.Flags)
	return cmd
}

// containerFlagSet registers create's and run's flags. Flags stop at the
// image, so the command's own flags pass through (run busybox ls -l);
// -h is --hostname, as with docker, so help is --help alone.
func containerFlagSet(cmd *cobra.Command, f *ContainerFlags) {
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().Bool("help", false, "help for "+cmd.Name())
	f.register(cmd)
}

func runCreate(ctx context.Context, opts *CreateOptions) error {
	req, err := opts.Flags.request(opts.Image, opts.Args, false)
	if err != nil {
		return err
	}
	if h, w, ok := terminalSize(opts.Streams.Out); ok && req.Tty {
		req.HostConfig.ConsoleSize = [2]uint{h, w}
	}
	c := engineClient(opts.Global)
	defer c.Close()
	resp, err := createContainer(ctx, c, opts.Streams, &opts.Flags, req)
	if err != nil {
		return engineError(err)
	}
	fmt.Fprintln(opts.Streams.Out, resp.ID)
	return nil
}

// createContainer creates the container, pulling its image first as
// docker does: with --pull always, or missing when the engine has no such
// image. Pull progress and warnings go to standard error.
func createContainer(ctx context.Context, c *api.Client, streams *IOStreams, f *ContainerFlags, req *api.ContainerCreateRequest) (*api.ContainerCreateResponse, error) {
	if f.Pull == "always" {
		if err := pullForRun(ctx, c, streams, req.Image, f.Platform); err != nil {
			return nil, err
		}
	}
	resp, err := c.ContainerCreate(ctx, f.Name, f.Platform, req)
	if err != nil && api.IsNoSuchImage(err) && f.Pull == "missing" {
		ref, perr := image.ParseReference(req.Image)
		if perr != nil {
			return nil, usageError(perr)
		}
		fmt.Fprintf(streams.ErrOut, "Unable to find image '%s' locally\n", ref.Familiar())
		if err := pullForRun(ctx, c, streams, req.Image, f.Platform); err != nil {
			return nil, err
		}
		resp, err = c.ContainerCreate(ctx, f.Name, f.Platform, req)
	}
	if err != nil {
		return nil, err
	}
	for _, w := range resp.Warnings {
		fmt.Fprintln(streams.ErrOut, "WARNING: "+w)
	}
	return resp, nil
}

// pullForRun pulls name for run and create, its progress on standard
// error as docker shows it.
func pullForRun(ctx context.Context, c *api.Client, streams *IOStreams, name, platform string) error {
	ref, err := image.ParseReference(name)
	if err != nil {
		return usageError(err)
	}
	auth, err := credentialsFor(ref.Registry)
	if err != nil {
		return err
	}
	tag := ref.Tag
	if ref.Digest != "" {
		tag = ref.Digest
	}
	fmt.Fprintf(streams.ErrOut, "%s: Pulling from %s\n", tag, strings.TrimPrefix(ref.Name(), "docker.io/"))
	stream, err := c.ImagePull(ctx, ref.String(), platform, auth)
	if err != nil {
		return err
	}
	defer stream.Close()
	return displayProgress(stream, streams.ErrOut, isTerminal(streams.ErrOut))
}
