package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/image"
)

// TagOptions are the arguments of `berth tag`.
type TagOptions struct {
	Source, Target string
	Global         *GlobalOptions
}

func newCmdTag(streams *IOStreams, g *GlobalOptions, runF func(*TagOptions) error) *cobra.Command {
	opts := &TagOptions{Global: g}
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Source, opts.Target = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runTag(cmd.Context(), opts)
		},
	}
}

func runTag(ctx context.Context, opts *TagOptions) error {
	ref, err := image.ParseReference(opts.Target)
	if err != nil {
		return usageError(err)
	}
	if ref.Digest != "" {
		return usageErrorf("refusing to create a tag with a digest reference")
	}
	repo := opts.Target
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	c := engineClient(opts.Global)
	defer c.Close()
	return engineError(c.ImageTag(ctx, opts.Source, repo, ref.Tag))
}
