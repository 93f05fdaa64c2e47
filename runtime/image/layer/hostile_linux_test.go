package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/hostile from hostileCorpus")

const hostileDir = "testdata/hostile"

// hostileLowers are the layers under every hostile tar, nearest last: a
// symlink out of the layer two layers down, and one in the parent layer.
func hostileLowers(tr *tree) {
	tr.mustApply(symlink("low2", "../outside"), reg("file", "bottom\n"))
	tr.mustApply(symlink("lowlink", "../outside"), dirEntry("data/"), reg("data/b", "b\n"))
}

type hostileTar struct {
	name, desc string
	data       func(t testing.TB) []byte
}

func entries(e ...entry) func(t testing.TB) []byte {
	return func(t testing.TB) []byte { return buildTar(t, e...) }
}

// hostileCorpus is what testdata/hostile holds; `go test -update` rewrites it.
func hostileCorpus() []hostileTar {
	return []hostileTar{
		{"dotdot.tar", "a file named ../escape, one level above the layer", entries(reg("../escape", "x"))},
		{"dotdot-nested.tar", "a/../../escape, which climbs out only after cleaning", entries(dirEntry("a/"), reg("a/../../escape", "x"))},
		{"dotdot-absolute.tar", "/../escape, an absolute name that climbs above the root", entries(reg("/../escape", "x"))},
		{"dotdot-deep.tar", "../../../escape, three levels up", entries(reg("../../../escape", "x"))},
		{"symlink-parent.tar", "lnk -> ../outside, then lnk/pwned written through it", entries(symlink("lnk", "../outside"), reg("lnk/pwned", "x"))},
		{"symlink-dotdot.tar", "lnk -> .., then lnk/escape", entries(symlink("lnk", ".."), reg("lnk/escape", "x"))},
		{"symlink-chain.tar", "a -> b, b -> ../outside, then a/pwned", entries(symlink("a", "b"), symlink("b", "../outside"), reg("a/pwned", "x"))},
		{"symlink-swap-dir.tar", "directory d/, then d replaced by d -> ../outside, then d/pwned", entries(dirEntry("d/"), symlink("d", "../outside"), reg("d/pwned", "x"))},
		{"symlink-parent-dir.tar", "lnk -> ../outside, then the directory lnk/sub/ and lnk/sub/pwned", entries(symlink("lnk", "../outside"), dirEntry("lnk/sub/"), reg("lnk/sub/pwned", "x"))},
		{"symlink-parent-device.tar", "lnk -> ../outside, then a FIFO lnk/fifo", entries(symlink("lnk", "../outside"), device("lnk/fifo", tar.TypeFifo, 0, 0))},
		{"symlink-parent-symlink.tar", "lnk -> ../outside, then a symlink lnk/file -> /etc/shadow", entries(symlink("lnk", "../outside"), symlink("lnk/file", "/etc/shadow"))},
		{"hardlink-escape.tar", "a hard link to ../outside/file", entries(hardlink("pwn", "../outside/file"))},
		{"hardlink-absolute-escape.tar", "a hard link to /../outside/file", entries(hardlink("pwn", "/../outside/file"))},
		{"hardlink-symlink-parent.tar", "lnk -> ../outside, then a hard link to lnk/file", entries(symlink("lnk", "../outside"), hardlink("pwn", "lnk/file"))},
		{"hardlink-symlink-parent-dest.tar", "lnk -> ../outside, then a hard link lnk/pwn to a file of the layer", entries(reg("f", "f"), symlink("lnk", "../outside"), hardlink("lnk/pwn", "f"))},
		{"hardlink-directory.tar", "a hard link to a directory", entries(dirEntry("d/"), hardlink("pwn", "d"))},
		{"lower-symlink-parent.tar", "lowlink/pwned, where the parent layer has lowlink -> ../outside", entries(reg("lowlink/pwned", "x"))},
		{"lower2-symlink-parent.tar", "low2/pwned, where the layer two down has low2 -> ../outside", entries(reg("low2/pwned", "x"))},
		{"lower-hardlink-symlink-parent.tar", "a hard link to lowlink/file, through the parent layer's symlink", entries(hardlink("pwn", "lowlink/file"))},
		{"lower-whiteout-symlink-parent.tar", "lowlink/.wh.file, a whiteout through the parent layer's symlink", entries(reg("lowlink/.wh.file", ""))},
		{"whiteout-symlink-parent.tar", "lnk -> ../outside, then lnk/.wh.file", entries(symlink("lnk", "../outside"), reg("lnk/.wh.file", ""))},
		{"opaque-symlink-parent.tar", "lnk -> ../outside, then lnk/.wh..wh..opq", entries(symlink("lnk", "../outside"), reg("lnk/.wh..wh..opq", ""))},
		{"whiteout-dotdot.tar", "the whiteout d/.wh.. , which would name d's parent", entries(dirEntry("d/"), reg("d/.wh..", ""))},
		{"xattr-overlay-redirect.tar", "a directory carrying trusted.overlay.redirect=/etc", entries(dirEntry("d/").xattr("trusted.overlay.redirect", "/etc"))},
		{"xattr-overlay-opaque.tar", "a directory forging trusted.overlay.opaque=y", entries(dirEntry("d/").xattr("trusted.overlay.opaque", "y"))},
		{"xattr-overlay-whiteout.tar", "a file forging trusted.overlay.whiteout", entries(reg("f", "").xattr("trusted.overlay.whiteout", ""))},
		{"xattr-user-overlay.tar", "a file carrying user.overlay.redirect, read by rootless overlay mounts", entries(reg("f", "").xattr("user.overlay.redirect", "/"))},
		{"root-symlink.tar", "the root entry . as a symlink to ../outside", entries(symlink(".", "../outside"), reg("pwned", "x"))},
		{"long-name.tar", "a 5000-byte name of nested directories", entries(reg(strings.Repeat("d/", 2500)+"f", "x"))},
		{"truncated.tar", "a 1000-byte file cut off after 100 bytes", func(t testing.TB) []byte {
			b := buildTar(t, reg("f", strings.Repeat("x", 1000)))
			return b[:len(b)-1024-1024+100] // end-of-archive blocks, padded data
		}},
		{"bad-checksum.tar", "a header whose checksum does not match", func(t testing.TB) []byte {
			b := buildTarFormat(t, tar.FormatUSTAR, reg("f", "x"))
			b[148] ^= 0x7f
			return b
		}},
		{"gnu-sparse.tar", "a GNU sparse file, whose holes would be written out", func(t testing.TB) []byte {
			return withTypeflag(t, buildTarFormat(t, tar.FormatGNU, reg("f", "")), tar.TypeGNUSparse)
		}},
	}
}

