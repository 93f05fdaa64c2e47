//go:build e2e

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthhq/berth/runtime/daemon"
	"github.com/berthhq/berth/testvm"
)

// TestMirrorEndToEnd is the mirror issue's acceptance on the real binary: a
// daemon pulling through a mirror that dies mid-layer (abandoned below the
// floor, the layer resumed with a Range request from the next), the health
// it then remembers in `berth mirror ls`, `berth info` and under its data
// root, `berth mirror test` from the client, and add/rm applied by SIGHUP.
// Every registry is on loopback; the upstream is always given.
func TestMirrorEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("berth daemon needs root; CI runs as root")
	}
	var sw testvm.Switch
	var ranges testvm.RangeLog
	good := testvm.NewRegistry(t, "", testvm.Ranges(&ranges))
	layer := busyboxLayer(t, good)
	dying := testvm.NewRegistry(t, "", testvm.StallAfter(&sw, func(r *http.Request) bool {
		return testvm.Blobs(r) && strings.HasSuffix(r.URL.Path, "/"+layer)
	}, 300<<10))
	sw.On()

	dir := shortDir(t)
	bin := buildBerth(t, dir)
	sock, data, cfgFile := filepath.Join(dir, "b.sock"), filepath.Join(dir, "data"), filepath.Join(dir, "daemon.json")
	cfg := fmt.Sprintf(`{
  "mirrors": {"docker.io": {"endpoints": [{"url": %q}, {"url": %q}], "fallback": false}},
  "mirror-stall": {"bytes-per-second": 65536, "window": "1s"}
}
`, dying.Server.URL, good.Server.URL)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	t.Cleanup(leaveHostNetwork(t, data)) // after the daemon's stop, below
	cmd := exec.Command(bin, "daemon", "-H", "unix://"+sock, "--data-root", data, "--config-file", cfgFile, "--group", "root")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("berth daemon did not stop:\n%s", logs.String())
		}
	})
	waitForEngine(t, sock, exited, &logs)
	berth := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, bin, append([]string{"-H", "unix://" + sock}, args...)...)
		c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DOCKER_CONFIG=" + dir}
		var out, errOut bytes.Buffer
		c.Stdout, c.Stderr = &out, &errOut
		err := c.Run()
		return out.String(), errOut.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := berth(args...)
		if err != nil {
			t.Fatalf("berth %s: %v\n%s%s\ndaemon:\n%s", strings.Join(args, " "), err, out, errOut, logs.String())
		}
		return out
	}

	out := must("pull", "busybox:1.35")
	for _, want := range []string{"Resuming at 300.0 KiB from " + good.Server.URL, "stalled: ", "Download complete from " + good.Server.URL + " (resumed at 300.0 KiB)", "Pull complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("pull output lacks %q:\n%s", want, out)
		}
	}
	if got := ranges.List(); len(got) != 1 || !strings.HasPrefix(got[0], fmt.Sprintf("bytes=%d-", 300<<10)) {
		t.Errorf("Range requests to the good mirror: %q", got)
	}

	out = must("mirror", "--config-file", cfgFile, "ls")
	for _, want := range []string{
		`(?m)^docker.io\s+` + regexp.QuoteMeta(dying.Server.URL) + `\s+mirror\s+cooling down for [0-9.]+s: stalled: 0 B/s over the last 1s, below the floor of 64 KiB/s$`,
		`(?m)^docker.io\s+` + regexp.QuoteMeta(good.Server.URL) + `\s+mirror\s+ok, last used `,
		`(?m)^docker.io\s+https://index.docker.io\s+registry\s+not used \(fallback is false\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("mirror ls lacks %s:\n%s", want, out)
		}
	}
	out = must("info")
	if !strings.Contains(out, " Mirror Health:\n  "+dying.Server.URL+" (docker.io): cooling down for ") || !strings.Contains(out, "  "+good.Server.URL+" (docker.io): ok\n") {
		t.Errorf("info:\n%s", out)
	}

	// The next pull tries the cooling mirror last and says so.
	out = must("pull", "busybox:multi")
	if !strings.Contains(out, "Trying "+dying.Server.URL+" last: it failed") {
		t.Errorf("second pull:\n%s", out)
	}

	// The health outlives the engine, under its data root.
	snap, err := daemon.ReadMirrorHealth(data)
	if err != nil || len(snap) != 2 {
		t.Errorf("%s: %v %+v", filepath.Join(data, daemon.MirrorHealthFile), err, snap)
	}

	// The client tests mirrors itself, no engine involved.
	out, _, err = berth("mirror", "--config-file", cfgFile, "test", "--image", "busybox:1.35", "--upstream", good.Server.URL, "--timeout", "2s")
	if err == nil || !strings.Contains(out, "=> slow: stalled: only 300.0 KiB of 1.1 MiB arrived in 2s") || !strings.Contains(out, "2 tested: 1 ok, 1 failing") {
		t.Errorf("mirror test: %v\n%s", err, out)
	}

	// add, SIGHUP, rm, SIGHUP: the running engine follows the file.
	extra := testvm.NewRegistry(t, "")
	must("mirror", "--config-file", cfgFile, "add", extra.Server.URL)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool {
		out, _, _ := berth("info", "--format", "{{json .RegistryConfig}}")
		return strings.Contains(out, extra.Server.URL)
	}, "the engine to reload the added mirror", &logs)
	must("mirror", "--config-file", cfgFile, "rm", extra.Server.URL)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool {
		out, _, _ := berth("info", "--format", "{{json .RegistryConfig}}")
		return !strings.Contains(out, extra.Server.URL)
	}, "the engine to reload without the removed mirror", &logs)
	if got, _ := os.ReadFile(cfgFile); !strings.Contains(string(got), `"mirror-stall": {"bytes-per-second": 65536, "window": "1s"}`) {
		t.Errorf("add and rm lost a setting:\n%s", got)
	}
}

func busyboxLayer(t *testing.T, reg *testvm.Registry) string {
	t.Helper()
	ref, err := name.ParseReference(reg.Host+"/library/busybox:1.35", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers: %v", err)
	}
	d, _ := layers[0].Digest()
	return d.String()
}

func waitFor(t *testing.T, ok func() bool, what string, logs *syncBuffer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s:\n%s", what, logs.String())
}
