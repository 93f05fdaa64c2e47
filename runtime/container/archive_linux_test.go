package container_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
)

// cpTar is a tar of regular files (name -> content), directories (a name
// ending in "/") and symlinks ("name -> target" with an empty content).
func cpTar(t testing.TB, entries ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		hdr := &tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0), Uid: 1234, Gid: 4321}
		switch {
		case strings.Contains(e[0], " -> "):
			name, target, _ := strings.Cut(e[0], " -> ")
			hdr.Typeflag, hdr.Name, hdr.Linkname, hdr.Size = tar.TypeSymlink, name, target, 0
		case strings.HasSuffix(e[0], "/"):
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e[1]))
	}
	tw.Close()
	return b.Bytes()
}

// readArchive reads the container path p back: entry name -> content
// (a symlink's as "-> target", a directory's as "dir").
func readArchive(t testing.TB, e *container.Engine, id, p string) (map[string]string, *container.PathStat, error) {
	t.Helper()
	rc, st, err := e.ArchivePath(context.Background(), id, p)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, st, nil
		}
		if err != nil {
			return nil, nil, err
		}
		b, _ := io.ReadAll(tr)
		switch hdr.Typeflag {
		case tar.TypeDir:
			out[hdr.Name] = "dir"
		case tar.TypeSymlink:
			out[hdr.Name] = "-> " + hdr.Linkname
		default:
			out[hdr.Name] = string(b)
		}
	}
}

func extract(e *container.Engine, id, p string, data []byte, opts container.CopyOptions) error {
	return e.ExtractToDir(context.Background(), id, p, bytes.NewReader(data), opts)
}

// noPrivateMounts checks that no thread of the test process (the engine's
// locked threads included) still has a mount of the container's.
func noPrivateMounts(t *testing.T, c *container.Container) {
	t.Helper()
	tasks, _ := filepath.Glob("/proc/self/task/*/mountinfo")
	for _, mi := range tasks {
		b, _ := os.ReadFile(mi)
		if bytes.Contains(b, []byte(c.Dir)) {
			t.Errorf("%s still mounts %s:\n%s", mi, c.Dir, b)
		}
	}
}

// TestCopyRunning copies in and out of a running container: its own view,
// tmpfs and volumes included, which its processes see at once.
func TestCopyRunning(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", "while [ ! -f /tmp/in/go ]; do sleep 0.05; done; cat /tmp/in/go /scratch/s /vol/v")
	spec.Tmpfs = map[string]string{"/scratch": ""}
	spec.Binds = []string{"cpvol:/vol"}
	c := startDetached(t, e, spec)

	st, err := e.StatPath(context.Background(), c.ID, "/etc/hostname")
	if err != nil || st.Name != "hostname" || !st.Mode.IsRegular() || st.Size != int64(len(c.Config.Hostname)+1) {
		t.Fatalf("StatPath /etc/hostname: %+v %v", st, err)
	}
	files, _, err := readArchive(t, e, c.ID, "/etc/hostname")
	if err != nil || files["hostname"] != c.Config.Hostname+"\n" || len(files) != 1 {
		t.Fatalf("ArchivePath /etc/hostname: %q %v", files, err)
	}
	if err := extract(e, c.ID, "/scratch", cpTar(t, [2]string{"s", "tmpfs\n"}), container.CopyOptions{}); err != nil {
		t.Fatalf("into the tmpfs: %v", err)
	}
	if err := extract(e, c.ID, "/vol", cpTar(t, [2]string{"v", "volume\n"}), container.CopyOptions{}); err != nil {
		t.Fatalf("into the volume: %v", err)
	}
	vol, err := e.InspectVolume("cpvol")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(vol.Mountpoint, "v")); string(b) != "volume\n" {
		t.Errorf("the volume on the host holds %q", b)
	}
	if err := extract(e, c.ID, "/tmp", cpTar(t, [2]string{"in/"}, [2]string{"in/go", "from cp\n"}), container.CopyOptions{NoOverwriteDirNonDir: true}); err != nil {
		t.Fatal(err)
	}
	if st, err := e.Wait(context.Background(), c.ID, "not-running"); err != nil || st.Code != 0 {
		t.Fatalf("wait: %+v %v", st, err)
	}
	if got := logs(t, e, c.ID); got != "from cp\ntmpfs\nvolume\n" {
		t.Errorf("the container read %q", got)
	}
	if st, err := e.StatPath(context.Background(), c.ID, "/tmp/in/go"); err != nil || st.Size != 8 {
		t.Errorf("stat after the exit (stopped): %+v %v", st, err)
	}
	noPrivateMounts(t, c)
	e.Remove(context.Background(), c.ID, true, false)
	e.RemoveVolume("cpvol", true)
}

