package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestExportOverlayUpper changes files through a real overlayfs mount, as a
// container would, and exports the upper directory: deletions must come back
// as whiteouts, a replaced directory as an opaque one, overlayfs's own
// xattrs must be gone and others kept, hard links stay links, and no symlink
// is followed. Applied over the same lower layer, the tar must give back the
// view the container had.
func TestExportOverlayUpper(t *testing.T) {
	requireRoot(t)
	tr := newTree(t)
	lower := tr.mustApply(
		dirEntry("data/"), reg("data/a", "a\n"), reg("data/b", "b\n"),
		dirEntry("dir/"), dirEntry("dir/x/"), reg("dir/x/y", "y\n"), reg("dir/z", "z\n"),
		dirEntry("etc/"), reg("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
	)
	upper, work, mnt := filepath.Join(tr.root, "upper"), filepath.Join(tr.root, "work"), filepath.Join(tr.root, "mnt")
	for _, d := range []string{upper, work, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work + ",redirect_dir=off,index=off,metacopy=off"
	if err := unix.Mount("overlay", mnt, "overlay", 0, opts); err != nil {
		t.Fatalf("mounting overlayfs: %v", err)
	}
	mounted := true
	unmount := func() {
		if mounted {
			if err := unix.Unmount(mnt, 0); err != nil {
				t.Errorf("unmounting %s: %v", mnt, err)
			}
			mounted = false
		}
	}
	t.Cleanup(unmount)

	in := func(p string) string { return filepath.Join(mnt, p) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(in("data/a")))                                  // a whiteout
	must(os.WriteFile(in("data/b"), []byte("b changed\n"), 0o644)) // a copy-up
	must(os.RemoveAll(in("dir")))                                  // then made again: opaque
	must(os.Mkdir(in("dir"), 0o750))
	must(os.WriteFile(in("dir/new"), []byte("new\n"), 0o644))
	must(os.Mkdir(in("new"), 0o755))
	must(os.WriteFile(in("new/f"), []byte("linked\n"), 0o640))
	must(os.Link(in("new/f"), in("new/g")))
	must(os.Symlink("loop", in("new/loop")))         // a symlink loop
	must(os.Symlink("/etc", in("new/etc")))          // would lead out of the layer
	must(os.Symlink("../etc/passwd", in("new/pwd"))) // to a file of the lower layer
	must(unix.Setxattr(in("new/f"), "user.kept", []byte("yes"), 0))
	must(unix.Setxattr(in("new/f"), "trusted.kept", []byte("also"), 0))
	must(unix.Mkfifo(in("new/fifo"), 0o600))
	want := view(t, mnt)
	unmount()

	// overlayfs marks copied-up entries with its own xattrs; the test is
	// only meaningful if the upper dir really has some.
	if got := overlayXattrs(t, upper); len(got) == 0 {
		t.Fatalf("the upper dir holds no trusted.overlay.* xattr: nothing to strip")
	}

	var buf bytes.Buffer
	if err := Export(context.Background(), &buf, upper); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := Export(context.Background(), &again, upper); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("two exports of the same upper dir differ")
	}

	entries := readTar(t, buf.Bytes())
	var names []string
	for _, h := range entries {
		names = append(names, h.Name)
	}
	wantNames := []string{
		"data/", "data/.wh.a", "data/b",
		"dir/", "dir/.wh..wh..opq", "dir/new",
		"new/", "new/etc", "new/f", "new/fifo", "new/g", "new/loop", "new/pwd",
	}
	if strings.Join(names, " ") != strings.Join(wantNames, " ") {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(names, " "), strings.Join(wantNames, " "))
	}
	byName := map[string]*tar.Header{}
	for _, h := range entries {
		byName[h.Name] = h
		for k := range h.PAXRecords {
			if x, ok := strings.CutPrefix(k, paxXattrPrefix); ok && reservedXattr(x) {
				t.Errorf("%s carries %s", h.Name, x)
			}
		}
		if h.Format != tar.FormatPAX && len(h.PAXRecords) > 0 {
			t.Errorf("%s: format %v", h.Name, h.Format)
		}
	}
	check := func(name string, ok bool, format string, a ...any) {
		t.Helper()
		if !ok {
			t.Errorf("%s: "+format, append([]any{name}, a...)...)
		}
	}
	h := byName["data/.wh.a"]
	check(h.Name, h.Typeflag == tar.TypeReg && h.Size == 0 && h.Mode == 0o600, "whiteout entry %c size %d mode %o", h.Typeflag, h.Size, h.Mode)
	h = byName["dir/"]
	check(h.Name, h.Mode&0o7777 == 0o750, "mode %o, want 750", h.Mode)
	h = byName["dir/.wh..wh..opq"]
	check(h.Name, h.Typeflag == tar.TypeReg && h.Size == 0, "opaque marker %c size %d", h.Typeflag, h.Size)
	h = byName["new/g"]
	check(h.Name, h.Typeflag == tar.TypeLink && h.Linkname == "new/f", "%c -> %q, want a hard link to new/f", h.Typeflag, h.Linkname)
	h = byName["new/f"]
	check(h.Name, h.Typeflag == tar.TypeReg && h.Size == int64(len("linked\n")), "%c size %d", h.Typeflag, h.Size)
	check(h.Name, h.PAXRecords[paxXattrPrefix+"user.kept"] == "yes" && h.PAXRecords[paxXattrPrefix+"trusted.kept"] == "also", "xattrs %v", h.PAXRecords)
	for name, target := range map[string]string{"new/loop": "loop", "new/etc": "/etc", "new/pwd": "../etc/passwd"} {
		h = byName[name]
		check(name, h.Typeflag == tar.TypeSymlink && h.Linkname == target, "%c -> %q, want a symlink to %q", h.Typeflag, h.Linkname, target)
	}
	check("new/fifo", byName["new/fifo"].Typeflag == tar.TypeFifo, "type %c", byName["new/fifo"].Typeflag)

	// The tar applied as a layer over the same lower gives the same view.
	layerDir, _, err := tr.applyTar(buf.Bytes())
	if err != nil {
		t.Fatalf("applying the exported tar: %v", err)
	}
	got := view(t, mountOverlay(t, []string{layerDir, lower}))
	if d := diffViews(want, got); d != "" {
		t.Errorf("the committed view differs from the container's:\n%s", d)
	}
}

