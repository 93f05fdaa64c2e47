package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

// startContainerEngine serves the API in-process over the test image
// backend and the pretend container backend, on a temporary socket.
func startContainerEngine(t *testing.T) (string, *apitest.Containers) {
	t.Helper()
	images := apitest.NewBackend(testImages...)
	ctrs := apitest.NewContainers(images)
	sys := &apitest.System{VersionAnswer: api.VersionResponse{Version: "test"}, InfoAnswer: api.InfoResponse{ServerVersion: "test", OSType: "linux"}}
	srv, err := api.NewServer(images, sys, api.WithEngineVersion("test"), api.WithContainers(ctrs), api.WithNetworks(ctrs))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(shortDir(t), "berth.sock")
	l, err := api.Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return sock, ctrs
}

// client runs one CLI against the engine: its exit code and output.
type client struct {
	name string
	run  func(t *testing.T, args ...string) (int, string, string)
}

func clients(t *testing.T, sock string) []client {
	cfgDir := filepath.Join(shortDir(t), "docker")
	os.Mkdir(cfgDir, 0o700)
	return []client{
		{"docker", func(t *testing.T, args ...string) (int, string, string) {
			t.Helper()
			out, errOut, err := docker(t, sock, cfgDir, "", args...)
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
			}
			return code, out, errOut
		}},
		{"berth", func(t *testing.T, args ...string) (int, string, string) {
			t.Helper()
			return runBerth(t, append([]string{"-H", sock}, args...)...)
		}},
	}
}

