package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
	"github.com/berthhq/berth/testvm"
)

// noDNS answers every name "no such host": no test asks a real resolver.
type noDNS struct{}

func (noDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// withoutDNS also hides the user's Docker logins (and credential helpers)
// from the probes.
func withoutDNS(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	probeResolver = noDNS{}
	t.Cleanup(func() { probeResolver = nil })
}

// writeConfig writes a daemon.json and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readText(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func freeURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// TestMirrorTestFaults is the table: each way a mirror misbehaves,
// made on loopback, and the verdict `berth mirror test` prints for it. The
// upstream is always a loopback registry: no test reaches Docker Hub.
func TestMirrorTestFaults(t *testing.T) {
	withoutDNS(t)
	var sw testvm.Switch
	upstream := testvm.NewRegistry(t, "")
	good := testvm.NewRegistry(t, "")
	prefixed := testvm.NewRegistry(t, "docker.io")
	tlsReg := testvm.NewRegistryTLS(t, "")
	forbidden := testvm.NewRegistry(t, "", testvm.Status(&sw, testvm.Manifests, http.StatusForbidden, nil))
	limited := testvm.NewRegistry(t, "", testvm.Status(&sw, testvm.AnyRequest, http.StatusTooManyRequests, map[string]string{"Retry-After": "30"}))
	private := testvm.NewRegistry(t, "", testvm.TokenAuth(&sw, "alice", "secret"))
	corrupt := testvm.NewRegistry(t, "", testvm.Corrupt(&sw, testvm.Blobs))
	slow := testvm.NewRegistry(t, "", testvm.Trickle(&sw, testvm.Blobs, 1024, 50*time.Millisecond))
	stale := testvm.NewRegistry(t, "")
	stale.Retag(t, "library/nginx:1.22", "library/busybox:1.35")
	down := freeURL(t)
	sw.On()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsReg.Server.Certificate().Raw}), 0o644)
	cfg := writeConfig(t, "{}")

	tests := []struct {
		name     string
		args     []string
		upstream string
		code     int
		verdict  string // the "=>" line
	}{
		{"good", []string{good.Server.URL}, upstream.Server.URL, 0, "=> ok: "},
		{"prefix-style path", []string{prefixed.Server.URL + "/docker.io"}, upstream.Server.URL, 0, "=> ok: "},
		{"self-signed TLS with its CA", []string{"--ca", ca, tlsReg.Server.URL}, upstream.Server.URL, 0, "=> ok: "},
		{"upstream unreachable", []string{good.Server.URL}, down, 0, "whether its tags are stale is unknown"},
		{"no scheme", []string{"mirror.example"}, upstream.Server.URL, 1, `=> no-scheme: mirror "mirror.example": no scheme; write https://mirror.example`},
		{"DNS", []string{"https://mirror.invalid"}, upstream.Server.URL, 1, "=> dns: DNS: no such host mirror.invalid"},
		{"down", []string{down}, upstream.Server.URL, 1, "=> refused: connection refused: nothing listens on " + strings.TrimPrefix(down, "http://")},
		{"self-signed TLS", []string{tlsReg.Server.URL}, upstream.Server.URL, 1, "=> tls: TLS: certificate signed by unknown authority"},
		{"HTTP only", []string{"https://" + good.Host}, upstream.Server.URL, 1, "=> plain-http: TLS: the server speaks plain http, not https"},
		{"403", []string{forbidden.Server.URL}, upstream.Server.URL, 1, "=> forbidden: 403 Forbidden (DENIED: repository not in the allowlist): library/busybox:1.35 is not in the mirror's allowlist"},
		{"429", []string{limited.Server.URL}, upstream.Server.URL, 1, "=> rate-limited: 429 Too Many Requests (TOOMANYREQUESTS: rate limit exceeded): rate-limited, retry after 30s"},
		{"auth required", []string{private.Server.URL}, upstream.Server.URL, 1, "=> auth-required: authentication required: the token service refuses anonymous access"},
		{"wrong content", []string{corrupt.Server.URL}, upstream.Server.URL, 1, "=> wrong-content: wrong content: the image config hashes to sha256:"},
		{"slow trickle", []string{"--timeout", "500ms", slow.Server.URL}, upstream.Server.URL, 1, "=> slow: too slow: "},
		{"stale tag", []string{stale.Server.URL}, upstream.Server.URL, 1, "=> stale-tag: stale tag: the mirror serves library/busybox:1.35 as "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"mirror", "--config-file", cfg, "test", "--image", "busybox:1.35", "--upstream", tt.upstream, "--timeout", "5s"}, tt.args...)
			code, out, stderr := runBerth(t, args...)
			if code != tt.code || !strings.Contains(out, tt.verdict) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.code, tt.verdict, out, stderr)
			}
			if tt.code != 0 && !strings.Contains(out, "     what to do: ") {
				t.Errorf("no advice:\n%s", out)
			}
			if !regexp.MustCompile(`(?m)^  STEP\s+TIME\s+RESULT\s+DETAIL$`).MatchString(out) {
				t.Errorf("no step table:\n%s", out)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		code, out, _ := runBerth(t, "mirror", "--config-file", cfg, "test", "--json", "--image", "library/busybox:1.35", "--upstream", upstream.Server.URL, good.Server.URL, limited.Server.URL)
		var doc struct {
			OK        bool `json:"ok"`
			Endpoints []struct {
				Endpoint string `json:"endpoint"`
				OK       bool   `json:"ok"`
				Stale    string `json:"stale"`
				Steps    []struct {
					Name   string  `json:"name"`
					Status string  `json:"status"`
					MS     float64 `json:"ms"`
				} `json:"steps"`
				Problem *struct {
					Kind       string  `json:"kind"`
					RetryAfter float64 `json:"retryAfterSeconds"`
				} `json:"problem"`
			} `json:"endpoints"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if code != 1 || doc.OK || len(doc.Endpoints) != 2 || !doc.Endpoints[0].OK || doc.Endpoints[0].Stale != "no" || len(doc.Endpoints[0].Steps) != 9 ||
			doc.Endpoints[1].Problem == nil || doc.Endpoints[1].Problem.Kind != "rate-limited" || doc.Endpoints[1].Problem.RetryAfter != 30 {
			t.Errorf("exit %d, %s", code, out)
		}
	})

	t.Run("configured mirrors", func(t *testing.T) {
		cfg := writeConfig(t, fmt.Sprintf(`{"registry-mirrors": [%q, %q]}`, good.Server.URL, down))
		code, out, _ := runBerth(t, "mirror", "--config-file", cfg, "test", "--image", "busybox:1.35", "--upstream", upstream.Server.URL)
		if code != 1 || !strings.Contains(out, "2 tested: 1 ok, 1 failing") || !strings.Contains(out, good.Server.URL+"  (docker.io, library/busybox:1.35)") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
}

// TestMirrorRank: the fastest working mirror first, failures last, and
// --apply writes that order, keeping the rest of the file.
func TestMirrorRank(t *testing.T) {
	withoutDNS(t)
	var sw testvm.Switch
	upstream := testvm.NewRegistry(t, "")
	fast := testvm.NewRegistry(t, "")
	slower := testvm.NewRegistry(t, "", testvm.Trickle(&sw, testvm.Blobs, 64<<10, 10*time.Millisecond))
	down := freeURL(t)
	sw.On()
	cfg := writeConfig(t, fmt.Sprintf("{\n  \"debug\": true,\n  \"registry-mirrors\": [%q, %q, %q],\n  \"log-level\": \"warn\"\n}\n", down, slower.Server.URL, fast.Server.URL))
	before := readText(t, cfg)

	code, out, stderr := runBerth(t, "mirror", "--config-file", cfg, "rank", "--image", "busybox:1.35", "--upstream", upstream.Server.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "1 ") || !strings.Contains(lines[1], fast.Server.URL) ||
		!strings.HasPrefix(lines[2], "2 ") || !strings.Contains(lines[2], slower.Server.URL) || !strings.Contains(lines[3], "refused: connection refused") {
		t.Errorf("rank:\n%s", out)
	}
	if readText(t, cfg) != before {
		t.Error("rank without --apply changed the file")
	}

	code, _, stderr = runBerth(t, "mirror", "--config-file", cfg, "rank", "--apply", "--image", "busybox:1.35", "--upstream", upstream.Server.URL)
	want := fmt.Sprintf("{\n  \"debug\": true,\n  \"registry-mirrors\": [\n    %q,\n    %q,\n    %q\n  ],\n  \"log-level\": \"warn\"\n}\n", fast.Server.URL, slower.Server.URL, down)
	if code != 0 || readText(t, cfg) != want {
		t.Errorf("exit %d %s; file:\n%s\nwant:\n%s", code, stderr, readText(t, cfg), want)
	}
}

// TestMirrorEditErrors: a mistake is one exact line, exit 2, and the file
// is left as it was.
func TestMirrorEditErrors(t *testing.T) {
	valid := "{\n  \"registry-mirrors\": [\"https://a.example\"],\n  \"mirrors\": {\"ghcr.io\": {\"endpoints\": [{\"url\": \"https://g.example\"}], \"fallback\": false}}\n}\n"
	tests := []struct {
		name, file string
		args       []string
		code       int
		want       string // stderr; FILE stands for the file's path
	}{
		{"no scheme", valid, []string{"add", "mirror.example"}, 2, `berth: mirror "mirror.example": no scheme; write https://mirror.example`},
		{"v2 in the URL", valid, []string{"add", "https://m.example/v2/"}, 2, `berth: mirror "https://m.example/v2/": remove "/v2"; Berth adds it (write https://m.example)`},
		{"registry with a scheme", valid, []string{"add", "--registry", "https://ghcr.io", "https://m.example"}, 2, `berth: registry "https://ghcr.io" is not a host[:port]; write "ghcr.io" (a path prefix belongs in the endpoint URL)`},
		{"relative CA", valid, []string{"add", "--ca", "ca.pem", "https://m.example"}, 2, `berth: mirror "https://m.example": ca "ca.pem" is not an absolute path; write the full path, e.g. /etc/berth/certs/ca.pem`},
		{"CA and insecure", valid, []string{"add", "--ca", "/ca.pem", "--insecure", "https://m.example"}, 2, `berth: mirror "https://m.example": ca "/ca.pem" and "insecure": true contradict each other (insecure skips verification); keep one`},
		{"push capability", valid, []string{"add", "--capabilities", "push", "https://m.example"}, 2, `berth: mirror "https://m.example": unknown capability "push"; use "pull" and/or "resolve"`},
		{"credentials in the URL", valid, []string{"add", "https://u:pw@m.example"}, 2, `berth: mirror "https://u:xxxxx@m.example": credentials do not belong in the URL; remove them and use berth login m.example`},
		{"misspelt key in the file", "{\n  \"registry-mirror\": [\"https://a.example\"]\n}\n", []string{"add", "https://m.example"}, 2, `berth: FILE:2:3: "registry-mirror": unknown key; did you mean "registry-mirrors"?`},
		{"duplicate key in the file", "{\n  \"debug\": true,\n  \"debug\": false\n}\n", []string{"rm", "https://a.example"}, 2, `berth: FILE:3:3: "debug" appears twice; keep one`},
		{"CIDR typo in the file", "{\"insecure-registries\": [\"10.0.0.0/33\"]}", []string{"add", "https://m.example"}, 2, `berth: FILE:1:2: insecure-registries: "10.0.0.0/33" is not a CIDR: prefix length "33" must be 0-32; write e.g. 10.0.0.0/8`},
		{"syntax error in the file", "{\n  \"debug\": true,\n}", []string{"add", "https://m.example"}, 2, `berth: FILE:3:1: invalid character '}' looking for beginning of object key string`},
		{"last endpoint without fallback", valid, []string{"rm", "https://g.example"}, 2, `berth: FILE would be invalid: mirrors["ghcr.io"]: fallback is false and there are no endpoints, so nothing could serve ghcr.io; add an endpoint or drop "fallback"; nothing written`},
		{"not a mirror", valid, []string{"rm", "https://nope.example"}, 1, `berth: https://nope.example is not a mirror of any registry (berth mirror ls lists them)`},
		{"bad import", valid, []string{"import", "--from", "containers", "--path", "REGCONF"}, 2, `berth: REGCONF: line 2: "mirror.example" is not a value this file takes (a "string", true, false, a number or a [list]); quote strings`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeConfig(t, tt.file)
			regconf := filepath.Join(t.TempDir(), "registries.conf")
			os.WriteFile(regconf, []byte("[[registry]]\nlocation = mirror.example\n"), 0o644)
			var args []string
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "REGCONF", regconf))
			}
			code, out, stderr := runBerth(t, append([]string{"mirror", "--config-file", cfg}, args...)...)
			want := strings.NewReplacer("FILE", cfg, "REGCONF", regconf).Replace(tt.want) + "\n"
			if code != tt.code || stderr != want || out != "" {
				t.Errorf("exit %d (want %d)\nstderr %q\nwant   %q\nstdout %q", code, tt.code, stderr, want, out)
			}
			if readText(t, cfg) != tt.file {
				t.Errorf("the file changed:\n%s", readText(t, cfg))
			}
		})
	}
}

