package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testTime is the mtime of every test entry that does not set its own.
var testTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// entry is a tar entry under construction.
type entry struct {
	hdr  tar.Header
	body string
}

func reg(name, body string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: testTime}, body: body}
}

func dirEntry(name string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: testTime}}
}

func symlink(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: testTime}}
}

func hardlink(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, ModTime: testTime}}
}

func device(name string, typ byte, major, minor int64) entry {
	return entry{hdr: tar.Header{Typeflag: typ, Name: name, Mode: 0o666, Devmajor: major, Devminor: minor, ModTime: testTime}}
}

func (e entry) mode(m int64) entry { e.hdr.Mode = m; return e }

func (e entry) owner(uid, gid int) entry { e.hdr.Uid, e.hdr.Gid = uid, gid; return e }

func (e entry) mtime(t time.Time) entry { e.hdr.ModTime = t; return e }

func (e entry) xattr(name, value string) entry {
	recs := map[string]string{}
	for k, v := range e.hdr.PAXRecords {
		recs[k] = v
	}
	recs[paxXattrPrefix+name] = value
	e.hdr.PAXRecords = recs
	return e
}

// buildTar writes entries as a PAX tar, so that xattrs and nanosecond times
// survive.
func buildTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	return buildTarFormat(t, tar.FormatPAX, entries...)
}

func buildTarFormat(t testing.TB, format tar.Format, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		hdr := e.hdr
		hdr.Format = format
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("tar header %q: %v", hdr.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatalf("tar body %q: %v", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: unpacking writes owners, device nodes and trusted.* xattrs (CI runs as root)")
	}
}

// tree is a scratch area: layers side by side in work, and an "outside"
// directory that escaping entries would reach through "../outside" from a
// layer's root. work is two levels below root, so that a snapshot of root also
// sees entries that climb further.
type tree struct {
	t      testing.TB
	root   string
	work   string
	n      int
	layers []string // applied so far, bottom first
}

func newTree(t testing.TB) *tree {
	t.Helper()
	root := t.TempDir()
	tr := &tree{t: t, root: root, work: filepath.Join(root, "up2", "up1")}
	if err := os.MkdirAll(filepath.Join(tr.work, "outside", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tr.work, "outside", "file"), []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return tr
}

// lowers returns the applied layers nearest first, as Apply takes them.
func (tr *tree) lowers() []string {
	var l []string
	for i := len(tr.layers) - 1; i >= 0; i-- {
		l = append(l, tr.layers[i])
	}
	return l
}

// apply unpacks a layer of entries over the layers applied so far.
func (tr *tree) apply(entries ...entry) (string, Stats, error) {
	return tr.applyTar(buildTar(tr.t, entries...))
}

func (tr *tree) applyTar(data []byte) (string, Stats, error) {
	tr.t.Helper()
	tr.n++
	dir := filepath.Join(tr.work, fmt.Sprintf("l%d", tr.n))
	if err := os.Mkdir(dir, 0o755); err != nil {
		tr.t.Fatal(err)
	}
	st, err := Apply(context.Background(), bytes.NewReader(data), dir, tr.lowers())
	return dir, st, err
}

// mustApply unpacks a layer that must succeed and stacks it.
func (tr *tree) mustApply(entries ...entry) string {
	tr.t.Helper()
	dir, _, err := tr.apply(entries...)
	if err != nil {
		tr.t.Fatalf("applying a lower layer: %v", err)
	}
	tr.layers = append(tr.layers, dir)
	return dir
}

// snapshot describes every file under root but skip (type, mode, owner, size,
// mtime, link count, symlink target, xattrs, content digest; for directories,
// type, mode, owner and xattrs), never following a symlink and never opening
// anything but a regular file.
func snapshot(t testing.TB, root string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, s := range skip {
			if p == s {
				return filepath.SkipDir
			}
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d", st.Mode, st.Uid, st.Gid)
		if !d.IsDir() {
			// A directory's size, times and link count change with what is
			// created in it, which shows up as an entry of its own.
			desc += fmt.Sprintf(" size=%d mtime=%d.%d nlink=%d rdev=%d", st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Nlink, st.Rdev)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += " sha256=" + hex.EncodeToString(sum[:8])
		}
		desc += " xattrs=" + strings.Join(xattrs(t, p), ",")
		rel, _ := filepath.Rel(root, p)
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot of %s: %v", root, err)
	}
	return out
}

func xattrs(t testing.TB, p string) []string {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return []string{"error:" + err.Error()}
	}
	var out []string
	for _, name := range splitNul(buf[:n]) {
		v := make([]byte, 64<<10)
		vn, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			out = append(out, name+"=error:"+err.Error())
			continue
		}
		out = append(out, name+"="+string(v[:vn]))
	}
	sort.Strings(out)
	return out
}

// sameSnapshot reports how after differs from before.
func sameSnapshot(before, after map[string]string) error {
	var diffs []string
	for k, v := range after {
		if b, ok := before[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("created %s (%s)", k, v))
		} else if b != v {
			diffs = append(diffs, fmt.Sprintf("changed %s: %s -> %s", k, b, v))
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			diffs = append(diffs, "removed "+k)
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	return fmt.Errorf("outside the layer: %s", strings.Join(diffs, "; "))
}

func lstat(t testing.TB, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return &st
}

func getxattr(t testing.TB, p, name string) string {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", p, name, err)
	}
	return string(buf[:n])
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