// TestCopyStopped copies into a created container and an exited one; the
// next start sees the files, and nothing stays mounted.
func TestCopyStopped(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", "cat /tmp/a /vol/b")
	spec.Binds = []string{"cpvol2:/vol"}
	c, _, err := e.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := extract(e, c.ID, "/tmp/", cpTar(t, [2]string{"a", "created\n"}), container.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := extract(e, c.ID, "/vol", cpTar(t, [2]string{"b", "in the volume\n"}), container.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	noPrivateMounts(t, c)
	if err := e.Start(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.Wait(context.Background(), c.ID, "not-running"); st.Code != 0 {
		t.Fatalf("exit %d: %s", st.Code, logs(t, e, c.ID))
	}
	if got := logs(t, e, c.ID); got != "created\nin the volume\n" {
		t.Errorf("log %q", got)
	}
	// Exited now: read back, layers and upper merged, hard links kept.
	files, st, err := readArchive(t, e, c.ID, "/tmp")
	if err != nil || !st.Mode.IsDir() || files["tmp/"] != "dir" || files["tmp/a"] != "created\n" {
		t.Fatalf("ArchivePath /tmp: %q %+v %v", files, st, err)
	}
	files, _, err = readArchive(t, e, c.ID, "/vol/.")
	if err != nil || files["./b"] != "in the volume\n" {
		t.Errorf("ArchivePath /vol/.: %q %v", files, err)
	}
	files, _, err = readArchive(t, e, c.ID, "/")
	if err != nil || files["/bin/busybox"] == "" || files["/tmp/a"] != "created\n" {
		t.Errorf("ArchivePath /: %d entries, %v", len(files), err)
	}
	// While a copy out of the stopped container is open, its rootfs is
	// mounted in one thread's namespace, never in the process's own (the
	// host's), and a start waits for the copy.
	rc, _, err := e.ArchivePath(context.Background(), c.ID, "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(mi, []byte(c.Dir)) {
		t.Errorf("the host's mount table shows the container's rootfs:\n%s", mi)
	}
	threads := 0
	tasks, _ := filepath.Glob("/proc/self/task/*/mountinfo")
	for _, mi := range tasks {
		if b, _ := os.ReadFile(mi); bytes.Contains(b, []byte(c.Dir)) {
			threads++
		}
	}
	if threads != 1 {
		t.Errorf("%d threads see the rootfs mounted, want the one copying", threads)
	}
	started := make(chan error, 1)
	go func() { started <- e.Start(context.Background(), c.ID) }()
	select {
	case err := <-started:
		t.Errorf("the container started (%v) while a copy held its filesystem", err)
	case <-time.After(200 * time.Millisecond):
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	if err := <-started; err != nil {
		t.Errorf("start after the copy: %v", err)
	}
	e.Wait(context.Background(), c.ID, "not-running")
	noPrivateMounts(t, c)
	e.Remove(context.Background(), c.ID, true, false)
	e.RemoveVolume("cpvol2", true)
}

// TestCopyLayered reads a stopped container of the layered image: the
// merged view, whiteouts applied.
func TestCopyLayered(t *testing.T) {
	e := newEngine(t)
	c, _, err := e.Create(context.Background(), container.CreateSpec{Config: container.Config{Image: "layered:1", Cmd: []string{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := readArchive(t, e, c.ID, "/data")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range files {
		got = append(got, k)
	}
	want := []string{"data/", "data/b", "data/c", "data/hard", "data/mode", "data/soft"}
	if strings.Join(sorted(got), " ") != strings.Join(want, " ") {
		t.Errorf("/data: %q, want %q", sorted(got), want)
	}
	st, err := e.StatPath(context.Background(), c.ID, "/data/soft")
	if err != nil || st.LinkTarget != "/data/b" || st.Mode&os.ModeSymlink == 0 {
		t.Errorf("stat of the symlink: %+v %v", st, err)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestCopyErrors(t *testing.T) {
	e := newEngine(t)
	spec := busybox("true")
	spec.ReadonlyRootfs = true
	host := t.TempDir()
	spec.Binds = []string{"cpvol3:/rw", host + ":/ro:ro"}
	c, _, err := e.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	one := cpTar(t, [2]string{"f", "x"})
	cases := []struct {
		name string
		err  error
		msg  string
		do   func() error
	}{
		{"no such container", container.ErrNotFound, "No such container: nosuch", func() error {
			_, err := e.StatPath(context.Background(), "nosuch", "/")
			return err
		}},
		{"no such path", container.ErrNotFound, "Could not find the file /nope in container " + c.ID[:12], func() error {
			_, _, err := e.ArchivePath(context.Background(), c.ID[:12], "/nope")
			return err
		}},
		{"file with a slash", container.ErrInvalid, "not a directory", func() error {
			_, err := e.StatPath(context.Background(), c.ID, "/etc/hostname/")
			return err
		}},
		{"into a file", container.ErrInvalid, "extraction point is not a directory", func() error {
			return extract(e, c.ID, "/bin/busybox", one, container.CopyOptions{})
		}},
		{"into a missing dir", container.ErrNotFound, "Could not find the file /nope", func() error {
			return extract(e, c.ID, "/nope", one, container.CopyOptions{})
		}},
		{"read-only rootfs", container.ErrReadOnly, "container rootfs is marked read-only", func() error {
			return extract(e, c.ID, "/tmp", one, container.CopyOptions{})
		}},
		{"read-only bind", container.ErrReadOnly, "mounted volume is marked read-only", func() error {
			return extract(e, c.ID, "/ro", one, container.CopyOptions{})
		}},
		{"dotdot entry", container.ErrInvalid, "leaves the destination", func() error {
			return extract(e, c.ID, "/rw", cpTar(t, [2]string{"ok", "x"}, [2]string{"../../escape", "x"}), container.CopyOptions{})
		}},
		{"truncated archive", container.ErrInvalid, "unexpected EOF", func() error {
			return extract(e, c.ID, "/rw", cpTar(t, [2]string{"big", strings.Repeat("x", 5000)})[:3000], container.CopyOptions{})
		}},
		{"dir over file", container.ErrInvalid, "cannot overwrite", func() error {
			if err := extract(e, c.ID, "/rw", cpTar(t, [2]string{"plain", "x"}), container.CopyOptions{}); err != nil {
				return err
			}
			return extract(e, c.ID, "/rw", cpTar(t, [2]string{"plain/"}), container.CopyOptions{NoOverwriteDirNonDir: true})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %v with %q", err, tc.err, tc.msg)
			}
		})
	}
	// The refused archives wrote nothing: the volume holds "plain" alone.
	files, _, err := readArchive(t, e, c.ID, "/rw")
	if err != nil || len(files) != 2 || files["rw/plain"] != "x" {
		t.Errorf("/rw after the refusals: %q %v", files, err)
	}
	if ents, _ := os.ReadDir(host); len(ents) != 0 {
		t.Errorf("the read-only bind's source was written: %v", ents)
	}
	// A writable volume of a read-only rootfs takes copies.
	if err := extract(e, c.ID, "/rw", one, container.CopyOptions{}); err != nil {
		t.Errorf("into the writable volume: %v", err)
	}
	noPrivateMounts(t, c)
	e.Remove(context.Background(), c.ID, true, true)
	e.RemoveVolume("cpvol3", true)
}

// TestCopyUIDGID: -a gives the files the container user's owner, looked up
// in the container's own /etc/passwd; without it the archive's owner stays.
func TestCopyUIDGID(t *testing.T) {
	e := newEngine(t)
	spec := busybox("true")
	spec.User = "nobody"
	c, _, err := e.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := extract(e, c.ID, "/tmp", cpTar(t, [2]string{"a", "a"}), container.CopyOptions{CopyUIDGID: true}); err != nil {
		t.Fatal(err)
	}
	if err := extract(e, c.ID, "/tmp", cpTar(t, [2]string{"b", "b"}), container.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, _, err := e.ArchivePath(context.Background(), c.ID, "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	owners := map[string][2]int{}
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		owners[hdr.Name] = [2]int{hdr.Uid, hdr.Gid}
	}
	if owners["tmp/a"] != [2]int{65534, 65534} || owners["tmp/b"] != [2]int{1234, 4321} {
		t.Errorf("owners %v: want tmp/a nobody's (65534), tmp/b the archive's (1234:4321)", owners)
	}
}

// TestCopyHostile: a container's symlinks and the archives pushed into it
// never reach the host, whether the container runs or not.
func TestCopyHostile(t *testing.T) {
	e := newEngine(t)
	host := t.TempDir() // a host directory the container must not reach
	os.WriteFile(filepath.Join(host, "secret"), []byte("host secret\n"), 0o600)
	hostBefore := listHost(t, host)
	c, _, err := e.Create(context.Background(), busybox("sleep", "1000"))
	if err != nil {
		t.Fatal(err)
	}
	// The container's own tree: /data -> /, absolute and relative links
	// that name the host directory, and one that climbs with "..".
	links := cpTar(t, [2]string{"data -> /"}, [2]string{"abs -> " + host}, [2]string{"rel -> ../../../../../../.." + host},
		[2]string{"up -> ../../../../../../../.."})
	if err := extract(e, c.ID, "/", links, container.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T) {
		t.Helper()
		// cp file ctr:/data/ lands in the container's /, not the host's.
		if err := extract(e, c.ID, "/data", cpTar(t, [2]string{"pwned", "in the container\n"}), container.CopyOptions{}); err != nil {
			t.Fatalf("into /data: %v", err)
		}
		if _, err := os.Lstat("/pwned"); err == nil {
			os.Remove("/pwned")
			t.Fatal("cp through the container's /data -> / wrote the host's /pwned")
		}
		if files, _, err := readArchive(t, e, c.ID, "/pwned"); err != nil || files["pwned"] != "in the container\n" {
			t.Errorf("/pwned in the container: %q %v", files, err)
		}
		// Reading through /data reads the container's files.
		if files, _, err := readArchive(t, e, c.ID, "/data/etc/hostname"); err != nil || files["hostname"] != c.Config.Hostname+"\n" {
			t.Errorf("/data/etc/hostname: %q %v", files, err)
		}
		for _, p := range []string{"/abs", "/rel", "/abs/", "/rel/", "/up" + host, "/../../../.." + host, "/data/../../" + host} {
			if _, _, err := readArchive(t, e, c.ID, p+"/secret"); !errors.Is(err, container.ErrNotFound) {
				t.Errorf("reading %s/secret: %v, want not found", p, err)
			}
			if err := extract(e, c.ID, p, cpTar(t, [2]string{"pwned", "x"}), container.CopyOptions{}); !errors.Is(err, container.ErrNotFound) {
				t.Errorf("writing into %s: %v, want not found", p, err)
			}
		}
		// The symlink itself is what stat and a plain read give.
		if st, err := e.StatPath(context.Background(), c.ID, "/data"); err != nil || st.LinkTarget != "/" || st.Mode&os.ModeSymlink == 0 {
			t.Errorf("stat /data: %+v %v", st, err)
		}
		if files, _, err := readArchive(t, e, c.ID, "/abs"); err != nil || files["abs"] != "-> "+host {
			t.Errorf("/abs read as %q %v", files, err)
		}
		// Archives with names that climb or are absolute.
		if err := extract(e, c.ID, "/tmp", cpTar(t, [2]string{"../../../../.." + host + "/pwned", "x"}), container.CopyOptions{}); !errors.Is(err, container.ErrInvalid) {
			t.Errorf("a ../ entry: %v", err)
		}
		if err := extract(e, c.ID, "/tmp", cpTar(t, [2]string{"/etc/absolute", "x"}), container.CopyOptions{}); err != nil {
			t.Errorf("an absolute entry: %v", err)
		}
		if files, _, err := readArchive(t, e, c.ID, "/tmp/etc/absolute"); err != nil || files["absolute"] != "x" {
			t.Errorf("an absolute entry lands below the destination: %q %v", files, err)
		}
		// An entry through a symlink the archive made is refused.
		if err := extract(e, c.ID, "/tmp", cpTar(t, [2]string{"l -> /"}, [2]string{"l/etc/evil", "x"}), container.CopyOptions{}); !errors.Is(err, container.ErrInvalid) {
			t.Errorf("an entry through an archive's symlink: %v", err)
		}
		if after := listHost(t, host); after != hostBefore {
			t.Fatalf("the host directory changed:\n%s\nwas:\n%s", after, hostBefore)
		}
	}
	t.Run("stopped", check)
	if err := e.Start(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	t.Run("running", check)
	noPrivateMounts(t, c)
}

func listHost(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			b.WriteString(p + " " + fi.Mode().String() + "\n")
		}
		return nil
	})
	return b.String()
}

// TestCopySwap races copies against the container's own process, which
// keeps replacing /tmp/d with a symlink to a directory of the host: no
// copy, in or out, may touch or read the host's directory.
func TestCopySwap(t *testing.T) {
	e := newEngine(t)
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "secret"), []byte("host secret\n"), 0o600)
	hostBefore := listHost(t, host)
	loop := "mkdir -p /tmp/d; for i in 1 2 3 4 5 6 7 8; do echo mine > /tmp/d/f$i; done; " +
		"while :; do mv /tmp/d /tmp/d.x; ln -s " + host + " /tmp/d; rm /tmp/d; mv /tmp/d.x /tmp/d; done"
	c := startDetached(t, e, busybox("sh", "-c", loop))
	data := cpTar(t, [2]string{"d/"}, [2]string{"d/pwned", "x"}, [2]string{"d/secret", "overwritten"})
	deadline := time.Now().Add(3 * time.Second)
	var in, out, refused int
	for time.Now().Before(deadline) {
		if err := extract(e, c.ID, "/tmp", data, container.CopyOptions{}); err != nil {
			refused++
		} else {
			in++
		}
		if err := extract(e, c.ID, "/tmp/d", cpTar(t, [2]string{"pwned2", "x"}), container.CopyOptions{}); err == nil {
			in++
		}
		files, _, err := readArchive(t, e, c.ID, "/tmp/d")
		if err == nil {
			out++
		}
		for name, body := range files {
			if strings.Contains(body, "host secret") {
				t.Fatalf("read the host's secret as %s", name)
			}
		}
	}
	t.Logf("%d copies in, %d refused, %d out", in, refused, out)
	if after := listHost(t, host); after != hostBefore {
		t.Fatalf("the host directory changed:\n%s\nwas:\n%s", after, hostBefore)
	}
	if b, _ := os.ReadFile(filepath.Join(host, "secret")); string(b) != "host secret\n" {
		t.Fatalf("the host's secret was overwritten: %q", b)
	}
}
