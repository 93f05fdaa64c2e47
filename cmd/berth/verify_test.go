package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthhq/berth/distro"
	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/testvm"
)

// fixtureChecks are berth check's findings on a fixture host.
func fixtureChecks(t *testing.T, name string) []distro.Check {
	t.Helper()
	fx, err := testvm.LoadFixture(name)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := distro.Inspect(context.Background(), fx.Root, distro.WithProbe(fx.Probe), distro.WithNow(judgeDay))
	if err != nil {
		t.Fatal(err)
	}
	return rep.Checks
}

// TestVerifyReports renders the text report and the JSON of runs, pass
// and failures, against golden files.
func TestVerifyReports(t *testing.T) {
	nginx := verifySpec{Image: "nginx:1.22", Pull: "missing"}
	ok := func(name string, ms int64, detail string) phaseResult {
		return phaseResult{Name: name, MS: ms, OK: true, Detail: detail}
	}
	fail := func(name string, ms int64, why string) phaseResult {
		return phaseResult{Name: name, MS: ms, Error: why}
	}
	skip := func(name string) phaseResult { return phaseResult{Name: name, Skipped: true} }
	image := ok(phaseImage, 412, "pulled nginx:1.22 from http://127.0.0.1:5000")
	started := ok(phaseStart, 38, "berth-verify-0a1b2c, 127.0.0.1:40213->80/tcp")
	cases := []struct {
		name    string
		spec    verifySpec
		source  string
		image   string
		results []phaseResult
		log     []string
		logRead bool
		checks  []distro.Check
		wantOK  bool
		failed  string
		hints   []string
	}{
		{
			name: "pass", spec: nginx, source: "nginx:1.22", image: "nginx:1.22", wantOK: true,
			results: []phaseResult{image, started,
				ok(phaseResponse, 21, `GET http://127.0.0.1:40213/: 200 "Welcome to nginx!" (4 tries)`),
				ok(phaseBridge, 1, "GET http://10.213.0.2:80/: 200 (1 try)"),
				ok(phaseCleanup, 44, "stopped and removed berth-verify-0a1b2c")},
			// A pass inspects nothing, and shows no hints even when
			// findings are at hand.
			checks: fixtureChecks(t, "debian-12"),
		},
		{
			name: "response-exited", spec: verifySpec{Image: "busybox:1.35", Pull: "missing"}, source: "busybox:1.35", image: "busybox:1.35",
			results: []phaseResult{ok(phaseImage, 2, "busybox:1.35 is present"), started,
				fail(phaseResponse, 9, "the container exited with status 0 before GET http://127.0.0.1:40213/ answered (last try: dial tcp 127.0.0.1:40213: connect: connection refused)"),
				skip(phaseBridge), ok(phaseCleanup, 12, "removed berth-verify-0a1b2c, which had exited")},
			logRead: true, checks: fixtureChecks(t, "debian-12"), failed: phaseResponse,
			hints: []string{"network.ip_forward"},
		},
		{
			name: "response-log", spec: nginx, source: "nginx:1.22", image: "nginx:1.22",
			results: []phaseResult{image, started,
				fail(phaseResponse, 120000, "--timeout 2m0s reached: no answer from http://127.0.0.1:40213/ after 2403 tries (last try: EOF)"),
				skip(phaseBridge), ok(phaseCleanup, 40, "stopped and removed berth-verify-0a1b2c")},
			log: []string{
				`2026/11/26 12:00:00 [emerg] 1#1: bind() to 0.0.0.0:80 failed (13: Permission denied)`,
				`nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)`,
			},
			logRead: true, checks: fixtureChecks(t, "centos-7"), failed: phaseResponse,
			hints: []string{"storage.backing", "network.ip_forward", "security.selinux"},
		},
		{
			name: "image-no-overlay", spec: nginx, source: "nginx:1.22", image: "nginx:1.22",
			results: []phaseResult{fail(phaseImage, 903, "pulling nginx:1.22: unpacking layer sha256:0b4bc5a6e1cf: mounting overlay: no such device"),
				skip(phaseStart), skip(phaseResponse), skip(phaseBridge), ok(phaseCleanup, 0, "nothing to remove")},
			checks: fixtureChecks(t, "ubuntu-14.04"), failed: phaseImage,
			hints: []string{"kconfig.CONFIG_OVERLAY_FS", "storage.overlay"},
		},
		{
			name: "from-ambiguous", spec: verifySpec{Image: "nginx", From: "/opt/bundle/images.tar"}, source: "image from /opt/bundle/images.tar", image: "nginx",
			results: []phaseResult{fail(phaseImage, 650, "the archive holds busybox:1.35, layered:1, not nginx: name one of them with --image"),
				skip(phaseStart), skip(phaseResponse), skip(phaseBridge), ok(phaseCleanup, 0, "nothing to remove")},
			checks: fixtureChecks(t, "debian-12"), failed: phaseImage,
		},
		{
			name: "bridge-unreachable", spec: nginx, source: "nginx:1.22", image: "nginx:1.22",
			results: []phaseResult{image, started, ok(phaseResponse, 19, `GET http://127.0.0.1:40213/: 200 "Welcome to nginx!" (3 tries)`),
				fail(phaseBridge, 120000, "--timeout 2m0s reached: no answer from http://10.213.0.2:80/ after 2403 tries (last try: dial tcp 10.213.0.2:80: i/o timeout)"),
				ok(phaseCleanup, 41, "stopped and removed berth-verify-0a1b2c")},
			logRead: true, log: []string{`10.213.0.1 - - [26/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 615 "-" "Go-http-client/1.1" "-"`},
			checks: fixtureChecks(t, "debian-12"), failed: phaseBridge,
			hints: []string{"network.ip_forward", "network.bridge-nf-call-iptables", "network.bridge-nf-call-ip6tables"},
		},
		{
			name: "cleanup-failed", spec: nginx, source: "nginx:1.22", image: "nginx:1.22",
			results: []phaseResult{image, started, ok(phaseResponse, 21, `GET http://127.0.0.1:40213/: 200 "Welcome to nginx!" (4 tries)`),
				ok(phaseBridge, 1, "GET http://10.213.0.2:80/: 200 (1 try)"),
				fail(phaseCleanup, 30000, "removing berth-verify-0a1b2c: context deadline exceeded (remove it with: berth rm -f berth-verify-0a1b2c)")},
			failed: phaseCleanup,
		},
		{
			name: "interrupted", spec: nginx, source: "nginx:1.22", image: "nginx:1.22",
			results: []phaseResult{image, fail(phaseStart, 3, "interrupted"), skip(phaseResponse), skip(phaseBridge),
				ok(phaseCleanup, 5, "berth-verify-0a1b2c was not created")},
			failed: phaseStart,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := verifyPlan(tc.spec)
			checks := tc.checks
			if tc.wantOK {
				checks = nil
			}
			rep := judgeVerify(plan, tc.source, tc.image, tc.results, tc.log, tc.logRead, checks)
			if rep.OK != tc.wantOK || rep.Failed != tc.failed {
				t.Errorf("ok %v failed %q, want %v %q", rep.OK, rep.Failed, tc.wantOK, tc.failed)
			}
			var ids []string
			for _, h := range rep.Hints {
				ids = append(ids, h.ID)
			}
			if !slices.Equal(ids, tc.hints) {
				t.Errorf("hints %q, want %q", ids, tc.hints)
			}
			var text, js bytes.Buffer
			writeVerifyText(&text, rep, false)
			if err := writeVerifyJSON(&js, rep); err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "verify-"+tc.name+".golden"), text.String())
			compareGolden(t, filepath.Join("testdata", "verify-"+tc.name+".json.golden"), js.String())
			if strings.Contains(text.String(), "\x1b[") {
				t.Error("colour codes without a terminal")
			}
			var colored bytes.Buffer
			writeVerifyText(&colored, rep, true)
			if !strings.Contains(colored.String(), "\x1b[") {
				t.Error("no colour on a terminal")
			}
		})
	}
}

func compareGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/berth -run TestVerify -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s; run go test ./cmd/berth -run TestVerify -update and read the diff\n%s", golden, got)
	}
}

// TestVerifyHints maps a failed phase to the findings that explain it:
// the required failures always, then the phase's own kinds, never an ok
// or unknown check.
func TestVerifyHints(t *testing.T) {
	checks := []distro.Check{
		{ID: "kernel.version", Status: distro.OK, Required: true},
		{ID: "cgroup.memory", Status: distro.Warn},
		{ID: "kconfig.CONFIG_BRIDGE", Status: distro.Fail, Required: true},
		{ID: "kconfig.CONFIG_NFT_NAT", Status: distro.Warn},
		{ID: "storage.overlay", Status: distro.OK, Required: true},
		{ID: "storage.space", Status: distro.Warn},
		{ID: "network.ip_forward", Status: distro.Warn},
		{ID: "network.subnet", Status: distro.Warn},
		{ID: "network.bridge-nf-call-iptables", Status: distro.Unknown},
		{ID: "network.firewall", Status: distro.OK},
		{ID: "security.selinux", Status: distro.Warn},
	}
	plan := verifyPlan(verifySpec{Image: "nginx"})
	want := map[string][]string{
		phaseImage:    {"kconfig.CONFIG_BRIDGE", "storage.space"},
		phaseStart:    {"kconfig.CONFIG_BRIDGE", "cgroup.memory", "kconfig.CONFIG_NFT_NAT", "storage.space", "network.subnet", "security.selinux"},
		phaseResponse: {"kconfig.CONFIG_BRIDGE", "cgroup.memory", "kconfig.CONFIG_NFT_NAT", "network.ip_forward", "network.subnet", "security.selinux"},
		phaseBridge:   {"kconfig.CONFIG_BRIDGE", "network.ip_forward", "network.subnet"},
		phaseCleanup:  {"kconfig.CONFIG_BRIDGE", "cgroup.memory"},
	}
	for _, p := range plan {
		t.Run(p.Name, func(t *testing.T) {
			var got []string
			for _, c := range verifyHints(p, checks) {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, want[p.Name]) {
				t.Errorf("hints %q, want %q", got, want[p.Name])
			}
		})
	}
	if h := verifyHints(plan[0], nil); h == nil || len(h) != 0 {
		t.Errorf("no findings: %#v, want an empty list (JSON [])", h)
	}
}

