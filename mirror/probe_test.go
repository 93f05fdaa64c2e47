package mirror_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/testvm"
)

// fakeResolver answers names from a map, so no test asks a real DNS server.
type fakeResolver map[string]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	if ip, ok := f[host]; ok {
		return []net.IPAddr{{IP: net.ParseIP(ip)}}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func caFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestProbeClassifies maps each way a public mirror misbehaves to the
// failed step and the classification `berth mirror test` prints.
func TestProbeClassifies(t *testing.T) {
	var sw testvm.Switch
	upstream := testvm.NewRegistry(t, "")
	good := testvm.NewRegistry(t, "", testvm.Ranges(nil))
	prefixed := testvm.NewRegistry(t, "docker.io", testvm.NoRanges)
	tlsReg := testvm.NewRegistryTLS(t, "")
	forbidden := testvm.NewRegistry(t, "", testvm.Status(&sw, testvm.Manifests, http.StatusForbidden, nil))
	limited := testvm.NewRegistry(t, "", testvm.Status(&sw, testvm.AnyRequest, http.StatusTooManyRequests, map[string]string{"Retry-After": "30"}))
	failing := testvm.NewRegistry(t, "", testvm.Status(&sw, testvm.AnyRequest, http.StatusServiceUnavailable, nil))
	private := testvm.NewRegistry(t, "", testvm.TokenAuth(&sw, "alice", "secret"))
	tokened := testvm.NewRegistry(t, "", testvm.TokenAuth(&sw, "", ""))
	corrupt := testvm.NewRegistry(t, "", testvm.Corrupt(&sw, testvm.Blobs))
	slow := testvm.NewRegistry(t, "", testvm.Trickle(&sw, testvm.Blobs, 1024, 50*time.Millisecond))
	stale := testvm.NewRegistry(t, "")
	stale.Retag(t, "library/nginx:1.22", "library/busybox:1.35")
	notRegistry := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notRegistry.Close)
	down := closedURL(t)
	sw.On()

	cfg, err := mirror.NewConfig(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	upEP, err := cfg.ParseEndpoint("docker.io", mirror.EndpointConfig{URL: upstream.Server.URL})
	if err != nil {
		t.Fatal(err)
	}
	upEP.Mirror = false
	deadEP, _ := cfg.ParseEndpoint("docker.io", mirror.EndpointConfig{URL: down})
	deadEP.Mirror = false

	tests := []struct {
		name     string
		ec       mirror.EndpointConfig
		image    string
		upstream *mirror.Endpoint
		timeout  time.Duration
		creds    bool
		// wantStep failed with wantKind; "" for a probe that passes.
		wantStep, wantKind string
		wantStale          string
		wantIn             string // in the problem's message (or the last step's detail)
	}{
		{name: "good, host swap", ec: mirror.EndpointConfig{URL: good.Server.URL}, wantStale: mirror.StaleNo, wantIn: "Range requests honoured"},
		{name: "good, prefix", ec: mirror.EndpointConfig{URL: prefixed.Server.URL + "/docker.io"}, wantStale: mirror.StaleNo, wantIn: "no Range requests"},
		{name: "self-signed TLS with its CA", ec: mirror.EndpointConfig{URL: tlsReg.Server.URL, CA: caFile(t, tlsReg.Server)}, wantStale: mirror.StaleNo},
		{name: "self-signed TLS, insecure", ec: mirror.EndpointConfig{URL: tlsReg.Server.URL, Insecure: true}, wantStale: mirror.StaleNo},
		{name: "anonymous token flow", ec: mirror.EndpointConfig{URL: tokened.Server.URL}, wantStale: mirror.StaleNo},
		{name: "token flow with a login", ec: mirror.EndpointConfig{URL: private.Server.URL}, creds: true, wantStale: mirror.StaleNo},
		{name: "upstream down: staleness unknown", ec: mirror.EndpointConfig{URL: good.Server.URL}, upstream: &deadEP, wantStale: mirror.StaleUnknown, wantIn: "unknown, the upstream cannot be asked (connection refused"},

		{name: "no scheme", ec: mirror.EndpointConfig{URL: "mirror.example"}, wantStep: "url", wantKind: mirror.KindNoScheme, wantIn: `no scheme; write https://mirror.example`},
		{name: "DNS", ec: mirror.EndpointConfig{URL: "https://mirror.invalid"}, wantStep: "dns", wantKind: mirror.KindDNS, wantIn: "DNS: no such host mirror.invalid"},
		{name: "down", ec: mirror.EndpointConfig{URL: down}, wantStep: "connect", wantKind: mirror.KindRefused, wantIn: "connection refused"},
		{name: "self-signed TLS", ec: mirror.EndpointConfig{URL: tlsReg.Server.URL}, wantStep: "tls", wantKind: mirror.KindTLS, wantIn: "certificate signed by unknown authority"},
		{name: "http only", ec: mirror.EndpointConfig{URL: "https://" + good.Host}, wantStep: "tls", wantKind: mirror.KindPlainHTTP, wantIn: "speaks plain http"},
		{name: "not a registry", ec: mirror.EndpointConfig{URL: notRegistry.URL}, wantStep: "api", wantKind: mirror.KindNotRegistry, wantIn: "no registry API"},
		{name: "429 with Retry-After", ec: mirror.EndpointConfig{URL: limited.Server.URL}, wantStep: "api", wantKind: mirror.KindRateLimited, wantIn: "rate-limited, retry after 30s"},
		{name: "503", ec: mirror.EndpointConfig{URL: failing.Server.URL}, wantStep: "api", wantKind: mirror.KindServerError, wantIn: "503"},
		{name: "auth required", ec: mirror.EndpointConfig{URL: private.Server.URL}, wantStep: "token", wantKind: mirror.KindAuth, wantIn: "refuses anonymous access"},
		{name: "403 not in allowlist", ec: mirror.EndpointConfig{URL: forbidden.Server.URL}, wantStep: "manifest", wantKind: mirror.KindForbidden, wantIn: "not in the mirror's allowlist"},
		{name: "not on the mirror", ec: mirror.EndpointConfig{URL: good.Server.URL}, image: "library/nope:1", wantStep: "manifest", wantKind: mirror.KindNotFound, wantIn: "does not have library/nope:1"},
		{name: "wrong content", ec: mirror.EndpointConfig{URL: corrupt.Server.URL}, wantStep: "config", wantKind: mirror.KindWrongContent, wantIn: "wrong content: the image config hashes to"},
		{name: "slow trickle", ec: mirror.EndpointConfig{URL: slow.Server.URL}, timeout: 500 * time.Millisecond, wantStep: "layer", wantKind: mirror.KindSlow, wantIn: "below the floor of 64 KiB/s"},
		{name: "stale tag", ec: mirror.EndpointConfig{URL: stale.Server.URL}, wantStep: "upstream", wantKind: mirror.KindStale, wantIn: "stale tag: the mirror serves library/busybox:1.35 as"},
		{name: "stale, but pull-only", ec: mirror.EndpointConfig{URL: stale.Server.URL, Capabilities: []string{"pull"}}, wantIn: "pull-only mirror"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			image := "library/busybox:1.35"
			if tt.image != "" {
				image = tt.image
			}
			up := &upEP
			if tt.upstream != nil {
				up = tt.upstream
			}
			opts := mirror.ProbeOptions{
				Image: image, Upstream: up, Timeout: 5 * time.Second,
				Resolver: fakeResolver{}, Platform: "linux/amd64",
			}
			if tt.timeout > 0 {
				opts.Timeout = tt.timeout
			}
			if tt.creds {
				opts.Credentials = func(host string) (string, string, bool) { return "alice", "secret", true }
			}
			rep := cfg.NewProber(opts).ProbeConfig(context.Background(), "docker.io", tt.ec)
			if _, err := json.Marshal(rep); err != nil {
				t.Fatalf("report does not encode: %v", err)
			}
			var failed *mirror.Step
			for i := range rep.Steps {
				if rep.Steps[i].Status == mirror.StepFail {
					failed = &rep.Steps[i]
					break
				}
			}
			if tt.wantStep == "" {
				if !rep.OK || failed != nil {
					t.Fatalf("probe failed: %+v\n%s", rep.Problem, dump(rep))
				}
				if rep.Stale != tt.wantStale {
					t.Errorf("stale %q, want %q\n%s", rep.Stale, tt.wantStale, dump(rep))
				}
				if tt.wantIn != "" && !strings.Contains(dump(rep), tt.wantIn) {
					t.Errorf("report lacks %q:\n%s", tt.wantIn, dump(rep))
				}
				if tt.wantStale != "" && rep.BytesPerSecond <= 0 {
					t.Errorf("no throughput measured:\n%s", dump(rep))
				}
				return
			}
			if rep.OK || failed == nil || rep.Problem == nil {
				t.Fatalf("probe passed, want %s at %s:\n%s", tt.wantKind, tt.wantStep, dump(rep))
			}
			if failed.Name != tt.wantStep || rep.Problem.Kind != tt.wantKind {
				t.Fatalf("failed at %s with %s, want %s with %s: %s\n%s", failed.Name, rep.Problem.Kind, tt.wantStep, tt.wantKind, rep.Problem.Message, dump(rep))
			}
			if !strings.Contains(rep.Problem.Message, tt.wantIn) {
				t.Errorf("problem %q lacks %q", rep.Problem.Message, tt.wantIn)
			}
			if rep.Problem.Advice == "" {
				t.Errorf("no advice for %s", rep.Problem.Kind)
			}
			if tt.wantKind == mirror.KindRateLimited && rep.Problem.RetryAfter != 30*time.Second {
				t.Errorf("Retry-After %s, want 30s", rep.Problem.RetryAfter)
			}
		})
	}
}

func dump(rep *mirror.Report) string {
	var b strings.Builder
	for _, s := range rep.Steps {
		b.WriteString(s.Name + " " + s.Status + " " + s.Detail)
		if s.Problem != nil {
			b.WriteString(" [" + s.Problem.Kind + ": " + s.Problem.Message + "]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestRank(t *testing.T) {
	r := func(url string, ok bool, bps float64, total time.Duration) *mirror.Report {
		return &mirror.Report{Endpoint: url, OK: ok, BytesPerSecond: bps, Total: total}
	}
	in := []*mirror.Report{
		r("https://failed-first", false, 0, 0),
		r("https://slow", true, 1<<20, time.Second),
		r("https://fast", true, 50<<20, 2*time.Second),
		r("https://failed-second", false, 0, 0),
		r("https://slow-but-quick", true, 1<<20, 500*time.Millisecond),
	}
	var got []string
	for _, rep := range mirror.Rank(in) {
		got = append(got, rep.Endpoint)
	}
	want := "https://fast https://slow-but-quick https://slow https://failed-first https://failed-second"
	if strings.Join(got, " ") != want {
		t.Errorf("rank %v, want %s", got, want)
	}
}
