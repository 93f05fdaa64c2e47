package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// VolumeLsOptions are the flags of `berth volume ls`.
type VolumeLsOptions struct {
	Quiet   bool
	Filters []string
	Format  string
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdVolumeLs(streams *IOStreams, g *GlobalOptions, runF func(*VolumeLsOptions) error) *cobra.Command {
	opts := &VolumeLsOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runVolumeLs(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "only display volume names")
	f.StringArrayVarP(&opts.Filters, "filter", "f", nil, "provide filter values (dangling=true, name, label, driver)")
	f.StringVar(&opts.Format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	return cmd
}

var volumeHeader = headerRow{
	"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
	"Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED AT",
}

// volumeRow is a volume as docker volume ls's templates see it.
type volumeRow struct {
	Name, Driver, Scope, Mountpoint, Labels, Links, Size, CreatedAt string
	labels                                                          map[string]string
}

// Label is one label's value.
func (r volumeRow) Label(name string) string { return r.labels[name] }

// MarshalJSON is {{json .}}.
func (r volumeRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"Name": r.Name, "Driver": r.Driver, "Scope": r.Scope, "Mountpoint": r.Mountpoint,
		"Labels": r.Labels, "Links": r.Links, "Size": r.Size, "CreatedAt": r.CreatedAt})
}

func runVolumeLs(ctx context.Context, opts *VolumeLsOptions) error {
	filters, err := parseFilters(opts.Filters)
	if err != nil {
		return err
	}
	c := engineClient(opts.Global)
	defer c.Close()
	resp, err := c.VolumeList(ctx, filters)
	if err != nil {
		return engineError(err)
	}
	for _, w := range resp.Warnings {
		fmt.Fprintln(opts.Streams.ErrOut, "WARNING: "+w)
	}
	if opts.Quiet {
		for _, v := range resp.Volumes {
			fmt.Fprintln(opts.Streams.Out, v.Name)
		}
		return nil
	}
	format := opts.Format
	switch format {
	case "", "table":
		format = "table {{.Driver}}\t{{.Name}}"
	case "json":
		format = "{{json .}}"
	}
	rows := make([]volumeRow, 0, len(resp.Volumes))
	for _, v := range resp.Volumes {
		rows = append(rows, newVolumeRow(v))
	}
	return writeTemplate(opts.Streams, format, volumeHeader, rows)
}

func newVolumeRow(v *api.Volume) volumeRow {
	r := volumeRow{Name: v.Name, Driver: v.Driver, Scope: v.Scope, Mountpoint: v.Mountpoint, Links: "N/A", Size: "N/A", CreatedAt: v.CreatedAt, labels: v.Labels}
	var labels []string
	for _, k := range slices.Sorted(maps.Keys(v.Labels)) {
		labels = append(labels, k+"="+v.Labels[k])
	}
	r.Labels = strings.Join(labels, ",")
	if u := v.UsageData; u != nil {
		r.Links = fmt.Sprint(u.RefCount)
		if u.Size >= 0 {
			r.Size = humanSize(u.Size)
		}
	}
	return r
}