// TestMirrorAddRm: edits keep every other key, its order and its bytes.
func TestMirrorAddRm(t *testing.T) {
	orig := "{\n    \"debug\": true,\n    \"registry-mirrors\": [\"https://a.example\"],\n    \"log-opts\": {\"max-size\": \"10m\"},\n    \"storage-driver\": \"overlay2\"\n}\n"
	cfg := writeConfig(t, orig)
	os.Chmod(cfg, 0o640)
	run := func(args ...string) string {
		t.Helper()
		code, out, stderr := runBerth(t, append([]string{"mirror", "--config-file", cfg}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return out + stderr
	}
	run("add", "--first", "https://b.example")
	run("add", "--registry", "ghcr.io", "--capabilities", "pull", "https://g.example/ghcr.io")
	want := "{\n    \"debug\": true,\n    \"registry-mirrors\": [\n        \"https://b.example\",\n        \"https://a.example\"\n    ],\n    \"log-opts\": {\"max-size\": \"10m\"},\n    \"storage-driver\": \"overlay2\",\n" +
		"    \"mirrors\": {\n        \"ghcr.io\": {\n            \"endpoints\": [\n                {\n                    \"url\": \"https://g.example/ghcr.io\",\n                    \"capabilities\": [\n                        \"pull\"\n                    ]\n                }\n            ]\n        }\n    }\n}\n"
	if got := readText(t, cfg); got != want {
		t.Errorf("after add:\n%s\nwant:\n%s", got, want)
	}
	if out := run("add", "https://B.example:443/"); !strings.Contains(out, "already a mirror of docker.io; nothing changed") {
		t.Errorf("second add: %q", out)
	}
	run("rm", "https://g.example/ghcr.io", "https://b.example")
	if got := readText(t, cfg); got != strings.Replace(orig, `["https://a.example"]`, "[\n        \"https://a.example\"\n    ]", 1)+"" &&
		got != "{\n    \"debug\": true,\n    \"registry-mirrors\": [\n        \"https://a.example\"\n    ],\n    \"log-opts\": {\"max-size\": \"10m\"},\n    \"storage-driver\": \"overlay2\",\n    \"mirrors\": {}\n}\n" {
		t.Errorf("after rm:\n%s", got)
	}
	if st, _ := os.Stat(cfg); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's 0640 kept", st.Mode().Perm())
	}
	// A missing file is created.
	fresh := filepath.Join(t.TempDir(), "etc", "berth", "daemon.json")
	if code, _, stderr := runBerth(t, "mirror", "--config-file", fresh, "add", "https://m.example"); code != 0 || readText(t, fresh) != "{\n  \"registry-mirrors\": [\n    \"https://m.example\"\n  ]\n}\n" {
		t.Errorf("exit %d %s:\n%s", code, stderr, readText(t, fresh))
	}
}

// TestMirrorLs: the configured endpoints in pull order with the health the
// engine remembers, from the engine or else from its data root.
func TestMirrorLs(t *testing.T) {
	data := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`{"data-root": %q, "registry-mirrors": ["https://a.example", "https://b.example/docker.io"],
		"mirrors": {"ghcr.io": {"endpoints": [{"url": "https://g.example", "capabilities": ["pull"]}], "fallback": false}}}`, data))
	now := time.Now().UTC()
	health := fmt.Sprintf(`{"endpoints": [
		{"registry": "docker.io", "endpoint": "https://a.example", "lastSuccess": %q},
		{"registry": "docker.io", "endpoint": "https://b.example/docker.io", "lastFailure": %q, "lastError": "connection refused", "failures": 2, "coolUntil": %q}]}`,
		now.Add(-2*time.Minute).Format(time.RFC3339), now.Add(-time.Minute).Format(time.RFC3339), now.Add(4*time.Minute).Format(time.RFC3339))
	os.WriteFile(filepath.Join(data, "mirror-health.json"), []byte(health), 0o600)
	sock := filepath.Join(shortDir(t), "none.sock")

	code, out, stderr := runBerth(t, "-H", sock, "mirror", "--config-file", cfg, "ls")
	want := []string{
		`REGISTRY\s+ENDPOINT\s+KIND\s+HEALTH`,
		`docker.io\s+https://a.example\s+mirror\s+ok, last used 2 minutes ago`,
		`docker.io\s+https://b.example/docker.io\s+mirror, prefix\s+cooling down for (3m5\ds|4m0s): connection refused`,
		`docker.io\s+https://index.docker.io\s+registry\s+unknown \(not used yet\)`,
		`ghcr.io\s+https://g.example\s+mirror, pull only\s+unknown \(not used yet\)`,
		`ghcr.io\s+https://ghcr.io\s+registry\s+not used \(fallback is false\)`,
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != len(want) {
		t.Fatalf("exit %d %s:\n%s", code, stderr, out)
	}
	for i, re := range want {
		if !regexp.MustCompile("^" + re + "$").MatchString(lines[i]) {
			t.Errorf("line %d %q, want %s", i, lines[i], re)
		}
	}

	// From the engine's /info.
	srv, err := api.NewServer(apitest.NewBackend(), &apitest.System{InfoAnswer: api.InfoResponse{MirrorHealth: []api.MirrorHealth{
		{Registry: "docker.io", Endpoint: "https://a.example", Mirror: true, Used: true, State: "failing", LastFailure: now.Add(-time.Hour).Format(time.RFC3339), LastError: "503 Service Unavailable", Failures: 1},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	engineSock := filepath.Join(shortDir(t), "b.sock")
	l, err := api.Listen(engineSock, "")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	code, out, _ = runBerth(t, "-H", engineSock, "mirror", "--config-file", cfg, "ls", "--format", "json")
	var rows []api.MirrorHealth
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != 0 || len(rows) != 5 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if rows[0].State != "failing" || rows[0].LastError != "503 Service Unavailable" || rows[1].State != "unknown" {
		t.Errorf("rows %+v", rows)
	}
	code, out, _ = runBerth(t, "-H", engineSock, "mirror", "--config-file", cfg, "ls", "--format", "{{.Endpoint}} {{.State}}")
	if code != 0 || !strings.HasPrefix(out, "https://a.example failing\n") {
		t.Errorf("template: %q", out)
	}
}

// TestMirrorImportExport: the other engines' settings come in, with what
// could not; Berth's go out to each, and foreign files are not clobbered.
func TestMirrorImportExport(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"etc/docker/daemon.json":                     `{"registry-mirrors": ["https://mirror.gcr.io"], "insecure-registries": ["registry.lan:5000"], "log-driver": "journald"}`,
		"etc/containerd/certs.d/ghcr.io/hosts.toml":  "server = \"https://ghcr.io\"\n\n[host.\"https://g.example\"]\n  capabilities = [\"pull\"]\n",
		"etc/containers/registries.conf":             "unqualified-search-registries = [\"docker.io\"]\n\n[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"m.example/docker.io\"\n",
		"etc/containers/registries.conf.d/10-a.conf": "[[registry]]\nlocation = \"quay.io\"\n[[registry.mirror]]\nlocation = \"q.example\"\n",
	}
	for p, c := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte(c), 0o644)
	}
	cfg := writeConfig(t, "{\n  \"debug\": true\n}\n")

	code, out, _ := runBerth(t, "mirror", "--config-file", cfg, "import", "--root", root, "--dry-run")
	if code != 0 || !strings.Contains(out, "Would add to "+cfg) || readText(t, cfg) != "{\n  \"debug\": true\n}\n" {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, readText(t, cfg))
	}
	code, out, stderr := runBerth(t, "mirror", "--config-file", cfg, "import", "--root", root)
	for _, want := range []string{
		"  mirror of docker.io: https://mirror.gcr.io",
		"  mirror of docker.io: https://m.example/docker.io",
		"  mirror of ghcr.io: https://g.example",
		"  mirror of quay.io: https://q.example",
		"  insecure registry: registry.lan:5000",
		"Not imported:",
		`daemon.json: not mirror settings, not imported: "log-driver"`,
		"unqualified-search-registries (docker.io) is not a mirror",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	if code != 0 || !strings.Contains(stderr, "systemctl reload berth") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "{\n  \"debug\": true,\n  \"registry-mirrors\": [\n    \"https://mirror.gcr.io\"\n  ],\n  \"insecure-registries\": [\n    \"registry.lan:5000\"\n  ],\n  \"mirrors\": {\n" +
		"    \"ghcr.io\": {\n      \"endpoints\": [\n        {\n          \"url\": \"https://g.example\",\n          \"capabilities\": [\n            \"pull\"\n          ]\n        }\n      ]\n    },\n" +
		"    \"docker.io\": {\n      \"endpoints\": [\n        {\n          \"url\": \"https://m.example/docker.io\"\n        }\n      ]\n    },\n" +
		"    \"quay.io\": {\n      \"endpoints\": [\n        {\n          \"url\": \"https://q.example\"\n        }\n      ]\n    }\n  }\n}\n"
	if got := readText(t, cfg); got != want {
		t.Errorf("daemon.json:\n%s\nwant:\n%s", got, want)
	}
	// Importing again adds nothing.
	if _, out, _ := runBerth(t, "mirror", "--config-file", cfg, "import", "--root", root); !strings.Contains(out, "nothing to add") {
		t.Errorf("second import:\n%s", out)
	}

	// Export to each engine.
	certs := filepath.Join(t.TempDir(), "certs.d")
	code, out, stderr = runBerth(t, "mirror", "--config-file", cfg, "export", "--to", "containerd", "--dir", certs)
	if code != 0 || !strings.Contains(readText(t, filepath.Join(certs, "docker.io", "hosts.toml")), "[host.\"https://m.example/v2/docker.io\"]\n  capabilities = [\"pull\", \"resolve\"]\n  override_path = true\n") ||
		!strings.Contains(readText(t, filepath.Join(certs, "registry.lan:5000", "hosts.toml")), "server = \"http://registry.lan:5000\"\nskip_verify = true\n") {
		t.Errorf("containerd: exit %d %s %s", code, out, stderr)
	}
	os.WriteFile(filepath.Join(certs, "quay.io", "hosts.toml"), []byte("server = \"https://quay.io\"\n"), 0o644)
	code, _, stderr = runBerth(t, "mirror", "--config-file", cfg, "export", "--to", "containerd", "--dir", certs)
	if code != 2 || !strings.Contains(stderr, "quay.io/hosts.toml exists and was not written by berth") {
		t.Errorf("a foreign hosts.toml: exit %d %s", code, stderr)
	}

	dropin := filepath.Join(t.TempDir(), "registries.conf.d", "50-berth.conf")
	code, _, stderr = runBerth(t, "mirror", "--config-file", cfg, "export", "--to", "containers", "--file", dropin)
	if code != 0 || !strings.Contains(readText(t, dropin), "[[registry]]\nprefix = \"quay.io\"\nlocation = \"quay.io\"\n\n[[registry.mirror]]\nlocation = \"q.example\"\n") {
		t.Errorf("containers: exit %d %s\n%s", code, stderr, readText(t, dropin))
	}
	round, err := mirror.ImportContainers([]mirror.File{{Path: dropin, Data: []byte(readText(t, dropin))}})
	if err != nil || len(round.Settings.Mirrors) != 3 {
		t.Errorf("re-import of the export: %v %+v", err, round)
	}

	dockerFile := filepath.Join(root, "etc/docker/daemon.json")
	code, _, stderr = runBerth(t, "mirror", "--config-file", cfg, "export", "--to", "docker", "--file", dockerFile)
	got := readText(t, dockerFile)
	if code != 0 || !strings.Contains(got, `"log-driver": "journald"`) || !strings.Contains(got, "\"https://mirror.gcr.io\"") ||
		!strings.Contains(stderr, "note: Docker mirrors only Docker Hub: the mirrors of ghcr.io are not written") ||
		!strings.Contains(stderr, "note: https://m.example/docker.io: Docker's registry-mirrors cannot have a path") {
		t.Errorf("docker: exit %d %s\n%s", code, stderr, got)
	}
	code, out, _ = runBerth(t, "mirror", "--config-file", cfg, "export", "--to", "containerd")
	if code != 0 || !strings.Contains(out, "# --- docker.io/hosts.toml\n# Written by berth mirror export") {
		t.Errorf("containerd to stdout:\n%s", out)
	}
}

// TestMirrorCommandFlags checks flag parsing through runF.
func TestMirrorCommandFlags(t *testing.T) {
	var got *MirrorAddOptions
	mo := &MirrorOptions{}
	cmd := newCmdMirrorAdd(&IOStreams{Out: &strings.Builder{}, ErrOut: &strings.Builder{}}, mo, func(o *MirrorAddOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--registry", "ghcr.io", "--capabilities", "pull,resolve", "--first", "--insecure", "https://m.example"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.URL != "https://m.example" || got.Registry != "ghcr.io" || !got.First || !got.Insecure || strings.Join(got.Capabilities, ",") != "pull,resolve" {
		t.Errorf("options %+v", got)
	}
	if code, _, stderr := runBerth(t, "mirror"); code != 2 || !strings.Contains(stderr, "berth mirror needs a subcommand: add, export, import, ls, rank, rm, test") {
		t.Errorf("unknown subcommand: %d %q", code, stderr)
	}
	if code, _, stderr := runBerth(t, "mirror", "export", "--to", "podman"); code != 2 || stderr != "berth: --to \"podman\": use docker, containerd or containers\n" {
		t.Errorf("bad --to: %d %q", code, stderr)
	}
}

func TestInfoShowsMirrorHealth(t *testing.T) {
	var b strings.Builder
	writeInfo(&b, &api.InfoResponse{MirrorHealth: []api.MirrorHealth{
		{Registry: "docker.io", Endpoint: "https://a.example", Mirror: true, Used: true, State: "ok"},
		{Registry: "docker.io", Endpoint: "https://b.example", Mirror: true, Used: true, State: "cooling-down", LastError: "connection refused", CoolUntil: time.Now().Add(90 * time.Second).UTC().Format(time.RFC3339)},
		{Registry: "docker.io", Endpoint: "https://index.docker.io", Used: true, State: "unknown"},
	}})
	if !regexp.MustCompile(` Mirror Health:\n  https://a.example \(docker.io\): ok\n  https://b.example \(docker.io\): cooling down for 1m(29|30)s: connection refused\n  https://index.docker.io \(docker.io\): unknown \(not used yet\)\n`).MatchString(b.String()) {
		t.Errorf("info:\n%s", b.String())
	}
}
