package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/daemon"
)

// MirrorLsOptions are the flags of `berth mirror ls`.
type MirrorLsOptions struct {
	Format  string
	Global  *GlobalOptions
	Mirror  *MirrorOptions
	Streams *IOStreams
	// Now is the clock (tests).
	Now func() time.Time
}

func newCmdMirrorLs(streams *IOStreams, g *GlobalOptions, mo *MirrorOptions, runF func(*MirrorLsOptions) error) *cobra.Command {
	opts := &MirrorLsOptions{Global: g, Mirror: mo, Streams: streams, Now: time.Now}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List the mirrors of daemon.json with their last known health",
		Long: `List every registry's endpoints in the order pulls try them (its mirrors, then
the registry itself unless "fallback" is false), with what the engine's
circuit breaker remembers of each: ok, failing, cooling down (tried after the
others until then, and why), or unknown. The health comes from the running
engine, else from mirror-health.json under its data root.`,
		Example: `  berth mirror ls
  berth mirror ls --format json
  berth mirror ls --format '{{.Endpoint}} {{.State}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runMirrorLs(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "", "'json', or a Go template over the fields of --format json ('{{.Endpoint}} {{.State}}')")
	return cmd
}

func runMirrorLs(ctx context.Context, opts *MirrorLsOptions) error {
	_, cfg, err := readConfigFile(opts.Mirror.ConfigFile)
	if err != nil {
		return err
	}
	snap, source := mirrorHealth(ctx, opts.Global, cfg.DataRoot)
	now := opts.Now()
	rows := daemon.MirrorHealth(cfg.Mirror, snap, now)
	if rows == nil {
		rows = []api.MirrorHealth{}
	}
	switch {
	case opts.Format == "json":
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.Streams.Out, "%s\n", b)
		return nil
	case opts.Format != "":
		list := make([]map[string]any, len(rows))
		for i, r := range rows {
			var m map[string]any
			b, _ := json.Marshal(r)
			json.Unmarshal(b, &m)
			list[i] = m
		}
		return writeRows(opts.Streams, opts.Format, map[string]string{"Registry": "REGISTRY", "Endpoint": "ENDPOINT", "State": "HEALTH"}, list)
	}
	if len(rows) == 0 {
		fmt.Fprintf(opts.Streams.ErrOut, "No mirrors in %s: pulls go to each registry directly. Add one with: berth mirror add URL\n", opts.Mirror.ConfigFile)
		return nil
	}
	statuses := cfg.Mirror.Status(snap, now)
	tw := newTable(opts.Streams)
	fmt.Fprintln(tw, "REGISTRY\tENDPOINT\tKIND\tHEALTH")
	for _, st := range statuses {
		ep := st.Endpoint
		kind := "mirror"
		switch {
		case !ep.Mirror:
			kind = "registry"
		case ep.Prefix != "":
			kind = "mirror, prefix"
		}
		if ep.Mirror && !ep.Can(mirror.Resolve) {
			kind += ", pull only"
		}
		health := st.Health.Describe(now)
		switch {
		case !st.Used:
			health = "not used (fallback is false)"
		case st.State == mirror.StateOK:
			health = "ok, last used " + ago(now, st.Health.LastSuccess)
		case st.State == mirror.StateFailing:
			health += " (" + ago(now, st.Health.LastFailure) + "; tried again)"
		case source == "":
			health = "unknown"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ep.Registry, ep.URL, kind, health)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if source == "" {
		fmt.Fprintln(opts.Streams.ErrOut, "Health unknown: the engine does not answer and it has recorded none under "+cfg.DataRoot+".")
	}
	return nil
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return strings.ToLower(humanDuration(now.Sub(t))) + " ago"
}

// mirrorHealth is what the engine remembers of its mirrors: from the
// running engine, else from the data root. source says which ("" when
// neither answered).
func mirrorHealth(ctx context.Context, g *GlobalOptions, dataRoot string) ([]mirror.EndpointHealth, string) {
	c := engineClient(g)
	defer c.Close()
	ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if info, err := c.Info(ictx); err == nil {
		var out []mirror.EndpointHealth
		for _, m := range info.MirrorHealth {
			out = append(out, mirror.EndpointHealth{
				Registry: m.Registry, Endpoint: m.Endpoint, LastError: m.LastError, Failures: m.Failures,
				LastSuccess: parseStamp(m.LastSuccess), LastFailure: parseStamp(m.LastFailure), CoolUntil: parseStamp(m.CoolUntil),
			})
		}
		return out, "engine"
	}
	snap, err := daemon.ReadMirrorHealth(dataRoot)
	if err != nil {
		// Missing (never pulled) or unreadable (not root): unknown.
		return nil, ""
	}
	return snap, dataRoot
}

func parseStamp(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
