//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/testvm"
)

// engine is a real berth daemon, built from this tree and run as its own
// process, pulling through an in-process registry that stands in for
// Docker Hub (fallback off: nothing leaves the machine).
type engine struct {
	bin, sock, data, cfgDir, cfgFile string
	reg                              *testvm.Registry

	// The daemon process that runs now (nil between stop and start).
	cmd    *exec.Cmd
	exited chan error
	logs   *syncBuffer
}

func buildBerth(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "berth")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startRealEngine(t *testing.T) *engine {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("berth daemon needs root; CI runs as root")
	}
	dir := shortDir(t)
	e := &engine{bin: buildBerth(t, dir), sock: filepath.Join(dir, "b.sock"), data: filepath.Join(dir, "data"), cfgDir: filepath.Join(dir, "docker")}
	os.Mkdir(e.cfgDir, 0o700)
	e.reg = testvm.NewRegistry(t, "")
	cfg := fmt.Sprintf(`{"mirrors": {"docker.io": {"endpoints": [{"url": %q}], "fallback": false}}}`, e.reg.Server.URL)
	e.cfgFile = filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(e.cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Runs after the daemon stops (cleanups run last first): the
	// bridge and rules the daemon made for its data root go.
	t.Cleanup(leaveHostNetwork(t, e.data))
	e.start(t)
	t.Cleanup(func() { e.stop(t) })
	return e
}

