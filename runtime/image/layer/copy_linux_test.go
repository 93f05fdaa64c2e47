package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// extractInto runs Extract on data into dir.
func extractInto(t testing.TB, dir string, data []byte, opts ExtractOptions) error {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	return Extract(context.Background(), bytes.NewReader(data), fd, opts)
}

// archiveOf runs Archive on base of dir and returns the entries read back:
// name -> description, and the names in order.
func archiveOf(t testing.TB, dir, base, name string) ([]byte, error) {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var b bytes.Buffer
	err = Archive(context.Background(), &b, fd, base, name)
	return b.Bytes(), err
}

type cpEntry struct {
	hdr  *tar.Header
	body string
}

func readCopyTar(t testing.TB, data []byte) []cpEntry {
	t.Helper()
	var out []cpEntry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the archive back: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cpEntry{hdr, string(b)})
	}
}

func entryNames(es []cpEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.hdr.Name)
	}
	return out
}

func TestExtract(t *testing.T) {
	requireRoot(t)
	dst := t.TempDir()
	os.WriteFile(filepath.Join(dst, "old"), []byte("old\n"), 0o600)
	data := buildTar(t,
		dirEntry("./"),
		dirEntry("d/").mode(0o750).owner(7, 8),
		reg("d/f", "content\n").mode(0o4755).owner(1, 2).xattr("user.k", "v"),
		reg("/abs", "leading slash\n"),
		reg("d/.wh.x", "not a whiteout\n"),
		reg(".wh..wh..opq", "not opaque either\n"),
		symlink("d/l", "/etc/passwd"),
		hardlink("d/h", "d/f"),
		device("fifo", tar.TypeFifo, 0, 0).mode(0o640),
		reg("old", "new\n"),
		reg("deep/er/file", "implied parents\n"),
	)
	if err := extractInto(t, dst, data, ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"d/f": "content\n", "abs": "leading slash\n", "d/.wh.x": "not a whiteout\n", ".wh..wh..opq": "not opaque either\n", "old": "new\n", "deep/er/file": "implied parents\n"} {
		if got := readFile(t, filepath.Join(dst, name)); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if st := lstat(t, filepath.Join(dst, "d")); st.Mode&0o7777 != 0o750 || st.Uid != 7 || st.Gid != 8 {
		t.Errorf("d: mode %o owner %d:%d", st.Mode, st.Uid, st.Gid)
	}
	f, h := lstat(t, filepath.Join(dst, "d/f")), lstat(t, filepath.Join(dst, "d/h"))
	if f.Mode&0o7777 != 0o4755 || f.Uid != 1 || f.Gid != 2 || f.Ino != h.Ino {
		t.Errorf("d/f: mode %o owner %d:%d, inode %d (d/h %d)", f.Mode, f.Uid, f.Gid, f.Ino, h.Ino)
	}
	if got := getxattr(t, filepath.Join(dst, "d/f"), "user.k"); got != "v" {
		t.Errorf("xattr: %q", got)
	}
	if target, _ := os.Readlink(filepath.Join(dst, "d/l")); target != "/etc/passwd" {
		t.Errorf("symlink: %q", target)
	}
	if st := lstat(t, filepath.Join(dst, "fifo")); st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o7777 != 0o640 {
		t.Errorf("fifo: mode %o", st.Mode)
	}
}

func TestExtractOwnerAndXattrs(t *testing.T) {
	requireRoot(t)
	dst := t.TempDir()
	data := buildTar(t, dirEntry("d/").owner(5, 5), reg("d/f", "x").owner(1, 2).xattr("user.k", "v"), symlink("d/l", "f").owner(3, 3))
	if err := extractInto(t, dst, data, ExtractOptions{Owner: &Owner{UID: 1000, GID: 1001}, NoXattrs: true}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d", "d/f", "d/l"} {
		if st := lstat(t, filepath.Join(dst, name)); st.Uid != 1000 || st.Gid != 1001 {
			t.Errorf("%s: owner %d:%d, want 1000:1001", name, st.Uid, st.Gid)
		}
	}
	if x := xattrs(t, filepath.Join(dst, "d/f")); len(x) != 0 {
		t.Errorf("xattrs kept: %v", x)
	}
}

func TestExtractNoOverwriteDirNonDir(t *testing.T) {
	requireRoot(t)
	cases := []struct {
		name  string
		setup func(dst string)
		tar   []entry
	}{
		{"file over dir", func(dst string) { os.MkdirAll(filepath.Join(dst, "x/keep"), 0o755) }, []entry{reg("x", "file")}},
		{"dir over file", func(dst string) { os.WriteFile(filepath.Join(dst, "x"), []byte("keep"), 0o644) }, []entry{dirEntry("x/")}},
		{"symlink over dir", func(dst string) { os.MkdirAll(filepath.Join(dst, "x/keep"), 0o755) }, []entry{symlink("x", "/")}},
		{"hard link over dir", func(dst string) {
			os.MkdirAll(filepath.Join(dst, "x/keep"), 0o755)
			os.WriteFile(filepath.Join(dst, "f"), nil, 0o644)
		}, []entry{hardlink("x", "f")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := t.TempDir()
			c.setup(dst)
			before := snapshot(t, dst)
			err := extractInto(t, dst, buildTar(t, c.tar...), ExtractOptions{NoOverwriteDirNonDir: true})
			if !errors.Is(err, ErrOverwrite) {
				t.Fatalf("got %v, want ErrOverwrite", err)
			}
			if err := sameSnapshot(before, snapshot(t, dst)); err != nil {
				t.Error(err)
			}
			// Without the option the entry replaces what is there, as Docker's.
			if err := extractInto(t, dst, buildTar(t, c.tar...), ExtractOptions{}); err != nil {
				t.Fatalf("without NoOverwriteDirNonDir: %v", err)
			}
			var st unix.Stat_t
			unix.Lstat(filepath.Join(dst, "x"), &st)
			if (st.Mode&unix.S_IFMT == unix.S_IFDIR) != (c.tar[0].hdr.Typeflag == tar.TypeDir) {
				t.Errorf("x not replaced: mode %o", st.Mode)
			}
		})
	}
}

// cpRefused are the hostile corpus's tars that Extract must refuse too
// (the others hurt only layers: whiteouts, or symlinks in lower layers,
// which a docker cp destination does not have).
var cpRefused = []string{
	"bad-checksum.tar", "dotdot-absolute.tar", "dotdot-deep.tar", "dotdot-nested.tar", "dotdot.tar", "gnu-sparse.tar",
	"hardlink-absolute-escape.tar", "hardlink-directory.tar", "hardlink-escape.tar", "hardlink-symlink-parent-dest.tar",
	"hardlink-symlink-parent.tar", "long-name.tar", "opaque-symlink-parent.tar", "root-symlink.tar", "symlink-chain.tar",
	"symlink-dotdot.tar", "symlink-parent-device.tar", "symlink-parent-dir.tar", "symlink-parent-symlink.tar",
	"symlink-parent.tar", "symlink-swap-dir.tar", "truncated.tar", "whiteout-symlink-parent.tar",
	"xattr-overlay-opaque.tar", "xattr-overlay-redirect.tar", "xattr-overlay-whiteout.tar", "xattr-user-overlay.tar",
}

// TestExtractHostile extracts the hostile corpus: every tar is refused by
// Validate and by Extract, and nothing outside the destination changes.
func TestExtractHostile(t *testing.T) {
	requireRoot(t)
	for _, name := range cpRefused {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(hostileDir, name))
			if err != nil {
				t.Fatal(err)
			}
			tr := newTree(t)
			dst := filepath.Join(tr.work, "dst")
			os.Mkdir(dst, 0o755)
			before := snapshot(t, tr.root, dst)
			// Symlink entries are fine to Validate: only where they lead
			// when written through is refused.
			verr := Validate(context.Background(), bytes.NewReader(data))
			err = extractInto(t, dst, data, ExtractOptions{})
			if err == nil {
				t.Fatal("Extract accepted it")
			}
			t.Logf("Validate: %v; Extract: %v", verr, err)
			if err := sameSnapshot(before, snapshot(t, tr.root, dst)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := buildTar(t, dirEntry("./"), reg("a", "a"), symlink("l", "../../x"), hardlink("h", "a"), reg(".wh.a", ""))
	if err := Validate(context.Background(), bytes.NewReader(ok)); err != nil {
		t.Errorf("a good archive: %v", err)
	}
	for name, data := range map[string][]byte{
		"dotdot":        buildTar(t, reg("a", "a"), reg("../x", "x")),
		"hardlink out":  buildTar(t, hardlink("h", "../x")),
		"root file":     buildTar(t, reg(".", "x")),
		"overlay xattr": buildTar(t, reg("f", "").xattr("trusted.overlay.opaque", "y")),
		"truncated":     buildTar(t, reg("f", strings.Repeat("x", 4096)))[:1024],
	} {
		if err := Validate(context.Background(), bytes.NewReader(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestExtractSwap extracts archives into a directory whose subdirectory
// another goroutine keeps replacing with a symlink out of it, as a
// container's process could during docker cp: nothing may land outside.
func TestExtractSwap(t *testing.T) {
	requireRoot(t)
	tr := newTree(t)
	dst := filepath.Join(tr.work, "dst")
	outside := filepath.Join(tr.work, "outside")
	os.MkdirAll(filepath.Join(dst, "d"), 0o755)
	var es []entry
	for i := 0; i < 200; i++ {
		es = append(es, reg("d/f"+strings.Repeat("x", i%7)+string(rune('a'+i%26)), "payload"), dirEntry("d/sub/"), reg("d/sub/g", "g"))
	}
	data := buildTar(t, es...)
	before := snapshot(t, tr.root, dst)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		d, aside := filepath.Join(dst, "d"), filepath.Join(dst, "d.aside")
		for {
			select {
			case <-stop:
				return
			default:
			}
			if os.Rename(d, aside) == nil {
				os.Symlink(outside, d)
				os.Remove(d)
				os.Rename(aside, d)
				swaps.Add(1)
			}
		}
	}()
	refused := 0
	for i := 0; i < 50; i++ {
		if err := extractInto(t, dst, data, ExtractOptions{}); err != nil {
			refused++
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d swaps, %d of 50 extractions refused", swaps.Load(), refused)
	if err := sameSnapshot(before, snapshot(t, tr.root, dst)); err != nil {
		t.Error(err)
	}
}

// buildFixture makes the tree Archive tests read.
func buildFixture(t testing.TB, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "data/sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "data/a"), []byte("a\n"), 0o640))
	must(os.WriteFile(filepath.Join(dir, "data/sub/b"), []byte("b\n"), 0o644))
	must(os.Chown(filepath.Join(dir, "data/a"), 3, 4))
	must(unix.Chmod(filepath.Join(dir, "data/a"), 0o4750)) // after chown, which clears setuid
	must(os.Link(filepath.Join(dir, "data/a"), filepath.Join(dir, "data/hard")))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "data/link")))
	must(unix.Mkfifo(filepath.Join(dir, "data/fifo"), 0o600))
	l, err := net.Listen("unix", filepath.Join(dir, "data/sock"))
	must(err)
	t.Cleanup(func() { l.Close() })
}

func TestArchive(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	buildFixture(t, root)
	data, err := archiveOf(t, root, "data", "data")
	if err != nil {
		t.Fatal(err)
	}
	es := readCopyTar(t, data)
	want := []string{"data/", "data/a", "data/fifo", "data/hard", "data/link", "data/sub/", "data/sub/b"}
	if got := entryNames(es); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("entries %q, want %q (sockets skipped, sorted)", got, want)
	}
	byName := map[string]cpEntry{}
	for _, e := range es {
		byName[e.hdr.Name] = e
	}
	if a := byName["data/a"]; a.body != "a\n" || a.hdr.Mode != 0o4750 || a.hdr.Uid != 3 || a.hdr.Gid != 4 || a.hdr.Typeflag != tar.TypeReg {
		t.Errorf("data/a: %+v %q", a.hdr, a.body)
	}
	if h := byName["data/hard"]; h.hdr.Typeflag != tar.TypeLink || h.hdr.Linkname != "data/a" {
		t.Errorf("data/hard: %+v", h.hdr)
	}
	if l := byName["data/link"]; l.hdr.Typeflag != tar.TypeSymlink || l.hdr.Linkname != "/etc/passwd" {
		t.Errorf("data/link: %+v", l.hdr)
	}
	if f := byName["data/fifo"]; f.hdr.Typeflag != tar.TypeFifo {
		t.Errorf("data/fifo: %+v", f.hdr)
	}

	// Docker's names: the root as "/", "dir/." as "./", a file alone.
	for _, c := range []struct{ dir, base, name, first, second string }{
		{root, ".", "/", "/", "/data/"},
		{filepath.Join(root, "data"), ".", ".", "./", "./a"},
		{filepath.Join(root, "data"), "sub", "renamed", "renamed/", "renamed/b"},
	} {
		data, err := archiveOf(t, c.dir, c.base, c.name)
		if err != nil {
			t.Fatal(err)
		}
		got := entryNames(readCopyTar(t, data))
		if len(got) < 2 || got[0] != c.first || got[1] != c.second {
			t.Errorf("Archive(%s, %s, %s): %q, want %s, %s, ...", c.dir, c.base, c.name, got, c.first, c.second)
		}
	}
	data, err = archiveOf(t, filepath.Join(root, "data"), "link", "link")
	if es := readCopyTar(t, data); err != nil || len(es) != 1 || es[0].hdr.Typeflag != tar.TypeSymlink {
		t.Errorf("a symlink alone: %v %+v", err, es)
	}
	if _, err := archiveOf(t, root, "nosuch", "nosuch"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("a missing path: %v", err)
	}
}

// TestArchiveRoundTrip extracts what Archive wrote and finds the same tree.
func TestArchiveRoundTrip(t *testing.T) {
	requireRoot(t)
	src := t.TempDir()
	buildFixture(t, src)
	os.Remove(filepath.Join(src, "data/sock"))
	data, err := archiveOf(t, src, "data", "data")
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := extractInto(t, dst, data, ExtractOptions{NoOverwriteDirNonDir: true}); err != nil {
		t.Fatal(err)
	}
	want, got := snapshot(t, filepath.Join(src, "data")), snapshot(t, filepath.Join(dst, "data"))
	// Extract sets times from the archive's whole seconds.
	strip := func(m map[string]string) []string {
		var out []string
		for k, v := range m {
			if i := strings.Index(v, " mtime="); i >= 0 {
				j := strings.Index(v[i+1:], " ")
				v = v[:i] + v[i+1+j:]
			}
			out = append(out, k+" "+v)
		}
		sort.Strings(out)
		return out
	}
	if a, b := strings.Join(strip(want), "\n"), strings.Join(strip(got), "\n"); a != b {
		t.Errorf("round trip differs:\nsource:\n%s\ncopy:\n%s", a, b)
	}
}

// TestArchiveSwap archives a tree while another goroutine keeps replacing
// a directory of it with a symlink to a directory outside holding a
// secret: the archive never holds the secret, or an entry from outside.
func TestArchiveSwap(t *testing.T) {
	requireRoot(t)
	tr := newTree(t)
	src := filepath.Join(tr.work, "src")
	outside := filepath.Join(tr.work, "outside")
	for i := 0; i < 100; i++ {
		os.MkdirAll(filepath.Join(src, "d", "sub"), 0o755)
		os.WriteFile(filepath.Join(src, "d", "f"+string(rune('a'+i%26))+strings.Repeat("x", i/26)), []byte("mine"), 0o644)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		d, aside := filepath.Join(src, "d"), filepath.Join(src, "d.aside")
		for {
			select {
			case <-stop:
				return
			default:
			}
			if os.Rename(d, aside) == nil {
				os.Symlink(outside, d)
				os.Remove(d)
				os.Rename(aside, d)
				swaps.Add(1)
			}
		}
	}()
	for i := 0; i < 100; i++ {
		data, err := archiveOf(t, src, ".", "src")
		if err != nil {
			continue
		}
		for _, e := range readCopyTar(t, data) {
			if strings.Contains(e.body, "secret") || strings.HasSuffix(e.hdr.Name, "/file") || strings.Contains(e.hdr.Name, "/sub/file") {
				t.Fatalf("the archive holds %s from outside (%q)", e.hdr.Name, e.body)
			}
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d swaps", swaps.Load())
}
