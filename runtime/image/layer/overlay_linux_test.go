package layer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOverlayView unpacks the layers of the "layered" fixture, mounts them as
// overlayfs lower directories, and checks what a container would see.
func TestOverlayView(t *testing.T) {
	requireRoot(t)
	layer1 := []entry{
		dirEntry("data/"), reg("data/a", "a from layer 1\n"), reg("data/b", "b from layer 1\n"),
		dirEntry("dir/"), dirEntry("dir/x/"), reg("dir/x/y", "y from layer 1\n"),
		reg("data/mode", "setuid\n").mode(0o4755),
	}
	layer2 := []entry{
		dirEntry("data/"), reg("data/.wh.a", ""), reg("data/c", "c from layer 2\n").mode(0o600),
		dirEntry("dir/"), reg("dir/.wh..wh..opq", ""), reg("dir/new", "new from layer 2\n"),
	}
	// As a build writes `ln /data/b /data/hard`: overlayfs copied b up first.
	layer3 := []entry{
		dirEntry("data/"), reg("data/b", "b from layer 1\n"), hardlink("data/hard", "data/b"), symlink("data/soft", "/data/b"),
	}
	// As other tools write it: the hard link alone, to a file of a lower layer.
	layer3LinkOnly := []entry{
		dirEntry("data/"), hardlink("data/hard", "data/b"), symlink("data/soft", "/data/b"),
	}
	tests := []struct {
		name   string
		layers func(t *testing.T) [][]byte
	}{
		{"built here", func(t *testing.T) [][]byte {
			return [][]byte{buildTar(t, layer1...), buildTar(t, layer2...), buildTar(t, layer3...)}
		}},
		{"hard link to a lower file", func(t *testing.T) [][]byte {
			return [][]byte{buildTar(t, layer1...), buildTar(t, layer2...), buildTar(t, layer3LinkOnly...)}
		}},
		{"layered.oci.tar", func(t *testing.T) [][]byte {
			return ociLayers(t, imagePath(t, "layered.oci.tar"), "layered:1")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			for i, l := range tc.layers(t) {
				dir, _, err := tr.applyTar(l)
				if err != nil {
					t.Fatalf("layer %d: %v", i+1, err)
				}
				tr.layers = append(tr.layers, dir)
			}
			mnt := mountOverlay(t, tr.lowers())

			if got := strings.Join(readDir(t, filepath.Join(mnt, "data")), " "); got != "b c hard mode soft" {
				t.Errorf("/data holds %q, want \"b c hard mode soft\"", got)
			}
			if got := strings.Join(readDir(t, filepath.Join(mnt, "dir")), " "); got != "new" {
				t.Errorf("/dir holds %q, want \"new\"", got)
			}
			b, hard := lstat(t, filepath.Join(mnt, "data/b")), lstat(t, filepath.Join(mnt, "data/hard"))
			if b.Ino != hard.Ino || b.Dev != hard.Dev || b.Nlink != 2 {
				t.Errorf("/data/b (ino %d, %d links) and /data/hard (ino %d): want one inode with 2 links", b.Ino, b.Nlink, hard.Ino)
			}
			if got := readFile(t, filepath.Join(mnt, "data/hard")); got != "b from layer 1\n" {
				t.Errorf("/data/hard holds %q", got)
			}
			if st := lstat(t, filepath.Join(mnt, "data/mode")); st.Mode != unix.S_IFREG|0o4755 {
				t.Errorf("/data/mode mode %o, want setuid 4755", st.Mode)
			}
			if st := lstat(t, filepath.Join(mnt, "data/c")); st.Mode != unix.S_IFREG|0o600 {
				t.Errorf("/data/c mode %o, want 0600", st.Mode)
			}
			if target, err := os.Readlink(filepath.Join(mnt, "data/soft")); err != nil || target != "/data/b" {
				t.Errorf("/data/soft -> %q (%v), want /data/b", target, err)
			}
		})
	}
}

// mountOverlay mounts lowers (nearest first) read-only, unmounted when the test ends.
func mountOverlay(t *testing.T, lowers []string) string {
	t.Helper()
	mnt := t.TempDir()
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lowers, ":")); err != nil {
		t.Fatalf("mounting overlayfs over %v: %v", lowers, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", mnt, err)
		}
	})
	return mnt
}
