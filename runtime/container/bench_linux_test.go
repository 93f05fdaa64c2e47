package container_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
)

// BenchmarkRunTrue is `run --rm busybox true --network none` at the
// engine's level: create, start, wait, remove. BENCH.md's peers on this
// machine kind: bare crun 9 ms, Podman 171 ms, Docker 226 ms.
func BenchmarkRunTrue(b *testing.B) {
	for _, withInit := range []bool{true, false} {
		name := "init"
		if !withInit {
			name = "noinit"
		}
		b.Run(name, func(b *testing.B) {
			e := newEngine(b, container.WithInit(withInit))
			ctx := context.Background()
			spec := busybox("true")
			spec.NetworkMode = container.NetworkNone
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
		})
	}
}

// BenchmarkExecTrue is `exec <ctr> true` at the engine's level: the
// helper's start, entering the namespaces and the cgroup, confining,
// the fork and the exit. Issue 5's target: 5x faster than docker exec
// and podman exec on the same machine (testvm/bench/run.sh measures
// those beside the berth CLI).
func BenchmarkExecTrue(b *testing.B) {
	e := newEngine(b)
	ctx := context.Background()
	c, _, err := e.Create(ctx, busybox("sleep", "1000"))
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(ctx, c.ID); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// As execs come from clients: the spare helper has started.
		b.StopTimer()
		time.Sleep(20 * time.Millisecond)
		b.StartTimer()
		p, err := e.Exec(ctx, c.ID, container.ExecConfig{Cmd: []string{"true"}})
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, p.Stdout)
		io.Copy(io.Discard, p.Stderr)
		if code := p.Wait(); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
