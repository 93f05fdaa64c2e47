package container_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/runtime/network"
	"github.com/berthhq/berth/testvm"
)

// testBridge is a bridge with its NAT in the host's namespace (where the
// monitors attach containers), for this test process alone; it is
// removed, rules and all, when the test ends.
func testBridge(tb testing.TB) *container.BridgeNetwork {
	tb.Helper()
	requireRoot(tb)
	h, err := network.OpenHost("")
	if err != nil {
		tb.Fatal(err)
	}
	name := fmt.Sprintf("bt%d", os.Getpid())
	br, err := h.EnsureBridge(name, "10.231.0.1/24")
	if err == nil {
		_, err = h.EnsureNAT(br)
	}
	tb.Cleanup(func() {
		if err := h.RemoveNAT(name); err != nil {
			tb.Error(err)
		}
		if err := h.RemoveBridge(name); err != nil {
			tb.Error(err)
		}
		h.Close()
	})
	if err != nil {
		tb.Fatal(err)
	}
	ipam, err := network.OpenIPAM(tb.TempDir(), br.Subnet, br.Gateway)
	if err != nil {
		tb.Fatal(err)
	}
	return &container.BridgeNetwork{Host: h, Bridge: br, IPAM: ipam}
}

var nginxOnce sync.Once

// withNginx loads nginx:1.22 into the test store once.
func withNginx(tb testing.TB) *image.Store {
	tb.Helper()
	s := images(tb)
	nginxOnce.Do(func() {
		f, err := os.Open(testvm.ImageArchive(tb, "nginx.oci.tar"))
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		if _, err := s.Load(context.Background(), f, nil); err != nil {
			tb.Fatal(err)
		}
	})
	return s
}

// BenchmarkRunTrueBridge is `run --rm busybox true` on the bridge at the
// engine's level: create (an address), start (a veth, attached before the
// command runs), wait, remove. BENCH.md's peers on the default bridge:
// Podman 360 ms, Docker 307 ms; the target is 3× bare crun (9 ms).
func BenchmarkRunTrueBridge(b *testing.B) {
	e := newEngine(b, container.WithBridgeNetwork(testBridge(b)), container.WithDefaultNetwork(container.NetworkBridge))
	ctx := context.Background()
	spec := busybox("true")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, _, err := e.Create(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		if st, err := e.Wait(ctx, c.ID, "not-running"); err != nil || st.Code != 0 {
			b.Fatal(st, err)
		}
		if err := e.Remove(ctx, c.ID, false, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNginxPublished is the smoke test at the engine's level: nginx
// with a published port, from create to the first "Welcome to nginx!"
// through the port (up-ms), then stop and remove (down-ms). BENCH.md's
// peers: Podman 158 and 392 ms, Docker 248 and 181 ms; targets 60 and 50.
func BenchmarkNginxPublished(b *testing.B) {
	s := withNginx(b)
	e := openEngine(b, b.TempDir(), s, container.WithBridgeNetwork(testBridge(b)), container.WithDefaultNetwork(container.NetworkBridge))
	ctx := context.Background()
	spec := container.CreateSpec{Config: container.Config{Image: "nginx:1.22"}}
	spec.PortBindings = map[string][]container.PortBinding{"80/tcp": {{HostIP: "127.0.0.1"}}}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var up, down time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		began := time.Now()
		c, _, err := e.Create(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		got, err := e.Get(c.ID)
		if err != nil || got.State.Network == nil || len(got.State.Network.Ports) != 1 {
			b.Fatalf("published ports of a started container: %+v %v", got.State.Network, err)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/", got.State.Network.Ports[0].HostPort)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			if resp, err := client.Get(url); err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && strings.Contains(string(body), "Welcome to nginx!") {
					break
				}
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s never answered", url)
			}
		}
		answered := time.Now()
		up += answered.Sub(began)
		if err := e.Stop(ctx, c.ID, nil, ""); err != nil {
			b.Fatal(err)
		}
		if err := e.Remove(ctx, c.ID, false, true); err != nil {
			b.Fatal(err)
		}
		down += time.Since(answered)
	}
	b.ReportMetric(float64(up.Microseconds())/1000/float64(b.N), "up-ms")
	b.ReportMetric(float64(down.Microseconds())/1000/float64(b.N), "down-ms")
}
