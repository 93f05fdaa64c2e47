package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/berthhq/berth/distro"
	"github.com/berthhq/berth/runtime/image"
)

// The phases of `berth verify`, in the order they run. The names are what
// --json reports and scripts match on; they never change.
const (
	phaseImage    = "image"
	phaseStart    = "start"
	phaseResponse = "response"
	phaseBridge   = "bridge"
	phaseCleanup  = "cleanup"
)

// welcomeText is what nginx's default page must hold for a pass.
const welcomeText = "Welcome to nginx!"

// verifySpec is what one run of verify is asked to do, from its flags.
type verifySpec struct {
	// Image is --image; From is --from's archive ("" to pull).
	Image string
	From  string
	// Pull is the policy for Image: always, missing or never.
	Pull string
}

// verifyPhase is one step of the plan: its name, the title the report
// gives it, and the berth check findings that can explain its failure.
type verifyPhase struct {
	Name  string
	Title string
	// Explains holds path.Match patterns of check IDs.
	Explains []string
}

// verifyPlan is the steps a run takes, in order. Cleanup is always last
// and always runs.
func verifyPlan(s verifySpec) []verifyPhase {
	img := verifyPhase{Name: phaseImage, Title: "image ready",
		Explains: []string{"storage.*", "kconfig.CONFIG_OVERLAY_FS"}}
	if s.From != "" {
		img.Title = "image loaded"
	}
	return []verifyPhase{
		img,
		{Name: phaseStart, Title: "container started",
			Explains: []string{"kernel.*", "cgroup.*", "kconfig.*", "storage.*", "security.*", "env.container", "env.wsl", "env.memory", "network.subnet"}},
		{Name: phaseResponse, Title: "first response",
			Explains: []string{"network.ip_forward", "network.subnet", "network.firewall", "kconfig.CONFIG_VETH", "kconfig.CONFIG_BRIDGE", "kconfig.CONFIG_NF*", "kconfig.CONFIG_NFT*", "security.*", "env.memory", "cgroup.memory"}},
		{Name: phaseBridge, Title: "bridge reachable",
			Explains: []string{"network.*", "kconfig.CONFIG_VETH", "kconfig.CONFIG_BRIDGE*"}},
		{Name: phaseCleanup, Title: "cleanup",
			Explains: []string{"cgroup.*", "storage.overlay", "storage.backing"}},
	}
}

// phaseResult is one phase as it ran: --json's "phases" entries.
type phaseResult struct {
	Name string `json:"name"`
	MS   int64  `json:"ms"`
	OK   bool   `json:"ok"`
	// Error says why the phase failed; "" when it did not.
	Error string `json:"error"`
	// Detail says what the phase did (the image pulled, the port, the
	// address answered).
	Detail string `json:"detail,omitempty"`
	// Skipped is a phase that did not run because an earlier one failed.
	Skipped bool `json:"skipped,omitempty"`
}

// verifyReport is the outcome of a run, as the text report and --json
// show it.
type verifyReport struct {
	OK bool `json:"ok"`
	// Image is the image verified ("nginx:1.22"), or what was asked for
	// when it could not be made ready.
	Image string `json:"image"`
	// Failed is the name of the first phase that failed.
	Failed string        `json:"failed,omitempty"`
	Phases []phaseResult `json:"phases"`
	// Log is the last lines of the container's output, on a failure
	// after the container started.
	Log []string `json:"log,omitempty"`
	// Hints are the berth check findings that may explain the failure.
	Hints []distro.Check `json:"hints"`

	// source is what the header names: the image asked for or the
	// archive.
	source string
	// logRead says Log was fetched, so an empty one is worth saying;
	// inspected says the same of the findings.
	logRead, inspected bool
	// title names each phase for the text report.
	titles map[string]string
}

// judgeVerify makes the report of a run: the verdict, the failed phase,
// and the findings of checks that may explain it. checks may be nil (not
// inspected, as on a pass).
func judgeVerify(plan []verifyPhase, source, img string, results []phaseResult, log []string, logRead bool, checks []distro.Check) *verifyReport {
	rep := &verifyReport{OK: true, Image: img, Phases: results, Log: log, Hints: []distro.Check{},
		source: source, logRead: logRead, inspected: checks != nil, titles: map[string]string{}}
	for _, p := range plan {
		rep.titles[p.Name] = p.Title
	}
	if len(results) < len(plan) {
		rep.OK = false
	}
	for _, r := range results {
		if !r.OK && !r.Skipped {
			rep.OK = false
			if rep.Failed == "" {
				rep.Failed = r.Name
			}
		}
	}
	if rep.Failed == "" {
		return rep
	}
	for _, p := range plan {
		if p.Name == rep.Failed {
			rep.Hints = verifyHints(p, checks)
		}
	}
	return rep
}

// verifyHints picks the findings that may explain p failing: every
// required check that fails (the host is not ready), then the warnings
// and failures of p's kinds, in the order berth check lists them. An
// unknown is left out: it explains nothing.
func verifyHints(p verifyPhase, checks []distro.Check) []distro.Check {
	out := []distro.Check{}
	for _, c := range checks {
		if c.Failed() {
			out = append(out, c)
		}
	}
	for _, c := range checks {
		if (c.Status != distro.Warn && c.Status != distro.Fail) || c.Failed() {
			continue
		}
		if slices.ContainsFunc(p.Explains, func(pat string) bool {
			ok, _ := path.Match(pat, c.ID)
			return ok
		}) {
			out = append(out, c)
		}
	}
	return out
}

// verifyHeader is the report's first line.
func verifyHeader(w io.Writer, source string, color bool) {
	fmt.Fprintln(w, paintIf(color, ansiBold, "berth verify: "+source))
}

