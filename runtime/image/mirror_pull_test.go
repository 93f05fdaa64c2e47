//go:build linux

package image_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/testvm"
)

// testStall is a floor the tests can trip in a fraction of a second.
var testStall = mirror.Stall{BytesPerSecond: 64 << 10, Window: 300 * time.Millisecond}

func stallMirrors(t *testing.T, urls ...string) *mirror.Config {
	t.Helper()
	no := false
	var eps []mirror.EndpointConfig
	for _, u := range urls {
		eps = append(eps, mirror.EndpointConfig{URL: u})
	}
	c, err := mirror.NewConfig(nil, nil, map[string]mirror.RegistryConfig{"docker.io": {Endpoints: eps, Fallback: &no}}, mirror.WithStall(testStall))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// layerDigest is the digest of busybox:1.35's one layer on reg.
func layerDigest(t *testing.T, reg *testvm.Registry) string {
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
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v %d", err, len(layers))
	}
	d, _ := layers[0].Digest()
	return d.String()
}

// onlyBlob matches GETs of one blob.
func onlyBlob(digest string) testvm.Match {
	return func(r *http.Request) bool { return testvm.Blobs(r) && strings.HasSuffix(r.URL.Path, "/"+digest) }
}

// checkBlobs fails if any stored blob's content does not hash to its name:
// a pull must never store wrong bytes.
func checkBlobs(t *testing.T, dataRoot string) {
	t.Helper()
	dir := filepath.Join(dataRoot, "image", "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no blobs stored")
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != e.Name() {
			t.Errorf("blob %s holds content hashing to %s", e.Name(), got)
		}
	}
}

func openAt(t *testing.T, c *mirror.Config) (*image.Store, string) {
	t.Helper()
	root := t.TempDir()
	s, err := image.Open(root, image.WithMirrors(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if errs := s.Check(); len(errs) > 0 {
			t.Errorf("store inconsistent: %v", errs)
		}
		s.Close()
	})
	return s, root
}

type progressLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *progressLog) add(p image.Progress) {
	if p.Status == "Downloading" || p.Status == "Extracting" {
		return
	}
	l.mu.Lock()
	l.lines = append(l.lines, strings.TrimSpace(p.ID+" "+p.Status))
	l.mu.Unlock()
}

func (l *progressLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestPullResumesAfterStall: a mirror that dies in the middle of a layer is
// abandoned once below the floor, and the next endpoint continues the blob
// where it stopped, with a Range request or, if it ignores ranges, by
// reading past what arrived.
func TestPullResumesAfterStall(t *testing.T) {
	requireRoot(t)
	var tokens testvm.Switch
	tests := []struct {
		name       string
		wrap       []func(*testvm.RangeLog) testvm.Handler
		wantRange  bool
		wantStatus string
	}{
		{"ranges", []func(*testvm.RangeLog) testvm.Handler{func(l *testvm.RangeLog) testvm.Handler { return testvm.Ranges(l) }}, true, "(resumed at 200.0 KiB)"},
		{"no ranges", []func(*testvm.RangeLog) testvm.Handler{func(*testvm.RangeLog) testvm.Handler { return testvm.NoRanges }}, false, "(resumed at 200.0 KiB)"},
		{"ranges behind a token", []func(*testvm.RangeLog) testvm.Handler{
			func(l *testvm.RangeLog) testvm.Handler { return testvm.Ranges(l) },
			func(*testvm.RangeLog) testvm.Handler { return testvm.TokenAuth(&tokens, "", "") },
		}, true, "(resumed at 200.0 KiB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sw testvm.Switch
			var ranges testvm.RangeLog
			var wraps []testvm.Handler
			for _, w := range tt.wrap {
				wraps = append(wraps, w(&ranges))
			}
			tokens.Off()
			good := testvm.NewRegistry(t, "", wraps...)
			tokens.On()
			layer := layerDigest(t, good)
			dying := testvm.NewRegistry(t, "", testvm.StallAfter(&sw, onlyBlob(layer), 200<<10))
			sw.On()
			s, root := openAt(t, stallMirrors(t, dying.Server.URL, good.Server.URL))
			var log progressLog
			start := time.Now()
			res := pull(t, s, "busybox:1.35", image.PullOptions{Progress: log.add})
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the pull took %s: the stall was not detected", took)
			}
			out := log.String()
			for _, want := range []string{
				"Resuming at 200.0 KiB from " + good.Server.URL + " (" + dying.Server.URL + ": downloading layer",
				"stalled: ",
				"Download complete from " + good.Server.URL + " " + tt.wantStatus,
				"Pull complete",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("progress lacks %q:\n%s", want, out)
				}
			}
			if got := ranges.List(); tt.wantRange && (len(got) != 1 || !strings.HasPrefix(got[0], fmt.Sprintf("bytes=%d-", 200<<10))) {
				t.Errorf("ranges asked of the good mirror: %q", got)
			}
			if len(res.Image.Layers) != 1 {
				t.Fatal("no layer")
			}
			checkBlobs(t, root)
		})
	}
}

