package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// InspectOptions are the flags of `berth inspect` (and `berth container
// inspect`, `berth volume inspect`, which fix Type).
type InspectOptions struct {
	Names   []string
	Format  string
	Type    string
	Size    bool
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdInspect(streams *IOStreams, g *GlobalOptions, objType string, runF func(*InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{Streams: streams, Global: g, Type: objType}
	use, short := "inspect [OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on containers, images and volumes"
	switch objType {
	case "container":
		use, short = "inspect [OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers"
	case "volume":
		use, short = "inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			return runInspect(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Format, "format", "f", "", "format output using a Go template or 'json'")
	if objType == "" {
		f.StringVar(&opts.Type, "type", "", "only inspect objects of the given type: container, image, volume or network")
	}
	if objType != "volume" {
		f.BoolVarP(&opts.Size, "size", "s", false, "display total file sizes if the type is container")
	}
	return cmd
}

// inspected is one object found: its typed form for templates and the
// engine's JSON, which is what gets printed.
type inspected struct {
	typed any
	raw   []byte
}

// runInspect looks each name up as docker inspect does (a container,
// then an image, a volume, a network), prints what it found, then fails for
// what it did not.
func runInspect(ctx context.Context, opts *InspectOptions) error {
	switch opts.Type {
	case "", "container", "image", "volume", "network":
	default:
		return usageErrorf("%q is not a valid value for --type: container, image, volume or network", opts.Type)
	}
	c := engineClient(opts.Global)
	defer c.Close()
	return printInspected(opts.Streams, opts.Format, opts.Names, func(name string) (inspected, error) {
		return inspectOne(ctx, c, opts, name)
	})
}

// printInspected looks up each name and prints what it found as docker's
// inspect verbs do — the engine's JSON in one indented array, or format
// applied to each — then fails for what it did not find.
func printInspected(streams *IOStreams, format string, names []string, lookup func(string) (inspected, error)) error {
	var tmpl *template.Template
	if format != "" && format != "json" {
		t, err := parseFormat(format)
		if err != nil {
			return err
		}
		tmpl = t
	}
	var found []inspected
	var errs []error
	for _, name := range names {
		obj, err := lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		found = append(found, obj)
	}
	var buf bytes.Buffer
	if tmpl == nil {
		var raws [][]byte
		for _, o := range found {
			raws = append(raws, o.raw)
		}
		if err := json.Indent(&buf, append(append([]byte("["), bytes.Join(raws, []byte(","))...), ']'), "", "    "); err != nil {
			return fmt.Errorf("the engine's answer is not JSON: %w", err)
		}
		buf.WriteByte('\n')
	} else {
		for _, o := range found {
			if err := inspectTemplate(tmpl, &buf, o); err != nil {
				return err
			}
			buf.WriteByte('\n')
		}
	}
	streams.Out.Write(buf.Bytes())
	return reportAll(streams, errs)
}

// inspectOne finds name among the types asked for.
func inspectOne(ctx context.Context, c *api.Client, opts *InspectOptions, name string) (inspected, error) {
	any := opts.Type == ""
	if any || opts.Type == "container" {
		v, raw, err := c.ContainerInspectWithRaw(ctx, name, opts.Size)
		if err == nil {
			return inspected{v, raw}, nil
		}
		if !any || !errors.Is(err, api.ErrNotFound) {
			return inspected{}, engineError(err)
		}
	}
	if any || opts.Type == "image" {
		v, raw, err := c.ImageInspectWithRaw(ctx, name)
		if err == nil {
			return inspected{v, raw}, nil
		}
		if !any || !errors.Is(err, api.ErrNotFound) {
			return inspected{}, engineError(err)
		}
	}
	if any || opts.Type == "volume" {
		v, raw, err := c.VolumeInspectWithRaw(ctx, name)
		if err == nil {
			return inspected{v, raw}, nil
		}
		if !any || !errors.Is(err, api.ErrNotFound) {
			return inspected{}, engineError(err)
		}
	}
	if any || opts.Type == "network" {
		v, raw, err := c.NetworkInspectWithRaw(ctx, name)
		if err == nil {
			return inspected{v, raw}, nil
		}
		if !any || !errors.Is(err, api.ErrNotFound) {
			return inspected{}, engineError(err)
		}
	}
	return inspected{}, fmt.Errorf("No such object: %s", name)
}

// inspectTemplate runs the template on the typed object, and when that
// fails (a JSON name such as .Id rather than the Go name .ID) on the
// JSON document, numbers kept as written, as docker inspect does.
func inspectTemplate(tmpl *template.Template, buf *bytes.Buffer, o inspected) error {
	var tmp bytes.Buffer
	if err := tmpl.Execute(&tmp, o.typed); err == nil {
		buf.Write(tmp.Bytes())
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(o.raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("the engine's answer is not JSON: %w", err)
	}
	if err := tmpl.Execute(buf, doc); err != nil {
		return usageErrorf("--format template: %v", err)
	}
	return nil
}
