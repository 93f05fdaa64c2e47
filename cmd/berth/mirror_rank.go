package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/mirror"
)

// MirrorRankOptions are the flags of `berth mirror rank`.
type MirrorRankOptions struct {
	MirrorTestOptions
	Apply bool
}

func newCmdMirrorRank(streams *IOStreams, mo *MirrorOptions, runF func(*MirrorRankOptions) error) *cobra.Command {
	opts := &MirrorRankOptions{MirrorTestOptions: MirrorTestOptions{Mirror: mo, Streams: streams}}
	cmd := &cobra.Command{
		Use:   "rank [OPTIONS]",
		Short: "Order the configured mirrors by how well they serve, and optionally apply it",
		Long: `Test every configured mirror (as berth mirror test does) and order them: those
that pass every step by the layer throughput measured, fastest first, then
those that fail (a stale mirror fails), in their current order. With --apply,
daemon.json is rewritten in that order, atomically, every other setting kept.
Docker Hub's registry-mirrors always come before its "mirrors" entry, so a
rank that mixes the two lists is applied within each and says so.`,
		Example: `  berth mirror rank
  berth mirror rank --apply
  berth mirror rank --registry ghcr.io --image owner/app:1.0 --apply`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runMirrorRank(cmd.Context(), opts)
		},
	}
	addProbeFlags(cmd, &opts.MirrorTestOptions)
	cmd.Flags().BoolVar(&opts.Apply, "apply", false, "rewrite daemon.json in the ranked order")
	return cmd
}

// rankedRegistry is one registry's rank.
type rankedRegistry struct {
	Registry string           `json:"registry"`
	Ranked   []*mirror.Report `json:"ranked"`
	Applied  bool             `json:"applied,omitempty"`
}

func runMirrorRank(ctx context.Context, opts *MirrorRankOptions) error {
	path := opts.Mirror.ConfigFile
	_, cfg, err := readConfigFile(path)
	if err != nil {
		return err
	}
	targets, err := configuredTargets(cfg, path, opts.Registry)
	if err != nil {
		return err
	}
	reports, err := probeTargets(ctx, cfg, targets, &opts.MirrorTestOptions)
	if err != nil {
		return err
	}
	var out []rankedRegistry
	for _, t := range targets {
		var mine []*mirror.Report
		for _, r := range reports {
			if r.Registry == mirror.NormalizeRegistry(t.registry) {
				mine = append(mine, r)
			}
		}
		out = append(out, rankedRegistry{Registry: mirror.NormalizeRegistry(t.registry), Ranked: mirror.Rank(mine)})
	}
	var notes []string
	if opts.Apply {
		changed, err := editConfig(path, func(s *mirror.Settings) error {
			for _, rr := range out {
				var urls []string
				for _, r := range rr.Ranked {
					urls = append(urls, r.Endpoint)
				}
				if !s.Reorder(rr.Registry, urls) {
					notes = append(notes, fmt.Sprintf("%s: registry-mirrors come before the \"mirrors\" entry, so the rank was applied within each list; move a mirror between them (berth mirror rm, then add) for the full order", rr.Registry))
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i := range out {
			out[i].Applied = changed
		}
		defer func() {
			if changed {
				reloadHint(opts.Streams, path)
			} else {
				fmt.Fprintf(opts.Streams.ErrOut, "%s already lists the mirrors in this order; nothing written.\n", path)
			}
		}()
	}
	if opts.JSON {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.Streams.Out, "%s\n", b)
	} else {
		tw := newTable(opts.Streams)
		fmt.Fprintln(tw, "RANK\tREGISTRY\tENDPOINT\tTHROUGHPUT\tTIME\tRESULT")
		for _, rr := range out {
			n := 0
			for _, r := range rr.Ranked {
				rank, rate, took, result := "-", "-", "-", "ok"
				if r.OK {
					n++
					rank = fmt.Sprint(n)
					rate = mirror.Rate(r.BytesPerSecond)
					took = durationString(r.Total)
					if r.Stale == mirror.StaleUnknown {
						result = "ok (staleness unknown)"
					}
				} else {
					result = r.Problem.Kind + ": " + r.Problem.Message
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", rank, rr.Registry, r.Endpoint, rate, took, result)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if !opts.Apply && slices.ContainsFunc(out, func(rr rankedRegistry) bool { return len(rr.Ranked) > 1 }) {
			fmt.Fprintln(opts.Streams.ErrOut, "berth mirror rank --apply writes this order to "+path+".")
		}
	}
	for _, n := range notes {
		fmt.Fprintln(opts.Streams.ErrOut, "note: "+n)
	}
	return nil
}