func TestChooseLoaded(t *testing.T) {
	tests := []struct {
		name      string
		loaded    []string
		want      string
		wantGiven bool
		pick      string
		err       string
	}{
		{"the only image", []string{"busybox:1.35"}, "nginx", false, "busybox:1.35", ""},
		{"nginx among several", []string{"busybox:1.35", "nginx:1.22"}, "nginx", false, "nginx:1.22", ""},
		{"several, no nginx", []string{"busybox:1.35", "layered:1"}, "nginx", false, "", "the archive holds busybox:1.35, layered:1, not nginx: name one of them with --image"},
		{"two nginx tags", []string{"nginx:1.22", "nginx:1.25"}, "nginx", false, "", "the archive holds nginx:1.22, nginx:1.25: name one of them with --image"},
		{"--image exact", []string{"busybox:1.35", "nginx:1.22"}, "busybox:1.35", true, "busybox:1.35", ""},
		{"--image canonical", []string{"nginx:1.22"}, "docker.io/library/nginx:1.22", true, "nginx:1.22", ""},
		{"--image repository", []string{"busybox:1.35", "nginx:1.22"}, "nginx", true, "nginx:1.22", ""},
		{"--image registry with port", []string{"reg.lan:5000/web/nginx:2"}, "reg.lan:5000/web/nginx", true, "reg.lan:5000/web/nginx:2", ""},
		{"--image absent", []string{"nginx:1.22"}, "nginx:1.25", true, "", "the archive holds nginx:1.22, not nginx:1.25: name one of them with --image"},
		{"an untagged image", []string{"sha256:" + strings.Repeat("ab", 32)}, "nginx", false, "sha256:" + strings.Repeat("ab", 32), ""},
		{"nothing", nil, "nginx", false, "", "the archive named no image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chooseLoaded(tt.loaded, tt.want, tt.wantGiven)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.pick {
				t.Fatalf("%q, %v; want %q", got, err, tt.pick)
			}
		})
	}
}

