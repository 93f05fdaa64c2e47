package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// capNetBindService is a security.capability value (VFS_CAP_REVISION_2,
// effective) granting CAP_NET_BIND_SERVICE, as setcap writes it.
const capNetBindService = "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// outsidePlaceholder in a symlink target stands for the absolute path of the
// test's outside directory, so that a broken Apply writes there and not in /etc.
const outsidePlaceholder = "$OUTSIDE"

func TestApply(t *testing.T) {
	requireRoot(t)
	t1 := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
	t2 := time.Date(2002, 3, 4, 5, 6, 7, 8000, time.UTC)
	t3 := time.Date(2003, 4, 5, 6, 7, 8, 9000, time.UTC)

	tests := []struct {
		name  string
		below [][]entry // lower layers, bottom first
		layer []entry
		err   error  // errors.Is, when the layer must be refused
		msg   string // and a part of the message
		check func(t *testing.T, dir string)
	}{
		{
			name:  "dotdot escapes",
			layer: []entry{reg("../escape", "x")},
			err:   ErrPathEscape, msg: `layer entry "../escape": path escapes the layer`,
		},
		{
			name:  "nested dotdot escapes",
			layer: []entry{dirEntry("a/"), reg("a/../../escape", "x")},
			err:   ErrPathEscape, msg: `"a/../../escape"`,
		},
		{
			name:  "absolute dotdot escapes",
			layer: []entry{reg("/../escape", "x")},
			err:   ErrPathEscape,
		},
		{
			name:  "absolute name lands inside",
			layer: []entry{reg("/etc/x", "inside")},
			check: func(t *testing.T, dir string) {
				if got := readFile(t, filepath.Join(dir, "etc/x")); got != "inside" {
					t.Errorf("etc/x = %q", got)
				}
			},
		},
		{
			name:  "dotdot inside the layer is cleaned",
			layer: []entry{reg("a/../b", "b"), reg("./c/./d", "d")},
			check: func(t *testing.T, dir string) {
				if !exists(filepath.Join(dir, "b")) || !exists(filepath.Join(dir, "c/d")) || exists(filepath.Join(dir, "a")) {
					t.Error("want b and c/d only")
				}
			},
		},
		{
			name:  "symlinked parent in this layer",
			layer: []entry{symlink("lnk", "../outside"), reg("lnk/pwned", "x")},
			err:   ErrSymlinkParent, msg: `"lnk" in this layer`,
		},
		{
			name:  "absolute symlinked parent in this layer",
			layer: []entry{symlink("etc", outsidePlaceholder), reg("etc/pwned", "x")},
			err:   ErrSymlinkParent,
		},
		{
			name:  "symlinked parent in the parent layer",
			below: [][]entry{{symlink("lnk", "../outside")}},
			layer: []entry{reg("lnk/pwned", "x")},
			err:   ErrSymlinkParent, msg: `"lnk" in a lower layer`,
		},
		{
			name:  "symlinked parent two layers down",
			below: [][]entry{{dirEntry("d/"), symlink("d/lnk", "../../outside")}, {reg("other", "")}},
			layer: []entry{reg("d/lnk/pwned", "x")},
			err:   ErrSymlinkParent, msg: `"d/lnk" in a lower layer`,
		},
		{
			name:  "whiteout of a symlinked parent of a dir made in the same layer",
			below: [][]entry{{symlink("d/lnk", "../../outside")}},
			layer: []entry{reg("d/.wh.lnk", ""), reg("d/lnk/x", "x")},
			check: func(t *testing.T, dir string) {
				if getxattr(t, filepath.Join(dir, "d/lnk"), opaqueXattr) != "y" {
					t.Error("a directory replacing a whiteout must be opaque")
				}
			},
		},
		{
			name:  "lower symlink covered by a directory above it",
			below: [][]entry{{symlink("lnk", "../outside")}, {dirEntry("lnk/")}},
			layer: []entry{reg("lnk/x", "x")},
			check: func(t *testing.T, dir string) {
				if !exists(filepath.Join(dir, "lnk/x")) {
					t.Error("lnk/x not written")
				}
			},
		},
		{
			name:  "lower symlink under an opaque directory",
			below: [][]entry{{symlink("d/lnk", "../../outside")}, {dirEntry("d/"), reg("d/.wh..wh..opq", "")}},
			layer: []entry{reg("d/lnk/x", "x")},
			check: func(t *testing.T, dir string) {
				if !exists(filepath.Join(dir, "d/lnk/x")) {
					t.Error("d/lnk/x not written")
				}
			},
		},
		{
			name:  "symlink chain",
			layer: []entry{symlink("a", "b"), symlink("b", "../outside"), reg("a/pwned", "x")},
			err:   ErrSymlinkParent,
		},
		{
			name:  "directory swapped for a symlink",
			layer: []entry{dirEntry("d/"), symlink("d", "../outside"), reg("d/pwned", "x")},
			err:   ErrSymlinkParent,
		},
		{
			name:  "whiteout through a symlinked parent",
			layer: []entry{symlink("lnk", "../outside"), reg("lnk/.wh.file", "")},
			err:   ErrSymlinkParent,
		},
		{
			name:  "opaque marker through a symlinked parent",
			layer: []entry{symlink("lnk", "../outside"), reg("lnk/.wh..wh..opq", "")},
			err:   ErrSymlinkParent,
		},
		{
			name:  "hard link out of the layer",
			layer: []entry{hardlink("pwn", "../outside/file")},
			err:   ErrPathEscape, msg: `hard link target "../outside/file": path escapes the layer`,
		},
		{
			name:  "hard link through a symlinked parent",
			layer: []entry{symlink("lnk", "../outside"), hardlink("pwn", "lnk/file")},
			err:   ErrSymlinkParent,
		},
		{
			name:  "hard link through a symlinked parent in a lower layer",
			below: [][]entry{{symlink("lnk", "../outside")}},
			layer: []entry{hardlink("pwn", "/lnk/file")},
			err:   ErrSymlinkParent,
		},
		{
			name:  "hard link to a directory",
			layer: []entry{dirEntry("d/"), hardlink("pwn", "d")},
			err:   ErrInvalidEntry,
		},
		{
			name:  "hard link to nothing",
			layer: []entry{hardlink("pwn", "missing")},
			err:   errTargetNotFound,
		},
		{
			name:  "hard link to a file deleted by a whiteout",
			below: [][]entry{{reg("x", "x")}},
			layer: []entry{reg(".wh.x", ""), hardlink("y", "x")},
			err:   errTargetNotFound,
		},
		{
			name:  "hard link to itself",
			layer: []entry{reg("x", "x"), hardlink("x", "./x")},
			err:   ErrInvalidEntry,
		},
		{
			name:  "hard link within the layer",
			layer: []entry{reg("a", "content"), hardlink("b", "a"), hardlink("c", "/a")},
			check: func(t *testing.T, dir string) {
				a, b := lstat(t, filepath.Join(dir, "a")), lstat(t, filepath.Join(dir, "c"))
				if a.Ino != b.Ino || a.Nlink != 3 {
					t.Errorf("a ino %d nlink %d, c ino %d: want one inode, 3 links", a.Ino, a.Nlink, b.Ino)
				}
			},
		},
		{
			name: "hard link to a lower file is materialised",
			below: [][]entry{{
				dirEntry("data/").mode(0o750).owner(7, 8).mtime(t1),
				reg("data/b", "lower content").mode(0o4751).owner(1000, 1001).xattr("user.k", "v").mtime(t2),
			}},
			layer: []entry{hardlink("data/hard", "data/b"), hardlink("other/hard2", "/data/b")},
			check: func(t *testing.T, dir string) {
				b := lstat(t, filepath.Join(dir, "data/b"))
				hard := lstat(t, filepath.Join(dir, "data/hard"))
				hard2 := lstat(t, filepath.Join(dir, "other/hard2"))
				if b.Ino != hard.Ino || b.Ino != hard2.Ino || b.Nlink != 3 {
					t.Errorf("inodes b %d hard %d hard2 %d, nlink %d: want one inode with 3 links", b.Ino, hard.Ino, hard2.Ino, b.Nlink)
				}
				if got := readFile(t, filepath.Join(dir, "data/hard")); got != "lower content" {
					t.Errorf("content %q", got)
				}
				if b.Mode&0o7777 != 0o4751 || b.Uid != 1000 || b.Gid != 1001 || !sameTime(b.Mtim, t2) {
					t.Errorf("copy: mode %o owner %d:%d mtime %v, want 4751 1000:1001 %v", b.Mode&0o7777, b.Uid, b.Gid, b.Mtim, t2)
				}
				if got := getxattr(t, filepath.Join(dir, "data/b"), "user.k"); got != "v" {
					t.Errorf("xattr user.k = %q", got)
				}
				// The parent made for the copy takes the lower directory's metadata.
				d := lstat(t, filepath.Join(dir, "data"))
				if d.Mode&0o7777 != 0o750 || d.Uid != 7 || d.Gid != 8 || !sameTime(d.Mtim, t1) {
					t.Errorf("data/: mode %o owner %d:%d mtime %v, want the lower's 750 7:8 %v", d.Mode&0o7777, d.Uid, d.Gid, d.Mtim, t1)
				}
			},
		},
		{
			name:  "hard link to a lower symlink is materialised",
			below: [][]entry{{symlink("s", "/etc/passwd").owner(5, 6)}},
			layer: []entry{hardlink("t", "s")},
			check: func(t *testing.T, dir string) {
				s, tt := lstat(t, filepath.Join(dir, "s")), lstat(t, filepath.Join(dir, "t"))
				if s.Mode&unix.S_IFMT != unix.S_IFLNK || s.Ino != tt.Ino || s.Uid != 5 {
					t.Errorf("want one symlink inode owned by 5, got mode %o ino %d/%d uid %d", s.Mode, s.Ino, tt.Ino, s.Uid)
				}
			},
		},
		{
			name:  "whiteout",
			below: [][]entry{{reg("data/a", "a")}},
			layer: []entry{dirEntry("data/"), reg("data/.wh.a", "")},
			check: func(t *testing.T, dir string) {
				st := lstat(t, filepath.Join(dir, "data/a"))
				if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
					t.Errorf("data/a: mode %o rdev %d, want a 0/0 character device", st.Mode, st.Rdev)
				}
				if exists(filepath.Join(dir, "data/.wh.a")) {
					t.Error("the .wh. file itself was written")
				}
			},
		},
		{
			name: "whiteout replaces what this layer has",
			layer: []entry{
				dirEntry("p/"), dirEntry("p/d/"), reg("p/d/f", "f"), symlink("p/d/l", "f"), reg("p/.wh.d", ""),
				reg("p/after", "x"), reg(".wh.x", ""),
			},
			check: func(t *testing.T, dir string) {
				for _, name := range []string{"p/d", "x"} {
					if st := lstat(t, filepath.Join(dir, name)); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
						t.Errorf("%s: mode %o, want a whiteout", name, st.Mode)
					}
				}
				if !exists(filepath.Join(dir, "p/after")) {
					t.Error("p/after not written")
				}
			},
		},
		{
			name:  "opaque directory",
			below: [][]entry{{reg("dir/x/y", "y")}},
			layer: []entry{dirEntry("dir/"), reg("dir/.wh..wh..opq", ""), reg("dir/new", "new")},
			check: func(t *testing.T, dir string) {
				if got := getxattr(t, filepath.Join(dir, "dir"), opaqueXattr); got != "y" {
					t.Errorf("opaque xattr %q", got)
				}
				names := readDir(t, filepath.Join(dir, "dir"))
				if strings.Join(names, " ") != "new" {
					t.Errorf("dir holds %v, want [new]", names)
				}
			},
		},
		{
			name:  "opaque marker creates its directory",
			layer: []entry{reg("a/b/.wh..wh..opq", "")},
			check: func(t *testing.T, dir string) {
				if got := getxattr(t, filepath.Join(dir, "a/b"), opaqueXattr); got != "y" {
					t.Errorf("opaque xattr %q", got)
				}
				if len(readDir(t, filepath.Join(dir, "a/b"))) != 0 {
					t.Error("the marker was written")
				}
			},
		},
		{
			name:  "invalid whiteout name",
			layer: []entry{reg("a/.wh..", "")},
			err:   ErrInvalidEntry,
		},
		{
			name:  "trusted.overlay xattr",
			layer: []entry{reg("f", "").xattr("trusted.overlay.redirect", "/etc")},
			err:   ErrReservedXattr, msg: `layer entry "f": xattr "trusted.overlay.redirect"`,
			check: func(t *testing.T, dir string) {
				if exists(filepath.Join(dir, "f")) {
					t.Error("the refused entry was written")
				}
			},
		},
		{
			name:  "trusted.overlay.opaque on a directory",
			layer: []entry{dirEntry("d/").xattr("trusted.overlay.opaque", "y")},
			err:   ErrReservedXattr,
		},
		{
			name:  "user.overlay xattr",
			layer: []entry{reg("f", "").xattr("user.overlay.whiteout", "")},
			err:   ErrReservedXattr,
		},
		{
			name: "xattrs kept",
			layer: []entry{
				reg("bin/ping", "elf").owner(0, 0).mode(0o755).xattr("security.capability", capNetBindService).xattr("user.note", "hi"),
				dirEntry("d/").xattr("user.dir", "yes"),
			},
			check: func(t *testing.T, dir string) {
				if got := getxattr(t, filepath.Join(dir, "bin/ping"), "security.capability"); got != capNetBindService {
					t.Errorf("security.capability = %x", got)
				}
				if got := getxattr(t, filepath.Join(dir, "bin/ping"), "user.note"); got != "hi" {
					t.Errorf("user.note = %q", got)
				}
				if got := getxattr(t, filepath.Join(dir, "d"), "user.dir"); got != "yes" {
					t.Errorf("user.dir = %q", got)
				}
			},
		},
		{
			name: "setuid, setgid and sticky kept, after chown",
			layer: []entry{
				reg("su", "x").mode(0o4755).owner(1000, 1000),
				reg("sg", "x").mode(0o2711).owner(0, 50),
				dirEntry("tmp/").mode(0o1777),
			},
			check: func(t *testing.T, dir string) {
				for name, want := range map[string]uint32{"su": 0o4755, "sg": 0o2711, "tmp": 0o1777} {
					if got := lstat(t, filepath.Join(dir, name)).Mode & 0o7777; got != want {
						t.Errorf("%s mode %o, want %o", name, got, want)
					}
				}
			},
		},
		{
			name: "owners kept",
			layer: []entry{
				dirEntry("d/").owner(10, 20), reg("d/f", "").owner(1000, 2000),
				symlink("d/l", "f").owner(3000, 4000), device("d/p", tar.TypeFifo, 0, 0).owner(5, 6),
			},
			check: func(t *testing.T, dir string) {
				for name, want := range map[string][2]uint32{"d": {10, 20}, "d/f": {1000, 2000}, "d/l": {3000, 4000}, "d/p": {5, 6}} {
					st := lstat(t, filepath.Join(dir, name))
					if st.Uid != want[0] || st.Gid != want[1] {
						t.Errorf("%s owner %d:%d, want %d:%d", name, st.Uid, st.Gid, want[0], want[1])
					}
				}
			},
		},
		{
			name: "mtimes kept on files, directories and symlinks",
			layer: []entry{
				dirEntry("d/").mtime(t1), reg("d/f", "f").mtime(t2), symlink("d/l", "f").mtime(t3),
				dirEntry("d/sub/").mtime(t2), reg("d/sub/g", "g").mtime(t3),
				dirEntry("./").mtime(t3),
			},
			check: func(t *testing.T, dir string) {
				for name, want := range map[string]time.Time{".": t3, "d": t1, "d/f": t2, "d/l": t3, "d/sub": t2, "d/sub/g": t3} {
					if st := lstat(t, filepath.Join(dir, name)); !sameTime(st.Mtim, want) {
						t.Errorf("%s mtime %v, want %v", name, time.Unix(st.Mtim.Unix()).UTC(), want)
					}
				}
			},
		},
		{
			name: "FIFO and device nodes",
			layer: []entry{
				device("dev/null", tar.TypeChar, 1, 3), device("dev/sda", tar.TypeBlock, 8, 0).mode(0o660),
				device("run/fifo", tar.TypeFifo, 0, 0).mode(0o600),
			},
			check: func(t *testing.T, dir string) {
				for name, want := range map[string]struct {
					typ, perm uint32
					rdev      uint64
				}{
					"dev/null": {unix.S_IFCHR, 0o666, unix.Mkdev(1, 3)},
					"dev/sda":  {unix.S_IFBLK, 0o660, unix.Mkdev(8, 0)},
					"run/fifo": {unix.S_IFIFO, 0o600, 0},
				} {
					st := lstat(t, filepath.Join(dir, name))
					if st.Mode&unix.S_IFMT != want.typ || st.Mode&0o7777 != want.perm || st.Rdev != want.rdev {
						t.Errorf("%s: mode %o rdev %d, want type %o perm %o rdev %d", name, st.Mode, st.Rdev, want.typ, want.perm, want.rdev)
					}
				}
			},
		},
		{
			name:  "missing parents are 0755 and root-owned",
			layer: []entry{reg("a/b/c", "c").owner(1000, 1000)},
			check: func(t *testing.T, dir string) {
				for _, name := range []string{"a", "a/b"} {
					st := lstat(t, filepath.Join(dir, name))
					if st.Mode != unix.S_IFDIR|0o755 || st.Uid != 0 || st.Gid != 0 {
						t.Errorf("%s: mode %o owner %d:%d, want a 0755 directory owned by root", name, st.Mode, st.Uid, st.Gid)
					}
				}
			},
		},
		{
			name:  "missing parent keeps the lower directory's mode",
			below: [][]entry{{dirEntry("tmp/").mode(0o1777).mtime(t1)}},
			layer: []entry{reg("tmp/x", "x")},
			check: func(t *testing.T, dir string) {
				st := lstat(t, filepath.Join(dir, "tmp"))
				if st.Mode&0o7777 != 0o1777 || !sameTime(st.Mtim, t1) {
					t.Errorf("tmp: mode %o mtime %v, want the lower's 1777 %v", st.Mode&0o7777, st.Mtim, t1)
				}
				if _, err := unix.Lgetxattr(filepath.Join(dir, "tmp"), opaqueXattr, nil); err == nil {
					t.Error("a copied-up parent must not be opaque")
				}
			},
		},
		{
			name:  "non-directory replaces a symlink without following it",
			layer: []entry{symlink("x", "../outside/file"), reg("x", "new"), symlink("y", "../outside/sub"), device("y", tar.TypeFifo, 0, 0)},
			check: func(t *testing.T, dir string) {
				if st := lstat(t, filepath.Join(dir, "x")); st.Mode&unix.S_IFMT != unix.S_IFREG {
					t.Errorf("x mode %o, want a regular file", st.Mode)
				}
				if st := lstat(t, filepath.Join(dir, "y")); st.Mode&unix.S_IFMT != unix.S_IFIFO {
					t.Errorf("y mode %o, want a FIFO", st.Mode)
				}
			},
		},
		{
			name:  "directory replaces a symlink without following it",
			layer: []entry{symlink("x", "../outside"), dirEntry("x/"), reg("x/f", "f")},
			check: func(t *testing.T, dir string) {
				if st := lstat(t, filepath.Join(dir, "x")); st.Mode&unix.S_IFMT != unix.S_IFDIR {
					t.Errorf("x mode %o, want a directory", st.Mode)
				}
			},
		},
		{
			name:  "directory replaces a file",
			layer: []entry{reg("x", "x"), dirEntry("x/").mode(0o711)},
			check: func(t *testing.T, dir string) {
				if st := lstat(t, filepath.Join(dir, "x")); st.Mode != unix.S_IFDIR|0o711 {
					t.Errorf("x mode %o, want a 0711 directory", st.Mode)
				}
			},
		},
		{
			name:  "file replaces a directory and its contents",
			layer: []entry{dirEntry("p/x/"), reg("p/x/a/b", "b"), reg("p/x", "file"), reg("p/y", "y")},
			check: func(t *testing.T, dir string) {
				if got := readFile(t, filepath.Join(dir, "p/x")); got != "file" {
					t.Errorf("p/x = %q", got)
				}
				if !exists(filepath.Join(dir, "p/y")) {
					t.Error("p/y not written")
				}
			},
		},
		{
			name:  "directory over a directory keeps it and updates it",
			layer: []entry{dirEntry("d/").mode(0o700).owner(1, 1), reg("d/f", "f"), dirEntry("d/").mode(0o755).owner(2, 2)},
			check: func(t *testing.T, dir string) {
				st := lstat(t, filepath.Join(dir, "d"))
				if st.Mode&0o7777 != 0o755 || st.Uid != 2 || !exists(filepath.Join(dir, "d/f")) {
					t.Errorf("d: mode %o uid %d, f kept %v; want 755, 2, true", st.Mode&0o7777, st.Uid, exists(filepath.Join(dir, "d/f")))
				}
			},
		},
		{
			name:  "root entry must be a directory",
			layer: []entry{reg(".", "")},
			err:   ErrInvalidEntry,
		},
		{
			name:  "aufs metadata is skipped",
			layer: []entry{dirEntry(".wh..wh.plnk/"), reg(".wh..wh.plnk/1.2", "x"), reg(".wh..wh..opq", "")},
			check: func(t *testing.T, dir string) {
				if names := readDir(t, dir); len(names) != 0 {
					t.Errorf("layer holds %v", names)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			for _, l := range tc.below {
				tr.mustApply(l...)
			}
			for i, e := range tc.layer {
				tc.layer[i].hdr.Linkname = strings.ReplaceAll(e.hdr.Linkname, outsidePlaceholder, filepath.Join(tr.work, "outside"))
			}
			before := snapshot(t, tr.root)
			dir, _, err := tr.apply(tc.layer...)
			if err := sameSnapshot(before, snapshot(t, tr.root, dir)); err != nil {
				t.Error(err)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				var ee *EntryError
				if !errors.As(err, &ee) {
					t.Errorf("err %T is not an *EntryError", err)
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("err = %q, want it to contain %q", err, tc.msg)
				}
			} else if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if tc.check != nil {
				tc.check(t, dir)
			}
		})
	}
}

