package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplitCpArg(t *testing.T) {
	for _, c := range []struct{ arg, ctr, path string }{
		{"web:/etc/hosts", "web", "/etc/hosts"},
		{"web:", "web", ""},
		{"web:rel/x", "web", "rel/x"},
		{"/abs/a:b", "", "/abs/a:b"},
		{"./a:b", "", "./a:b"},
		{"plain", "", "plain"},
		{"-", "", "-"},
	} {
		if ctr, p := splitCpArg(c.arg); ctr != c.ctr || p != c.path {
			t.Errorf("splitCpArg(%q) = %q, %q; want %q, %q", c.arg, ctr, p, c.ctr, c.path)
		}
	}
}

func TestPreserveTrailingDotOrSeparator(t *testing.T) {
	for _, c := range []struct{ clean, orig, want string }{
		{"/a/b", "/a/b/", "/a/b/"},
		{"/a/b", "/a/b/.", "/a/b/."},
		{"/a/b", "a/b", "/a/b"},
		{"/", "/.", "/."},
		{"/", "/", "/"},
	} {
		if got := preserveTrailingDotOrSeparator(c.clean, c.orig); got != c.want {
			t.Errorf("preserve(%q, %q) = %q, want %q", c.clean, c.orig, got, c.want)
		}
	}
	for _, c := range []struct{ p, dir, base string }{
		{"/a/b", "/a", "b"}, {"/a/b/", "/a", "b"}, {"/a/b/.", "/a/b", "."}, {"/", "/", "/"},
	} {
		if dir, base := splitPathDirEntry(c.p); dir != c.dir || base != c.base {
			t.Errorf("splitPathDirEntry(%q) = %q, %q; want %q, %q", c.p, dir, base, c.dir, c.base)
		}
	}
}

// TestPrepareArchiveCopy is docker cp's table of where a copy lands.
func TestPrepareArchiveCopy(t *testing.T) {
	for _, c := range []struct {
		name     string
		src, dst copyInfo
		dir      string
		first    string // the first entry's name after the copy
		err      error
	}{
		{"file into dir", copyInfo{Path: "/s/f"}, copyInfo{Path: "/d", Exists: true, IsDir: true}, "/d", "f", nil},
		{"file onto file", copyInfo{Path: "/s/f"}, copyInfo{Path: "/d/g", Exists: true}, "/d", "g", nil},
		{"file to new name", copyInfo{Path: "/s/f"}, copyInfo{Path: "/d/g"}, "/d", "g", nil},
		{"file to new dir/", copyInfo{Path: "/s/f"}, copyInfo{Path: "/d/g/"}, "", "", errDirNotExists},
		{"dir into dir", copyInfo{Path: "/s/x", IsDir: true}, copyInfo{Path: "/d", Exists: true, IsDir: true}, "/d", "x/", nil},
		{"dir to new name", copyInfo{Path: "/s/x", IsDir: true}, copyInfo{Path: "/d/y"}, "/d", "y/", nil},
		{"dir onto file", copyInfo{Path: "/s/x", IsDir: true}, copyInfo{Path: "/d/g", Exists: true}, "", "", errCannotCopyDir},
		{"dir/. into dir", copyInfo{Path: "/s/x/.", IsDir: true}, copyInfo{Path: "/d", Exists: true, IsDir: true}, "/d", "./", nil},
		{"followed link keeps its name", copyInfo{Path: "/s/target", RebaseName: "link"}, copyInfo{Path: "/d/new"}, "/d", "new", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, base := splitPathDirEntry(c.src.Path)
			name := base
			if c.src.IsDir {
				name += "/"
			}
			if c.src.RebaseName != "" {
				name = c.src.RebaseName
			}
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			typ := byte(tar.TypeReg)
			if strings.HasSuffix(name, "/") {
				typ = tar.TypeDir
			}
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: typ})
			tw.Close()
			dir, rc, err := prepareArchiveCopy(&b, c.src, c.dst)
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if err != nil {
				return
			}
			defer rc.Close()
			hdr, err := tar.NewReader(rc).Next()
			if dir != c.dir || err != nil || hdr.Name != c.first {
				t.Errorf("extract into %q the entry %v %v; want %q, %q", dir, hdr, err, c.dir, c.first)
			}
		})
	}
}

