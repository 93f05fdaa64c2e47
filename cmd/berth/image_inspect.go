package main

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/spf13/cobra"
)

// ImageInspectOptions are the flags of `berth image inspect`.
type ImageInspectOptions struct {
	Images  []string
	Format  string
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdImageInspect(streams *IOStreams, g *GlobalOptions, runF func(*ImageInspectOptions) error) *cobra.Command {
	opts := &ImageInspectOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Images = args
			if runF != nil {
				return runF(opts)
			}
			return runImageInspect(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "", "format output using a Go template or 'json'")
	return cmd
}

// runImageInspect prints what it found, then fails for what it did not, as
// docker inspect does.
func runImageInspect(ctx context.Context, opts *ImageInspectOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	var found []any
	var lastErr error
	for _, name := range opts.Images {
		in, err := c.ImageInspect(ctx, name)
		if err != nil {
			lastErr = engineError(err)
			if len(opts.Images) > 1 {
				opts.Streams.ErrOut.Write([]byte("berth: " + lastErr.Error() + "\n"))
			}
			continue
		}
		// Templates see the JSON document, with docker's field names.
		b, _ := json.Marshal(in)
		var doc any
		json.Unmarshal(b, &doc)
		found = append(found, doc)
	}
	if opts.Format == "" || opts.Format == "json" {
		if found == nil {
			found = []any{}
		}
		b, err := jsonIndent(found)
		if err != nil {
			return err
		}
		opts.Streams.Out.Write(b)
	} else {
		tmpl, err := parseFormat(opts.Format)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		for _, d := range found {
			if err := tmpl.Execute(&buf, d); err != nil {
				return usageErrorf("--format template: %v", err)
			}
			buf.WriteByte('\n')
		}
		opts.Streams.Out.Write(buf.Bytes())
	}
	return lastErr
}