// start runs the daemon and waits until it answers.
func (e *engine) start(t *testing.T) {
	t.Helper()
	e.logs = &syncBuffer{}
	e.cmd = exec.Command(e.bin, "daemon", "-H", "unix://"+e.sock, "--data-root", e.data, "--config-file", e.cfgFile, "--group", "root")
	e.cmd.Stdout, e.cmd.Stderr = e.logs, e.logs
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(e.cmd, e.exited)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(e.sock); err == nil {
			if _, _, err := e.berth(t, "version"); err == nil {
				break
			}
		}
		select {
		case err := <-e.exited:
			t.Fatalf("berth daemon exited: %v\n%s", err, e.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("berth daemon did not answer:\n%s", e.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop stops the daemon as systemd does (SIGINT here) and checks that it
// exits cleanly and removes its socket; a stopped daemon is left alone.
func (e *engine) stop(t *testing.T) {
	t.Helper()
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-e.exited:
		if err != nil {
			t.Errorf("berth daemon exited with %v:\n%s", err, e.logs.String())
		}
	case <-time.After(15 * time.Second):
		e.cmd.Process.Kill()
		<-e.exited
		t.Errorf("berth daemon did not stop on SIGINT:\n%s", e.logs.String())
	}
	e.cmd = nil
	if _, err := os.Lstat(e.sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// kill ends the daemon with SIGKILL, as a crash or the OOM killer would:
// nothing of it runs its shutdown.
func (e *engine) kill(t *testing.T) {
	t.Helper()
	if e.cmd == nil {
		t.Fatal("kill: the daemon is not running")
	}
	e.cmd.Process.Kill()
	<-e.exited
	e.cmd = nil
}

// berth runs the real berth client against the engine.
func (e *engine) berth(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"-H", "unix://" + e.sock}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.cfgDir, "DOCKER_CONFIG=" + e.cfgDir}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func (e *engine) docker(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return docker(t, e.sock, e.cfgDir, "", args...)
}

// must runs a client and fails the test when it fails.
func must(t *testing.T, run func(*testing.T, ...string) (string, string, error), args ...string) string {
	t.Helper()
	out, errOut, err := run(t, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// TestImagesEndToEnd is the image issue's acceptance: the real docker CLI
// and berth against a real daemon, store and registry.
func TestImagesEndToEnd(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Fatalf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	e := startRealEngine(t)

	out := must(t, e.docker, "version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}")
	if strings.TrimSpace(out) != "1.43 linux" {
		t.Errorf("docker version: %q", out)
	}

	out = must(t, e.docker, "pull", "busybox:1.35")
	for _, want := range []string{"Pull complete", "Download complete from " + e.reg.Server.URL, "Status: Downloaded newer image for busybox:1.35", "docker.io/library/busybox:1.35"} {
		if !strings.Contains(out, want) {
			t.Errorf("docker pull output lacks %q:\n%s", want, out)
		}
	}
	out = must(t, e.berth, "pull", "nginx:1.22")
	if !strings.Contains(out, "Pull complete") || !strings.HasSuffix(out, "docker.io/library/nginx:1.22\n") {
		t.Errorf("berth pull output:\n%s", out)
	}
	must(t, e.berth, "pull", "--platform", "linux/arm64", "busybox:multi")
	if _, errOut, err := e.berth(t, "pull", "nope:1"); err == nil || !strings.Contains(errOut, "not found") {
		t.Errorf("pull of a missing image: %v %q", err, errOut)
	}
	if _, errOut, err := e.berth(t, "pull", "NOPE"); err == nil || strings.Count(errOut, "\n") != 1 {
		t.Errorf("pull of a malformed name: %v %q", err, errOut)
	}

	t.Run("images", func(t *testing.T) {
		out := must(t, e.docker, "images")
		if !regexp.MustCompile(`(?m)^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$`).MatchString(out) {
			t.Errorf("docker images header:\n%s", out)
		}
		for _, re := range []string{`(?m)^busybox\s+1\.35\s+[0-9a-f]{12}\s+\S.* ago\s+\d`, `(?m)^nginx\s+1\.22\s+[0-9a-f]{12}`, `(?m)^busybox\s+multi\s+`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("docker images lacks %s:\n%s", re, out)
			}
		}
		out = must(t, e.docker, "images", "--digests", "--no-trunc")
		if !regexp.MustCompile(`(?m)^busybox\s+1\.35\s+sha256:[0-9a-f]{64}\s+sha256:[0-9a-f]{64}`).MatchString(out) {
			t.Errorf("docker images --digests --no-trunc:\n%s", out)
		}
		out = must(t, e.docker, "images", "-q", "-f", "reference=nginx")
		if len(strings.Fields(out)) != 1 {
			t.Errorf("docker images -q -f reference=nginx: %q", out)
		}
		out = must(t, e.docker, "images", "--format", "{{.Repository}}:{{.Tag}}", "busybox")
		if got := strings.Fields(out); len(got) != 2 {
			t.Errorf("docker images --format busybox: %q", out)
		}
		out = must(t, e.docker, "images", "-f", "dangling=true", "-q")
		if strings.TrimSpace(out) != "" {
			t.Errorf("dangling images before any untag: %q", out)
		}
		for _, run := range []func(*testing.T, ...string) (string, string, error){e.docker, e.berth} {
			out = must(t, run, "images", "--format", "table {{.Repository}}\t{{.Size}}")
			if !regexp.MustCompile(`(?m)^REPOSITORY\s+SIZE$`).MatchString(out) || !strings.Contains(out, "MB") {
				t.Errorf("images --format table:\n%s", out)
			}
		}
		if _, errOut, err := e.docker(t, "images", "-f", "colour=red"); err == nil || !strings.Contains(errOut, "colour") {
			t.Errorf("unknown filter: %v %q", err, errOut)
		}
	})

	t.Run("inspect and history", func(t *testing.T) {
		out := must(t, e.docker, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{len .RootFS.Layers}} {{index .Config.Cmd 0}}", "nginx:1.22")
		if strings.TrimSpace(out) != "linux/amd64 2 nginx" {
			t.Errorf("docker image inspect: %q", out)
		}
		var docs []map[string]any
		if err := json.Unmarshal([]byte(must(t, e.berth, "image", "inspect", "busybox:1.35")), &docs); err != nil || len(docs) != 1 {
			t.Fatalf("berth image inspect: %v", err)
		}
		if _, errOut, err := e.docker(t, "image", "inspect", "nope:1"); err == nil || !strings.Contains(errOut, "No such image: nope:1") {
			t.Errorf("inspect of a missing image: %v %q", err, errOut)
		}
		out = must(t, e.docker, "history", "nginx:1.22")
		if !regexp.MustCompile(`(?m)^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$`).MatchString(out) || !regexp.MustCompile(`(?m)^[0-9a-f]{12}\s`).MatchString(out) {
			t.Errorf("docker history:\n%s", out)
		}
		bout := must(t, e.berth, "history", "--no-trunc", "--format", "{{.ID}}|{{.Size}}", "nginx:1.22")
		dout := must(t, e.docker, "history", "--no-trunc", "--format", "{{.ID}}|{{.Size}}", "nginx:1.22")
		if bout != dout {
			t.Errorf("history differs:\nberth:\n%s\ndocker:\n%s", bout, dout)
		}
	})

	t.Run("tag rmi prune", func(t *testing.T) {
		must(t, e.docker, "tag", "busybox:1.35", "mybox:v1")
		out := must(t, e.docker, "rmi", "mybox:v1")
		if strings.TrimSpace(out) != "Untagged: mybox:v1" {
			t.Errorf("docker rmi of an extra tag: %q", out)
		}
		must(t, e.berth, "tag", "busybox:1.35", "mybox:v2")
		id := strings.TrimSpace(must(t, e.docker, "images", "-q", "mybox:v2"))
		if len(id) != 12 {
			t.Fatalf("docker images -q mybox:v2: %q\n%s", id, must(t, e.docker, "images"))
		}
		if _, errOut, err := e.docker(t, "rmi", id); err == nil || !strings.Contains(errOut, "must be forced") {
			t.Errorf("rmi by id of an image in two repositories: %v %q", err, errOut)
		}
		must(t, e.docker, "rmi", "mybox:v2")
		// busybox:multi for arm64 untagged by a later pull of the amd64
		// one would be dangling; here untag it and prune.
		armID := strings.TrimSpace(must(t, e.berth, "images", "-q", "busybox:multi"))
		out = must(t, e.berth, "rmi", "busybox:multi")
		if !strings.Contains(out, "Deleted: sha256:"+"") || !strings.Contains(out, "Untagged: busybox:multi") {
			t.Errorf("rmi of the last tag:\n%s", out)
		}
		if o, _, _ := e.docker(t, "images", "-q", "-a"); strings.Contains(o, armID) {
			t.Errorf("image %s still listed after rmi", armID)
		}
		out = must(t, e.docker, "image", "prune", "-f")
		if !strings.Contains(out, "Total reclaimed space:") {
			t.Errorf("docker image prune -f: %q", out)
		}
	})

	t.Run("save and load", func(t *testing.T) {
		archive := filepath.Join(e.cfgDir, "images.tar")
		before := strings.TrimSpace(must(t, e.docker, "images", "-q", "--no-trunc", "nginx:1.22"))
		must(t, e.docker, "save", "-o", archive, "nginx:1.22", "busybox:1.35")
		must(t, e.docker, "rmi", "nginx:1.22", "busybox:1.35")
		out := must(t, e.docker, "load", "-i", archive)
		if !strings.Contains(out, "Loaded image: nginx:1.22") || !strings.Contains(out, "Loaded image: busybox:1.35") {
			t.Errorf("docker load:\n%s", out)
		}
		if after := strings.TrimSpace(must(t, e.docker, "images", "-q", "--no-trunc", "nginx:1.22")); after != before {
			t.Errorf("nginx:1.22 is %s after save and load, was %s", after, before)
		}
		out = must(t, e.berth, "load", "-i", testvm.ImageArchive(t, "nginx-busybox.docker.tar"))
		if !strings.Contains(out, "Loaded image: nginx:1.22") {
			t.Errorf("berth load of Docker 20.10's archive:\n%s", out)
		}
		if _, errOut, err := e.berth(t, "load", "-i", "/etc/hostname"); err == nil || strings.Count(errOut, "\n") != 1 {
			t.Errorf("load of a non-archive: %v %q", err, errOut)
		}
		if _, errOut, err := e.berth(t, "save", "-o", filepath.Join(e.cfgDir, "x.tar"), "nope:1"); err == nil || !strings.Contains(errOut, "No such image") {
			t.Errorf("save of a missing image: %v %q", err, errOut)
		}
		if _, err := os.Stat(filepath.Join(e.cfgDir, "x.tar")); !os.IsNotExist(err) {
			t.Errorf("a failed save left a file: %v", err)
		}
	})

	t.Run("build", func(t *testing.T) {
		_, errOut, err := e.berth(t, "build", ".")
		if err == nil || !strings.Contains(errOut, "does not build") {
			t.Errorf("berth build: %v %q", err, errOut)
		}
	})
}