// ok runs a command that must succeed and returns its output.
func (c client) ok(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := c.run(t, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s%s", c.name, strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// durations are the parts of ps and volume output that change from one
// second to the next.
var durations = regexp.MustCompile(`(Less than a second|About a minute|About an hour|\d+ (seconds?|minutes|hours|days))`)

// TestDockerCLIContainers drives the container API with the real docker
// CLI and with berth, over the pretend container backend: the same
// commands, the same answers. The lead runs the same flows against the
// real runtime (e2e).
func TestDockerCLIContainers(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	sock, ctrs := startContainerEngine(t)
	all := clients(t, sock)
	dockerC, berthC := all[0], all[1]

	for _, c := range all {
		t.Run(c.name+"/run", func(t *testing.T) {
			code, out, errOut := c.run(t, "run", "--rm", "busybox", "echo", "hi")
			if code != 0 || out != "hi\n" || errOut != "" {
				t.Errorf("run --rm busybox echo hi: exit %d, %q, %q", code, out, errOut)
			}
			code, out, _ = c.run(t, "run", "--rm", "busybox", "sh", "-c", "exit 3")
			if code != 3 || out != "" {
				t.Errorf("run sh -c 'exit 3': exit %d, %q", code, out)
			}
			code, out, errOut = c.run(t, "run", "--rm", "busybox", "sh", "-c", "echo to-out; echo to-err >&2")
			if code != 0 || out != "to-out\n" || errOut != "to-err\n" {
				t.Errorf("stdout and stderr apart: exit %d, %q, %q", code, out, errOut)
			}
			code, _, errOut = c.run(t, "run", "--rm", "busybox", "/no/such")
			if code != 127 || !strings.Contains(errOut, `exec: "/no/such": stat /no/such: no such file or directory`) {
				t.Errorf("run /no/such: exit %d, %q", code, errOut)
			}
			if c.name == "berth" && strings.Count(errOut, "\n") != 1 {
				t.Errorf("berth run /no/such says more than one line: %q", errOut)
			}
			code, _, _ = c.run(t, "run", "--rm", "busybox", "/etc")
			if code != 126 {
				t.Errorf("run of a directory: exit %d, want 126", code)
			}
			if got := ctrs.State("busybox"); got != "" {
				t.Errorf("a --rm container is left: %q", got)
			}
			list := c.ok(t, "ps", "-aq")
			if strings.TrimSpace(list) != "" {
				t.Errorf("--rm containers left behind:\n%s", list)
			}
		})
	}

	t.Run("detached, ps, logs, stop, wait, rm", func(t *testing.T) {
		for _, c := range all {
			name := "s-" + c.name
			out := c.ok(t, "run", "-d", "--name", name, "-l", "app=web", "busybox", "sleep", "1000")
			if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(out) {
				t.Errorf("%s run -d printed %q", c.name, out)
			}
			c.ok(t, "run", "-d", "--name", "job-"+c.name, "busybox", "sh", "-c", "echo out; echo err >&2; exit 2")
		}
		for _, c := range all {
			if got := c.ok(t, "wait", "job-"+c.name); got != "2\n" {
				t.Errorf("%s wait: %q", c.name, got)
			}
		}
		// ps: the same table from both, durations aside.
		var tables []string
		for _, c := range all {
			out := c.ok(t, "ps")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 3 || !regexp.MustCompile(`^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$`).MatchString(lines[0]) {
				t.Fatalf("%s ps:\n%s", c.name, out)
			}
			for _, l := range lines[1:] {
				if !regexp.MustCompile(`^[0-9a-f]{12}\s+busybox\s+"sleep 1000"\s+\S.* ago\s+Up \S.*\s+s-(docker|berth)$`).MatchString(l) {
					t.Errorf("%s ps row %q", c.name, l)
				}
			}
			tables = append(tables, durations.ReplaceAllString(out, "D"))
		}
		if tables[0] != tables[1] {
			t.Errorf("ps differs:\ndocker:\n%s\nberth:\n%s", tables[0], tables[1])
		}
		format := `{{.ID}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Names}}|{{.Networks}}|{{.Labels}}|{{.Label "app"}}|{{.Mounts}}|{{.LocalVolumes}}|{{.Size}}`
		for _, args := range [][]string{
			{"ps", "-a", "--format", format},
			{"ps", "-a", "-s", "--no-trunc", "--format", "table " + format},
			{"ps", "-q"},
			{"ps", "-aq", "--no-trunc"},
			{"ps", "-n", "1", "--format", "{{.Names}}"},
			{"ps", "-l", "--format", "{{.Names}}"},
			{"ps", "-a", "--filter", "status=exited", "--filter", "exited=2", "--format", "{{.Names}} {{.Status}}"},
			{"ps", "-a", "--filter", "label=app=web", "--format", "{{.Names}}"},
			{"ps", "--filter", "name=s-docker", "--format", "{{json .}}"},
		} {
			d, b := dockerC.ok(t, args...), berthC.ok(t, args...)
			if durations.ReplaceAllString(d, "D") != durations.ReplaceAllString(b, "D") {
				t.Errorf("%s:\ndocker:\n%s\nberth:\n%s", strings.Join(args, " "), d, b)
			}
		}
		if got := berthC.ok(t, "ps", "-a", "--filter", "exited=2", "--format", "{{.Names}}"); got != "job-berth\njob-docker\n" {
			t.Errorf("ps --filter exited=2: %q", got)
		}

		for _, c := range all {
			code, out, errOut := c.run(t, "logs", "job-"+c.name)
			if code != 0 || out != "out\n" || errOut != "err\n" {
				t.Errorf("%s logs: exit %d, %q, %q", c.name, code, out, errOut)
			}
			if out := c.ok(t, "logs", "--tail", "1", "-t", "job-"+c.name); out != "" {
				t.Errorf("%s logs --tail 1 shows stdout %q; the last line went to stderr", c.name, out)
			}
			_, _, errOut = c.run(t, "logs", "--tail", "1", "-t", "job-"+c.name)
			if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z err\n$`).MatchString(errOut) {
				t.Errorf("%s logs -t: %q", c.name, errOut)
			}
		}
		for _, c := range all {
			name := "s-" + c.name
			if out := c.ok(t, "stop", name); out != name+"\n" {
				t.Errorf("%s stop: %q", c.name, out)
			}
			if out := c.ok(t, "wait", name); out != "143\n" {
				t.Errorf("%s wait after stop: %q", c.name, out)
			}
			if out := c.ok(t, "ps", "-a", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasPrefix(out, "Exited (143) ") {
				t.Errorf("%s status after stop: %q", c.name, out)
			}
			if out := c.ok(t, "stop", name); out != name+"\n" {
				t.Errorf("%s stop of a stopped container: %q", c.name, out)
			}
			if out := c.ok(t, "rm", name, "job-"+c.name); out != name+"\njob-"+c.name+"\n" {
				t.Errorf("%s rm: %q", c.name, out)
			}
		}
		if out := dockerC.ok(t, "ps", "-aq"); out != "" {
			t.Errorf("containers left: %q", out)
		}
	})

	t.Run("logs -f", func(t *testing.T) {
		for _, c := range all {
			c.ok(t, "run", "-d", "--name", "f-"+c.name, "busybox", "sh", "-c", "echo a; sleep 0.5; echo b")
			start := time.Now()
			if out := c.ok(t, "logs", "-f", "f-"+c.name); out != "a\nb\n" || time.Since(start) < 200*time.Millisecond {
				t.Errorf("%s logs -f: %q after %v", c.name, out, time.Since(start))
			}
			c.ok(t, "rm", "f-"+c.name)
		}
	})

	t.Run("inspect, stats, top", func(t *testing.T) {
		dockerC.ok(t, "run", "-d", "--name", "svc", "busybox", "sleep", "1000")
		defer dockerC.ok(t, "rm", "-f", "svc")
		d, b := dockerC.ok(t, "inspect", "svc"), berthC.ok(t, "inspect", "svc")
		if d != b {
			t.Errorf("inspect differs:\ndocker:\n%s\nberth:\n%s", d, b)
		}
		var docs []api.ContainerJSON
		if err := json.Unmarshal([]byte(b), &docs); err != nil || len(docs) != 1 || docs[0].Name != "/svc" || !docs[0].State.Running {
			t.Errorf("inspect: %v\n%s", err, b)
		}
		for _, args := range [][]string{
			{"inspect", "--format", "{{.State.Status}} {{.Id}} {{.Config.Image}} {{.HostConfig.NetworkMode}} {{json .Config.Cmd}}", "svc"},
			{"inspect", "--format", "{{.Id}}", "busybox"},
			{"inspect", "--type", "image", "--format", "{{.Os}}", "busybox"},
			{"container", "inspect", "--format", "{{.Name}}", "svc"},
			{"stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}", "svc"},
			{"stats", "--no-stream", "--no-trunc", "--format", "table {{.ID}}\t{{.Name}}\t{{.MemUsage}}", "svc"},
			{"stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"},
			{"top", "svc"},
		} {
			d, b := dockerC.ok(t, args...), berthC.ok(t, args...)
			if d != b {
				t.Errorf("%s:\ndocker:\n%s\nberth:\n%s", strings.Join(args, " "), d, b)
			}
		}
		out := berthC.ok(t, "stats", "--no-stream", "svc")
		if !regexp.MustCompile(`(?m)^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+MEM %\s+NET I/O\s+BLOCK I/O\s+PIDS\n[0-9a-f]{12}\s+svc\s+2\.00%\s+1MiB / 8GiB\s+0\.01%\s+0B / 0B\s+4\.1kB / 0B\s+1$`).MatchString(out) {
			t.Errorf("berth stats --no-stream:\n%s", out)
		}
		for _, c := range all {
			code, out, errOut := c.run(t, "inspect", "nope")
			if code != 1 || out != "[]\n" || !strings.Contains(errOut, "No such object: nope") {
				t.Errorf("%s inspect nope: exit %d, %q, %q", c.name, code, out, errOut)
			}
		}
	})

	t.Run("kill, pause, restart, start -a", func(t *testing.T) {
		for _, c := range all {
			n := "k-" + c.name
			c.ok(t, "run", "-d", "--name", n, "busybox", "sleep", "1000")
			c.ok(t, "pause", n)
			if out := c.ok(t, "ps", "--filter", "name="+n, "--format", "{{.State}} {{.Status}}"); !strings.HasPrefix(out, "paused Up ") || !strings.HasSuffix(out, " (Paused)\n") {
				t.Errorf("%s after pause: %q", c.name, out)
			}
			c.ok(t, "unpause", n)
			c.ok(t, "restart", "-t", "1", n)
			c.ok(t, "kill", "-s", "HUP", n)
			if out := c.ok(t, "wait", n); out != "129\n" {
				t.Errorf("%s wait after kill -s HUP: %q", c.name, out)
			}
			code, _, errOut := c.run(t, "kill", n)
			if code != 1 || !strings.Contains(errOut, "is not running") {
				t.Errorf("%s kill of a stopped container: exit %d, %q", c.name, code, errOut)
			}
			c.ok(t, "rm", n)

			c.ok(t, "create", "--name", "a-"+c.name, "busybox", "sh", "-c", "echo started; exit 4")
			code, out, _ := c.run(t, "start", "-a", "a-"+c.name)
			if code != 4 || out != "started\n" {
				t.Errorf("%s start -a: exit %d, %q", c.name, code, out)
			}
			if out := c.ok(t, "start", "a-"+c.name); out != "a-"+c.name+"\n" {
				t.Errorf("%s start: %q", c.name, out)
			}
			c.ok(t, "wait", "a-"+c.name)
			if out := c.ok(t, "container", "prune", "-f"); !strings.Contains(out, "Deleted Containers:\n") || !strings.HasSuffix(out, "\nTotal reclaimed space: 12B\n") {
				t.Errorf("%s container prune: %q", c.name, out)
			}
		}
	})

	t.Run("volumes", func(t *testing.T) {
		for _, c := range all {
			v := "v-" + c.name
			if out := c.ok(t, "volume", "create", "--label", "team=a", v); out != v+"\n" {
				t.Errorf("%s volume create: %q", c.name, out)
			}
			c.ok(t, "run", "-d", "--name", "u-"+c.name, "-v", v+":/data", "-v", "/tmp:/host:ro", "busybox", "sleep", "1000")
		}
		for _, args := range [][]string{
			{"volume", "ls"},
			{"volume", "ls", "-q", "--filter", "label=team=a"},
			{"volume", "ls", "--filter", "dangling=true"},
			{"volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Mountpoint}}"},
			{"volume", "inspect", "v-docker"},
			{"volume", "inspect", "--format", "{{.Name}} {{.Labels}}", "v-berth"},
			{"ps", "--format", "{{.Names}} {{.Mounts}} {{.LocalVolumes}}"},
			{"inspect", "--format", "{{json .Mounts}}", "u-docker"},
		} {
			d, b := dockerC.ok(t, args...), berthC.ok(t, args...)
			if d != b {
				t.Errorf("%s:\ndocker:\n%s\nberth:\n%s", strings.Join(args, " "), d, b)
			}
		}
		if out := berthC.ok(t, "volume", "ls"); !regexp.MustCompile(`^DRIVER\s+VOLUME NAME\nlocal\s+v-berth\nlocal\s+v-docker\n$`).MatchString(out) {
			t.Errorf("volume ls:\n%s", out)
		}
		for _, c := range all {
			code, _, errOut := c.run(t, "volume", "rm", "v-"+c.name)
			if code != 1 || !strings.Contains(errOut, "volume is in use") {
				t.Errorf("%s volume rm of a volume in use: exit %d, %q", c.name, code, errOut)
			}
			c.ok(t, "rm", "-f", "-v", "u-"+c.name)
			if out := c.ok(t, "volume", "rm", "v-"+c.name); out != "v-"+c.name+"\n" {
				t.Errorf("%s volume rm: %q", c.name, out)
			}
			c.ok(t, "volume", "create", "spare-"+c.name)
			out := c.ok(t, "volume", "prune", "-a", "-f")
			if out != "Deleted Volumes:\nspare-"+c.name+"\n\nTotal reclaimed space: 0B\n" {
				t.Errorf("%s volume prune -a: %q", c.name, out)
			}
		}
	})

	t.Run("create with every flag", func(t *testing.T) {
		flags := []string{"-e", "A=1", "-w", "/tmp", "-u", "1000", "-h", "hh", "--entrypoint", "sh", "-l", "a=b", "-v", "/tmp:/x:ro",
			"-v", "vol:/y", "--tmpfs", "/t:size=1m", "--restart", "on-failure:3", "--stop-signal", "SIGINT", "--stop-timeout", "5", "--init",
			"--log-opt", "max-size=1m", "-m", "32m", "--memory-swap", "64m", "--cpus", "1.5", "-c", "512", "--pids-limit", "5",
			"--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--privileged", "--read-only", "--security-opt", "no-new-privileges", "--network", "none"}
		format := `{{json .Config.Env}} {{.Config.WorkingDir}} {{.Config.User}} {{.Config.Hostname}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.Labels}} ` +
			`{{range .Mounts}}{{if eq .Destination "/x"}}{{.Source}}:{{.Destination}}:{{.RW}}{{end}}{{end}} {{json .HostConfig.Tmpfs}} {{json .HostConfig.RestartPolicy}} {{.Config.StopSignal}} {{json .Config.StopTimeout}} ` +
			`{{json .HostConfig.Init}} {{json .HostConfig.LogConfig.Config}} {{json .HostConfig.Memory}} {{json .HostConfig.MemorySwap}} {{json .HostConfig.NanoCpus}} ` +
			`{{json .HostConfig.CpuShares}} {{json .HostConfig.PidsLimit}} {{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{.HostConfig.Privileged}} ` +
			`{{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.SecurityOpt}} {{.HostConfig.NetworkMode}} {{.HostConfig.AutoRemove}}`
		var got []string
		for _, c := range all {
			c.ok(t, append(append([]string{"create", "--name", "all-" + c.name}, flags...), "busybox", "true")...)
			got = append(got, c.ok(t, "inspect", "--format", format, "all-"+c.name))
			c.ok(t, "rm", "-v", "all-"+c.name)
		}
		if got[0] != got[1] {
			t.Errorf("the same flags make different containers:\ndocker: %s\nberth:  %s", got[0], got[1])
		}
		if !strings.Contains(got[1], `["CAP_NET_ADMIN"] ["ALL"] true true ["no-new-privileges"] none false`) {
			t.Errorf("inspect: %s", got[1])
		}
	})
}

// TestBerthContainerErrors: bad input is one line and the right exit
// code, and leaves nothing behind.
func TestBerthContainerErrors(t *testing.T) {
	sock, _ := startContainerEngine(t)
	b := func(args ...string) (int, string, string) {
		return runBerth(t, append([]string{"-H", sock}, args...)...)
	}
	for _, tt := range []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"run", "--rm", "nope:1", "true"}, 125, "pull access denied for nope"},
		{[]string{"run", "--memory", "lots", "busybox", "true"}, 125, `-m/--memory: invalid size "lots"`},
		{[]string{"run", "--restart", "sometimes", "busybox"}, 125, `invalid restart policy "sometimes"`},
		{[]string{"run", "--rm", "--restart", "always", "busybox"}, 125, "cannot specify both --restart and --rm"},
		{[]string{"run", "-it", "busybox", "sh"}, ExitFailure, "the input device is not a TTY"},
		{[]string{"run", "--detach-keys", "ctrl-1", "busybox", "sh"}, 125, `invalid detach keys "ctrl-1"`},
		{[]string{"run", "-p", "8080:80/sctp", "busybox"}, 125, `-p/--publish "8080:80/sctp": invalid proto: sctp`},
		{[]string{"run", "--ip", "10.213.0", "busybox"}, 125, `--ip "10.213.0": not an IPv4 address`},
		{[]string{"run", "--add-host", "db", "busybox"}, 125, `--add-host "db": want HOST:IP`},
		{[]string{"run", "--cap-add", "FLY", "busybox"}, 125, `unknown capability: "FLY"`},
		{[]string{"run", "-v", "rel:/x:z", "busybox"}, 125, "SELinux relabelling"},
		{[]string{"run", "--colour", "busybox"}, 125, "unknown flag: --colour"},
		{[]string{"run"}, 125, "requires at least 1 argument"},
		{[]string{"create", "--memory", "lots", "busybox"}, ExitUsage, `-m/--memory: invalid size "lots"`},
		{[]string{"stop", "nope"}, ExitFailure, "Error response from daemon: No such container: nope"},
		{[]string{"kill", "-s", "FOO", "x"}, ExitUsage, "Invalid signal: FOO"},
		{[]string{"logs", "nope"}, ExitFailure, "No such container: nope"},
		{[]string{"logs", "--since", "yesterday", "x"}, ExitUsage, "--since: invalid time"},
		{[]string{"inspect", "--type", "plugin", "x"}, ExitUsage, `"plugin" is not a valid value for --type`},
		{[]string{"start", "-a", "x", "y"}, ExitUsage, "you cannot start and attach multiple containers at once"},
		{[]string{"ps", "--filter", "volume=x"}, ExitUsage, "invalid filter 'volume'"},
		{[]string{"volume", "create", "--opt", "type=tmpfs", "vv"}, ExitUsage, "volume driver options (--opt) are not supported"},
		{[]string{"volume", "rm", "nope"}, ExitFailure, "get nope: no such volume"},
		{[]string{"-H", "/nonexistent/berth.sock", "ps"}, ExitUnavailable, "cannot reach the Berth engine"},
		{[]string{"-H", "/nonexistent/berth.sock", "run", "busybox"}, 125, "cannot reach the Berth engine"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := b(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, %q; want %d and %q", code, errOut, tt.code, tt.wantErr)
			}
			// A pull's progress may come first, as with docker; the
			// failure itself is one line, the last.
			if strings.Count(errOut, "berth: ") != 1 || !strings.HasPrefix(errOut[strings.LastIndex(strings.TrimSuffix(errOut, "\n"), "\n")+1:], "berth: ") {
				t.Errorf("not one line: %q", errOut)
			}
		})
	}
	if code, out, _ := b("ps", "-aq"); code != 0 || out != "" {
		t.Errorf("bad input left containers: %q", out)
	}
	if code, _, _ := b("rm", "-f", "nope"); code != 0 {
		t.Errorf("rm -f of a missing container: exit %d", code)
	}
}

// TestDockerCLICreateBody records what the real docker CLI sends to
// create a container and checks it against the bodies runtime/api's tests
// were written from (docker 28.2.2): a new docker CLI that sends a field
// the server has not seen fails here, by name, before it fails a user.
func TestDockerCLICreateBody(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	images := apitest.NewBackend(testImages...)
	srv, err := api.NewServer(images, &apitest.System{}, api.WithContainers(apitest.NewContainers(images)))
	if err != nil {
		t.Fatal(err)
	}
	bodies := make(chan []byte, 4)
	sock := filepath.Join(shortDir(t), "capture.sock")
	l, err := api.Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/containers/create") {
			b, _ := io.ReadAll(r.Body)
			bodies <- b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		srv.ServeHTTP(w, r)
	})}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	cfgDir := shortDir(t)
	for _, tt := range []struct {
		args   []string
		golden string
	}{
		{[]string{"create", "busybox", "true"}, "docker-28-run.json"},
		{[]string{"create", "--name", "x", "-e", "A=1", "-w", "/tmp", "-u", "1000", "-h", "hh", "--entrypoint", "sh", "-l", "a=b", "-v", "/tmp:/x:ro", "-v", "vol:/y",
			"--tmpfs", "/t:size=1m", "--restart", "on-failure:3", "--stop-signal", "SIGINT", "--stop-timeout", "5", "--init", "--log-opt", "max-size=1m",
			"-m", "32m", "--memory-swap", "64m", "--cpus", "1.5", "-c", "512", "--pids-limit", "5", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL",
			"--privileged", "--read-only", "--security-opt", "no-new-privileges", "--network", "none", "busybox", "true"}, "docker-28-run-flags.json"},
	} {
		if _, errOut, err := docker(t, sock, cfgDir, "", tt.args...); err != nil {
			t.Fatalf("docker %s: %v %s", strings.Join(tt.args, " "), err, errOut)
		}
		got := <-bodies
		want, err := os.ReadFile(filepath.Join("..", "..", "runtime", "api", "testdata", tt.golden))
		if err != nil {
			t.Fatal(err)
		}
		var g, w map[string]any
		json.Unmarshal(got, &g)
		json.Unmarshal(want, &w)
		// The "create" variant attaches stdout and stderr; run -d does not.
		if tt.golden == "docker-28-run-flags.json" {
			w["AttachStdout"], w["AttachStderr"] = true, true
		}
		// The docker CLI sends -v in no particular order.
		for _, m := range []map[string]any{g, w} {
			if h, ok := m["HostConfig"].(map[string]any); ok {
				if b, ok := h["Binds"].([]any); ok {
					slices.SortFunc(b, func(x, y any) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
				}
			}
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("docker %s sent a body unlike %s:\n%s", tt.args[0], tt.golden, got)
		}
	}
}
