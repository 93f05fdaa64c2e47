package main

import (
	"bytes"
	"context"
	"encoding/json"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
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
	var found []*api.ImageInspect
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
		found = append(found, in)
	}
	if opts.Format == "" || opts.Format == "json" {
		if found == nil {
			found = []*api.ImageInspect{}
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
		for _, in := range found {
			if err := executeInspect(&buf, tmpl, in); err != nil {
				return usageErrorf("--format template: %v", err)
			}
			buf.WriteByte('\n')
		}
		opts.Streams.Out.Write(buf.Bytes())
	}
	return lastErr
}

// executeInspect runs the template as the docker CLI does: on the typed
// answer (sizes print as integers, times as time.Time does), and when that
// fails ({{.Id}}: the Go field is ID) on the JSON document, its numbers
// kept as written.
func executeInspect(w *bytes.Buffer, tmpl *template.Template, in *api.ImageInspect) error {
	var out bytes.Buffer
	if err := tmpl.Execute(&out, in); err == nil {
		w.Write(out.Bytes())
		return nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	out.Reset()
	if err := tmpl.Option("missingkey=error").Execute(&out, doc); err != nil {
		return err
	}
	w.Write(out.Bytes())
	return nil
}