// TestExportEmpty: an upper dir with nothing in it is the empty tar, whose
// DiffID Docker takes for "no layer".
func TestExportEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Export(context.Background(), &buf, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), make([]byte, 1024)) {
		t.Errorf("an empty dir exports as %d bytes, want the 1024 zero bytes of an empty tar", buf.Len())
	}
}

// TestExportRefusesSymlinkedDir: the directory to export is never reached
// through a symlink.
func TestExportRefusesSymlinkedDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := Export(context.Background(), io.Discard, filepath.Join(dir, "link")); err == nil {
		t.Errorf("exporting through a symlink succeeded")
	}
}

func readTar(t *testing.T, b []byte) []*tar.Header {
	t.Helper()
	var out []*tar.Header
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the exported tar: %v", err)
		}
		out = append(out, h)
	}
}

// view describes what a container sees under root: type, mode, owner,
// content or link target of every entry, and which entries are one inode.
func view(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d", st.Mode, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %q", b)
			if first, ok := inodes[st.Ino]; ok {
				desc += " same inode as " + first
			} else {
				inodes[st.Ino] = rel
			}
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return out
}

func diffViews(want, got map[string]string) string {
	var lines []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			lines = append(lines, "missing "+k)
		} else if g != v {
			lines = append(lines, fmt.Sprintf("%s: %s, want %s", k, g, v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, "extra "+k)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// overlayXattrs lists the trusted.overlay.* xattrs under dir.
func overlayXattrs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, x := range xattrs(t, p) {
			if strings.HasPrefix(x, "trusted.overlay.") {
				out = append(out, p+" "+x)
			}
		}
		return nil
	})
	return out
}