// TestPullWrongLayerBytes: a mirror serving a layer with wrong bytes (its
// config right) is caught by digest after the unpacker started on them;
// the blob is fetched again from the next mirror, the unpacking starts
// over, and nothing wrong is stored.
func TestPullWrongLayerBytes(t *testing.T) {
	requireRoot(t)
	var sw testvm.Switch
	good := testvm.NewRegistry(t, "")
	layer := layerDigest(t, good)
	bad := testvm.NewRegistry(t, "", testvm.Corrupt(&sw, onlyBlob(layer)))
	sw.On()
	s, root := openAt(t, stallMirrors(t, bad.Server.URL, good.Server.URL))
	var log progressLog
	res := pull(t, s, "busybox:1.35", image.PullOptions{Progress: log.add})
	out := log.String()
	if !strings.Contains(out, "Downloading again: layer") || !strings.Contains(out, "Download complete from "+good.Server.URL) {
		t.Errorf("progress:\n%s", out)
	}
	if res.Image.Layers[0].DiffID == "" {
		t.Error("layer without diff ID")
	}
	checkBlobs(t, root)
}

// TestPullHonoursRetryAfter: the only endpoint answers 429 with
// Retry-After: 1; the pull waits that second and succeeds.
func TestPullHonoursRetryAfter(t *testing.T) {
	requireRoot(t)
	var limited atomic.Int32
	once := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if testvm.Manifests(r) && limited.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := testvm.NewRegistry(t, "", once)
	limited.Store(0)
	s, _ := openAt(t, stallMirrors(t, reg.Server.URL))
	var log progressLog
	start := time.Now()
	pull(t, s, "busybox:1.35", image.PullOptions{Progress: log.add})
	if took := time.Since(start); took < time.Second {
		t.Errorf("the pull took %s: it did not wait for Retry-After", took)
	}
	if !strings.Contains(log.String(), "Waiting 1s: "+reg.Server.URL+" asked to be retried then (Retry-After)") {
		t.Errorf("progress:\n%s", log.String())
	}
}

// TestPullCircuitBreaker: a mirror that failed is tried after the others
// in the next pulls until its cool-down passes, and the pull says so.
func TestPullCircuitBreaker(t *testing.T) {
	requireRoot(t)
	var sw testvm.Switch
	good := testvm.NewRegistry(t, "")
	down := testvm.NewRegistry(t, "", testvm.Status(&sw, testvm.AnyRequest, http.StatusServiceUnavailable, map[string]string{"Retry-After": "120"}))
	var hits atomic.Int32
	counted := down.Server.Config.Handler
	down.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		counted.ServeHTTP(w, r)
	})
	sw.On()
	now := time.Now()
	health := mirror.NewHealth(mirror.WithHealthClock(func() time.Time { return now }))
	s, _ := openAt(t, stallMirrors(t, down.Server.URL, good.Server.URL))

	pull(t, s, "busybox:1.35", image.PullOptions{Health: health})
	if hits.Load() == 0 {
		t.Fatal("the failing mirror was not asked")
	}
	var h mirror.EndpointHealth
	for _, e := range health.Snapshot() {
		if e.Endpoint == down.Server.URL {
			h = e
		}
	}
	if h.State(now) != mirror.StateCoolingDown || !strings.Contains(h.LastError, "503") || h.CoolUntil.Sub(now) != 120*time.Second {
		t.Fatalf("health of the failing mirror: %+v", h)
	}

	hits.Store(0)
	var log progressLog
	pull(t, s, "busybox:multi", image.PullOptions{Health: health, Progress: log.add})
	if hits.Load() != 0 {
		t.Errorf("a mirror cooling down was asked %d times before the healthy one", hits.Load())
	}
	if !strings.Contains(log.String(), "Trying "+down.Server.URL+" last: it failed") {
		t.Errorf("progress:\n%s", log.String())
	}

	// After the cool-down it is asked first again, and a success closes
	// the breaker.
	now = now.Add(121 * time.Second)
	sw.Off()
	pull(t, s, "nginx:1.22", image.PullOptions{Health: health})
	if hits.Load() == 0 {
		t.Error("the mirror was not asked again after its cool-down")
	}
	for _, e := range health.Snapshot() {
		if e.Endpoint == down.Server.URL && e.State(now) != mirror.StateOK {
			t.Errorf("after a success: %+v", e)
		}
	}
}
