package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// NetworkLsOptions are the flags of `berth network ls`.
type NetworkLsOptions struct {
	Quiet   bool
	NoTrunc bool
	Filters []string
	Format  string
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdNetworkLs(streams *IOStreams, g *GlobalOptions, runF func(*NetworkLsOptions) error) *cobra.Command {
	opts := &NetworkLsOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runNetworkLs(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "only display network IDs")
	f.BoolVar(&opts.NoTrunc, "no-trunc", false, "do not truncate the output")
	f.StringArrayVarP(&opts.Filters, "filter", "f", nil, "provide filter values (driver=bridge, name, id, scope, type)")
	f.StringVar(&opts.Format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	return cmd
}

var networkHeader = headerRow{
	"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
	"Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}

// networkRow is a network as docker network ls's templates see it.
type networkRow struct {
	ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt string
	labels                                                     map[string]string
}

// Label is one label's value.
func (r networkRow) Label(name string) string { return r.labels[name] }

// MarshalJSON is {{json .}}.
func (r networkRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"ID": r.ID, "Name": r.Name, "Driver": r.Driver, "Scope": r.Scope,
		"IPv6": r.IPv6, "Internal": r.Internal, "Labels": r.Labels, "CreatedAt": r.CreatedAt})
}

func runNetworkLs(ctx context.Context, opts *NetworkLsOptions) error {
	filters, err := parseFilters(opts.Filters)
	if err != nil {
		return err
	}
	c := engineClient(opts.Global)
	defer c.Close()
	list, err := c.NetworkList(ctx, filters)
	if err != nil {
		return engineError(err)
	}
	rows := make([]networkRow, 0, len(list))
	for _, n := range list {
		rows = append(rows, newNetworkRow(n, !opts.NoTrunc))
	}
	if opts.Quiet {
		for _, r := range rows {
			fmt.Fprintln(opts.Streams.Out, r.ID)
		}
		return nil
	}
	format := opts.Format
	switch format {
	case "", "table":
		format = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
	case "json":
		format = "{{json .}}"
	}
	return writeTemplate(opts.Streams, format, networkHeader, rows)
}

func newNetworkRow(n api.NetworkResource, trunc bool) networkRow {
	r := networkRow{
		ID: n.ID, Name: n.Name, Driver: n.Driver, Scope: n.Scope, IPv6: strconv.FormatBool(n.EnableIPv6),
		Internal: strconv.FormatBool(n.Internal), CreatedAt: n.Created, labels: n.Labels,
	}
	if trunc {
		r.ID = truncateID(n.ID)
	}
	var labels []string
	for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
		labels = append(labels, k+"="+n.Labels[k])
	}
	r.Labels = strings.Join(labels, ",")
	return r
}
