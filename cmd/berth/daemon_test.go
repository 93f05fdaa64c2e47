package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
	"github.com/berthhq/berth/runtime/daemon"
)

// shortDir is a temporary directory whose path fits a unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "berth")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

var testImages = []apitest.Image{
	apitest.NewImage("busybox", 4_261_000, time.Now().Add(-3*time.Hour), "busybox:latest", "busybox:1.36"),
	apitest.NewImage("app", 12_500_000, time.Now().Add(-48*time.Hour), "ghcr.io/owner/app:1.0"),
}

// startEngine serves the API in-process, over the test backend, on a
// temporary socket, and returns the socket's path.
func startEngine(t *testing.T) string {
	t.Helper()
	sys := &apitest.System{
		VersionAnswer: api.VersionResponse{Version: "test", GitCommit: "abc1234", GoVersion: "go1.26", KernelVersion: "6.1.0-test"},
		InfoAnswer: api.InfoResponse{
			ID: "6b3e2a1c-0000-4000-8000-000000000001", Images: 2, ServerVersion: "test", OSType: "linux", Driver: "overlay2",
			DriverStatus: [][2]string{{"Backing Filesystem", "extfs"}}, Architecture: "x86_64", NCPU: 4, MemTotal: 8 << 30,
			DockerRootDir: "/var/lib/berth", LoggingDriver: "json-file", CgroupDriver: "cgroupfs", CgroupVersion: "1",
			KernelVersion: "6.1.0-test", OperatingSystem: "Debian GNU/Linux 12 (bookworm)", Name: "host1",
			RegistryConfig: &api.ServiceConfig{
				InsecureRegistryCIDRs: []string{"::1/128", "127.0.0.0/8"},
				IndexConfigs: map[string]*api.IndexInfo{
					"docker.io":         {Name: "docker.io", Mirrors: []string{"https://hub.mirror.example"}, Secure: true, Official: true},
					"ghcr.io":           {Name: "ghcr.io", Mirrors: []string{"https://ghcr.mirror.example"}, Secure: true},
					"registry.lan:5000": {Name: "registry.lan:5000", Mirrors: []string{}},
				},
				Mirrors: []string{"https://hub.mirror.example"},
			},
			Warnings: []string{"WARNING: a test warning"},
		},
	}
	srv, err := api.NewServer(apitest.NewBackend(testImages...), sys, api.WithEngineVersion("test"))
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
	return sock
}

func TestDaemonFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want daemon.Flags
	}{
		{"none", []string{"daemon"}, daemon.Flags{}},
		{"all", []string{"-D", "-H", "unix:///tmp/b.sock", "daemon", "--data-root", "/srv/b", "-G", "docker"},
			daemon.Flags{DataRoot: ptr("/srv/b"), Debug: ptr(true), Hosts: []string{"unix:///tmp/b.sock"}, Group: ptr("docker")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BERTH_HOST", "unix:///tmp/env.sock")
			var got *DaemonOptions
			g := &GlobalOptions{}
			streams := &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
			root := newRootCmdWith(streams, g)
			for _, c := range root.Commands() {
				if c.Name() == "daemon" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(newCmdDaemon(streams, g, func(o *DaemonOptions) error { got = o; return nil }))
			root.SetArgs(tt.args)
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			f := got.Flags
			if !eqPtr(f.DataRoot, tt.want.DataRoot) || !eqPtr(f.Debug, tt.want.Debug) || !eqPtr(f.Group, tt.want.Group) || strings.Join(f.Hosts, ",") != strings.Join(tt.want.Hosts, ",") {
				t.Errorf("flags %+v, want %+v (BERTH_HOST must not count as -H)", f, tt.want)
			}
			if got.ConfigFile != "/etc/berth/daemon.json" {
				t.Errorf("config file %q", got.ConfigFile)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func eqPtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func TestDaemonValidate(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "daemon.json")
	os.WriteFile(cfg, []byte(`{"log-driver": "journald", "registry-mirrors": ["https://m.example"]}`), 0o644)
	code, out, stderr := runBerth(t, "daemon", "--validate", "--config-file", cfg)
	want := "WARNING: " + cfg + `:1:2: "log-driver" is a Docker setting Berth does not implement; ignored` + "\n"
	if code != 0 || out != "configuration OK\n" || stderr != want {
		t.Errorf("exit %d, %q, %q; want 0, configuration OK, %q", code, out, stderr, want)
	}
	os.WriteFile(cfg, []byte(`{"debug": yes}`), 0o644)
	if code, _, stderr := runBerth(t, "daemon", "--validate", "--config-file", cfg); code != ExitUsage || !strings.Contains(stderr, cfg+":1:11: invalid character 'y'") {
		t.Errorf("bad file: exit %d, %q", code, stderr)
	}
}

func TestDaemonConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{\n  \"registry-mirror\": []\n}"), 0o644)
	conflict := filepath.Join(dir, "conflict.json")
	os.WriteFile(conflict, []byte(`{"data-root": "/srv/a"}`), 0o644)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"misspelt key", []string{"daemon", "--config-file", bad}, bad + `:2:3: "registry-mirror": unknown key; did you mean "registry-mirrors"?`},
		{"flag against file", []string{"daemon", "--config-file", conflict, "--data-root", "/srv/b"}, "data-root: (from flag: /srv/b, from file: /srv/a)"},
		{"relative data root", []string{"daemon", "--config-file", filepath.Join(dir, "none.json"), "--data-root", "rel"}, `--data-root: "rel" is not an absolute path`},
		{"tcp host", []string{"daemon", "--config-file", filepath.Join(dir, "none.json"), "-H", "/x.sock", "--group", ""}, `--group: "" is not a group name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runBerth(t, tt.args...)
			if code != ExitUsage || stderr != "berth: "+tt.wantErr+"\n" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.wantErr)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("more than one line: %q", stderr)
			}
		})
	}
}

// dockerCLI is the real docker client the engine must satisfy.
const dockerCLI = "/usr/local/bin/docker"

// docker runs the docker CLI against sock with its config in cfgDir.
func docker(t *testing.T, sock, cfgDir, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerCLI, append([]string{"-H", "unix://" + sock}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cfgDir, "DOCKER_CONFIG=" + cfgDir, "DOCKER_CLI_HINTS=false"}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// TestDockerCLI runs `berth daemon` in-process, over the test image
// backend, and drives it with the real docker CLI.
func TestDockerCLI(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	if os.Geteuid() != 0 {
		t.Skip("berth daemon needs root")
	}
	dir := shortDir(t)
	sock := filepath.Join(dir, "run", "berth.sock")
	dataRoot := filepath.Join(dir, "data")
	cfgFile := filepath.Join(dir, "daemon.json")
	os.WriteFile(cfgFile, []byte(`{"registry-mirrors": ["https://hub.mirror.example"], "insecure-registries": ["registry.lan:5000"], "group": "no-such-group-berth"}`), 0o644)

	backend := apitest.NewBackend(testImages...)
	backend.Remote["alpine:3.19"] = apitest.NewImage("alpine", 3_400_000, time.Now(), "alpine:3.19")
	saved := newImageBackend
	newImageBackend = func(context.Context, *daemon.Config) (api.ImageBackend, error) { return backend, nil }
	// The test image backend has no store for containers to run from.
	savedContainers := newContainerBackend
	newContainerBackend = nil
	t.Cleanup(func() { newImageBackend, newContainerBackend = saved, savedContainers })

	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRootCmdWith(&IOStreams{In: strings.NewReader(""), Out: &logs, ErrOut: &logs}, &GlobalOptions{})
		root.SetArgs([]string{"daemon", "-H", "unix://" + sock, "--data-root", dataRoot, "--config-file", cfgFile})
		done <- root.ExecuteContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("berth daemon: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("berth daemon did not stop")
		}
		if _, err := os.Lstat(sock); !os.IsNotExist(err) {
			t.Errorf("socket left after the daemon stopped: %v", err)
		}
	})
	waitForEngine(t, sock, done, &logs)

	cfgDir := filepath.Join(dir, "docker")
	os.Mkdir(cfgDir, 0o700)

	t.Run("version", func(t *testing.T) {
		out, errOut, err := docker(t, sock, cfgDir, "", "version")
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		for _, re := range []string{`(?m)^ API version:\s+1\.43 \(downgraded from 1\.\d+\)$`, `(?m)^Server: Berth$`, `(?m)^ Engine:$`, `(?m)^  Version:\s+dev$`, `(?m)^  API version:\s+1\.43 \(minimum version 1\.24\)$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("docker version lacks %s:\n%s", re, out)
			}
		}
		out, _, err = docker(t, sock, cfgDir, "", "version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}")
		if err != nil || out != "1.43 linux\n" {
			t.Errorf("docker version --format: %q, %v", out, err)
		}
	})

	t.Run("info", func(t *testing.T) {
		out, errOut, err := docker(t, sock, cfgDir, "", "info")
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		for _, want := range []string{" Images: 2\n", " Server Version: dev\n", " Storage Driver: overlay2\n", " Logging Driver: json-file\n", " Cgroup Driver: cgroupfs\n",
			" Swarm: inactive\n", " OSType: linux\n", " Docker Root Dir: " + dataRoot + "\n", " Insecure Registries:\n  registry.lan:5000\n  ::1/128\n  127.0.0.0/8\n",
			" Registry Mirrors:\n  https://hub.mirror.example\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("docker info lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(errOut, `the group "no-such-group-berth" does not exist`) {
			t.Errorf("docker info does not warn of the missing group: %q", errOut)
		}
	})

	t.Run("images", func(t *testing.T) {
		out, errOut, err := docker(t, sock, cfgDir, "", "images")
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 || !regexp.MustCompile(`^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$`).MatchString(lines[0]) {
			t.Fatalf("docker images:\n%s", out)
		}
		bb := strings.TrimPrefix(testImages[0].ID, "sha256:")[:12]
		app := strings.TrimPrefix(testImages[1].ID, "sha256:")[:12]
		for i, re := range []string{
			`^busybox\s+(latest|1\.36)\s+` + bb + `\s+3 hours ago\s+4\.26MB$`,
			`^busybox\s+(latest|1\.36)\s+` + bb + `\s+3 hours ago\s+4\.26MB$`,
			`^ghcr\.io/owner/app\s+1\.0\s+` + app + `\s+2 days ago\s+12\.5MB$`,
		} {
			if !regexp.MustCompile(re).MatchString(lines[i+1]) {
				t.Errorf("row %d %q does not match %s", i+1, lines[i+1], re)
			}
		}
		out, _, err = docker(t, sock, cfgDir, "", "images", "-q", "--filter", "reference=ghcr.io/owner/app")
		if err != nil || out != app+"\n" {
			t.Errorf("docker images -q --filter: %q, %v", out, err)
		}
	})

	t.Run("pull and names with slashes", func(t *testing.T) {
		out, errOut, err := docker(t, sock, cfgDir, "", "pull", "alpine:3.19")
		if err != nil || !strings.Contains(out, "Status: Downloaded newer image for alpine:3.19") {
			t.Errorf("docker pull: %v\n%s%s", err, out, errOut)
		}
		if _, errOut, err := docker(t, sock, cfgDir, "", "tag", "busybox", "ghcr.io/me/tools/busybox:v1"); err != nil {
			t.Errorf("docker tag: %v %s", err, errOut)
		}
		out, _, err = docker(t, sock, cfgDir, "", "image", "inspect", "--format", "{{.Id}}", "ghcr.io/me/tools/busybox:v1")
		if err != nil || out != testImages[0].ID+"\n" {
			t.Errorf("docker image inspect: %q, %v", out, err)
		}
		out, _, err = docker(t, sock, cfgDir, "", "rmi", "ghcr.io/me/tools/busybox:v1")
		if err != nil || out != "Untagged: ghcr.io/me/tools/busybox:v1\n" {
			t.Errorf("docker rmi: %q, %v", out, err)
		}
		_, errOut, err = docker(t, sock, cfgDir, "", "image", "inspect", "nope:1")
		if err == nil || !strings.Contains(errOut, "No such image: nope:1") {
			t.Errorf("docker image inspect of a missing image: %v %q", err, errOut)
		}
	})

	t.Run("build", func(t *testing.T) {
		ctxDir := filepath.Join(dir, "ctx")
		os.MkdirAll(ctxDir, 0o755)
		os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM busybox\n"), 0o644)
		// A context larger than what the server would drain.
		os.WriteFile(filepath.Join(ctxDir, "big"), bytes.Repeat([]byte("x"), 8<<20), 0o644)
		cmd := exec.Command(dockerCLI, "-H", "unix://"+sock, "build", ctxDir)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cfgDir, "DOCKER_CONFIG=" + cfgDir, "DOCKER_BUILDKIT=0"}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Berth runs images and does not build them") {
			t.Errorf("docker build: %v\n%s", err, out)
		}
	})

	t.Run("login", func(t *testing.T) {
		reg := apitest.NewRegistry(t, "alice", "s3cret")
		out, errOut, err := docker(t, sock, cfgDir, "s3cret\n", "login", "-u", "alice", "--password-stdin", reg)
		if err != nil || !strings.Contains(out, "Login Succeeded") {
			t.Fatalf("docker login: %v\n%s%s", err, out, errOut)
		}
		if auth := configAuth(t, cfgDir, reg); auth != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) {
			t.Errorf("docker stored %q", auth)
		}
		_, errOut, err = docker(t, sock, cfgDir, "wrong\n", "login", "-u", "alice", "--password-stdin", reg)
		if err == nil || !strings.Contains(errOut, "login attempt to http://"+reg+"/v2/ failed with status: 401 Unauthorized") {
			t.Errorf("docker login with a wrong password: %v %q", err, errOut)
		}

		// berth's login is docker's: docker logs in with what berth stored.
		if _, _, err := docker(t, sock, cfgDir, "", "logout", reg); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", cfgDir)
		code, stdout, stderr := runBerthStdin(t, "s3cret\n", "-H", sock, "login", "-u", "alice", "--password-stdin", reg)
		if code != 0 || stdout != "Login Succeeded\n" {
			t.Fatalf("berth login: exit %d, %q %q", code, stdout, stderr)
		}
		out, errOut, err = docker(t, sock, cfgDir, "", "login", reg)
		if err != nil || !strings.Contains(errOut, "Authenticating with existing credentials... [Username: alice]") || !strings.Contains(out, "Login Succeeded") {
			t.Errorf("docker login with berth's credentials: %v\n%s%s", err, out, errOut)
		}
	})
}

// waitForEngine waits until the engine answers on sock.
func waitForEngine(t *testing.T, sock string, done chan error, logs *syncBuffer) {
	t.Helper()
	c := api.NewClient(sock)
	defer c.Close()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("berth daemon exited: %v\n%s", err, logs.String())
		default:
		}
		if _, err := c.Ping(context.Background()); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("berth daemon not answering on %s:\n%s", sock, logs.String())
}

// configAuth is the "auth" docker's config.json in dir holds for key.
func configAuth(t *testing.T, dir, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Auths[key].Auth
}

// runBerthStdin is runBerth with standard input.
func runBerthStdin(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

// syncBuffer collects the daemon's log while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
