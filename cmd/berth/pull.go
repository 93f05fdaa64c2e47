package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/image"
)

// PullOptions are the flags of `berth pull`.
type PullOptions struct {
	Ref      string
	Platform string
	Quiet    bool
	Streams  *IOStreams
	Global   *GlobalOptions
}

func newCmdPull(streams *IOStreams, g *GlobalOptions, runF func(*PullOptions) error) *cobra.Command {
	opts := &PullOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry, through the configured mirrors",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runPull(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Platform, "platform", "", "pull the image for this platform (linux/arm64, linux/arm/v7)")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "suppress verbose output")
	return cmd
}

func runPull(ctx context.Context, opts *PullOptions) error {
	ref, err := image.ParseReference(opts.Ref)
	if err != nil {
		return usageError(err)
	}
	if opts.Platform != "" {
		if _, err := image.ParsePlatform(opts.Platform); err != nil {
			return usageError(err)
		}
	}
	auth, err := credentialsFor(ref.Registry)
	if err != nil {
		return err
	}
	c := engineClient(opts.Global)
	defer c.Close()
	if !opts.Quiet {
		tag := ref.Tag
		if ref.Digest != "" {
			tag = ref.Digest
		}
		fmt.Fprintf(opts.Streams.Out, "%s: Pulling from %s\n", tag, strings.TrimPrefix(ref.Name(), "docker.io/"))
	}
	stream, err := c.ImagePull(ctx, ref.String(), opts.Platform, auth)
	if err != nil {
		return engineError(err)
	}
	defer stream.Close()
	var out io.Writer = io.Discard
	if !opts.Quiet {
		out = opts.Streams.Out
	}
	if err := displayProgress(stream, out, isTerminal(opts.Streams.Out)); err != nil {
		return engineError(err)
	}
	fmt.Fprintln(opts.Streams.Out, ref.String())
	return nil
}

// displayProgress shows a pull or load stream: on a terminal one line per
// layer, redrawn in place; otherwise each status change on its own line.
func displayProgress(stream *api.MessageStream, w io.Writer, tty bool) error {
	var order []string
	lines := map[string]string{}
	return stream.Wait(func(m api.JSONMessage) {
		switch {
		case m.Stream != "":
			fmt.Fprint(w, m.Stream)
			return
		case m.ID == "":
			fmt.Fprintln(w, m.Status)
			return
		}
		text := m.ID + ": " + m.Status
		if m.Progress != "" {
			text += " " + m.Progress
		}
		if !tty {
			if m.ProgressDetail == nil {
				fmt.Fprintln(w, text)
			}
			return
		}
		if _, ok := lines[m.ID]; !ok {
			order = append(order, m.ID)
			lines[m.ID] = text
			fmt.Fprintln(w, text)
			return
		}
		lines[m.ID] = text
		up := 0
		for i := len(order) - 1; i >= 0 && order[i] != m.ID; i-- {
			up++
		}
		up++
		// Move up to the layer's line, rewrite it, come back down.
		fmt.Fprintf(w, "\x1b[%dA\r\x1b[2K%s\r\x1b[%dB", up, text, up)
	})
}
