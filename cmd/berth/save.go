package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// SaveOptions are the flags of `berth save`.
type SaveOptions struct {
	Images  []string
	Output  string
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdSave(streams *IOStreams, g *GlobalOptions, runF func(*SaveOptions) error) *cobra.Command {
	opts := &SaveOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Images = args
			if runF != nil {
				return runF(opts)
			}
			return runSave(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to a file, instead of STDOUT")
	return cmd
}

// runSave writes the archive to a temporary file beside the output and
// renames it when complete: a failed save leaves no partial archive.
func runSave(ctx context.Context, opts *SaveOptions) error {
	if opts.Output == "" && isTerminal(opts.Streams.Out) {
		return usageErrorf("cowardly refusing to save to a terminal. Use the -o flag or redirect")
	}
	c := engineClient(opts.Global)
	defer c.Close()
	rc, err := c.ImageSave(ctx, opts.Images)
	if err != nil {
		return engineError(err)
	}
	defer rc.Close()
	if opts.Output == "" {
		_, err := io.Copy(opts.Streams.Out, rc)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(opts.Output), "."+filepath.Base(opts.Output)+".tmp-")
	if err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, rc); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), opts.Output); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	ok = true
	return nil
}
