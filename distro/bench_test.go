package distro

import (
	"context"
	"testing"
)

// BenchmarkInspectLive measures `berth check` on this machine: every file
// read, the kernel config decompressed, every check judged. The target is
// under 50 ms (../shared/BENCH.md).
func BenchmarkInspectLive(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		if _, err := Inspect(ctx, "/"); err != nil {
			b.Fatal(err)
		}
	}
}