// TestHostile applies each tar of testdata/hostile over hostileLowers: every one
// must be refused, and nothing outside the layer may change.
func TestHostile(t *testing.T) {
	requireRoot(t)
	if *update {
		writeHostile(t)
	}
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.tar"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(hostileDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hostileCorpus() {
		if !exists(filepath.Join(hostileDir, h.name)) {
			t.Errorf("%s is missing: run go test ./runtime/image/layer -run TestHostile -update", h.name)
		}
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			if !bytes.Contains(readme, []byte("`"+name+"`")) {
				t.Errorf("%s has no line in %s/README.md", name, hostileDir)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tr := newTree(t)
			hostileLowers(tr)
			before := snapshot(t, tr.root)
			dir, _, err := tr.applyTar(data)
			if err == nil {
				t.Error("Apply accepted it")
			} else {
				t.Log(err)
			}
			if err := sameSnapshot(before, snapshot(t, tr.root, dir)); err != nil {
				t.Error(err)
			}
		})
	}
}

func writeHostile(t *testing.T) {
	if err := os.MkdirAll(hostileDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, h := range hostileCorpus() {
		if err := os.WriteFile(filepath.Join(hostileDir, h.name), h.data(t), 0o644); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("- `%s`: %s", h.name, h.desc))
	}
	sort.Strings(lines)
	readme := "# Hostile layers\n\n" +
		"Layer tars that Apply must refuse without touching anything outside the layer\n" +
		"directory. TestHostile applies each over two lower layers: the parent has\n" +
		"`lowlink -> ../outside` and `data/b`, the one below it `low2 -> ../outside` and\n" +
		"`file`; `../outside` is a directory beside the layers. FuzzApply starts from them.\n" +
		"Written by `go test ./runtime/image/layer -run TestHostile -update`.\n\n" +
		strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(hostileDir, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzApply checks that no tar makes Apply write outside its directory, or
// panic. Run it with go test -fuzz=FuzzApply ./runtime/image/layer.
func FuzzApply(f *testing.F) {
	requireRoot(f)
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.tar"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(buildTar(f,
		dirEntry("data/"), reg("data/.wh.b", ""), reg("data/c", "c").mode(0o4755).owner(1, 2),
		hardlink("data/hard", "file"), symlink("data/soft", "../file"), dirEntry("dir/"), reg("dir/.wh..wh..opq", ""),
		device("dev/null", tar.TypeChar, 1, 3), device("fifo", tar.TypeFifo, 0, 0), reg("x", "").xattr("user.a", "b")))
	f.Add(buildTar(f, reg("a/b/c", "c"), hardlink("a/b/d", "a/b/c"), reg("a", "file over dir"), dirEntry("a/"), symlink("a/l", "/")))
	f.Add(buildTar(f, reg(".wh.lowlink", ""), reg("lowlink/x", "x"), hardlink("data/h", "data/b"), reg("low2", "")))

	tr := newTree(f)
	hostileLowers(tr)
	before := snapshot(f, tr.root)
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		dir := filepath.Join(tr.work, fmt.Sprintf("fuzz%d", n))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		Apply(context.Background(), bytes.NewReader(data), dir, tr.lowers())
		if err := sameSnapshot(before, snapshot(t, tr.root, dir)); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzApplyEntries checks the same property as FuzzApply on well-formed tars:
// the input picks entry types, names and link targets from the words hostile
// layers use, so the fuzzer explores unpacking rather than tar checksums.
func FuzzApplyEntries(f *testing.F) {
	requireRoot(f)
	f.Add([]byte{3, 2, 2, 0, 0, 0, 0, 1, 2, 2, 1, 0, 0})
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 7, 2, 0, 9, 0, 0, 4, 1, 8, 2, 3, 0})
	f.Add([]byte{0, 2, 5, 6, 0, 0, 0, 5, 1, 3, 0, 0, 0})
	tr := newTree(f)
	hostileLowers(tr)
	before := snapshot(f, tr.root)
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		dir := filepath.Join(tr.work, fmt.Sprintf("fuzz%d", n))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		Apply(context.Background(), bytes.NewReader(buildTar(t, decodeEntries(data)...)), dir, tr.lowers())
		if err := sameSnapshot(before, snapshot(t, tr.root, dir)); err != nil {
			t.Fatal(err)
		}
	})
}

