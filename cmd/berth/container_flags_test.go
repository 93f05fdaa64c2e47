package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
)

// parseRun parses a run command line through runF and builds its request.
func parseRun(t *testing.T, args ...string) (*RunOptions, *api.ContainerCreateRequest, error) {
	t.Helper()
	var got *RunOptions
	streams := &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	cmd := newCmdRun(streams, &GlobalOptions{}, func(o *RunOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	if err := cmd.Execute(); err != nil {
		return nil, nil, err
	}
	req, err := got.Flags.request(got.Image, got.Args, got.Detach)
	return got, req, err
}

func TestRunFlags(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("# comment\n\nFROM_FILE=1\n  INDENTED=2\nFROM_HOST\nUNSET_IN_HOST\n"), 0o644)
	t.Setenv("FROM_HOST", "h")
	t.Setenv("PASSED", "p")

	opts, req, err := parseRun(t, "-d", "--name", "web", "--env-file", envFile, "-e", "A=1", "-e", "PASSED", "-e", "NOT_SET_ANYWHERE",
		"-v", "/data", "-v", "cache:/cache:ro", "--tmpfs", "/run:size=8m", "--restart", "on-failure:2", "--memory-swap", "-1", "-m", "1g",
		"--entrypoint", "", "--pids-limit", "-1", "-h", "box", "--platform", "linux/arm64", "busybox", "ls", "-l", "/")
	if err != nil {
		t.Fatal(err)
	}
	h := req.HostConfig
	switch {
	case !opts.Detach || opts.Flags.Name != "web" || opts.Image != "busybox" || !slices.Equal(opts.Args, []string{"ls", "-l", "/"}):
		t.Errorf("options %+v", opts)
	case !slices.Equal(req.Env, []string{"FROM_FILE=1", "INDENTED=2", "FROM_HOST=h", "A=1", "PASSED=p"}):
		t.Errorf("env %q", req.Env)
	case !slices.Equal(req.Entrypoint, []string{""}):
		t.Errorf("--entrypoint \"\" must reset the image's: %q", req.Entrypoint)
	case len(req.Volumes) != 1 || !slices.Equal(h.Binds, []string{"cache:/cache:ro"}) || h.Tmpfs["/run"] != "size=8m":
		t.Errorf("volumes %v, binds %q, tmpfs %v", req.Volumes, h.Binds, h.Tmpfs)
	case h.RestartPolicy != api.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2} || h.MemorySwap != -1 || h.Memory != 1<<30:
		t.Errorf("host config %+v", h)
	case h.PidsLimit == nil || *h.PidsLimit != -1 || h.Init != nil || req.Hostname != "box" || req.AttachStdout:
		t.Errorf("pids %v, init %v, hostname %q, attach %t", h.PidsLimit, h.Init, req.Hostname, req.AttachStdout)
	}
	// The request is what the engine accepts.
	if _, err := api.ValidateCreate(req); err != nil {
		t.Errorf("ValidateCreate: %v", err)
	}

	_, req, err = parseRun(t, "--init=false", "busybox")
	if err != nil || req.HostConfig.Init == nil || *req.HostConfig.Init || req.Entrypoint != nil || req.Cmd != nil || !req.AttachStdout || req.HostConfig.PidsLimit != nil {
		t.Errorf("--init=false: %+v %v", req, err)
	}
	b, _ := json.Marshal(req)
	if strings.Contains(string(b), `"Init":null`) {
		t.Errorf("an unset --init is sent: %s", b)
	}

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--restart", "on-failure:x", "busybox"}, "maximum retry count must be a positive integer"},
		{[]string{"--restart", "always:3", "busybox"}, "can only be used with 'on-failure'"},
		{[]string{"-w", "rel", "busybox"}, "it needs to be an absolute path"},
		{[]string{"-e", "=x", "busybox"}, `invalid environment variable "=x"`},
		{[]string{"--env-file", filepath.Join(dir, "none"), "busybox"}, "--env-file:"},
		{[]string{"-l", "=x", "busybox"}, `invalid label "=x"`},
		{[]string{"-v", "rel", "busybox"}, "a path in the container must be absolute"},
		{[]string{"--tmpfs", "/t:size=x", "busybox"}, "invalid tmpfs size"},
		{[]string{"--cpus", "0", "busybox"}, "--cpus: invalid value"},
		{[]string{"--stop-signal", "NOPE", "busybox"}, "Invalid signal: NOPE"},
		{[]string{"--log-opt", "max-size", "busybox"}, "invalid --log-opt"},
		{[]string{"--platform", "windows/amd64", "busybox"}, "invalid --platform"},
		{[]string{"--pull", "sometimes", "busybox"}, "invalid pull option"},
	} {
		if _, _, err := parseRun(t, tt.args...); err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != ExitUsage {
			t.Errorf("%q: %v (exit %d), want usage error %q", tt.args, err, exitCode(err), tt.wantErr)
		}
	}
}

func TestStatsLive(t *testing.T) {
	sock, _ := startContainerEngine(t)
	if code, _, errOut := runBerth(t, "-H", sock, "run", "-d", "--name", "live", "busybox", "sleep", "30"); code != 0 {
		t.Fatal(errOut)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	opts := &StatsOptions{Streams: &IOStreams{Out: &out, ErrOut: &out}, Global: &GlobalOptions{SocketPath: sock}, Format: "table {{.Name}}\t{{.PIDs}}"}
	if err := runStats(ctx, opts); err != context.DeadlineExceeded {
		t.Errorf("stats ended with %v", err)
	}
	screens := strings.Split(out.String(), "\x1b[H")
	if len(screens) < 3 || screens[0] != "" {
		t.Fatalf("%d screens: %q", len(screens)-1, out.String())
	}
	if last := screens[len(screens)-1]; !strings.HasPrefix(last, "NAME      PIDS\x1b[K\nlive      1\x1b[K\n") || !strings.HasSuffix(last, "\x1b[J") {
		t.Errorf("last screen %q", last)
	}
}
