package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// StatsOptions are the flags of `berth stats`.
type StatsOptions struct {
	Containers []string
	All        bool
	NoStream   bool
	NoTrunc    bool
	Format     string
	Streams    *IOStreams
	Global     *GlobalOptions
}

func newCmdStats(streams *IOStreams, g *GlobalOptions, runF func(*StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Containers = args
			if runF != nil {
				return runF(opts)
			}
			return runStats(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.All, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVar(&opts.NoStream, "no-stream", false, "disable streaming stats and only pull the first result")
	f.BoolVar(&opts.NoTrunc, "no-trunc", false, "do not truncate output")
	f.StringVar(&opts.Format, "format", "", "format output using a Go template, 'table', 'table TEMPLATE' or 'json'")
	return cmd
}

var statsHeader = headerRow{
	"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
	"MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}

// statsRow is one container's line, as docker stats's templates see it.
type statsRow struct {
	Container, ID, Name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs string
}

// newStatsRow computes docker stats's figures from a sample and the CPU
// use before it (cgroup v1's total_inactive_file, or v2's inactive_file,
// is page cache and not counted).
func newStatsRow(container string, s api.StatsJSON, trunc bool) statsRow {
	r := statsRow{Container: container, ID: s.ID, Name: strings.TrimPrefix(s.Name, "/")}
	if trunc {
		r.ID = truncateID(s.ID)
	}
	cpu := 0.0
	cpuDelta := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(s.PreCPUStats.CPUUsage.TotalUsage)
	sysDelta := float64(s.CPUStats.SystemUsage) - float64(s.PreCPUStats.SystemUsage)
	online := float64(s.CPUStats.OnlineCPUs)
	if online == 0 {
		online = float64(len(s.CPUStats.CPUUsage.PercpuUsage))
	}
	if sysDelta > 0 && cpuDelta > 0 {
		cpu = cpuDelta / sysDelta * online * 100
	}
	mem := float64(s.MemoryStats.Usage)
	if v, ok := s.MemoryStats.Stats["total_inactive_file"]; ok && v < s.MemoryStats.Usage {
		mem = float64(s.MemoryStats.Usage - v)
	} else if v := s.MemoryStats.Stats["inactive_file"]; v < s.MemoryStats.Usage {
		mem = float64(s.MemoryStats.Usage - v)
	}
	memPerc := 0.0
	if s.MemoryStats.Limit != 0 {
		memPerc = mem / float64(s.MemoryStats.Limit) * 100
	}
	var rx, tx, blkRead, blkWrite uint64
	for _, n := range s.Networks {
		rx, tx = rx+n.RxBytes, tx+n.TxBytes
	}
	for _, e := range s.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) {
		case "read":
			blkRead += e.Value
		case "write":
			blkWrite += e.Value
		}
	}
	r.CPUPerc = fmt.Sprintf("%.2f%%", cpu)
	r.MemUsage = binarySize(mem) + " / " + binarySize(float64(s.MemoryStats.Limit))
	r.MemPerc = fmt.Sprintf("%.2f%%", memPerc)
	r.NetIO = humanSize(int64(rx)) + " / " + humanSize(int64(tx))
	r.BlockIO = humanSize(int64(blkRead)) + " / " + humanSize(int64(blkWrite))
	r.PIDs = fmt.Sprint(s.PidsStats.Current)
	return r
}

// binarySize is go-units' BytesSize: four significant digits, binary
// units ("1.5MiB", "7.629GiB").
func binarySize(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return fmt.Sprintf("%.4g%s", n, units[i])
}

func runStats(ctx context.Context, opts *StatsOptions) error {
	format := opts.Format
	switch format {
	case "", "table":
		format = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
	case "json":
		format = "{{json .}}"
	}
	if _, err := parseFormat(strings.TrimPrefix(format, "table")); err != nil {
		return err
	}
	c := engineClient(opts.Global)
	defer c.Close()
	refs := opts.Containers
	if len(refs) == 0 {
		list, err := c.ContainerList(ctx, api.ContainerListOptions{All: opts.All})
		if err != nil {
			return engineError(err)
		}
		for _, ct := range list {
			refs = append(refs, truncateID(ct.ID))
		}
	}
	if opts.NoStream {
		return statsOnce(ctx, c, opts, refs, format)
	}
	return statsLive(ctx, c, opts, refs, format)
}

// statsOnce asks every container for one sample, at once.
func statsOnce(ctx context.Context, c *api.Client, opts *StatsOptions, refs []string, format string) error {
	rows := make([]statsRow, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() {
			st, err := c.ContainerStats(ctx, ref, false)
			if err != nil {
				errs[i] = engineError(err)
				return
			}
			defer st.Close()
			s, err := st.Next()
			if err != nil {
				errs[i] = err
				return
			}
			rows[i] = newStatsRow(ref, s, !opts.NoTrunc)
		})
	}
	wg.Wait()
	var got []statsRow
	var failed []error
	for i := range refs {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			continue
		}
		got = append(got, rows[i])
	}
	if len(failed) > 0 {
		return reportAll(opts.Streams, failed)
	}
	return writeTemplate(opts.Streams, format, statsHeader, got)
}

// statsLive streams every container's samples and redraws the table
// twice a second, as docker stats does, until interrupted or every
// container has stopped.
func statsLive(ctx context.Context, c *api.Client, opts *StatsOptions, refs []string, format string) error {
	var mu sync.Mutex
	latest := map[string]statsRow{}
	done := map[string]bool{}
	var firstErr error
	for _, ref := range refs {
		go func() {
			defer func() {
				mu.Lock()
				done[ref] = true
				mu.Unlock()
			}()
			st, err := c.ContainerStats(ctx, ref, true)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = engineError(err)
				}
				mu.Unlock()
				return
			}
			defer st.Close()
			for {
				s, err := st.Next()
				if err != nil {
					return
				}
				mu.Lock()
				latest[ref] = newStatsRow(ref, s, !opts.NoTrunc)
				mu.Unlock()
			}
		}()
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		mu.Lock()
		if firstErr != nil {
			mu.Unlock()
			return firstErr
		}
		var rows []statsRow
		finished := len(refs) > 0
		for _, ref := range refs {
			if r, ok := latest[ref]; ok && !done[ref] {
				rows = append(rows, r)
			}
			finished = finished && done[ref]
		}
		mu.Unlock()
		var buf bytes.Buffer
		screen := &IOStreams{Out: &buf}
		if err := writeTemplate(screen, format, statsHeader, rows); err != nil {
			return err
		}
		// Home, then the table, each line cleared to its end, then the
		// rest of the screen cleared.
		text := strings.ReplaceAll(buf.String(), "\n", "\x1b[K\n")
		if _, err := io.WriteString(opts.Streams.Out, "\x1b[H"+text+"\x1b[J"); err != nil {
			return err
		}
		if finished {
			return nil
		}
	}
}