var (
	fuzzWords   = []string{"a", "b", "lnk", "lowlink", "low2", "data", "..", ".wh.a", ".wh..wh..opq", "file", ".", ".wh.lnk"}
	fuzzTargets = []string{"a", "b", "../outside", "..", "/", "lnk", "data/b", "file", "lowlink/file", "a/b", "/a/../..", "."}
)

// decodeEntries reads entries of seven bytes: type, two name words (the first
// byte's high bits say how many), a link target, mode and owner.
func decodeEntries(data []byte) []entry {
	var out []entry
	for len(data) >= 7 && len(out) < 16 {
		b := data[:7]
		data = data[7:]
		var parts []string
		for i := 0; i <= int(b[1]>>6) && i < 2; i++ {
			parts = append(parts, fuzzWords[int(b[2+i])%len(fuzzWords)])
		}
		name := strings.Join(parts, "/")
		target := fuzzTargets[int(b[4])%len(fuzzTargets)]
		var e entry
		switch b[0] % 7 {
		case 0:
			e = reg(name, "content")
		case 1:
			e = dirEntry(name + "/")
		case 2:
			e = symlink(name, target)
		case 3:
			e = hardlink(name, target)
		case 4:
			e = device(name, tar.TypeFifo, 0, 0)
		case 5:
			e = device(name, tar.TypeChar, 0, 0)
		case 6:
			e = reg(name, "").xattr("user.x", "y")
		}
		out = append(out, e.mode(int64(b[5])<<4|0o644).owner(int(b[6]), int(b[6])))
	}
	return out
}
