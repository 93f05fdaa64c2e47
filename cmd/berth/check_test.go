package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/distro"
	"github.com/berthhq/berth/testvm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var judgeDay = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// checkFixture runs `berth check` with args against a fixture, its probes
// answering from the fixture.
func checkFixture(t *testing.T, name string, args ...string) (code int, out, errOut string) {
	t.Helper()
	fx, err := testvm.LoadFixture(name)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	streams := &IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr}
	cmd := newCmdCheck(streams, func(o *CheckOptions) error {
		o.DetectOptions = []distro.Option{distro.WithProbe(fx.Probe), distro.WithNow(judgeDay)}
		return runCheck(context.Background(), o)
	})
	cmd.SetArgs(append([]string{"--root", fx.Root}, args...))
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err = cmd.Execute()
	return exitCode(err), strings.ReplaceAll(stdout.String(), testvm.FixturesDir(), "testvm/fixtures"), stderr.String()
}

// TestCheckReports compares the text report of every fixture with its
// golden file, and the exit code with the report's verdict.
func TestCheckReports(t *testing.T) {
	names, err := testvm.Fixtures()
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures in %s: %v", testvm.FixturesDir(), err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			code, out, stderr := checkFixture(t, name)
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			golden := filepath.Join("testdata", "check-"+name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/berth -update)", err)
			}
			if out != string(want) {
				t.Errorf("report differs from %s; run go test ./cmd/berth -update and read the diff\n%s", golden, out)
			}
			ready := strings.Contains(out, "\nReady: ")
			if ready != (code == ExitOK) || (!ready && code != ExitFailure) {
				t.Errorf("exit code %d does not match the verdict line:\n%s", code, out)
			}
			if strings.Contains(out, "\x1b[") {
				t.Error("colour codes written to a non-terminal")
			}
		})
	}
}

// TestCheckJSON holds --json to the schema the README documents.
func TestCheckJSON(t *testing.T) {
	code, out, _ := checkFixture(t, "rhel-6", "--json")
	if code != ExitFailure {
		t.Errorf("exit %d for RHEL 6, want %d", code, ExitFailure)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, path := range []string{
		"os", "ok", "arch", "distro.id", "distro.like", "distro.version", "distro.codename", "distro.pretty",
		"distro.family", "distro.support", "kernel.release", "kernel.version", "init.system", "init.running",
		"cgroup.mode", "cgroup.controllers", "checks",
	} {
		if _, ok := lookup(doc, path); !ok {
			t.Errorf("--json lacks %s", path)
		}
	}
	if v, _ := lookup(doc, "kernel.version"); v != "2.6.32" {
		t.Errorf("kernel.version %v, want 2.6.32", v)
	}
	if v, _ := lookup(doc, "ok"); v != false {
		t.Errorf("ok %v for RHEL 6", v)
	}
	checks, _ := doc["checks"].([]any)
	for _, c := range checks {
		m := c.(map[string]any)
		for _, k := range []string{"id", "status", "required", "message"} {
			if _, ok := m[k]; !ok {
				t.Errorf("check %v lacks %s", m["id"], k)
			}
		}
	}
}

func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// TestCheckThisMachine runs the real command on this host: a report, an
// exit code that agrees with it, and JSON that agrees with the text.
func TestCheckThisMachine(t *testing.T) {
	code, out, stderr := runBerth(t, "check")
	if code != ExitOK && code != ExitFailure {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(out, "berth check: ") {
		t.Errorf("report starts %q", out[:min(len(out), 40)])
	}
	jcode, jout, _ := runBerth(t, "check", "--json")
	var rep distro.Report
	if err := json.Unmarshal([]byte(jout), &rep); err != nil {
		t.Fatal(err)
	}
	if jcode != code || rep.OK != (code == ExitOK) {
		t.Errorf("text exit %d, json exit %d, json ok %v", code, jcode, rep.OK)
	}
	if !strings.Contains(out, rep.Kernel.Release) || !strings.Contains(out, rep.Distro.Pretty) {
		t.Errorf("text report lacks the kernel %q or distro %q", rep.Kernel.Release, rep.Distro.Pretty)
	}
}