// TestCpCLI copies to and from a pretend container with berth and with the
// real docker CLI: the same commands land the same files.
func TestCpCLI(t *testing.T) {
	sock, _ := startContainerEngine(t)
	for _, c := range clients(t, sock) {
		t.Run(c.name, func(t *testing.T) {
			c.ok(t, "create", "--name", "box", "busybox", "true")
			defer c.ok(t, "rm", "box")
			local := t.TempDir()
			os.WriteFile(filepath.Join(local, "f"), []byte("local file\n"), 0o644)
			os.MkdirAll(filepath.Join(local, "dir/sub"), 0o755)
			os.WriteFile(filepath.Join(local, "dir/sub/g"), []byte("g\n"), 0o644)

			c.ok(t, "cp", filepath.Join(local, "f"), "box:/tmp/")
			c.ok(t, "cp", filepath.Join(local, "f"), "box:/tmp/renamed")
			c.ok(t, "cp", filepath.Join(local, "dir"), "box:/tmp/newdir")
			c.ok(t, "container", "cp", filepath.Join(local, "dir")+"/.", "box:/tmp")

			out := filepath.Join(local, "out")
			os.Mkdir(out, 0o755)
			c.ok(t, "cp", "box:/tmp", out)
			for name, want := range map[string]string{"tmp/f": "local file\n", "tmp/renamed": "local file\n", "tmp/newdir/sub/g": "g\n", "tmp/sub/g": "g\n"} {
				if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
					t.Errorf("%s: %q %v", name, b, err)
				}
			}
			c.ok(t, "cp", "box:/etc/hostname", filepath.Join(out, "hn"))
			if b, _ := os.ReadFile(filepath.Join(out, "hn")); len(b) != 13 {
				t.Errorf("hostname copied as %q", b)
			}
			// "-": a tar on standard output.
			stream := c.ok(t, "cp", "box:/tmp/f", "-")
			tr := tar.NewReader(strings.NewReader(stream))
			hdr, err := tr.Next()
			body, _ := io.ReadAll(tr)
			if err != nil || hdr.Name != "f" || string(body) != "local file\n" {
				t.Errorf("cp to -: %v %+v %q", err, hdr, body)
			}

			for _, bad := range []struct {
				args []string
				msg  string
			}{
				{[]string{"cp", "box:/nope", out}, "Could not find the file /nope in container box"},
				{[]string{"cp", "nosuch:/tmp", out}, "No such container: nosuch"},
				{[]string{"cp", filepath.Join(local, "dir"), "nosuch:/tmp"}, "No such container: nosuch"},
				// The stat of a file with a slash fails; docker goes on and
				// finds the copy impossible (and logs its broken pipe).
				{[]string{"cp", filepath.Join(local, "f"), "box:/etc/hostname/"}, "no such directory"},
				{[]string{"cp", filepath.Join(local, "nope"), "box:/tmp"}, "no such file or directory"},
				{[]string{"cp", "box:/tmp", "other:/tmp"}, "copying between containers is not supported"},
				{[]string{"cp", filepath.Join(local, "f"), out}, "must specify at least one container source"},
				{[]string{"cp", "box:/tmp", filepath.Join(local, "f")}, "cannot copy directory"},
			} {
				code, stdout, stderr := c.run(t, bad.args...)
				lines := cpErrorLines(stderr)
				if c.name == "docker" {
					lines = slices.DeleteFunc(lines, func(l string) bool { return strings.Contains(l, "level=error") })
				}
				if code == 0 || !strings.Contains(stderr, bad.msg) || len(lines) != 1 {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want one line with %q", strings.Join(bad.args, " "), code, stdout, stderr, bad.msg)
				}
			}
		})
	}
}

// cpErrorLines are the lines of stderr without the docker CLI's usage hint.
func cpErrorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Run 'docker ") && !strings.HasPrefix(l, "See 'docker ") && !strings.HasPrefix(l, "Usage:") {
			out = append(out, l)
		}
	}
	return out
}
