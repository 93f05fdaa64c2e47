package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

func newContainerServer(t *testing.T) (*api.Server, *apitest.Containers) {
	t.Helper()
	images := apitest.NewBackend(busybox, ghcrApp)
	ctrs := apitest.NewContainers(images)
	ctrs.StatsInterval = 20 * time.Millisecond
	sys := &apitest.System{VersionAnswer: api.VersionResponse{Version: "test"}}
	s, err := api.NewServer(images, sys, api.WithEngineVersion("test"), api.WithContainers(ctrs))
	if err != nil {
		t.Fatal(err)
	}
	return s, ctrs
}

// createBody is a create request as JSON.
func createBody(t *testing.T, req api.ContainerCreateRequest) io.Reader {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// mustCreate creates (and, with start, starts) a container through the
// handler and returns its ID.
func mustCreate(t *testing.T, h http.Handler, name string, start bool, cmd ...string) string {
	t.Helper()
	target := "/v1.43/containers/create"
	if name != "" {
		target += "?name=" + name
	}
	rec := do(t, h, "POST", target, createBody(t, api.ContainerCreateRequest{ContainerConfig: api.ContainerConfig{Image: "busybox", Cmd: cmd}}), "Content-Type", "application/json")
	if rec.Code != http.StatusCreated {
		t.Fatalf("create %s %q: %d %s", name, cmd, rec.Code, rec.Body.String())
	}
	var resp api.ContainerCreateResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.ID) != 64 || resp.Warnings == nil {
		t.Fatalf("create answer %q: %v", rec.Body.String(), err)
	}
	if start {
		if rec := do(t, h, "POST", "/v1.43/containers/"+resp.ID+"/start", nil); rec.Code != http.StatusNoContent {
			t.Fatalf("start: %d %s", rec.Code, rec.Body.String())
		}
	}
	return resp.ID
}

