//go:build e2e

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestVerifyEndToEnd is berth verify against a real daemon whose Docker
// Hub is the in-process registry: the nginx smoke test passes, a server
// that never answers fails in the phase that says so, and neither leaves
// a container behind.
func TestVerifyEndToEnd(t *testing.T) {
	e := startRealEngine(t)
	noContainers := func(t *testing.T) {
		t.Helper()
		if out := must(t, e.docker, "ps", "-a", "--format", "{{.Names}} {{.Status}}"); strings.TrimSpace(out) != "" {
			t.Errorf("containers left behind:\n%s", out)
		}
	}
	report := func(t *testing.T, out, errOut string, err error) verifyReport {
		t.Helper()
		var rep verifyReport
		if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
			t.Fatalf("verify --json (exit %d): %v\n%s%s\ndaemon:\n%s", processExit(err), jerr, out, errOut, e.logs.String())
		}
		return rep
	}
	phases := []string{phaseImage, phaseStart, phaseResponse, phaseBridge, phaseCleanup}

	t.Run("pass, pulled", func(t *testing.T) {
		out, errOut, err := e.berth(t, "verify", "--image", "nginx:1.22", "--json")
		rep := report(t, out, errOut, err)
		if code := processExit(err); code != 0 || !rep.OK || rep.Image != "nginx:1.22" || rep.Failed != "" || errOut != "" {
			t.Fatalf("exit %d, stderr %q:\n%s\ndaemon:\n%s", code, errOut, out, e.logs.String())
		}
		for i, p := range rep.Phases {
			if i >= len(phases) || p.Name != phases[i] || !p.OK || p.Skipped || p.Error != "" {
				t.Errorf("phase %d: %+v", i, p)
			}
			t.Logf("%-8s %5d ms  %s", p.Name, p.MS, p.Detail)
		}
		if d := rep.Phases[0].Detail; d != "pulled nginx:1.22 from "+e.reg.Server.URL {
			t.Errorf("image phase: %q, want the pull through the mirror", d)
		}
		if d := rep.Phases[3].Detail; !strings.HasPrefix(d, "GET http://10.") || !strings.Contains(d, ":80/: 200") {
			t.Errorf("bridge phase: %q", d)
		}
		noContainers(t)
		if id := strings.TrimSpace(must(t, e.berth, "images", "-q", "nginx:1.22")); id == "" {
			t.Error("the pulled image was removed; docker keeps what it pulled")
		}
	})

	t.Run("pass, present, text", func(t *testing.T) {
		out := must(t, e.berth, "verify", "--image", "nginx:1.22")
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != 8 || lines[0] != "berth verify: nginx:1.22" || !strings.HasPrefix(lines[7], "Passed: nginx:1.22 served") {
			t.Fatalf("report:\n%s", out)
		}
		for i, title := range []string{"image ready", "container started", "first response", "bridge reachable", "cleanup"} {
			if f := strings.Fields(lines[1+i]); len(f) < 2 || f[0] != "ok" || !strings.HasPrefix(lines[1+i], "  ok    "+title) {
				t.Errorf("line %q, want ok %s", lines[1+i], title)
			}
		}
		if !strings.Contains(lines[1], "nginx:1.22 is present") {
			t.Errorf("second run pulled again: %q", lines[1])
		}
		noContainers(t)
	})

	t.Run("pass, from a docker save archive", func(t *testing.T) {
		// The archive names nginx:1.22 and busybox:1.35: nginx is the
		// one to run.
		archive := testvm.ImageArchive(t, "nginx-busybox.docker.tar")
		out, errOut, err := e.berth(t, "verify", "--from", archive, "--json")
		rep := report(t, out, errOut, err)
		if !rep.OK || rep.Image != "nginx:1.22" || rep.Phases[0].Detail != "loaded nginx:1.22 from "+archive {
			t.Fatalf("exit %d:\n%s%s", processExit(err), out, errOut)
		}
		noContainers(t)
	})

	t.Run("fail, a server that never answers", func(t *testing.T) {
		// busybox's default command is sh, which exits at once without
		// a terminal: nothing ever listens on port 80.
		out, errOut, err := e.berth(t, "verify", "--image", "busybox:1.35")
		if code := processExit(err); code != 1 || errOut != "" {
			t.Fatalf("exit %d, stderr %q, want 1 and the report on stdout:\n%s", code, errOut, out)
		}
		for _, want := range []string{
			"  fail  first response", "the container exited with status 0 before GET http://127.0.0.1:",
			"  skip  bridge reachable", "  ok    cleanup", ", which had exited",
			"The container wrote nothing to its log.", "\nFailed: first response: ",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
		noContainers(t)

		out, errOut, err = e.berth(t, "verify", "--image", "busybox:1.35", "--json")
		rep := report(t, out, errOut, err)
		if processExit(err) != 1 || rep.OK || rep.Failed != phaseResponse || rep.Hints == nil || !rep.Phases[4].OK {
			t.Errorf("exit %d: %+v", processExit(err), rep)
		}
		noContainers(t)
	})

	t.Run("fail, the time runs out", func(t *testing.T) {
		out, errOut, err := e.berth(t, "verify", "--image", "nginx:1.22", "--timeout", "1ns", "--json")
		rep := report(t, out, errOut, err)
		if processExit(err) != 1 || rep.Failed != phaseImage || rep.Phases[0].Error != "--timeout 1ns reached" {
			t.Errorf("exit %d: %+v", processExit(err), rep)
		}
		noContainers(t)
	})

	t.Run("an image that is nowhere", func(t *testing.T) {
		out, errOut, err := e.berth(t, "verify", "--image", "nope:1")
		if processExit(err) != 1 || !strings.Contains(out, "  fail  image ready") || !strings.Contains(out, "pulling nope:1:") {
			t.Errorf("exit %d:\n%s%s", processExit(err), out, errOut)
		}
		noContainers(t)
	})
}
