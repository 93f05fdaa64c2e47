package api_test

import (
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/berthhq/berth/runtime/api"
)

// shortTempDir is a temp dir with a path short enough for a unix socket
// (108 bytes), whatever TMPDIR and the test name are.
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "berth")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestListenModeAndGroup(t *testing.T) {
	dir := filepath.Join(shortTempDir(t), "run", "berth")
	path := filepath.Join(dir, "berth.sock")
	group := ""
	if os.Geteuid() == 0 {
		// An existing system group; root may give the socket to it.
		if _, err := user.LookupGroup("daemon"); err == nil {
			group = "daemon"
		}
	}
	l, err := api.Listen(path, group)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	if di, err := os.Stat(dir); err != nil || di.Mode().Perm() != 0o755 {
		t.Errorf("socket directory: %v, %v; want 0755", di.Mode(), err)
	}
	if group != "" {
		g, _ := user.LookupGroup(group)
		st := fi.Sys().(*syscall.Stat_t)
		if strconv.Itoa(int(st.Gid)) != g.Gid || st.Uid != 0 {
			t.Errorf("socket owner %d:%d, want 0:%s", st.Uid, st.Gid, g.Gid)
		}
	} else {
		t.Log("not root or no daemon group: group ownership not checked")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only the socket (no temporary left)", entries)
	}

	// Someone listens: a second engine is refused and the socket kept.
	go http.Serve(l, http.NotFoundHandler())
	if _, err := api.Listen(path, ""); err == nil || !strings.Contains(err.Error(), "another engine is already listening") {
		t.Errorf("second Listen: %v", err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("socket gone after a refused Listen: %v", err)
	}

	if err := l.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket still there after Close: %v", err)
	}
}

func TestListenMissingGroup(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "b.sock")
	l, err := api.Listen(path, "no-such-group-berth")
	if err != nil {
		t.Fatalf("a missing group should leave the socket in ours: %v", err)
	}
	l.Close()
	if api.GroupExists("no-such-group-berth") {
		t.Error("GroupExists of a missing group")
	}
}

func TestListenReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "b.sock")
	// A socket left by a killed engine: bound, never unlinked, nobody
	// listening.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	before, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}

	l, err := api.Listen(path, "")
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	after, err := os.Lstat(path)
	if err != nil || os.SameFile(before, after) {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial the new socket: %v", err)
	}
	c.Close()
}

func TestListenRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "b.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Listen(path, ""); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Error("the file was replaced")
	}
	if _, err := api.Listen("relative.sock", ""); err == nil {
		t.Error("relative path accepted")
	}
}

func TestListenCloseLeavesAReplacement(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "b.sock")
	l, err := api.Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	// Another engine took the path over (its Listen found ours dead).
	other, err := net.Listen("unix", path+".other")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := os.Rename(path+".other", path); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("Close removed a socket it did not create: %v", err)
	}
	os.Remove(path)
}
