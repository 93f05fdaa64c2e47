package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/berthhq/berth/distro"
	"github.com/spf13/cobra"
)

// CheckOptions are the flags of `berth check`.
type CheckOptions struct {
	Root     string
	DataRoot string
	JSON     bool
	Verbose  bool
	// DetectOptions lets tests answer the probes from a fixture.
	DetectOptions []distro.Option
	Streams       *IOStreams
}

func newCmdCheck(streams *IOStreams, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{Streams: streams}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Inspect this host and say whether it can run containers",
		Long: `Inspect the host (distribution, kernel, architecture, init system, cgroups,
kernel configuration, storage, networking, security modules, other engines) and
say whether it can run containers, and what to fix.

Exit status: 0 when no required check fails (unknown is not a failure), 1 when
one does, 2 when the root cannot be inspected.`,
		Example: `  berth check
  berth check --json | jq '.checks[] | select(.status != "ok")'
  berth check --root /mnt/image`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCheck(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Root, "root", "/", "inspect the system whose root directory is `DIR` (a mounted disk or image)")
	f.StringVar(&opts.DataRoot, "data-root", distro.DefaultDataRoot, "the engine's data root whose filesystem is checked")
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON (the schema is in the README)")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "list every check, with its id")
	return cmd
}

func runCheck(ctx context.Context, opts *CheckOptions) error {
	dopts := append([]distro.Option{distro.WithDataRoot(opts.DataRoot)}, opts.DetectOptions...)
	rep, err := distro.Inspect(ctx, opts.Root, dopts...)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		// A root that cannot be read, or a malformed option: the input
		// is wrong, not the host.
		return usageError(err)
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.Streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeReport(opts.Streams.Out, rep, opts.Verbose, opts.Streams.Color)
	}
	if !rep.OK {
		return silentExit(ExitFailure)
	}
	return nil
}

// groupTitles names the report's sections, in order.
var groupTitles = []struct{ group, title string }{
	{"distro", "System"}, {"arch", "System"}, {"macos", "Mac"},
	{"kernel", "Kernel"}, {"init", "Init system"}, {"cgroup", "Cgroups"},
	{"kconfig", "Kernel configuration"}, {"storage", "Storage"},
	{"network", "Networking"}, {"security", "Security"}, {"env", "Environment"},
}

const (
	ansiReset = "\x1b[0m"
	ansiDim   = "\x1b[2m"
	ansiBold  = "\x1b[1m"
)

var statusColor = map[distro.Status]string{
	distro.OK: "\x1b[32m", distro.Warn: "\x1b[33m", distro.Fail: "\x1b[31m", distro.Unknown: "\x1b[36m",
}

// writeReport prints the grouped, one-line-per-check report. Without
// verbose, the kernel options that are present collapse into one line.
func writeReport(w io.Writer, rep *distro.Report, verbose, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	f := rep.Facts
	head := []string{f.Distro.Pretty}
	if f.Kernel.Release != "" {
		head = append(head, "kernel "+f.Kernel.Release)
	}
	head = append(head, f.Arch)
	if f.Root != "/" {
		head = append(head, "root "+f.Root)
	}
	fmt.Fprintln(w, paint(ansiBold, "berth check: "+strings.Join(head, ", ")))

	byGroup := map[string][]distro.Check{}
	for _, c := range rep.Checks {
		byGroup[c.Group()] = append(byGroup[c.Group()], c)
	}
	lastTitle := ""
	for _, g := range groupTitles {
		checks := byGroup[g.group]
		if len(checks) == 0 {
			continue
		}
		if g.title != lastTitle {
			title := g.title
			if g.group == "kconfig" {
				src := f.KernelConfig.Source
				if src == "" {
					src = "none readable"
				}
				title += " (" + src + ")"
			}
			fmt.Fprintln(w)
			fmt.Fprintln(w, paint(ansiBold, title))
			lastTitle = g.title
		}
		hidden := 0
		for _, c := range checks {
			if g.group == "kconfig" && c.Status == distro.OK && !verbose {
				hidden++
				continue
			}
			line := fmt.Sprintf("  %s %s", paint(statusColor[c.Status], fmt.Sprintf("%-7s", c.Status)), c.Message)
			if c.Required && c.Status == distro.Fail {
				line += paint(ansiBold, " (required)")
			}
			if verbose {
				line += paint(ansiDim, "  ["+c.ID+"]")
			}
			fmt.Fprintln(w, line)
			if c.Fix != "" && c.Status != distro.OK {
				fmt.Fprintln(w, "          "+paint(ansiDim, "fix: ")+c.Fix)
			}
		}
		if hidden > 0 {
			fmt.Fprintf(w, "  %s %d kernel options present (-v lists them)\n", paint(statusColor[distro.OK], fmt.Sprintf("%-7s", distro.OK)), hidden)
		}
	}
	for _, warn := range f.Warnings {
		fmt.Fprintln(w, "\n"+paint(statusColor[distro.Warn], "warning: ")+warn)
	}

	var failed []string
	warns, unknowns := 0, 0
	for _, c := range rep.Checks {
		switch {
		case c.Failed():
			failed = append(failed, c.ID)
		case c.Status == distro.Warn || c.Status == distro.Fail:
			warns++
		case c.Status == distro.Unknown:
			unknowns++
		}
	}
	fmt.Fprintln(w)
	extra := fmt.Sprintf("%d warnings, %d unknown", warns, unknowns)
	if len(failed) == 0 {
		fmt.Fprintln(w, paint(ansiBold, "Ready: this host can run containers")+" ("+extra+").")
		return
	}
	fmt.Fprintf(w, "%s: %d required check(s) failed: %s (%s).\n", paint(statusColor[distro.Fail], "Not ready"), len(failed), strings.Join(failed, ", "), extra)
}
