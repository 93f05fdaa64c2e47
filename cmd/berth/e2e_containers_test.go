//go:build e2e

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/daemon"
	"github.com/berthhq/berth/testvm"
)

// realClient is one of the two CLIs the acceptance drives.
type realClient struct {
	name string
	run  func(*testing.T, ...string) (string, string, error)
}

// processExit is a client process's exit status (-1 when it did not run).
func processExit(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// errorLines are a client's lines of stderr, without the docker CLI's
// usage hint.
func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Run 'docker ") && !strings.HasPrefix(l, "Usage:") {
			out = append(out, l)
		}
	}
	return out
}

// TestContainersEndToEnd is the container issue's acceptance: the real
// docker CLI and berth, each in turn, against a real daemon running real
// containers from images loaded from ../shared/images.
func TestContainersEndToEnd(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Fatalf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	e := startRealEngine(t)
	for _, a := range []string{"busybox.oci.tar", "layered.oci.tar", "nginx.oci.tar"} {
		must(t, e.berth, "load", "-i", testvm.ImageArchive(t, a))
	}
	// busybox as the acceptance names it, busybox:latest, and its only
	// name, so that removing it while a container uses it is a conflict.
	must(t, e.berth, "tag", "busybox:1.35", "busybox")
	must(t, e.berth, "rmi", "busybox:1.35", "busybox:multi")
	clients := []realClient{{"docker", e.docker}, {"berth", e.berth}}

	// Every row through both clients.
	rows := []struct {
		name   string
		args   []string
		code   int // -1: any failure
		stdout string
		stderr string // in stderr, when set
		check  func(t *testing.T, stdout, stderr string)
	}{
		{name: "echo", args: []string{"busybox", "echo", "hi"}, stdout: "hi\n"},
		{name: "exit 3", args: []string{"busybox", "sh", "-c", "exit 3"}, code: 3},
		{name: "not found", args: []string{"busybox", "/no/such"}, code: 127, check: func(t *testing.T, _, stderr string) {
			if l := errorLines(stderr); len(l) != 1 || !strings.Contains(l[0], `"/no/such"`) || !strings.Contains(l[0], "no such file or directory") {
				t.Errorf("want one line naming /no/such: %q", stderr)
			}
		}},
		{name: "capabilities", args: []string{"busybox", "grep", "CapEff", "/proc/self/status"}, stdout: "CapEff:\t00000000a80425fb\n"},
		{name: "devices cgroup", args: []string{"busybox", "sh", "-c", "mknod /m c 1 1 && head -c1 /m"}, code: -1, stderr: "Operation not permitted"},
		{name: "seccomp", args: []string{"busybox", "unshare", "-U", "true"}, code: -1, stderr: "Operation not permitted"},
		{name: "pid namespace", args: []string{"busybox", "ps", "-o", "pid,comm"}, check: func(t *testing.T, stdout, _ string) {
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if len(lines) < 3 || len(lines) > 3 || !regexp.MustCompile(`^\s*1 `).MatchString(lines[1]) || !strings.HasSuffix(lines[2], " ps") {
				t.Errorf("want the init and ps alone:\n%s", stdout)
			}
		}},
		{name: "no host descriptors", args: []string{"busybox", "ls", "/proc/self/fd"}, stdout: "0\n1\n2\n3\n"},
		{name: "layers", args: []string{"layered:1", "ls", "/data"}, stdout: "b\nc\nhard\nmode\nsoft\n"},
		{name: "opaque dir", args: []string{"layered:1", "ls", "/dir"}, stdout: "new\n"},
		{name: "pids limit", args: []string{"--pids-limit", "5", "busybox", "sh", "-c", "for i in 1 2 3 4 5 6; do sleep 9 & done"}, code: -1, stderr: "can't fork"},
	}
	for _, c := range clients {
		for _, r := range rows {
			t.Run(c.name+"/"+r.name, func(t *testing.T) {
				out, errOut, err := c.run(t, append([]string{"run", "--rm"}, r.args...)...)
				code := processExit(err)
				switch {
				case r.code == -1 && code <= 0, r.code != -1 && code != r.code:
					t.Errorf("exit %d (%v), want %d\nstdout: %q\nstderr: %q", code, err, r.code, out, errOut)
				case r.stdout != "" && out != r.stdout:
					t.Errorf("stdout %q, want %q (stderr %q)", out, r.stdout, errOut)
				case r.stderr != "" && !strings.Contains(errOut, r.stderr):
					t.Errorf("stderr %q lacks %q", errOut, r.stderr)
				case r.check != nil:
					r.check(t, out, errOut)
				}
			})
		}
	}
	noContainers := func(t *testing.T) {
		t.Helper()
		if out := must(t, e.docker, "ps", "-aq"); out != "" {
			t.Errorf("containers left: %q\n%s", out, must(t, e.docker, "ps", "-a"))
		}
	}
	noContainers(t)

	for _, c := range clients {
		t.Run(c.name+"/stop", func(t *testing.T) {
			must(t, c.run, "run", "-d", "--name", "s", "busybox", "sh", "-c", "sleep 1000")
			began := time.Now()
			must(t, c.run, "stop", "s")
			t.Logf("%s stop: %v", c.name, time.Since(began))
			if out := must(t, c.run, "inspect", "--format", "{{.State.Status}}", "s"); out != "exited\n" {
				t.Errorf("state after stop: %q", out)
			}
			must(t, c.run, "rm", "s")
		})

		t.Run(c.name+"/oom", func(t *testing.T) {
			id := strings.TrimSpace(must(t, c.run, "run", "-d", "--memory", "32m", "busybox", "sh", "-c", `x=$(head -c 64m /dev/zero | tr "\0" a)`))
			if out := must(t, c.run, "wait", id); out != "137\n" {
				t.Errorf("wait: %q, want 137 (SIGKILL)", out)
			}
			if out := must(t, c.run, "inspect", "--format", "{{.State.OOMKilled}}", id); out != "true\n" {
				t.Errorf("OOMKilled: %q", out)
			}
			must(t, c.run, "rm", id)
		})

		t.Run(c.name+"/running", func(t *testing.T) {
			must(t, c.run, "run", "-d", "--name", "web", "nginx:1.22")
			defer c.run(t, "rm", "-f", "web")
			waitLog(t, c, "web", "start worker process")
			if out := must(t, c.run, "ps", "--format", "{{.Names}} {{.Image}} {{.State}}"); out != "web nginx:1.22 running\n" {
				t.Errorf("ps: %q", out)
			}
			if out := must(t, c.run, "inspect", "--format", "{{.Name}} {{.State.Running}} {{.Config.Image}} {{.HostConfig.NetworkMode}} {{.GraphDriver.Name}}", "web"); out != "/web true nginx:1.22 default overlay2\n" {
				t.Errorf("inspect: %q", out)
			}
			out := must(t, c.run, "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "web")
			if !regexp.MustCompile(`^web [0-9.]+[KMG]iB / [0-9.]+[KMG]iB [1-9][0-9]*\n$`).MatchString(out) {
				t.Errorf("stats --no-stream: %q", out)
			}
			if out := must(t, c.run, "top", "web"); !strings.Contains(out, "nginx: master process") || !strings.Contains(out, "nginx: worker process") {
				t.Errorf("top:\n%s", out)
			}
			must(t, c.run, "pause", "web")
			if out := must(t, c.run, "inspect", "--format", "{{.State.Status}}", "web"); out != "paused\n" {
				t.Errorf("after pause: %q", out)
			}
			must(t, c.run, "unpause", "web")
			must(t, c.run, "stop", "web")
			// nginx logs to stderr; its stop signal is SIGQUIT.
			if _, errOut, _ := c.run(t, "logs", "web"); !strings.Contains(errOut, "signal 3 (SIGQUIT) received from 1, shutting down") {
				t.Errorf("logs:\n%s", errOut)
			}
			must(t, c.run, "rm", "web")
		})

		t.Run(c.name+"/attach and follow", func(t *testing.T) {
			// Not --rm: run attaches, waits for the next exit, then starts.
			out, errOut, err := c.run(t, "run", "--name", "att", "busybox", "sh", "-c", "echo out; echo err >&2; exit 4")
			if processExit(err) != 4 || out != "out\n" || errOut != "err\n" {
				t.Errorf("run: exit %d, %q, %q", processExit(err), out, errOut)
			}
			out, errOut, err = c.run(t, "start", "-a", "att")
			if processExit(err) != 4 || out != "out\n" || errOut != "err\n" {
				t.Errorf("start -a: exit %d, %q, %q", processExit(err), out, errOut)
			}
			if out := must(t, c.run, "logs", "att"); out != "out\nout\n" {
				t.Errorf("logs of two runs: %q", out)
			}
			must(t, c.run, "rm", "att")
			must(t, c.run, "run", "-d", "--name", "follow", "busybox", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done")
			if out := must(t, c.run, "logs", "-f", "follow"); out != "1\n2\n3\n" {
				t.Errorf("logs -f: %q", out)
			}
			must(t, c.run, "rm", "follow")
		})

		t.Run(c.name+"/mounts", func(t *testing.T) {
			host := t.TempDir()
			os.WriteFile(filepath.Join(host, "f"), []byte("from the host\n"), 0o644)
			vol := "vol-" + c.name
			must(t, c.run, "volume", "create", vol)
			must(t, c.run, "run", "--rm", "-v", vol+":/data", "busybox", "sh", "-c", "echo kept > /data/f")
			out, errOut, err := c.run(t, "run", "--rm", "-v", vol+":/data:ro", "-v", host+":/mnt:ro", "--tmpfs", "/scratch",
				"busybox", "sh", "-c", "cat /data/f /mnt/f; touch /scratch/x && ls /scratch; touch /mnt/g")
			if processExit(err) != 1 || out != "kept\nfrom the host\nx\n" || !strings.Contains(errOut, "Read-only file system") {
				t.Errorf("mounts: exit %d, %q, %q", processExit(err), out, errOut)
			}
			if out := must(t, c.run, "volume", "ls", "-q"); !strings.Contains(out, vol+"\n") {
				t.Errorf("volume ls: %q", out)
			}
			must(t, c.run, "volume", "rm", vol)
		})

		t.Run(c.name+"/rmi in use", func(t *testing.T) {
			must(t, c.run, "create", "--name", "holder", "busybox", "true")
			_, errOut, err := c.run(t, "rmi", "busybox")
			if processExit(err) != 1 || !strings.Contains(errOut, "conflict") || len(errorLines(errOut)) != 1 {
				t.Errorf("rmi of an image a container uses: %v %q", err, errOut)
			}
			must(t, c.run, "rm", "holder")
		})

		t.Run(c.name+"/restart always", func(t *testing.T) {
			must(t, c.run, "run", "-d", "--name", "again", "--restart", "always", "busybox", "sh", "-c", "echo once; sleep 0.3")
			deadline := time.Now().Add(20 * time.Second)
			for {
				out := must(t, c.run, "inspect", "--format", "{{.RestartCount}}", "again")
				if n, _ := strconv.Atoi(strings.TrimSpace(out)); n >= 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not restarted: RestartCount %s", out)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if out := must(t, c.run, "logs", "again"); strings.Count(out, "once\n") < 2 {
				t.Errorf("logs of a restarted container: %q", out)
			}
			must(t, c.run, "rm", "-f", "again")
		})

		t.Run(c.name+"/bad input", func(t *testing.T) {
			_, errOut, err := c.run(t, "run", "--rm", "busyboxx", "echo", "hi")
			if processExit(err) != 125 || !strings.Contains(errOut, "busyboxx") {
				t.Errorf("missing image: %v %q", err, errOut)
			}
			if c.name == "berth" {
				if n := strings.Count(errOut, "berth:"); n != 1 {
					t.Errorf("missing image: %d error lines, want 1: %q", n, errOut)
				}
			}
			_, errOut, err = c.run(t, "stop", "nosuch")
			if processExit(err) != 1 || len(errorLines(errOut)) != 1 || !strings.Contains(errOut, "No such container: nosuch") {
				t.Errorf("stop of an unknown container: %v %q", err, errOut)
			}
			_, errOut, err = c.run(t, "run", "--rm", "--memory", "12q", "busybox", "true")
			if processExit(err) != 125 || !strings.Contains(errOut, "12q") || len(errorLines(errOut)) != 1 && c.name == "berth" {
				t.Errorf("bad --memory: %v %q", err, errOut)
			}
		})
		noContainers(t)
	}

	t.Run("daemon killed", func(t *testing.T) {
		for _, c := range clients {
			must(t, c.run, "run", "-d", "--name", "survivor-"+c.name, "busybox", "sh", "-c", "echo up; while sleep 1; do :; done")
		}
		pid := strings.TrimSpace(must(t, e.docker, "inspect", "--format", "{{.State.Pid}}", "survivor-docker"))
		e.kill(t)
		time.Sleep(200 * time.Millisecond)
		if _, err := os.Stat("/proc/" + pid); err != nil {
			t.Fatalf("the container's init %s died with the daemon: %v", pid, err)
		}
		e.start(t)
		for _, c := range clients {
			out := must(t, c.run, "ps", "--format", "{{.Names}} {{.State}}")
			if !strings.Contains(out, "survivor-docker running\n") || !strings.Contains(out, "survivor-berth running\n") {
				t.Errorf("%s ps after the restart:\n%s", c.name, out)
			}
		}
		for _, c := range clients {
			name := "survivor-" + c.name
			if out := must(t, c.run, "logs", name); out != "up\n" {
				t.Errorf("logs after the restart: %q", out)
			}
			must(t, c.run, "stop", name)
			must(t, c.run, "rm", name)
		}
	})
	noContainers(t)

	e.stop(t)
	checkNoLeaks(t, e.data)
}

// waitLog waits until a container's log has what.
func waitLog(t *testing.T, c realClient, name, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, errOut, _ := c.run(t, "logs", name)
		if strings.Contains(out+errOut, what) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q:\n%s%s", name, what, out, errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkNoLeaks looks for what containers of the data root could leave on
// the host once the daemon has stopped: mounts, the engine's cgroups (its
// parent included) and processes (monitors name the data root; inits are
// in the engine's cgroups).
func checkNoLeaks(t *testing.T, dataRoot string) {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, dataRoot) {
			t.Errorf("mount left: %s", l)
		}
	}
	parent := daemon.CgroupParent(dataRoot)
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
	for _, d := range append(dirs, "/sys/fs/cgroup/"+parent) {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup left: %s", d)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		cg, _ := os.ReadFile(filepath.Join(p, "cgroup"))
		if strings.Contains(string(cmdline), dataRoot) || strings.Contains(string(cg), ":/"+parent+"/") {
			t.Errorf("process left: %s %q", filepath.Base(p), strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
}

// TestRunRmLeakEndToEnd: 200 `run --rm` cycles through the real daemon
// leave no container, mount, cgroup, process or state behind.
func TestRunRmLeakEndToEnd(t *testing.T) {
	e := startRealEngine(t)
	must(t, e.berth, "load", "-i", testvm.ImageArchive(t, "busybox.oci.tar"))
	n := 200
	if testing.Short() {
		n = 20
	}
	for i := 0; i < n; i++ {
		if out := must(t, e.berth, "run", "--rm", "--network", "none", "busybox:1.35", "echo", "cycle"); out != "cycle\n" {
			t.Fatalf("cycle %d printed %q", i, out)
		}
	}
	if out := must(t, e.berth, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("containers left after %d run --rm: %q", n, out)
	}
	ents, err := os.ReadDir(filepath.Join(e.data, "containers"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, d := range ents {
		if strings.HasPrefix(d.Name(), ".") {
			continue // the engine's lock file
		}
		sub, _ := os.ReadDir(filepath.Join(e.data, "containers", d.Name()))
		var names []string
		for _, s := range sub {
			names = append(names, s.Name())
		}
		t.Errorf("container directory left in the data root: %s %v", d.Name(), names)
	}
	e.stop(t)
	checkNoLeaks(t, e.data)
}
