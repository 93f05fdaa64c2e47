package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// PsOptions are the flags of `berth ps` (and `berth container ls`).
type PsOptions struct {
	All     bool
	Quiet   bool
	Size    bool
	Filters []string
	Format  string
	Last    int
	Latest  bool
	NoTrunc bool
	Streams *IOStreams
	Global  *GlobalOptions
	Now     func() time.Time
}

func newCmdPs(streams *IOStreams, g *GlobalOptions, use string, runF func(*PsOptions) error) *cobra.Command {
	opts := &PsOptions{Streams: streams, Global: g, Now: time.Now}
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "List containers",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runPs(cmd.Context(), opts)
		},
	}
	if use == "ls" {
		cmd.Aliases = []string{"list", "ps"}
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.All, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "only display container IDs")
	f.BoolVarP(&opts.Size, "size", "s", false, "display total file sizes")
	f.StringArrayVarP(&opts.Filters, "filter", "f", nil, "filter output based on conditions provided (id, name, label, status, exited, ancestor, before, since)")
	f.StringVar(&opts.Format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	f.IntVarP(&opts.Last, "last", "n", -1, "show n last created containers (includes all states)")
	f.BoolVarP(&opts.Latest, "latest", "l", false, "show the latest created container (includes all states)")
	f.BoolVar(&opts.NoTrunc, "no-trunc", false, "don't truncate output")
	return cmd
}

var psHeader = headerRow{
	"ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
	"Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES",
}

func runPs(ctx context.Context, opts *PsOptions) error {
	filters, err := parseFilters(opts.Filters)
	if err != nil {
		return err
	}
	limit := opts.Last
	if opts.Latest && limit == -1 {
		limit = 1
	}
	format := opts.Format
	switch format {
	case "", "table":
		format = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
		if opts.Size {
			format += "\t{{.Size}}"
		}
	case "json":
		format = "{{json .}}"
	}
	// As docker: the size is worth asking for when the template shows it
	// ({{json .}} does).
	size := opts.Size || (!opts.Quiet && (strings.Contains(format, ".Size") || jsonDot.MatchString(format)))
	c := engineClient(opts.Global)
	defer c.Close()
	list, err := c.ContainerList(ctx, api.ContainerListOptions{All: opts.All, Limit: limit, Size: size, Filters: filters})
	if err != nil {
		return engineError(err)
	}
	rows := make([]psRow, 0, len(list))
	for _, ct := range list {
		rows = append(rows, newPsRow(ct, !opts.NoTrunc, opts.Now()))
	}
	if opts.Quiet {
		for _, r := range rows {
			fmt.Fprintln(opts.Streams.Out, r.ID)
		}
		return nil
	}
	return writeTemplate(opts.Streams, format, psHeader, rows)
}

var jsonDot = regexp.MustCompile(`json\s+\.\s*}}`)

// psRow is a container as docker ps's templates see it.
type psRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Ports, State, Status string
	Size, Names, Labels, Mounts, Networks, LocalVolumes             string
	labels                                                          map[string]string
}

// Label is one label's value: {{.Label "com.example.x"}}.
func (r psRow) Label(name string) string { return r.labels[name] }

// MarshalJSON is {{json .}}: the fields, as docker's (sorted) keys, with
// the Platform docker 28 adds (null: the engine does not say).
func (r psRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"Platform": nil,
		"ID": r.ID, "Image": r.Image, "Command": r.Command, "CreatedAt": r.CreatedAt, "RunningFor": r.RunningFor,
		"Ports": r.Ports, "State": r.State, "Status": r.Status, "Size": r.Size, "Names": r.Names,
		"Labels": r.Labels, "Mounts": r.Mounts, "Networks": r.Networks, "LocalVolumes": r.LocalVolumes,
	})
}

