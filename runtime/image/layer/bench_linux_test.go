package layer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkApplyNginx unpacks the two layers of nginx:1.22 from
// ../shared/images (42 MB uncompressed, 880 entries), the second over the first.
func BenchmarkApplyNginx(b *testing.B) {
	requireRoot(b)
	layers := ociLayers(b, imagePath(b, "nginx.oci.tar"), "nginx:1.22")
	var size int64
	for _, l := range layers {
		size += int64(len(l))
	}
	b.SetBytes(size)
	root := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		var lowers []string
		for i, l := range layers {
			dir := filepath.Join(root, string(rune('a'+i)))
			if err := os.Mkdir(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			if _, err := Apply(context.Background(), bytes.NewReader(l), dir, lowers); err != nil {
				b.Fatal(err)
			}
			lowers = append([]string{dir}, lowers...)
		}
		b.StopTimer()
		for _, dir := range lowers {
			if err := os.RemoveAll(dir); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
}
