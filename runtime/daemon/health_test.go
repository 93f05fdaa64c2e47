package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/api/apitest"
)

type healthyBackend struct {
	*apitest.Backend
	h *mirror.Health
}

func (b healthyBackend) MirrorHealth() ([]mirror.EndpointHealth, string) { return b.h.Snapshot(), "" }

func TestMirrorStall(t *testing.T) {
	c, err := ParseConfig("daemon.json", []byte(`{"mirror-stall": {"bytes-per-second": 131072, "window": "30s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Mirror.Stall(); got != (mirror.Stall{BytesPerSecond: 128 << 10, Window: 30 * time.Second}) {
		t.Errorf("stall %+v", got)
	}
	c, _ = ParseConfig("daemon.json", []byte(`{}`))
	if c.Mirror.Stall() != mirror.DefaultStall {
		t.Errorf("default stall %+v", c.Mirror.Stall())
	}
	c, _ = ParseConfig("daemon.json", []byte(`{"mirror-stall": {"bytes-per-second": 0}}`))
	if c.Mirror.Stall().Enabled() {
		t.Error("bytes-per-second 0 does not turn the floor off")
	}
	for data, want := range map[string]string{
		"{\n  \"mirror-stall\": {\"window\": \"10\"}}":  `daemon.json:2:3: "mirror-stall": window "10": write a duration from "1s" to "10m", such as "10s"`,
		`{"mirror-stall": {"bytes-per-second": -1}}`:    `daemon.json:1:2: "mirror-stall": bytes-per-second -1: must be 0 (off) or more`,
		`{"mirror-stall": {"bytes-per-secnd": 1}}`:      `daemon.json:1:19: "bytes-per-secnd": unknown key; did you mean "bytes-per-second"? (in "mirror-stall")`,
		`{"mirror-stall": {"window": 10}}`:              `daemon.json:1:29: "mirror-stall.window": expected a string, got number`,
		`{"mirror-stall": {"bytes-per-second": "64k"}}`: `"mirror-stall.bytes-per-second": expected a whole number, got string`,
		`{"mirror-stal": {}}`:                           `daemon.json:1:2: "mirror-stal": unknown key; did you mean "mirror-stall"?`,
	} {
		_, err := ParseConfig("daemon.json", []byte(data))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s", data, err, want)
		}
	}
}

// TestHealthPersists: the breaker's memory is written under the data root
// as it changes, read back by the next engine, and listed by /info for
// every configured endpoint.
func TestHealthPersists(t *testing.T) {
	dir := t.TempDir()
	hs, err := openHealth(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig("daemon.json", []byte(`{"registry-mirrors": ["https://a.example", "https://b.example"]}`))
	if err != nil {
		t.Fatal(err)
	}
	eps := cfg.Mirror.Endpoints("docker.io")
	hs.health.Failure(eps[0], "connection refused", 0)
	hs.health.Success(eps[1])
	hs.Close()

	snap, err := ReadMirrorHealth(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 2 {
		t.Fatalf("snapshot %+v", snap)
	}
	hs2, err := openHealth(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer hs2.Close()
	got := MirrorHealth(cfg.Mirror, hs2.health.Snapshot(), time.Now())
	if len(got) != 3 {
		t.Fatalf("/info lists %d endpoints, want 2 mirrors and Docker Hub: %+v", len(got), got)
	}
	if got[0].Endpoint != "https://a.example" || got[0].State != mirror.StateCoolingDown || got[0].LastError != "connection refused" || got[0].CoolUntil == "" {
		t.Errorf("a: %+v", got[0])
	}
	if got[1].State != mirror.StateOK || got[1].LastSuccess == "" {
		t.Errorf("b: %+v", got[1])
	}
	if got[2].Endpoint != "https://index.docker.io" || got[2].Mirror || !got[2].Used || got[2].State != mirror.StateUnknown {
		t.Errorf("Docker Hub: %+v", got[2])
	}

	// A damaged file is an empty memory and a warning, not a failed start.
	os.WriteFile(filepath.Join(dir, MirrorHealthFile), []byte("{"), 0o600)
	hs3, err := openHealth(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer hs3.Close()
	if w := hs3.warning(); !strings.Contains(w, "is damaged") {
		t.Errorf("warning %q", w)
	}
}

// TestInfoMirrorHealth: /info carries MirrorHealth when mirrors are set.
func TestInfoMirrorHealth(t *testing.T) {
	cfg, err := ParseConfig("daemon.json", []byte(`{"registry-mirrors": ["https://a.example"]}`))
	if err != nil {
		t.Fatal(err)
	}
	h := mirror.NewHealth()
	h.Failure(cfg.Mirror.Endpoints("docker.io")[0], "503 Service Unavailable", time.Minute)
	d := &daemon{images: healthyBackend{apitest.NewBackend(), h}}
	d.cfg.Store(cfg)
	mh, _ := (&system{d: d}).mirrorHealth()
	if len(mh) != 2 || mh[0].State != mirror.StateCoolingDown || mh[0].LastError != "503 Service Unavailable" {
		t.Errorf("MirrorHealth %+v", mh)
	}
}