func newPsRow(c api.Container, trunc bool, now time.Time) psRow {
	r := psRow{ID: c.ID, Image: c.Image, Command: c.Command, State: c.State, Status: c.Status, labels: c.Labels}
	created := time.Unix(c.Created, 0)
	r.CreatedAt = created.String()
	r.RunningFor = humanDuration(now.Sub(created)) + " ago"
	if trunc {
		r.ID = truncateID(c.ID)
		r.Command = ellipsis(c.Command, 20)
		r.Image = shortImage(c.Image, c.ImageID)
	}
	r.Command = strconv.Quote(r.Command)
	if r.Image == "" {
		r.Image = "<no image>"
	}
	var names []string
	for _, n := range c.Names {
		n = strings.TrimPrefix(n, "/")
		// Other containers' link names hold a slash; docker shows them
		// with --no-trunc only.
		if trunc && strings.Contains(n, "/") {
			continue
		}
		names = append(names, n)
	}
	r.Names = strings.Join(names, ",")
	r.Size = humanSize(c.SizeRw)
	if c.SizeRootFs > 0 {
		r.Size = fmt.Sprintf("%s (virtual %s)", humanSize(c.SizeRw), humanSize(c.SizeRootFs))
	}
	var labels []string
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		labels = append(labels, k+"="+c.Labels[k])
	}
	r.Labels = strings.Join(labels, ",")
	var mounts []string
	local := 0
	for _, m := range c.Mounts {
		name := m.Name
		if name == "" {
			name = m.Source
		}
		if trunc {
			name = ellipsis(name, 15)
		}
		mounts = append(mounts, name)
		if m.Driver == "local" {
			local++
		}
	}
	r.Mounts, r.LocalVolumes = strings.Join(mounts, ","), strconv.Itoa(local)
	if c.NetworkSettings != nil {
		r.Networks = strings.Join(slices.Sorted(maps.Keys(c.NetworkSettings.Networks)), ",")
	}
	r.Ports = displayPorts(c.Ports)
	return r
}

// displayPorts is docker ps's PORTS: ports published on their own number
// and unpublished exposed ports grouped into ranges per address and
// protocol ("0.0.0.0:80-81->80-81/tcp", "53/udp"), then the other
// published ports one by one ("127.0.0.1:8080->80/tcp").
func displayPorts(ports []api.Port) string {
	sorted := slices.Clone(ports)
	slices.SortFunc(sorted, func(a, b api.Port) int {
		switch {
		case a.PrivatePort != b.PrivatePort:
			return int(a.PrivatePort) - int(b.PrivatePort)
		case a.IP != b.IP:
			return strings.Compare(a.IP, b.IP)
		case a.PublicPort != b.PublicPort:
			return int(a.PublicPort) - int(b.PublicPort)
		}
		return strings.Compare(a.Type, b.Type)
	})
	type run struct {
		ip, proto   string
		first, last uint16
	}
	show := func(r *run) string {
		ports := strconv.Itoa(int(r.first))
		if r.last != r.first {
			ports += "-" + strconv.Itoa(int(r.last))
		}
		if r.ip != "" {
			return net.JoinHostPort(r.ip, ports) + "->" + ports + "/" + r.proto
		}
		return ports + "/" + r.proto
	}
	var out, mapped, order []string
	runs := map[string]*run{}
	for _, p := range sorted {
		if p.IP != "" && p.PublicPort != p.PrivatePort {
			mapped = append(mapped, fmt.Sprintf("%s->%d/%s", net.JoinHostPort(p.IP, strconv.Itoa(int(p.PublicPort))), p.PrivatePort, p.Type))
			continue
		}
		key := p.IP + "/" + p.Type
		r := runs[key]
		switch {
		case r == nil:
			order = append(order, key)
		case p.PrivatePort == r.last+1:
			r.last = p.PrivatePort
			continue
		default:
			out = append(out, show(r))
		}
		runs[key] = &run{ip: p.IP, proto: p.Type, first: p.PrivatePort, last: p.PrivatePort}
	}
	for _, key := range order {
		out = append(out, show(runs[key]))
	}
	return strings.Join(append(out, mapped...), ", ")
}

// shortImage is ps's IMAGE: the short ID when the container was made from
// an ID, otherwise the name without its digest.
func shortImage(image, imageID string) string {
	if truncateID(image) == truncateID(imageID) && image != "" {
		return truncateID(imageID)
	}
	if name, _, ok := strings.Cut(image, "@"); ok {
		return name
	}
	return image
}