func TestBridgeAddress(t *testing.T) {
	tests := []struct {
		name string
		ns   *api.NetworkSettings
		want string
	}{
		{"no settings", nil, ""},
		{"none network", &api.NetworkSettings{Networks: map[string]*api.EndpointSettings{"none": {}}}, ""},
		{"bridge endpoint", &api.NetworkSettings{IPAddress: "10.213.0.9", Networks: map[string]*api.EndpointSettings{"bridge": {IPAddress: "10.213.0.2"}}}, "10.213.0.2"},
		{"top-level only", &api.NetworkSettings{IPAddress: "10.213.0.3"}, "10.213.0.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bridgeAddress(&api.ContainerJSON{NetworkSettings: tt.ns}); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

// TestVerifyRequest holds the create request to what `docker run -d -p
// 127.0.0.1:PORT:80 --network bridge IMAGE` sends.
func TestVerifyRequest(t *testing.T) {
	req := verifyRequest("nginx:1.22", 40213)
	if req.Image != "nginx:1.22" || len(req.Cmd) != 0 || len(req.Entrypoint) != 0 {
		t.Errorf("config %+v: the image's own command must run", req.ContainerConfig)
	}
	if _, ok := req.ExposedPorts["80/tcp"]; !ok || len(req.ExposedPorts) != 1 {
		t.Errorf("ExposedPorts %v", req.ExposedPorts)
	}
	h := req.HostConfig
	if h.NetworkMode != "bridge" || h.AutoRemove || h.RestartPolicy.Name != "no" {
		t.Errorf("host config %+v", h)
	}
	if b := h.PortBindings["80/tcp"]; len(b) != 1 || b[0] != (api.PortBinding{HostIP: "127.0.0.1", HostPort: "40213"}) || len(h.PortBindings) != 1 {
		t.Errorf("PortBindings %v: only 127.0.0.1:40213 -> 80/tcp", h.PortBindings)
	}
}

const nginxPage = "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n</html>\n"

// TestAwaitWelcome asks real HTTP servers on loopback: the page, other
// answers, a server that comes up late, an exit, a timeout, a redirect.
func TestAwaitWelcome(t *testing.T) {
	hc := newProbeClient()
	serve := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL + "/"
	}
	ctx := context.Background()

	t.Run("welcome", func(t *testing.T) {
		u := serve(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, nginxPage) })
		if n, err := awaitWelcome(ctx, hc, u, nil); err != nil || n != 1 {
			t.Errorf("%d tries, %v", n, err)
		}
	})
	t.Run("another page", func(t *testing.T) {
		u := serve(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<h1>It works!</h1>") })
		_, err := awaitWelcome(ctx, hc, u, nil)
		if err == nil || !strings.Contains(err.Error(), `answered 200 without "Welcome to nginx!"`) {
			t.Errorf("%v", err)
		}
	})
	t.Run("404", func(t *testing.T) {
		u := serve(http.NotFound)
		_, err := awaitWelcome(ctx, hc, u, nil)
		if err == nil || !strings.Contains(err.Error(), "answered 404 Not Found, not 200") {
			t.Errorf("%v", err)
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		var elsewhere atomic.Int32
		other := serve(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1); io.WriteString(w, nginxPage) })
		u := serve(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, other, http.StatusMovedPermanently) })
		_, err := awaitWelcome(ctx, hc, u, nil)
		if err == nil || !strings.Contains(err.Error(), "answered 301") || elsewhere.Load() != 0 {
			t.Errorf("%v; %d requests to the redirect's target", err, elsewhere.Load())
		}
	})
	t.Run("late server", func(t *testing.T) {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		up := make(chan error, 1)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, nginxPage) })}
		t.Cleanup(func() { srv.Close() })
		time.AfterFunc(30*time.Millisecond, func() {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				up <- err
				return
			}
			up <- nil
			srv.Serve(l)
		})
		n, err := awaitWelcome(ctx, hc, "http://"+addr+"/", nil)
		if lerr := <-up; lerr != nil {
			t.Skipf("the port was taken meanwhile: %v", lerr)
		}
		if err != nil || n < 2 {
			t.Errorf("%d tries, %v: want a pass after refused tries", n, err)
		}
	})
	t.Run("exited", func(t *testing.T) {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		exited := make(chan api.WaitResult, 1)
		exited <- api.WaitResult{Response: api.ContainerWaitResponse{StatusCode: 0}}
		close(exited)
		_, err = awaitWelcome(ctx, hc, fmt.Sprintf("http://127.0.0.1:%d/", port), exited)
		if err == nil || !strings.Contains(err.Error(), "the container exited with status 0 before GET") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		n, err := awaitWelcome(tctx, hc, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
		var wc *waitCut
		if !errors.As(err, &wc) || !errors.Is(err, context.DeadlineExceeded) || n < 2 || !strings.Contains(wc.what, "no answer from") {
			t.Errorf("%d tries, %v", n, err)
		}
	})
}

