package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// LoadOptions are the flags of `berth load`.
type LoadOptions struct {
	Input   string
	Quiet   bool
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdLoad(streams *IOStreams, g *GlobalOptions, runF func(*LoadOptions) error) *cobra.Command {
	opts := &LoadOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a tar archive (docker save output, old or new, or an OCI archive) or STDIN",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runLoad(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Input, "input", "i", "", "read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "suppress the load output")
	return cmd
}

func runLoad(ctx context.Context, opts *LoadOptions) error {
	var in io.Reader = opts.Streams.In
	if opts.Input != "" {
		f, err := os.Open(opts.Input)
		if err != nil {
			return usageError(fmt.Errorf("cannot read %s: %w", opts.Input, unwrapPath(err)))
		}
		defer f.Close()
		in = f
	} else if isTerminal(opts.Streams.In) {
		return usageErrorf("requested load from stdin, but stdin is empty")
	}
	c := engineClient(opts.Global)
	defer c.Close()
	// As the docker CLI: progress only where a terminal shows it; the
	// lines that say what was loaded come either way.
	tty := isTerminal(opts.Streams.Out)
	stream, err := c.ImageLoad(ctx, in, opts.Quiet || !tty)
	if err != nil {
		return engineError(err)
	}
	defer stream.Close()
	return engineError(displayProgress(stream, opts.Streams.Out, tty))
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