func TestContainerRoutes(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		wantStatus                 int
		wantCall                   string
		wantMessage                string
	}{
		{"create", "POST", "/v1.43/containers/create?name=web&platform=linux%2Farm64", `{"Image":"busybox","Cmd":["true"]}`, 201, `Create(name=web, image=busybox, cmd=["true"], platform="linux/arm64")`, ""},
		{"create of a missing image", "POST", "/containers/create", `{"Image":"nope"}`, 404, `Create(name=, image=nope, cmd=[], platform="")`, "No such image: nope:latest"},
		{"create, name in use", "POST", "/containers/create?name=running", `{"Image":"busybox"}`, 409, `Create(name=running, image=busybox, cmd=[], platform="")`, `The container name "/running" is already in use`},
		{"create, bad name", "POST", "/containers/create?name=a%20b", `{"Image":"busybox"}`, 400, "", "Invalid container name (a b)"},
		{"create, bad platform", "POST", "/containers/create?platform=windows%2Famd64", `{"Image":"busybox"}`, 400, "", `invalid platform "windows/amd64"`},
		{"create, unknown field", "POST", "/containers/create", `{"Image":"busybox","Colour":"red"}`, 400, "", `field "Colour" is not supported by Berth`},
		{"create, unknown host field", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"Colour":1}}`, 400, "", `field "HostConfig.Colour" is not supported by Berth`},
		{"create, devices", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"Devices":[{"PathOnHost":"/dev/kvm"}]}}`, 400, "", "HostConfig.Devices (--device) is not supported by Berth"},
		{"create, tty and stdin", "POST", "/containers/create", `{"Image":"busybox","Tty":true,"OpenStdin":true,"StdinOnce":true,"AttachStdin":true}`, 201, `Create(name=, image=busybox, cmd=[], platform="")`, ""},
		{"create, sctp port", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"PortBindings":{"80/sctp":[{"HostPort":"8080"}]}}}`, 400, "", "sctp is not supported"},
		{"create, bad host port", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"80x"}]}}}`, 400, "", `invalid host port "80x"`},
		{"create, bad exposed port", "POST", "/containers/create", `{"Image":"busybox","ExposedPorts":{"0/tcp":{}}}`, 400, "", `Config.ExposedPorts: invalid port "0/tcp"`},
		{"create, user network", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"NetworkMode":"mynet"}}`, 400, "", `HostConfig.NetworkMode "mynet": no such network`},
		{"create, ip on host", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"NetworkMode":"host"},"NetworkingConfig":{"EndpointsConfig":{"host":{"IPAMConfig":{"IPv4Address":"10.213.0.9"}}}}}`, 400, "", "a fixed address needs the bridge network"},
		{"create, bad ip", "POST", "/containers/create", `{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":{"IPv4Address":"10.213.0"}}}}}`, 400, "", "invalid IPv4 address: 10.213.0"},
		{"create, bad dns", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"Dns":["dns.example"]}}`, 400, "", "dns.example is not an ip address"},
		{"create, bad extra host", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"ExtraHosts":["db"]}}`, 400, "", `invalid "db": want HOST:IP`},
		{"create, mac address", "POST", "/containers/create", `{"Image":"busybox","MacAddress":"02:42:0a:00:00:02"}`, 400, "", "derived from its IP address"},
		{"create, alias", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"NetworkMode":"none"},"NetworkingConfig":{"EndpointsConfig":{"none":{"Aliases":["x"]}}}}`, 400, "", `EndpointsConfig["none"].Aliases (--network-alias)`},
		{"create, no image", "POST", "/containers/create", `{"Cmd":["true"]}`, 400, "", "Config.Image is required"},
		{"create, no body", "POST", "/containers/create", ``, 400, "", "the request has no body"},
		{"create, bad capability", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"CapAdd":["FLY"]}}`, 400, "", `unknown capability: "FLY"`},
		{"create, --rm and --restart", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}`, 400, "", "can't create 'AutoRemove' container with restart policy"},
		{"create, tiny memory", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"Memory":1024}}`, 400, "", "Minimum memory limit allowed is 6MB"},
		{"create, log driver", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"LogConfig":{"Type":"journald"}}}`, 400, "", `"journald" is not supported: Berth writes Docker's json-file logs`},
		{"create, log option", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"LogConfig":{"Config":{"compress":"true"}}}}`, 400, "", "unknown log opt 'compress'"},
		{"create, seccomp profile", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"SecurityOpt":["seccomp={}"]}}`, 400, "", "custom profiles are not supported"},
		{"create, duplicate mount", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"Binds":["/a:/x","v1:/x"]}}`, 400, "", "Duplicate mount point: /x"},
		{"create, relative bind target", "POST", "/containers/create", `{"Image":"busybox","HostConfig":{"Binds":["/a:x"]}}`, 400, "", "must be absolute"},
		{"create, unknown query", "POST", "/containers/create?pull=always", `{"Image":"busybox"}`, 400, "", `query parameter "pull" is not supported`},
		{"list", "GET", "/v1.43/containers/json?all=1&limit=2&size=1", ``, 200, "List(size=true)", ""},
		{"list, unknown filter", "GET", `/containers/json?filters={"volume":["v"]}`, ``, 400, "", "invalid filter 'volume'"},
		{"list, bad status", "GET", `/containers/json?filters={"status":["sleeping"]}`, ``, 400, "List(size=false)", "invalid filter 'status=sleeping'"},
		{"list, bad exited", "GET", `/containers/json?filters={"exited":["x"]}`, ``, 400, "List(size=false)", "invalid filter 'exited=x'"},
		{"list, before missing", "GET", `/containers/json?filters={"before":["nope"]}`, ``, 404, "List(size=false)", "No such container: nope"},
		{"list, bad limit", "GET", `/containers/json?limit=x`, ``, 400, "", "invalid limit"},
		{"inspect", "GET", "/v1.43/containers/running/json?size=1", ``, 200, "Inspect(running, size=true)", ""},
		{"inspect missing", "GET", "/v1.43/containers/nope/json", ``, 404, "Inspect(nope, size=false)", "No such container: nope"},
		{"start running", "POST", "/v1.43/containers/running/start", ``, 304, "Start(running)", ""},
		{"stop with options", "POST", "/v1.43/containers/created/stop?t=3&signal=int", ``, 304, `Stop(created, signal="SIGINT", t=3)`, ""},
		{"stop, bad t", "POST", "/containers/running/stop?t=soon", ``, 400, "", `invalid value for t: "soon"`},
		{"kill, bad signal", "POST", "/containers/running/kill?signal=FOO", ``, 400, "", "Invalid signal: FOO"},
		{"kill not running", "POST", "/containers/created/kill", ``, 409, "Kill(created, SIGKILL)", "is not running"},
		{"kill by number", "POST", "/containers/created/kill?signal=15", ``, 409, "Kill(created, SIGTERM)", ""},
		{"pause not running", "POST", "/containers/created/pause", ``, 409, "Pause(created)", "is not running"},
		{"unpause not paused", "POST", "/containers/running/unpause", ``, 409, "Unpause(running)", "is not paused"},
		{"wait, bad condition", "POST", "/containers/running/wait?condition=soon", ``, 400, "", `invalid condition: "soon"`},
		{"wait missing", "POST", "/containers/nope/wait", ``, 404, "Wait(nope, not-running)", "No such container: nope"},
		{"remove running", "DELETE", "/v1.43/containers/running", ``, 409, "Remove(running, force=false, v=false)", "container is running"},
		{"remove with link", "DELETE", "/containers/created?link=1", ``, 400, "", "Berth has no links"},
		{"remove", "DELETE", "/containers/created?v=1", ``, 204, "Remove(created, force=false, v=true)", ""},
		{"logs without streams", "GET", "/containers/running/logs", ``, 400, "", "Bad parameters: you must choose at least one stream"},
		{"logs with details", "GET", "/containers/running/logs?stdout=1&details=1", ``, 400, "", `query parameter "details" is not supported`},
		{"logs, bad tail", "GET", "/containers/running/logs?stdout=1&tail=some", ``, 400, "", "invalid value for tail"},
		{"logs, bad since", "GET", "/containers/running/logs?stdout=1&since=yesterday", ``, 400, "", "invalid value for since"},
		{"logs missing", "GET", "/containers/nope/logs?stdout=1", ``, 404, "Logs(nope, follow=false, stdout=true, stderr=false, tail=-1, since=false, until=false)", "No such container: nope"},
		{"top", "GET", "/containers/running/top?ps_args=aux", ``, 200, `Top(running, "aux")`, ""},
		{"stats, one-shot streaming", "GET", "/containers/running/stats?one-shot=1", ``, 400, "", "one-shot is only valid with stream=0"},
		{"attach, bad detach keys", "POST", "/containers/running/attach?stream=1&stdin=1&detachKeys=ctrl-%3F", ``, 400, "", `invalid detach keys "ctrl-?"`},
		{"resize", "POST", "/containers/running/resize?h=40&w=120", ``, 200, "Resize(running, 40, 120)", ""},
		{"resize, bad size", "POST", "/containers/running/resize?h=40", ``, 400, "", "invalid terminal size"},
		{"resize not running", "POST", "/containers/created/resize?h=1&w=1", ``, 409, "Resize(created, 1, 1)", "is not running"},
		{"exec create", "POST", "/containers/running/exec", `{"Cmd":["ls"],"AttachStdout":true,"Tty":true,"ConsoleSize":[24,80]}`, 201, `ExecCreate(running, ["ls"])`, ""},
		{"exec create, no command", "POST", "/containers/running/exec", `{"Cmd":[]}`, 400, "", "No exec command specified"},
		{"exec create, bad detach keys", "POST", "/containers/running/exec", `{"Cmd":["ls"],"DetachKeys":"ctrl-"}`, 400, "", "invalid detach keys"},
		{"exec create, unknown field", "POST", "/containers/running/exec", `{"Cmd":["ls"],"Colour":1}`, 400, "", `field "Colour" is not supported by Berth`},
		{"exec create, not running", "POST", "/containers/created/exec", `{"Cmd":["ls"]}`, 409, `ExecCreate(created, ["ls"])`, "is not running"},
		{"exec inspect missing", "GET", "/exec/nope/json", ``, 404, "", "No such exec instance: nope"},
		{"exec start missing", "POST", "/exec/nope/start", `{"Detach":true}`, 404, "", "No such exec instance: nope"},
		{"exec resize missing", "POST", "/exec/nope/resize?h=1&w=2", ``, 404, "ExecResize(nope, 1, 2)", "No such exec instance: nope"},
		{"attach nothing", "POST", "/containers/running/attach?stdout=1", ``, 400, "", "attach needs stream=1 or logs=1"},
		{"attach missing", "POST", "/containers/nope/attach?stream=1&stdout=1", ``, 404, "Attach(nope, stdin=false, stdout=true, stderr=false)", "No such container: nope"},
		{"prune, bad filter", "POST", `/containers/prune?filters={"status":["exited"]}`, ``, 400, "", "invalid filter 'status'"},
		{"prune, bad until", "POST", `/containers/prune?filters={"until":["soon"]}`, ``, 400, "", "invalid filter 'until=soon'"},
		{"volume create", "POST", "/v1.43/volumes/create", `{"Name":"data","Driver":"local","Labels":{"a":"b"}}`, 201, "VolumeCreate(data, driver=local)", ""},
		{"volume create, driver", "POST", "/volumes/create", `{"Name":"data","Driver":"nfs"}`, 400, "", `volume driver "nfs" is not supported`},
		{"volume create, options", "POST", "/volumes/create", `{"Name":"data","DriverOpts":{"type":"tmpfs"}}`, 400, "", "volume driver options (--opt) are not supported"},
		{"volume create, bad name", "POST", "/volumes/create", `{"Name":"a/b"}`, 400, "", "includes invalid characters for a local volume name"},
		{"volume inspect missing", "GET", "/volumes/nope", ``, 404, "VolumeInspect(nope)", "get nope: no such volume"},
		{"volume remove missing, forced", "DELETE", "/volumes/nope?force=1", ``, 204, "VolumeRemove(nope, force=true)", ""},
		{"volume list, bad filter", "GET", `/volumes?filters={"scope":["local"]}`, ``, 400, "", "invalid filter 'scope'"},
		{"volume prune, bad all", "POST", `/volumes/prune?filters={"all":["maybe"]}`, ``, 400, "", "invalid filter 'all=maybe'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ctrs := newContainerServer(t)
			mustCreate(t, s, "running", true, "sleep", "10")
			mustCreate(t, s, "created", false, "true")
			t.Cleanup(func() { do(t, s, "DELETE", "/containers/running?force=1", nil) })
			ctrs.Calls()
			target := tt.target
			if i := strings.Index(target, "filters="); i >= 0 {
				target = target[:i] + "filters=" + url.QueryEscape(target[i+len("filters="):])
			}
			var body io.Reader
			if tt.body != "" || tt.method == "POST" {
				body = strings.NewReader(tt.body)
			}
			rec := do(t, s, tt.method, target, body)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body.String())
			}
			calls := ctrs.Calls()
			switch {
			case tt.wantCall == "" && len(calls) != 0:
				t.Errorf("backend called %q, want no call", calls)
			case tt.wantCall != "" && (len(calls) == 0 || calls[0] != tt.wantCall):
				t.Errorf("backend calls %q, want %q first", calls, tt.wantCall)
			}
			if tt.wantMessage != "" {
				if msg := errorMessage(t, rec); !strings.Contains(msg, tt.wantMessage) {
					t.Errorf("message %q, want it to contain %q", msg, tt.wantMessage)
				}
			}
			if rec.Code == http.StatusNotModified && rec.Body.Len() != 0 {
				t.Errorf("304 with a body: %q", rec.Body.String())
			}
		})
	}
}

// The bodies the docker CLI 28.2.2 sent (recorded against a capturing
// socket): `docker run busybox true`, and a run with every flag Berth
// implements. Their defaults must pass, their settings reach the backend.
func TestCreateFromDockerCLI(t *testing.T) {
	for _, tt := range []struct {
		file       string
		wantMounts []api.MountSpec
		check      func(t *testing.T, c *api.ContainerJSON)
	}{
		{"testdata/docker-28-run.json", nil, func(t *testing.T, c *api.ContainerJSON) {
			if c.Path != "true" || c.HostConfig.AutoRemove || c.State.Status != "created" {
				t.Errorf("container %+v", c)
			}
		}},
		{"testdata/docker-28-run-flags.json", []api.MountSpec{
			{Type: "bind", Source: "/tmp", Target: "/x", ReadOnly: true},
			{Type: "volume", Source: "vol", Target: "/y"},
			{Type: "tmpfs", Target: "/t", TmpfsSize: 1 << 20},
		}, func(t *testing.T, c *api.ContainerJSON) {
			h := c.HostConfig
			if c.Path != "sh" || !slices.Equal(c.Args, []string{"true"}) || c.Config.User != "1000" || c.Config.WorkingDir != "/tmp" ||
				c.Config.StopSignal != "SIGINT" || *c.Config.StopTimeout != 5 || c.Config.Labels["a"] != "b" {
				t.Errorf("config %+v", c.Config)
			}
			if h.Memory != 32<<20 || h.MemorySwap != 64<<20 || h.NanoCPUs != 1.5e9 || h.CPUShares != 512 || *h.PidsLimit != 5 ||
				!*h.Init || !h.Privileged || !h.ReadonlyRootfs || h.RestartPolicy.Name != "on-failure" || h.RestartPolicy.MaximumRetryCount != 3 ||
				h.LogConfig.Config["max-size"] != "1m" || !slices.Equal(h.CapAdd, []string{"CAP_NET_ADMIN"}) || h.NetworkMode != "none" {
				t.Errorf("host config %+v", h)
			}
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var req api.ContainerCreateRequest
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				t.Fatalf("the docker CLI's body does not decode strictly: %v", err)
			}
			mounts, err := api.ValidateCreate(&req)
			if err != nil {
				t.Fatalf("ValidateCreate: %v", err)
			}
			if !slices.EqualFunc(mounts, tt.wantMounts, func(a, b api.MountSpec) bool {
				return a.Type == b.Type && a.Source == b.Source && a.Target == b.Target && a.ReadOnly == b.ReadOnly && a.TmpfsSize == b.TmpfsSize
			}) {
				t.Errorf("mounts %+v, want %+v", mounts, tt.wantMounts)
			}
			s, _ := newContainerServer(t)
			rec := do(t, s, "POST", "/v1.43/containers/create?name=c", bytes.NewReader(body), "Content-Type", "application/json")
			if rec.Code != http.StatusCreated {
				t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
			}
			rec = do(t, s, "GET", "/v1.43/containers/c/json", nil)
			var c api.ContainerJSON
			if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
				t.Fatal(err)
			}
			tt.check(t, &c)
		})
	}
}

func TestNoContainerBackend(t *testing.T) {
	s, _ := newServer(t)
	for _, target := range []string{"/v1.43/containers/json", "/volumes"} {
		rec := do(t, s, "GET", target, nil)
		if msg := errorMessage(t, rec); rec.Code != http.StatusNotImplemented || !strings.Contains(msg, "without a container runtime") {
			t.Errorf("%s: %d %q", target, rec.Code, msg)
		}
	}
}

// frames splits a multiplexed stream, checking every header.
func frames(t *testing.T, b []byte) (stdout, stderr string, n int) {
	t.Helper()
	for len(b) > 0 {
		if len(b) < 8 || b[1] != 0 || b[2] != 0 || b[3] != 0 {
			t.Fatalf("malformed frame header in %q", b)
		}
		size := int(binary.BigEndian.Uint32(b[4:8]))
		if len(b) < 8+size {
			t.Fatalf("frame of %d bytes, %d left", size, len(b)-8)
		}
		switch b[0] {
		case api.StreamStdout:
			stdout += string(b[8 : 8+size])
		case api.StreamStderr:
			stderr += string(b[8 : 8+size])
		default:
			t.Fatalf("frame of stream %d", b[0])
		}
		b = b[8+size:]
		n++
	}
	return stdout, stderr, n
}

func TestLogs(t *testing.T) {
	s, _ := newContainerServer(t)
	id := mustCreate(t, s, "", true, "sh", "-c", "echo one; echo two >&2; echo three")
	waitExit(t, s, id)

	rec := do(t, s, "GET", "/v1.43/containers/"+id[:12]+"/logs?stdout=1&stderr=1", nil)
	if ct := rec.Header().Get("Content-Type"); rec.Code != 200 || ct != api.MediaTypeMultiplexedStream {
		t.Fatalf("%d %s", rec.Code, ct)
	}
	out, errOut, n := frames(t, rec.Body.Bytes())
	if out != "one\nthree\n" || errOut != "two\n" || n != 3 {
		t.Errorf("stdout %q, stderr %q in %d frames", out, errOut, n)
	}
	rec = do(t, s, "GET", "/containers/"+id+"/logs?stdout=1&tail=1", nil)
	if out, errOut, _ := frames(t, rec.Body.Bytes()); out != "three\n" || errOut != "" {
		t.Errorf("tail=1: %q %q", out, errOut)
	}
	rec = do(t, s, "GET", "/containers/"+id+"/logs?stderr=1&timestamps=1", nil)
	_, errOut, _ = frames(t, rec.Body.Bytes())
	stamp, line, _ := strings.Cut(errOut, " ")
	if ts, err := time.Parse(api.RFC3339NanoFixed, stamp); err != nil || line != "two\n" || len(stamp) != len("2006-01-02T15:04:05.000000000Z") || time.Since(ts) > time.Minute {
		t.Errorf("timestamped line %q: %v", errOut, err)
	}
	future := api.FormatTimestamp(time.Now().Add(time.Hour))
	rec = do(t, s, "GET", "/containers/"+id+"/logs?stdout=1&since="+future, nil)
	if rec.Body.Len() != 0 {
		t.Errorf("since the future: %q", rec.Body.String())
	}
}

// waitExit waits for the container to exit through the API.
func waitExit(t *testing.T, h http.Handler, id string) int {
	t.Helper()
	rec := do(t, h, "POST", "/v1.43/containers/"+id+"/wait", nil)
	var w api.ContainerWaitResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil || rec.Code != 200 {
		t.Fatalf("wait: %d %q %v", rec.Code, rec.Body.String(), err)
	}
	return w.StatusCode
}

// clientFor serves the server on a socket and returns a client.
func clientFor(t *testing.T, s *api.Server) *api.Client {
	t.Helper()
	c := api.NewClient(serve(t, s))
	t.Cleanup(c.Close)
	return c
}

func TestLogsFollow(t *testing.T) {
	s, _ := newContainerServer(t)
	c := clientFor(t, s)
	ctx := context.Background()
	id := mustCreate(t, s, "", true, "sh", "-c", "echo a; sleep 0.3; echo b >&2; sleep 0.2")
	body, err := c.ContainerLogs(ctx, id, api.ContainerLogsOptions{Follow: true, Stdout: true, Stderr: true, Tail: "all"})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	r := bufio.NewReader(body)
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != api.StreamStdout {
		t.Fatalf("first frame %v: %v", hdr, err)
	}
	line := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
	io.ReadFull(r, line)
	if string(line) != "a\n" {
		t.Fatalf("first line %q", line)
	}
	// The second line comes later, while the request is still open.
	start := time.Now()
	var stdout, stderr bytes.Buffer
	if _, err := api.StdCopy(&stdout, &stderr, r); err != nil {
		t.Fatal(err)
	}
	if stderr.String() != "b\n" || stdout.Len() != 0 || time.Since(start) < 100*time.Millisecond {
		t.Errorf("followed %q %q after %v", stdout.String(), stderr.String(), time.Since(start))
	}
}

func TestAttachRoundTrip(t *testing.T) {
	s, ctrs := newContainerServer(t)
	c := clientFor(t, s)
	ctx := context.Background()
	id := mustCreate(t, s, "job", false, "sh", "-c", "echo out; sleep 0.1; echo err >&2; exit 3")
	// docker run's order: attach, wait for the next exit, start.
	hj, err := c.ContainerAttach(ctx, "job", api.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hj.Close()
	if !hj.Multiplexed {
		t.Error("a container without a TTY answered a raw stream")
	}
	wait, err := c.ContainerWait(ctx, "job", api.WaitNextExit)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if _, err := api.StdCopy(&stdout, &stderr, hj.Reader); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Errorf("attached %q %q", stdout.String(), stderr.String())
	}
	res := <-wait
	if res.Err != nil || res.Response.StatusCode != 3 {
		t.Errorf("wait %+v", res)
	}
	if err := c.ContainerStart(ctx, id); err != nil {
		t.Errorf("second start: %v", err)
	}
	// A start that fails: the error is the engine's, unchanged.
	mustCreate(t, s, "broken", false, "/no/such")
	err = c.ContainerStart(ctx, "broken")
	if err == nil || !strings.Contains(err.Error(), `exec: "/no/such": stat /no/such: no such file or directory`) {
		t.Errorf("start of /no/such: %v", err)
	}
	if _, err := c.ContainerAttach(ctx, "nope", api.ContainerAttachOptions{Stream: true, Stdout: true}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("attach to a missing container: %v", err)
	}
	_ = ctrs
}

// The upgrade as docker's own client sees it on the wire.
func TestAttachUpgradeOnTheWire(t *testing.T) {
	s, _ := newContainerServer(t)
	sock := serve(t, s)
	id := mustCreate(t, s, "", false, "echo", "hi")
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /v1.43/containers/"+id+"/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	r := bufio.NewReader(conn)
	status, _ := r.ReadString('\n')
	if status != "HTTP/1.1 101 UPGRADED\r\n" {
		t.Fatalf("status line %q", status)
	}
	hdr := map[string]string{}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
		k, v, _ := strings.Cut(strings.TrimSpace(l), ": ")
		hdr[k] = v
	}
	if hdr["Content-Type"] != api.MediaTypeMultiplexedStream || hdr["Upgrade"] != "tcp" || hdr["Api-Version"] != "1.43" {
		t.Errorf("headers %v", hdr)
	}
	c := api.NewClient(sock)
	defer c.Close()
	if err := c.ContainerStart(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if out, _, _ := frames(t, rest); out != "hi\n" {
		t.Errorf("attached output %q", out)
	}
}

func TestAttachLogs(t *testing.T) {
	s, _ := newContainerServer(t)
	c := clientFor(t, s)
	id := mustCreate(t, s, "", true, "echo", "before")
	waitExit(t, s, id)
	hj, err := c.ContainerAttach(context.Background(), id, api.ContainerAttachOptions{Logs: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hj.Close()
	var out bytes.Buffer
	if _, err := api.StdCopy(&out, io.Discard, hj.Reader); err != nil || out.String() != "before\n" {
		t.Errorf("logs=1: %q %v", out.String(), err)
	}
}

func TestWaitAnswersHeaderFirst(t *testing.T) {
	s, _ := newContainerServer(t)
	c := clientFor(t, s)
	ctx := context.Background()
	id := mustCreate(t, s, "", true, "sleep", "30")
	wait, err := c.ContainerWait(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-wait:
		t.Fatalf("wait returned %+v while the container runs", r)
	case <-time.After(100 * time.Millisecond):
	}
	if err := c.ContainerStop(ctx, id, api.StopOptions{Signal: "SIGTERM"}); err != nil {
		t.Fatal(err)
	}
	if r := <-wait; r.Err != nil || r.Response.StatusCode != 143 {
		t.Errorf("wait after stop: %+v", r)
	}
	if err := c.ContainerStop(ctx, id, api.StopOptions{}); err != nil {
		t.Errorf("stop of a stopped container (304) must not be an error: %v", err)
	}
	// --rm: the wait for the removal ends when the container is gone.
	rm := mustCreate(t, s, "", false, "true")
	do(t, s, "POST", "/containers/"+rm+"/kill", nil)
	removed, err := c.ContainerWait(ctx, rm, api.WaitRemoved)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ContainerRemove(ctx, rm, api.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := <-removed; r.Err != nil {
		t.Errorf("wait for removal: %+v", r)
	}
}

func TestStats(t *testing.T) {
	s, _ := newContainerServer(t)
	c := clientFor(t, s)
	ctx := context.Background()
	id := mustCreate(t, s, "", true, "sleep", "30")
	defer do(t, s, "DELETE", "/containers/"+id+"?force=1", nil)

	// stream=0: one sample, with the one before it as its baseline.
	rec := do(t, s, "GET", "/v1.43/containers/"+id+"/stats?stream=0", nil)
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	var st api.StatsJSON
	if err := dec.Decode(&st); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("stream=0 answered more than one sample")
	}
	if st.PreRead.IsZero() || !st.Read.After(st.PreRead) || st.PreCPUStats.CPUUsage.TotalUsage == 0 ||
		st.CPUStats.CPUUsage.TotalUsage <= st.PreCPUStats.CPUUsage.TotalUsage || st.Name == "" || st.ID != id {
		t.Errorf("sample %+v", st)
	}
	var raw map[string]any
	json.Unmarshal(rec.Body.Bytes(), &raw)
	for _, k := range []string{"read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats", "cpu_stats", "precpu_stats", "memory_stats", "name", "id"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("stats lack %q", k)
		}
	}
	if _, ok := raw["networks"]; ok {
		t.Error("a container without a network has networks in its stats")
	}
	// one-shot: the first sample, without a baseline.
	rec = do(t, s, "GET", "/containers/"+id+"/stats?stream=0&one-shot=1", nil)
	st = api.StatsJSON{}
	json.Unmarshal(rec.Body.Bytes(), &st)
	if !st.PreRead.IsZero() || st.Read.IsZero() {
		t.Errorf("one-shot sample %+v", st)
	}
	// stream: samples keep coming, each with its predecessor.
	stream, err := c.ContainerStats(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var prev api.StatsJSON
	for i := range 3 {
		st, err := stream.Next()
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && !st.PreRead.Equal(prev.Read) {
			t.Errorf("sample %d: preread %v, previous read %v", i, st.PreRead, prev.Read)
		}
		prev = st
	}
}

func TestListContainers(t *testing.T) {
	s, _ := newContainerServer(t)
	c := clientFor(t, s)
	ctx := context.Background()
	idOf := map[string]string{}
	for _, n := range []struct {
		name  string
		start bool
		cmd   []string
	}{{"first", true, []string{"sh", "-c", "exit 3"}}, {"second", true, []string{"sleep", "30"}}, {"third", false, []string{"true"}}, {"fourth", true, []string{"true"}}} {
		idOf[n.name] = mustCreate(t, s, n.name, n.start, n.cmd...)
		time.Sleep(5 * time.Millisecond)
	}
	defer do(t, s, "DELETE", "/containers/second?force=1", nil)
	waitExit(t, s, "first")
	waitExit(t, s, "fourth")
	names := func(opts api.ContainerListOptions) string {
		t.Helper()
		list, err := c.ContainerList(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ct := range list {
			out = append(out, strings.TrimPrefix(ct.Names[0], "/"))
		}
		return strings.Join(out, " ")
	}
	f := func(kv ...string) map[string][]string {
		m := map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = append(m[kv[i]], kv[i+1])
		}
		return m
	}
	for _, tt := range []struct {
		opts api.ContainerListOptions
		want string
	}{
		{api.ContainerListOptions{}, "second"},
		{api.ContainerListOptions{All: true}, "fourth third second first"},
		{api.ContainerListOptions{Limit: 2}, "fourth third"},
		{api.ContainerListOptions{Filters: f("status", "exited")}, "fourth first"},
		{api.ContainerListOptions{Filters: f("status", "created", "status", "running")}, "third second"},
		{api.ContainerListOptions{Filters: f("exited", "3")}, "first"},
		{api.ContainerListOptions{All: true, Filters: f("name", "^th")}, "third"},
		{api.ContainerListOptions{All: true, Filters: f("name", "/first")}, "first"},
		{api.ContainerListOptions{All: true, Filters: f("id", idOf["second"][:10])}, "second"},
		{api.ContainerListOptions{All: true, Filters: f("before", "third")}, "second first"},
		{api.ContainerListOptions{All: true, Filters: f("since", "second")}, "fourth third"},
		{api.ContainerListOptions{All: true, Filters: f("ancestor", "busybox")}, "fourth third second first"},
		{api.ContainerListOptions{All: true, Filters: f("ancestor", busybox.ID[7:19])}, "fourth third second first"},
		{api.ContainerListOptions{All: true, Filters: f("ancestor", "ghcr.io/owner/app:1.0")}, ""},
		{api.ContainerListOptions{All: true, Filters: f("label", "nope")}, ""},
	} {
		if got := names(tt.opts); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.opts, got, tt.want)
		}
	}
	list, _ := c.ContainerList(ctx, api.ContainerListOptions{All: true, Size: true, Filters: f("name", "first")})
	if len(list) != 1 {
		t.Fatalf("list %+v", list)
	}
	first := list[0]
	if first.Image != "busybox" || first.ImageID != busybox.ID || first.Command != "sh -c 'exit 3'" || first.State != "exited" ||
		!strings.HasPrefix(first.Status, "Exited (3) ") || first.SizeRw != 12 || first.SizeRootFs == 0 || first.HostConfig.NetworkMode != "none" {
		t.Errorf("summary %+v", first)
	}
	rec := do(t, s, "GET", "/containers/json?all=1", nil)
	var raw []map[string]any
	json.Unmarshal(rec.Body.Bytes(), &raw)
	for _, k := range []string{"Id", "Names", "Image", "ImageID", "Command", "Created", "Ports", "Labels", "State", "Status", "HostConfig", "NetworkSettings", "Mounts"} {
		if _, ok := raw[0][k]; !ok {
			t.Errorf("summary lacks %q: %v", k, raw[0])
		}
	}
	if _, ok := raw[0]["SizeRw"]; ok {
		t.Error("SizeRw without size=1")
	}
}

func TestStatusString(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339Nano) }
	zero := "0001-01-01T00:00:00Z"
	for _, tt := range []struct {
		st   api.ContainerState
		want string
	}{
		{api.ContainerState{Status: "created", StartedAt: zero, FinishedAt: zero}, "Created"},
		{api.ContainerState{Status: "running", Running: true, StartedAt: at(2 * time.Second), FinishedAt: zero}, "Up 2 seconds"},
		{api.ContainerState{Status: "running", Running: true, StartedAt: at(300 * time.Millisecond)}, "Up Less than a second"},
		{api.ContainerState{Status: "paused", Running: true, Paused: true, StartedAt: at(90 * time.Second)}, "Up About a minute (Paused)"},
		{api.ContainerState{Status: "exited", ExitCode: 0, StartedAt: at(time.Hour), FinishedAt: at(3 * time.Second)}, "Exited (0) 3 seconds ago"},
		{api.ContainerState{Status: "exited", ExitCode: 137, StartedAt: at(100 * time.Hour), FinishedAt: at(50 * time.Hour)}, "Exited (137) 2 days ago"},
		{api.ContainerState{Status: "restarting", Running: true, Restarting: true, ExitCode: 1, StartedAt: at(time.Hour), FinishedAt: at(5 * time.Second)}, "Restarting (1) 5 seconds ago"},
		{api.ContainerState{Status: "removing", StartedAt: at(time.Hour), FinishedAt: at(time.Minute)}, "Removal In Progress"},
		{api.ContainerState{Status: "dead", Dead: true, StartedAt: at(time.Hour), FinishedAt: at(time.Minute)}, "Dead"},
	} {
		if got := api.StatusString(&tt.st, now); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.st, got, tt.want)
		}
	}
}

func TestPruneContainersAndVolumes(t *testing.T) {
	s, ctrs := newContainerServer(t)
	c := clientFor(t, s)
	ctx := context.Background()
	done := mustCreate(t, s, "done", true, "true")
	waitExit(t, s, done)
	mustCreate(t, s, "fresh", false, "true")
	live := mustCreate(t, s, "live", true, "sleep", "30")
	defer do(t, s, "DELETE", "/containers/"+live+"?force=1", nil)

	rep, err := c.ContainersPrune(ctx, map[string][]string{"until": {"1h"}})
	if err != nil || len(rep.ContainersDeleted) != 0 {
		t.Errorf("prune until 1h ago: %+v %v", rep, err)
	}
	rep, err = c.ContainersPrune(ctx, nil)
	if err != nil || len(rep.ContainersDeleted) != 2 || !slices.Contains(rep.ContainersDeleted, done) || rep.SpaceReclaimed != 24 {
		t.Errorf("prune: %+v %v", rep, err)
	}
	if ctrs.State("live") != "running" || ctrs.State("done") != "" {
		t.Errorf("after prune: live %q, done %q", ctrs.State("live"), ctrs.State("done"))
	}

	// Volumes: a named one in use, a named one unused, an anonymous one.
	for _, n := range []string{"used", "spare"} {
		if _, err := c.VolumeCreate(ctx, api.VolumeCreateOptions{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	anon, err := c.VolumeCreate(ctx, api.VolumeCreateOptions{})
	if err != nil || anon.Labels[api.AnonymousVolumeLabel] != "" || len(anon.Name) != 64 {
		t.Fatalf("anonymous volume %+v %v", anon, err)
	}
	rec := do(t, s, "POST", "/containers/create?name=user", strings.NewReader(`{"Image":"busybox","HostConfig":{"Binds":["used:/data"]}}`))
	if rec.Code != 201 {
		t.Fatal(rec.Body.String())
	}
	dangling, err := c.VolumeList(ctx, map[string][]string{"dangling": {"true"}})
	if err != nil || len(dangling.Volumes) != 2 {
		t.Errorf("dangling volumes %+v %v", dangling, err)
	}
	if err := c.VolumeRemove(ctx, "used", false); !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "volume is in use") {
		t.Errorf("remove of a volume in use: %v", err)
	}
	vrep, err := c.VolumesPrune(ctx, nil)
	if err != nil || !slices.Equal(vrep.VolumesDeleted, []string{anon.Name}) {
		t.Errorf("volume prune: %+v %v", vrep, err)
	}
	vrep, err = c.VolumesPrune(ctx, map[string][]string{"all": {"true"}})
	if err != nil || !slices.Equal(vrep.VolumesDeleted, []string{"spare"}) {
		t.Errorf("volume prune all: %+v %v", vrep, err)
	}
	if got := ctrs.Volumes(); !slices.Equal(got, []string{"used"}) {
		t.Errorf("volumes left %q", got)
	}
	v, raw, err := c.VolumeInspectWithRaw(ctx, "used")
	if err != nil || v.Driver != "local" || v.Scope != "local" || !bytes.Contains(raw, []byte(`"Mountpoint"`)) {
		t.Errorf("volume inspect %+v %s %v", v, raw, err)
	}
}

func TestClientContainerLifecycle(t *testing.T) {
	s, ctrs := newContainerServer(t)
	c := clientFor(t, s)
	ctx := context.Background()
	resp, err := c.ContainerCreate(ctx, "svc", "", &api.ContainerCreateRequest{ContainerConfig: api.ContainerConfig{Image: "busybox", Cmd: []string{"sleep", "30"}, Labels: map[string]string{"tier": "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"start", func() error { return c.ContainerStart(ctx, "svc") }, "running"},
		{"pause", func() error { return c.ContainerPause(ctx, "svc") }, "paused"},
		{"unpause", func() error { return c.ContainerUnpause(ctx, "svc") }, "running"},
		{"restart", func() error { t0 := 1; return c.ContainerRestart(ctx, "svc", api.StopOptions{Timeout: &t0}) }, "running"},
		{"kill", func() error { return c.ContainerKill(ctx, "svc", "SIGTERM") }, "exited"},
		{"remove", func() error { return c.ContainerRemove(ctx, resp.ID[:8], api.RemoveOptions{Volumes: true}) }, ""},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := ctrs.State("svc"); got != st.want {
			t.Errorf("after %s: %q, want %q", st.name, got, st.want)
		}
	}
	want := []string{
		`Create(name=svc, image=busybox, cmd=["sleep" "30"], platform="")`, "Start(svc)", "Pause(svc)", "Unpause(svc)",
		`Stop(svc, signal="", t=1)`, "Start(svc)", "Kill(svc, SIGTERM)", "Remove(" + resp.ID[:8] + ", force=false, v=true)",
	}
	if got := ctrs.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls\n%q\nwant\n%q", got, want)
	}
	if _, err := c.ContainerInspect(ctx, "svc", false); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("inspect after remove: %v", err)
	}
	mustCreate(t, s, "top", true, "sleep", "30")
	defer c.ContainerRemove(ctx, "top", api.RemoveOptions{Force: true})
	top, err := c.ContainerTop(ctx, "top", "")
	if err != nil || len(top.Titles) != 8 || len(top.Processes) != 1 || top.Processes[0][7] != "sleep 30" {
		t.Errorf("top %+v %v", top, err)
	}
	info, raw, err := c.ContainerInspectWithRaw(ctx, "top", true)
	if err != nil || info.Name != "/top" || info.SizeRw == nil || !bytes.HasPrefix(raw, []byte(`{"Id":`)) {
		t.Errorf("inspect %+v %v", info, err)
	}
}

func TestStdCopy(t *testing.T) {
	var stream bytes.Buffer
	api.WriteFrame(&stream, api.StreamStdout, []byte("out"))
	api.WriteFrame(&stream, api.StreamStderr, []byte("err\n"))
	api.WriteFrame(&stream, api.StreamStdout, nil)
	api.WriteFrame(&stream, api.StreamStdout, []byte("put\n"))
	var out, errOut bytes.Buffer
	n, err := api.StdCopy(&out, &errOut, bytes.NewReader(stream.Bytes()))
	if err != nil || out.String() != "output\n" || errOut.String() != "err\n" || n != 11 {
		t.Errorf("%d %v %q %q", n, err, out.String(), errOut.String())
	}
	api.WriteFrame(&stream, api.StreamSystemErr, []byte("the log is gone"))
	if _, err := api.StdCopy(io.Discard, io.Discard, &stream); err == nil || err.Error() != "the log is gone" {
		t.Errorf("system error frame: %v", err)
	}
	if _, err := api.StdCopy(io.Discard, io.Discard, strings.NewReader("\x07\x00\x00\x00\x00\x00\x00\x01x")); err == nil {
		t.Error("unknown stream accepted")
	}
	if _, err := api.StdCopy(io.Discard, io.Discard, strings.NewReader("\x01\x00\x00\x00\x00\x00\x00\x09short")); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated frame: %v", err)
	}
}

func TestParseBindAndTmpfs(t *testing.T) {
	for _, tt := range []struct {
		spec    string
		want    api.MountSpec
		wantErr string
	}{
		{"/host/dir:/data", api.MountSpec{Type: "bind", Source: "/host/dir", Target: "/data"}, ""},
		{"/host/dir/:/data/:ro,rshared", api.MountSpec{Type: "bind", Source: "/host/dir", Target: "/data", ReadOnly: true, Propagation: "rshared"}, ""},
		{"cache:/var/cache:nocopy", api.MountSpec{Type: "volume", Source: "cache", Target: "/var/cache", NoCopy: true}, ""},
		{"cache:/var/cache:rw", api.MountSpec{Type: "volume", Source: "cache", Target: "/var/cache"}, ""},
		{"/data", api.MountSpec{}, "expected SOURCE:DESTINATION"},
		{"/a:/b:c:d", api.MountSpec{}, "expected SOURCE:DESTINATION"},
		{"/a:/", api.MountSpec{}, "destination can't be '/'"},
		{"/a:/b:ro,rw", api.MountSpec{}, "give ro or rw once"},
		{"/a:/b:z", api.MountSpec{}, "SELinux relabelling"},
		{"vol:/b:shared", api.MountSpec{}, `invalid mode: "shared"`},
		{"/a:/b:nocopy", api.MountSpec{}, `invalid mode: "nocopy"`},
		{"bad name:/b", api.MountSpec{}, "invalid characters"},
	} {
		got, err := api.ParseBind(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !errors.Is(err, api.ErrInvalidParameter) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseBind(%q) = %+v, %v; want an error with %q", tt.spec, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !mountEqual(got, tt.want) {
			t.Errorf("ParseBind(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
	m, err := api.ParseTmpfs("/run", "size=64m,mode=1770,noexec,ro,uid=1000")
	if err != nil || m.TmpfsSize != 64<<20 || m.TmpfsMode != 0o1770 || !m.ReadOnly || !slices.Equal(m.Options, []string{"noexec", "uid=1000"}) {
		t.Errorf("ParseTmpfs = %+v, %v", m, err)
	}
	for _, bad := range []string{"size=lots", "mode=999", "colour=red", "exec=1"} {
		if _, err := api.ParseTmpfs("/run", bad); err == nil {
			t.Errorf("ParseTmpfs(%q) accepted", bad)
		}
	}
	for s, want := range map[string]int64{"512": 512, "64m": 64 << 20, "1.5g": 3 << 29, "100KiB": 102400, "2 MB": 2 << 20} {
		if got, err := api.ParseBytes(s); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
}

func mountEqual(a, b api.MountSpec) bool {
	return a.Type == b.Type && a.Source == b.Source && a.Target == b.Target && a.ReadOnly == b.ReadOnly && a.Propagation == b.Propagation && a.NoCopy == b.NoCopy
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]string{"KILL": "SIGKILL", "sigterm": "SIGTERM", "9": "SIGKILL", "SIGRTMIN+3": "SIGRTMIN+3", "37": "SIGRTMIN+3", "RTMAX": "SIGRTMAX", "io": "SIGIO", "6": "SIGABRT"} {
		got, _, err := api.ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "65", "SIGFOO", "RTMIN+40"} {
		if _, _, err := api.ParseSignal(bad); !errors.Is(err, api.ErrInvalidParameter) {
			t.Errorf("ParseSignal(%q) = %v", bad, err)
		}
	}
}