// verifyAgainst runs berth verify against the engine on sock, its hints
// from the fixture's findings.
func verifyAgainst(t *testing.T, sock, fixture string, args ...string) (code int, out, errOut string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	streams := &IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr}
	checks := fixtureChecks(t, fixture)
	cmd := newCmdVerify(streams, &GlobalOptions{SocketPath: sock}, func(o *VerifyOptions) error {
		o.Inspect = func(context.Context, string) (*distro.Report, error) { return &distro.Report{Checks: checks}, nil }
		return runVerify(context.Background(), o)
	})
	cmd.SetArgs(args)
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	code = exitCode(err)
	var se silentExit
	if err != nil && !errors.As(err, &se) {
		stderr.WriteString("berth: " + err.Error() + "\n")
	}
	return code, stdout.String(), stderr.String()
}

// leftovers are the containers the engine holds, as docker ps -a.
func leftovers(t *testing.T, sock string) []string {
	t.Helper()
	c := api.NewClient(sock)
	defer c.Close()
	list, err := c.ContainerList(context.Background(), api.ContainerListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ct := range list {
		names = append(names, ct.Names...)
	}
	return names
}

func decodeVerify(t *testing.T, out string) verifyReport {
	t.Helper()
	var rep verifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json is not JSON: %v\n%s", err, out)
	}
	return rep
}

