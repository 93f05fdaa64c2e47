package container

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkMakeInitLayer is the init layer's share of every create: an
// image with /etc but none of the mount targets.
func BenchmarkMakeInitLayer(b *testing.B) {
	lower := b.TempDir()
	if err := os.MkdirAll(filepath.Join(lower, "etc"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lower, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := makeInitLayer(filepath.Join(work, strconv.Itoa(i)), []string{lower}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMakeInitLayer: the init layer holds what the image lacks, with the
// image's metadata on the directories it shares with it, and nothing the
// image has.
func TestMakeInitLayer(t *testing.T) {
	lower := t.TempDir()
	if err := os.MkdirAll(filepath.Join(lower, "etc"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"etc/hosts", "proc"} {
		if err := os.WriteFile(filepath.Join(lower, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A symlinked /dev is left to the mount code, which resolves it in
	// the rootfs.
	if err := os.Symlink("/elsewhere", filepath.Join(lower, "dev")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "init")
	if err := makeInitLayer(dir, []string{lower}); err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, _ := d.Info()
		got = append(got, rel+" "+fi.Mode().String())
		return nil
	})
	want := []string{". drwxr-xr-x", "etc drwx------", "etc/hostname -rw-r--r--", "etc/mtab Lrwxrwxrwx", "etc/resolv.conf -rw-r--r--", "sys drwxr-xr-x"}
	if len(got) != len(want) {
		t.Fatalf("init layer:\n%q\nwant\n%q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("init layer:\n%q\nwant\n%q", got, want)
			break
		}
	}
	lst, _ := os.Stat(filepath.Join(lower, "etc"))
	ist, _ := os.Stat(filepath.Join(dir, "etc"))
	if !ist.ModTime().Equal(lst.ModTime()) {
		t.Errorf("init etc mtime %v, want the image's %v", ist.ModTime(), lst.ModTime())
	}
	if target, _ := os.Readlink(filepath.Join(dir, "etc", "mtab")); target != "/proc/mounts" {
		t.Errorf("etc/mtab -> %q", target)
	}
}
