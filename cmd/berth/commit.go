package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/image"
)

// CommitOptions are the flags of `berth commit`.
type CommitOptions struct {
	Container string
	// Reference is REPOSITORY[:TAG], or "" for an untagged image.
	Reference string
	Author    string
	Message   string
	Changes   []string
	Pause     bool
	Streams   *IOStreams
	Global    *GlobalOptions
}

func newCmdCommit(streams *IOStreams, g *GlobalOptions, runF func(*CommitOptions) error) *cobra.Command {
	opts := &CommitOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageErrorf("%q requires at least 1 and at most 2 arguments; see %s --help", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Container = args[0]
			if len(args) > 1 {
				opts.Reference = args[1]
			}
			if runF != nil {
				return runF(opts)
			}
			return runCommit(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Author, "author", "a", "", `author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringArrayVarP(&opts.Changes, "change", "c", nil, "apply Dockerfile instruction to the created image")
	f.StringVarP(&opts.Message, "message", "m", "", "commit message")
	f.BoolVarP(&opts.Pause, "pause", "p", true, "pause container during commit")
	return cmd
}

func runCommit(ctx context.Context, opts *CommitOptions) error {
	ref := ""
	if opts.Reference != "" {
		r, err := image.ParseReference(opts.Reference)
		if err != nil {
			return usageError(err)
		}
		if r.Digest != "" {
			return usageErrorf("refusing to create a tag with a digest reference")
		}
		ref = r.String()
	}
	c := engineClient(opts.Global)
	defer c.Close()
	id, err := c.ContainerCommit(ctx, api.CommitOptions{
		Container: opts.Container, Ref: ref, Author: opts.Author, Comment: opts.Message, Changes: opts.Changes, Pause: opts.Pause,
	})
	if err != nil {
		return engineError(err)
	}
	fmt.Fprintln(opts.Streams.Out, id)
	return nil
}
