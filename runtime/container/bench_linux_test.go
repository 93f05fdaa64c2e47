package container_test

import (
	"context"
	"testing"

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