func TestApplyOwnerRange(t *testing.T) {
	requireRoot(t)
	if strconv.IntSize < 64 {
		t.Skip("a uid beyond 32 bits does not fit in an int here")
	}
	big := uint64(1) << 32
	_, err := Apply(context.Background(), bytes.NewReader(buildTar(t, reg("f", "").owner(int(big), 0))), t.TempDir(), nil)
	if !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), "owner 4294967296:0") {
		t.Fatalf("err = %v, want the owner refused", err)
	}
}

func TestApplyStats(t *testing.T) {
	requireRoot(t)
	tr := newTree(t)
	lower := tr.mustApply(reg("low", "12345"))
	_ = lower
	_, st, err := tr.apply(dirEntry("d/"), reg("d/a", "abc"), reg("d/b", ""), symlink("s", "d/a"), reg(".wh.x", ""), hardlink("h", "low"))
	if err != nil {
		t.Fatal(err)
	}
	// As Docker's du of the layer: "abc", the copied-up "12345" and the
	// symlink's target "d/a".
	if want := (Stats{Entries: 6, Size: 3 + 5 + 3}); st != want {
		t.Errorf("stats %+v, want %+v (the copied-up lower file and the symlink's target count)", st, want)
	}
}

// countingReader counts the bytes read and whether EOF was reached.
type countingReader struct {
	r   io.Reader
	n   int
	eof bool
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

func TestApplyReadsToEOF(t *testing.T) {
	requireRoot(t)
	data := buildTar(t, reg("f", "x"))
	// tar(1) pads archives to 10 KiB records; the DiffID covers the padding.
	data = append(data, make([]byte, 10240-len(data)%10240)...)
	r := &countingReader{r: bytes.NewReader(data)}
	if _, err := Apply(context.Background(), r, t.TempDir(), nil); err != nil {
		t.Fatal(err)
	}
	if !r.eof || r.n != len(data) {
		t.Errorf("read %d of %d bytes, EOF %v", r.n, len(data), r.eof)
	}
}

func TestApplyMalformed(t *testing.T) {
	requireRoot(t)
	good := buildTar(t, reg("f", strings.Repeat("x", 1000)))
	badSum := bytes.Clone(good)
	badSum[148] ^= 0x7f // header checksum
	sparse := withTypeflag(t, buildTarFormat(t, tar.FormatGNU, reg("f", "")), tar.TypeGNUSparse)
	cont := withTypeflag(t, buildTarFormat(t, tar.FormatUSTAR, reg("f", "")), tar.TypeCont)
	// archive/tar's writer drops GNU.sparse.* records, so write same-length
	// xattr records and rename them: a GNU 0.1 sparse file with no data.
	paxSparse := buildTar(t, reg("f", "").xattr("aaa", "0").xattr("aab", "1").xattr("aacxxxx", "0").xattr("a", ""))
	for from, to := range map[string]string{
		"SCHILY.xattr.aaa=0": "GNU.sparse.major=0", "SCHILY.xattr.aab=1": "GNU.sparse.minor=1",
		"SCHILY.xattr.aacxxxx=0": "GNU.sparse.numblocks=0", "SCHILY.xattr.a=": "GNU.sparse.map=",
	} {
		if len(from) != len(to) || !bytes.Contains(paxSparse, []byte(from)) {
			t.Fatalf("cannot rewrite %q", from)
		}
		paxSparse = bytes.Replace(paxSparse, []byte(from), []byte(to), 1)
	}

	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"truncated", good[:700], "unexpected EOF"},
		{"bad checksum", badSum, "invalid tar header"},
		{"GNU sparse", sparse, "unsupported entry: GNU sparse file"},
		{"PAX sparse records", paxSparse, "unsupported entry: GNU sparse file"},
		{"contiguous file", cont, "unsupported entry: type '7'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Apply(context.Background(), bytes.NewReader(tc.data), t.TempDir(), nil)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want it to contain %q", err, tc.msg)
			}
		})
	}
}

// withTypeflag rewrites the typeflag of the first header of a ustar archive.
func withTypeflag(t testing.TB, data []byte, typ byte) []byte {
	t.Helper()
	data = bytes.Clone(data)
	data[156] = typ
	var sum int64
	for i, c := range data[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	copy(data[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return data
}

func TestApplyCancelled(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := Apply(ctx, bytes.NewReader(buildTar(t, reg("f", "x"))), dir, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if exists(filepath.Join(dir, "f")) {
		t.Error("an entry was written after cancellation")
	}
}

func TestApplyMissingDirs(t *testing.T) {
	requireRoot(t)
	data := buildTar(t, reg("f", "x"))
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := Apply(context.Background(), bytes.NewReader(data), missing, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing layer directory: err = %v, want it named", err)
	}
	if _, err := Apply(context.Background(), bytes.NewReader(data), t.TempDir(), []string{t.TempDir(), missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing lower layer: err = %v, want it named", err)
	}
}

func TestSync(t *testing.T) {
	if err := Sync(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := Sync(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("Sync of a missing directory succeeded")
	}
}

func sameTime(ts unix.Timespec, want time.Time) bool {
	return time.Unix(ts.Unix()).Equal(want)
}

func readDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