// TestVerifyFakeEngine drives verify through the API against the
// in-memory engine, whose containers serve nothing: the failures, the
// cleanup and the exit codes, where the real engine is not needed.
func TestVerifyFakeEngine(t *testing.T) {
	sock, _ := startContainerEngine(t)

	t.Run("image missing", func(t *testing.T) {
		code, out, errOut := verifyAgainst(t, sock, "ubuntu-14.04", "--image", "nope:1", "--json")
		rep := decodeVerify(t, out)
		if code != ExitFailure || errOut != "" || rep.OK || rep.Failed != phaseImage || rep.Image != "nope:1" {
			t.Fatalf("exit %d, stderr %q, report %+v", code, errOut, rep)
		}
		if e := rep.Phases[0].Error; !strings.Contains(e, "pulling nope:1") || !strings.Contains(e, "pull access denied") {
			t.Errorf("image phase error %q", e)
		}
		last := rep.Phases[len(rep.Phases)-1]
		if last.Name != phaseCleanup || !last.OK || last.Detail != "nothing to remove" {
			t.Errorf("cleanup %+v", last)
		}
		for _, p := range rep.Phases[1:4] {
			if !p.Skipped {
				t.Errorf("phase %s ran after the image failed", p.Name)
			}
		}
		if len(rep.Hints) == 0 || rep.Hints[0].ID != "kconfig.CONFIG_OVERLAY_FS" {
			t.Errorf("hints %+v", rep.Hints)
		}
	})

	t.Run("pull never", func(t *testing.T) {
		code, out, _ := verifyAgainst(t, sock, "debian-12", "--image", "nope:1", "--pull", "never")
		if code != ExitFailure || !strings.Contains(out, "nope:1 is not present, and --pull is never") || !strings.Contains(out, "\nFailed: image ready: ") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})

	t.Run("container exits and is removed", func(t *testing.T) {
		// The in-memory containers run the image's "sh", which exits at
		// once: nothing answers, and the container must not stay.
		code, out, _ := verifyAgainst(t, sock, "debian-12", "--image", "busybox:1.36", "--json")
		rep := decodeVerify(t, out)
		if code != ExitFailure || rep.OK || rep.Failed != phaseResponse || rep.Image != "busybox:1.36" {
			t.Fatalf("exit %d, report %+v", code, rep)
		}
		if e := rep.Phases[2].Error; !strings.Contains(e, "the container exited with status 0 before GET http://127.0.0.1:") {
			t.Errorf("response phase: %q", e)
		}
		if c := rep.Phases[4]; !c.OK || !strings.HasSuffix(c.Detail, ", which had exited") {
			t.Errorf("cleanup %+v", c)
		}
		if l := leftovers(t, sock); len(l) != 0 {
			t.Errorf("containers left behind: %v", l)
		}
	})

	t.Run("from an archive", func(t *testing.T) {
		c := api.NewClient(sock)
		defer c.Close()
		rc, err := c.ImageSave(context.Background(), []string{"busybox:1.36", "ghcr.io/owner/app:1.0"})
		if err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(t.TempDir(), "images.tar")
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || os.WriteFile(archive, data, 0o644) != nil {
			t.Fatal(err)
		}
		code, out, _ := verifyAgainst(t, sock, "debian-12", "--from", archive)
		if code != ExitFailure || !strings.Contains(out, "berth verify: image from "+archive) ||
			!strings.Contains(out, "name one of them with --image") || !strings.Contains(out, "fail  image loaded") {
			t.Errorf("several images, none named: exit %d\n%s", code, out)
		}
		code, out, _ = verifyAgainst(t, sock, "debian-12", "--from", archive, "--image", "ghcr.io/owner/app", "--json")
		rep := decodeVerify(t, out)
		if rep.Phases[0].Name != phaseImage || !rep.Phases[0].OK || rep.Image != "ghcr.io/owner/app:1.0" || code != ExitFailure {
			t.Errorf("--image among the loaded: exit %d, %+v", code, rep)
		}
		if l := leftovers(t, sock); len(l) != 0 {
			t.Errorf("containers left behind: %v", l)
		}
	})

	t.Run("a name taken by another container", func(t *testing.T) {
		c := api.NewClient(sock)
		defer c.Close()
		ctx := context.Background()
		other := &api.ContainerCreateRequest{ContainerConfig: api.ContainerConfig{Image: "busybox:1.36", Cmd: []string{"sleep", "60"}}, HostConfig: &api.HostConfig{NetworkMode: "none"}}
		if _, err := c.ContainerCreate(ctx, "berth-verify-taken", "", other); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.ContainerRemove(ctx, "berth-verify-taken", api.RemoveOptions{Force: true}) })
		spec := verifySpec{Image: "busybox:1.36", Pull: "missing"}
		v := &verifier{c: c, spec: spec, timeout: time.Minute, name: "berth-verify-taken", http: newProbeClient(), image: spec.Image}
		results, _, _ := v.run(ctx, verifyPlan(spec), func(verifyPhase, phaseResult) {})
		if results[1].OK || results[4].Detail != "nothing to remove" {
			t.Errorf("results %+v", results)
		}
		if l := leftovers(t, sock); !slices.Equal(l, []string{"/berth-verify-taken"}) {
			t.Errorf("containers %v: the other container must stay", l)
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		c := api.NewClient(sock)
		defer c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		spec := verifySpec{Image: "busybox:1.36", Pull: "missing"}
		v := &verifier{c: c, spec: spec, timeout: time.Minute, name: "berth-verify-" + randomHex(3), http: newProbeClient(), image: spec.Image}
		results, _, _ := v.run(ctx, verifyPlan(spec), func(p verifyPhase, r phaseResult) {
			if p.Name == phaseImage {
				cancel() // Ctrl-C as the container is about to be made
			}
		})
		if len(results) != 5 || !results[0].OK || results[1].Error != "interrupted" || !results[2].Skipped || !results[4].OK {
			t.Errorf("results %+v", results)
		}
		if l := leftovers(t, sock); len(l) != 0 {
			t.Errorf("containers left behind: %v", l)
		}
	})
}

// TestVerifyUsage: a wrong command line is exit 2 and one line, before
// any engine is asked (the socket here does not exist, which would be 3).
func TestVerifyUsage(t *testing.T) {
	nowhere := filepath.Join(t.TempDir(), "none.sock")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--timeout", "0s"}, "--timeout 0s: must be positive"},
		{[]string{"--pull", "sometimes"}, `invalid --pull "sometimes"`},
		{[]string{"--from", "/no/such.tar"}, "cannot read /no/such.tar: no such file or directory"},
		{[]string{"--from", os.TempDir()}, "it is a directory"},
		{[]string{"--from", "/etc/hostname", "--pull", "always"}, "--pull applies to an image from a registry"},
		{[]string{"--image", "NOPE"}, "--image: invalid reference"},
		{[]string{"extra"}, "requires exactly 0 argument"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runBerth(t, append([]string{"-H", nowhere, "verify"}, tc.args...)...)
			if code != ExitUsage || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one line with %q", code, out, errOut, tc.want)
			}
		})
	}
	code, out, errOut := runBerth(t, "-H", nowhere, "verify", "--json")
	if code != ExitUnavailable || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "cannot reach the Berth engine") {
		t.Errorf("no engine: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