// writePhaseLine is one phase of the text report; title is the plan's.
func writePhaseLine(w io.Writer, title string, r phaseResult, color bool) {
	status, code := "ok", statusColor[distro.OK]
	switch {
	case r.Skipped:
		status, code = "skip", ansiDim
	case !r.OK:
		status, code = "fail", statusColor[distro.Fail]
	}
	line := fmt.Sprintf("  %s %-18s", paintIf(color, code, fmt.Sprintf("%-5s", status)), title)
	switch {
	case r.Skipped:
		fmt.Fprintln(w, strings.TrimRight(line, " "))
		return
	case r.OK:
		line += fmt.Sprintf(" %6d ms", r.MS)
		if r.Detail != "" {
			line += "  " + r.Detail
		}
	default:
		line += fmt.Sprintf(" %6d ms  %s", r.MS, r.Error)
	}
	fmt.Fprintln(w, line)
}

// writeVerifyTail is what follows the phases: on a failure the
// container's log and the findings, then the verdict.
func writeVerifyTail(w io.Writer, rep *verifyReport, color bool) {
	var total int64
	for _, r := range rep.Phases {
		total += r.MS
	}
	fmt.Fprintln(w)
	if rep.OK {
		fmt.Fprintf(w, "%s %s served %q on 127.0.0.1 and on its bridge address, and was removed (%d ms).\n",
			paintIf(color, statusColor[distro.OK], "Passed:"), rep.Image, welcomeText, total)
		return
	}
	if rep.logRead {
		if len(rep.Log) == 0 {
			fmt.Fprintln(w, "The container wrote nothing to its log.")
		} else {
			what := "line"
			if len(rep.Log) > 1 {
				what = fmt.Sprintf("%d lines", len(rep.Log))
			}
			fmt.Fprintf(w, "Last %s of the container's log:\n", what)
			for _, l := range rep.Log {
				fmt.Fprintln(w, "  | "+l)
			}
		}
		fmt.Fprintln(w)
	}
	if len(rep.Hints) == 0 && rep.inspected {
		fmt.Fprintln(w, "berth check finds nothing on this host that explains it.")
		fmt.Fprintln(w)
	}
	if len(rep.Hints) > 0 {
		fmt.Fprintln(w, "Findings of berth check that may explain it:")
		for _, c := range rep.Hints {
			line := fmt.Sprintf("  %s %s", paintIf(color, statusColor[c.Status], fmt.Sprintf("%-7s", c.Status)), c.Message)
			if c.Failed() {
				line += paintIf(color, ansiBold, " (required)")
			}
			fmt.Fprintln(w, line+paintIf(color, ansiDim, "  ["+c.ID+"]"))
			if c.Fix != "" {
				fmt.Fprintln(w, "          "+paintIf(color, ansiDim, "fix: ")+c.Fix)
			}
		}
		fmt.Fprintln(w)
	}
	why := ""
	for _, r := range rep.Phases {
		if r.Name == rep.Failed {
			why = r.Error
		}
	}
	fmt.Fprintf(w, "%s %s: %s\n", paintIf(color, statusColor[distro.Fail], "Failed:"), rep.titles[rep.Failed], why)
}

// writeVerifyJSON is --json's document. "->" in the details stays as
// it is, not HTML-escaped.
func writeVerifyJSON(w io.Writer, rep *verifyReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

// writeVerifyText is the whole text report, as a run prints it piece by
// piece.
func writeVerifyText(w io.Writer, rep *verifyReport, color bool) {
	verifyHeader(w, rep.source, color)
	for _, r := range rep.Phases {
		writePhaseLine(w, rep.titles[r.Name], r, color)
	}
	writeVerifyTail(w, rep, color)
}

func paintIf(color bool, code, s string) string {
	if !color {
		return s
	}
	return code + s + ansiReset
}

// chooseLoaded picks the image to run among those an archive loaded:
// --image when given (a name without a tag matches the one tag of that
// repository), otherwise the only image, or the only nginx among several.
func chooseLoaded(loaded []string, want string, wantGiven bool) (string, error) {
	if len(loaded) == 0 {
		return "", fmt.Errorf("the archive named no image")
	}
	repoOf := func(s string) string {
		r, err := image.ParseReference(s)
		if err != nil {
			return s
		}
		return r.Name()
	}
	same := func(a, b string) bool {
		ra, err1 := image.ParseReference(a)
		rb, err2 := image.ParseReference(b)
		return err1 == nil && err2 == nil && ra.String() == rb.String()
	}
	pick := func(match func(string) bool, what string) (string, error) {
		var found []string
		for _, l := range loaded {
			if match(l) {
				found = append(found, l)
			}
		}
		switch len(found) {
		case 1:
			return found[0], nil
		case 0:
			return "", fmt.Errorf("the archive holds %s, not %s: name one of them with --image", strings.Join(loaded, ", "), what)
		}
		return "", fmt.Errorf("the archive holds %s: name one of them with --image", strings.Join(found, ", "))
	}
	if !wantGiven {
		if len(loaded) == 1 {
			return loaded[0], nil
		}
		want = "nginx"
	}
	if slices.ContainsFunc(loaded, func(l string) bool { return same(l, want) }) {
		return pick(func(l string) bool { return same(l, want) }, want)
	}
	last := want[strings.LastIndex(want, "/")+1:]
	if r, err := image.ParseReference(want); err == nil && !strings.ContainsAny(last, ":@") {
		// "nginx" is nginx:latest to a parser; here it means any tag.
		return pick(func(l string) bool { return repoOf(l) == r.Name() }, want)
	}
	return pick(func(string) bool { return false }, want)
}
