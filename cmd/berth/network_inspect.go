package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"text/template"

	"github.com/spf13/cobra"
)

// NetworkInspectOptions are the flags of `berth network inspect`.
type NetworkInspectOptions struct {
	Names   []string
	Format  string
	Verbose bool
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdNetworkInspect(streams *IOStreams, g *GlobalOptions, runF func(*NetworkInspectOptions) error) *cobra.Command {
	opts := &NetworkInspectOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			return runNetworkInspect(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Format, "format", "f", "", "format output using a Go template or 'json'")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "verbose output for diagnostics (a local network shows the same)")
	return cmd
}

func runNetworkInspect(ctx context.Context, opts *NetworkInspectOptions) error {
	var tmpl *template.Template
	if opts.Format != "" && opts.Format != "json" {
		t, err := parseFormat(opts.Format)
		if err != nil {
			return err
		}
		tmpl = t
	}
	c := engineClient(opts.Global)
	defer c.Close()
	var found []inspected
	var errs []error
	for _, name := range opts.Names {
		n, raw, err := c.NetworkInspectWithRaw(ctx, name)
		if err != nil {
			errs = append(errs, engineError(err))
			continue
		}
		found = append(found, inspected{n, raw})
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
	opts.Streams.Out.Write(buf.Bytes())
	return reportAll(opts.Streams, errs)
}
