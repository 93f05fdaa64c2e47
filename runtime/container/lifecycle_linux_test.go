package container_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/testvm"
)

func startDetached(t *testing.T, e *container.Engine, spec container.CreateSpec) *container.Container {
	t.Helper()
	c, _, err := e.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.Get(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestStopWithInitIsFast(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", "sleep 1000")
	spec.Name = "s1" // Docker's rule wants two characters at least
	c := startDetached(t, e, spec)
	if c.State.Status != container.StatusRunning || c.State.Pid == 0 {
		t.Fatalf("state after start: %+v", c.State)
	}
	if why := e.ImageInUse(c.Image); why != "image is being used by running container "+c.ID[:12] {
		t.Errorf("ImageInUse: %q", why)
	}
	start := time.Now()
	if err := e.Stop(context.Background(), "s1", nil, ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond && !raceEnabled {
		t.Errorf("stop took %v: the init should pass SIGTERM on at once", d)
	}
	got, _ := e.Get("s1")
	if got.State.Status != container.StatusExited || got.State.ExitCode != 143 {
		t.Errorf("after stop: %+v, want exited 143", got.State)
	}
	if err := e.Stop(context.Background(), "s1", nil, ""); !errors.Is(err, container.ErrNotModified) {
		t.Errorf("stopping a stopped container: %v, want ErrNotModified", err)
	}
}

func TestStopTimeoutKills(t *testing.T) {
	// Without the init, sleep is PID 1 and ignores SIGTERM: stop waits,
	// then kills.
	e := newEngine(t, container.WithInit(false))
	c := startDetached(t, e, busybox("sleep", "1000"))
	start := time.Now()
	timeout := 300 * time.Millisecond
	if err := e.Stop(context.Background(), c.ID, &timeout, ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < timeout || d > 3*time.Second {
		t.Errorf("stop took %v, want a little over %v", d, timeout)
	}
	got, _ := e.Get(c.ID)
	if got.State.ExitCode != 137 {
		t.Errorf("exit code %d, want 137 (killed)", got.State.ExitCode)
	}
}

func TestOOMKilled(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", `x=$(head -c 64m /dev/zero | tr "\0" a); echo survived`)
	spec.Resources.MemoryBytes = 32 << 20
	st, log := run(t, e, spec)
	if st.Code == 0 || !st.OOMKilled || strings.Contains(log, "survived") {
		t.Errorf("status %+v, log %q: want killed by the OOM killer", st, log)
	}
}

func TestPidsLimit(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", "for i in 1 2 3 4 5 6; do sleep 9 & done; wait")
	spec.Resources.PidsLimit = 5
	st, log := run(t, e, spec)
	if st.Code == 0 || !strings.Contains(log, "fork") {
		t.Errorf("status %+v, log %q: want a failed fork", st, log)
	}
}

func TestRestartAlways(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", "echo run; exit 1")
	spec.RestartPolicy = container.RestartPolicy{Name: container.RestartAlways}
	c := startDetached(t, e, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		got, _ := e.Get(c.ID)
		if got.RestartCount >= 2 && strings.Count(logs(t, e, c.ID), "run\n") >= 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not restarted: %+v, log %q", got.State, logs(t, e, c.ID))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.Stop(context.Background(), c.ID, nil, ""); err != nil && !errors.Is(err, container.ErrNotModified) {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	got, _ := e.Get(c.ID)
	if got.State.Running() {
		t.Errorf("restarted after a stop: %+v", got.State)
	}
}

func TestOnFailureRetries(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", "echo run; exit 2")
	spec.RestartPolicy = container.RestartPolicy{Name: container.RestartOnFailure, MaximumRetryCount: 2}
	c := startDetached(t, e, spec)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got, _ := e.Get(c.ID)
		if got.RestartCount == 2 && got.State.Status == container.StatusExited {
			time.Sleep(500 * time.Millisecond)
			if n := strings.Count(logs(t, e, c.ID), "run\n"); n != 3 {
				t.Errorf("ran %d times, want 3 (the first and two retries)", n)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, _ := e.Get(c.ID)
	t.Fatalf("retries did not finish: %+v restarts %d", got.State, got.RestartCount)
}

func TestAutoRemove(t *testing.T) {
	e := newEngine(t)
	spec := busybox("true")
	spec.AutoRemove = true
	c := startDetached(t, e, spec)
	st, err := e.Wait(context.Background(), c.ID, "removed")
	if err != nil || st.Code != 0 {
		t.Fatalf("wait removed: %+v %v", st, err)
	}
	if _, err := e.Get(c.ID); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("still there: %v", err)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("directory left: %v", err)
	}
}

func TestPauseTopStats(t *testing.T) {
	e := newEngine(t)
	c := startDetached(t, e, busybox("sleep", "1000"))
	titles, rows, err := e.Top(c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(titles) == 0 || len(rows) != 2 || !strings.Contains(strings.Join(rows[1], " "), "sleep 1000") {
		t.Errorf("top: %v %v, want the init and sleep", titles, rows)
	}
	st, err := e.Stats(context.Background(), c.ID)
	if err != nil || st.Pids.Current < 2 || st.Memory.Usage == 0 {
		t.Errorf("stats: %+v %v", st, err)
	}
	if err := e.Pause(c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Get(c.ID); got.State.Status != container.StatusPaused {
		t.Errorf("status %s after pause", got.State.Status)
	}
	if err := e.Pause(c.ID); !errors.Is(err, container.ErrConflict) {
		t.Errorf("pausing twice: %v", err)
	}
	if err := e.Unpause(c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Get(c.ID); got.State.Status != container.StatusRunning {
		t.Errorf("status %s after unpause", got.State.Status)
	}
	// A paused container still stops.
	if err := e.Pause(c.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Remove(context.Background(), c.ID, false, false); !errors.Is(err, container.ErrConflict) {
		t.Errorf("removing a paused container without force: %v", err)
	}
	if err := e.Stop(context.Background(), c.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
}

func TestConfig(t *testing.T) {
	e := newEngine(t)
	vol := t.TempDir()
	os.WriteFile(filepath.Join(vol, "f"), []byte("from the host\n"), 0o644)
	spec := busybox("sh", "-c", `id; pwd; echo $FOO $HOSTNAME; cat /mnt/f; touch /mnt/g 2>&1; mount | grep ' /t type tmpfs' | grep -c 'nosuid,nodev,relatime,size=1024k'; cat /etc/hostname; ls /named`)
	spec.User = "nobody"
	spec.WorkingDir = "/made/here"
	spec.Env = []string{"FOO=bar"}
	spec.Hostname = "box"
	spec.Binds = []string{vol + ":/mnt:ro", "berth-test-vol:/named"}
	spec.Tmpfs = map[string]string{"/t": "size=1m,exec"}
	st, log := run(t, e, spec)
	want := []string{"uid=65534(nobody) gid=65534(nogroup)", "/made/here", "bar box", "from the host", "Read-only file system", "1\nbox\n"}
	for _, w := range want {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	if st.Code != 0 {
		t.Errorf("exit %d", st.Code)
	}
	v, err := e.InspectVolume("berth-test-vol")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveVolume(v.Name, false); !errors.Is(err, container.ErrConflict) {
		t.Errorf("removing a volume in use: %v", err)
	}
	list, _ := e.List(true)
	for _, c := range list {
		e.Remove(context.Background(), c.ID, true, true)
	}
	if err := e.RemoveVolume(v.Name, false); err != nil {
		t.Errorf("removing a volume no longer in use: %v", err)
	}
}

func TestReadonlyRootfsAndSecurityOpts(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", "touch /x 2>&1; grep -E 'NoNewPrivs|Seccomp:' /proc/self/status")
	spec.ReadonlyRootfs = true
	spec.SecurityOpt = []string{"no-new-privileges", "seccomp=unconfined"}
	_, log := run(t, e, spec)
	for _, w := range []string{"Read-only file system", "NoNewPrivs:\t1", "Seccomp:\t0"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	bad := busybox("true")
	bad.SecurityOpt = []string{"apparmor=foo"}
	if _, _, err := e.Create(context.Background(), bad); !errors.Is(err, container.ErrInvalid) || !strings.Contains(err.Error(), "apparmor=foo") {
		t.Errorf("unknown security opt: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	root := filepath.Dir(filepath.Dir(mustGetDir(t, e)))
	if _, _, err := e.Create(ctx, busybox()); err == nil {
		// busybox's Cmd is sh: fine; the missing-image case follows.
	}
	for _, tc := range []struct {
		name string
		spec container.CreateSpec
		kind error
		msg  string
	}{
		{"image", container.CreateSpec{Config: container.Config{Image: "nosuch:1"}}, container.ErrNotFound, "No such image: nosuch:1"},
		{"name", container.CreateSpec{Name: "a b", Config: container.Config{Image: "busybox:1.35"}}, container.ErrInvalid, "Invalid container name"},
		{"restart", container.CreateSpec{Config: container.Config{Image: "busybox:1.35"}, HostConfig: container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "sometimes"}}}, container.ErrInvalid, "invalid restart policy"},
		{"bind", container.CreateSpec{Config: container.Config{Image: "busybox:1.35"}, HostConfig: container.HostConfig{Binds: []string{"/x:rel"}}}, container.ErrInvalid, "must be absolute"},
		{"network", container.CreateSpec{Config: container.Config{Image: "busybox:1.35"}, HostConfig: container.HostConfig{NetworkMode: "bridge"}}, container.ErrNotImplemented, "bridge"},
		{"cap", container.CreateSpec{Config: container.Config{Image: "busybox:1.35"}, HostConfig: container.HostConfig{CapAdd: []string{"CAP_NOPE"}}}, container.ErrInvalid, "NOPE"},
	} {
		if _, _, err := e.Create(ctx, tc.spec); !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %v with %q", tc.name, err, tc.kind, tc.msg)
		}
	}
	if err := e.Start(ctx, "nosuch"); !errors.Is(err, container.ErrNotFound) || err.Error() != "No such container: nosuch" {
		t.Errorf("unknown container: %v", err)
	}
	spec := busybox("true")
	spec.User = "nosuchuser"
	spec.AutoRemove = true
	c, _, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	err = e.Start(ctx, c.ID)
	if err == nil || !strings.Contains(err.Error(), "unable to find user nosuchuser") {
		t.Errorf("bad user: %v", err)
	}
	list, _ := e.List(true)
	for _, c := range list {
		e.Remove(ctx, c.ID, true, true)
	}
	if l := leftovers(root); len(l) > 0 {
		t.Errorf("bad input left: %v", l)
	}
	spec.Name = "dup"
	spec.AutoRemove = false
	if _, _, err := e.Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Create(ctx, spec); !errors.Is(err, container.ErrConflict) || !strings.Contains(err.Error(), `"/dup" is already in use`) {
		t.Errorf("name conflict: %v", err)
	}
}

// mustGetDir returns a path inside the engine's data root.
func mustGetDir(t *testing.T, e *container.Engine) string {
	c, _, err := e.Create(context.Background(), busybox("true"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Remove(context.Background(), c.ID, true, true)
	return c.Dir
}

func TestLogs(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", "echo out; echo err >&2; i=0; while [ $i -lt 5 ]; do echo line$i; i=$((i+1)); sleep 0.1; done")
	spec.LogConfig = container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "200", "max-file": "3"}}
	c := startDetached(t, e, spec)
	r, err := e.Logs(context.Background(), c.ID, container.LogOptions{Follow: true, Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		en, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, en.Stream+":"+strings.TrimSpace(string(en.Line)))
	}
	r.Close()
	all := strings.Join(got, " ")
	if !strings.Contains(all, "stderr:err") || !strings.HasSuffix(all, "stdout:line4") {
		t.Errorf("followed %v", got)
	}
	r, _ = e.Logs(context.Background(), c.ID, container.LogOptions{Tail: 2, Stdout: true})
	var tail []string
	for {
		en, err := r.Next()
		if err != nil {
			break
		}
		tail = append(tail, strings.TrimSpace(string(en.Line)))
	}
	r.Close()
	if strings.Join(tail, " ") != "line3 line4" {
		t.Errorf("tail 2: %v", tail)
	}
	if rotated, _ := filepath.Glob(c.LogPath + ".*"); len(rotated) == 0 {
		t.Errorf("max-size 200 did not rotate the log")
	}
}

// TestEngineKilled: containers outlive a kill -9 of the engine; a new
// engine adopts them.
func TestEngineKilled(t *testing.T) {
	images(t) // root, and the archives are there
	root := t.TempDir()
	storeRoot := t.TempDir()
	s, err := image.Open(storeRoot)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(testvm.ImageArchive(t, "busybox.oci.tar"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Load(context.Background(), f, nil)
	f.Close()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), "BERTH_TEST_ENGINE="+root, "BERTH_TEST_IMAGES="+storeRoot,
		"BERTH_TEST_PARENT="+testParent, "BERTH_TEST_RUN=echo started; exec sleep 1000|always:echo again; sleep 0.3")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	// The monitors are orphaned when the engine dies: adopt them so that
	// this process reaps them.
	setSubreaper(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	buf := make([]byte, 200)
	var acc string
	for len(ids) < 2 {
		n, err := out.Read(buf)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("engine process: %v (%q)", err, acc)
		}
		acc += string(buf[:n])
		ids = strings.Fields(acc)
	}
	cmd.Process.Kill()
	cmd.Wait()
	time.Sleep(100 * time.Millisecond)

	if s, err = image.Open(storeRoot); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := openEngine(t, root, s)
	c, err := e.Get(ids[0])
	if err != nil || c.State.Status != container.StatusRunning {
		t.Fatalf("after the engine's death: %+v %v", c, err)
	}
	list, _ := e.List(false)
	if len(list) < 1 {
		t.Errorf("ps lists %d running", len(list))
	}
	if l := logs(t, e, ids[0]); l != "started\n" {
		t.Errorf("logs %q", l)
	}
	// The always container keeps coming back, now restarted by this engine.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, _ := e.Get(ids[1]); got.RestartCount >= 1 {
			break
		}
		if time.Now().After(deadline) {
			got, _ := e.Get(ids[1])
			t.Fatalf("the always container was not restarted: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.Stop(context.Background(), ids[0], nil, ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := e.Remove(context.Background(), id, true, true); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLeak(t *testing.T) {
	e := newEngine(t)
	n := 50
	if testing.Short() {
		n = 5
	}
	for i := 0; i < n; i++ {
		spec := busybox("true")
		spec.AutoRemove = i%2 == 0
		c, _, err := e.Create(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(context.Background(), c.ID); err != nil {
			t.Fatal(err)
		}
		if spec.AutoRemove {
			_, err = e.Wait(context.Background(), c.ID, "removed")
		} else {
			_, err = e.Wait(context.Background(), c.ID, "not-running")
			if err == nil {
				err = e.Remove(context.Background(), c.ID, false, true)
			}
		}
		if err != nil && !errors.Is(err, container.ErrNotFound) {
			t.Fatal(err)
		}
	}
	// The engine's cleanup asserts the rest (mounts, cgroups, processes, state).
}

func setSubreaper(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
}

func TestHostNetwork(t *testing.T) {
	e := newEngine(t)
	spec := busybox("sh", "-c", "hostname; cat /proc/net/dev | wc -l")
	spec.NetworkMode = container.NetworkHost
	_, log := run(t, e, spec)
	host, _ := os.Hostname()
	hostDev, _ := os.ReadFile("/proc/net/dev")
	want := fmt.Sprintf("%s\n%d\n", host, strings.Count(string(hostDev), "\n"))
	if log != want {
		t.Errorf("host network: %q, want %q", log, want)
	}
	spec.NetworkMode = container.NetworkNone
	if _, log := run(t, e, spec); strings.HasPrefix(log, host+"\n") || !strings.HasSuffix(log, "\n3\n") {
		t.Errorf("network none: %q, want its own hostname and only lo", log)
	}
}

// TestSealedExecutable: the monitor and the init run from the engine's
// sealed memfd, which nobody can write to (CVE-2019-5736).
func TestSealedExecutable(t *testing.T) {
	e := newEngine(t)
	c := startDetached(t, e, busybox("sleep", "1000"))
	for _, pid := range []int{c.State.Pid, c.State.MonitorPid} {
		exe := fmt.Sprintf("/proc/%d/exe", pid)
		target, err := os.Readlink(exe)
		if err != nil || !strings.HasPrefix(target, "/memfd:berth") {
			t.Errorf("process %d runs %q (%v), want the sealed memfd", pid, target, err)
		}
		if f, err := os.OpenFile(exe, os.O_WRONLY, 0); err == nil {
			f.Close()
			t.Errorf("process %d: its executable opened for writing", pid)
		}
	}
	if err := e.Stop(context.Background(), c.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
}

func TestVolumesAndPrune(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	spec := busybox("sh", "-c", "cat /v/f 2>/dev/null; echo kept > /v/f")
	spec.Binds = []string{"data1:/v"}
	if _, log := run(t, e, spec); log != "" {
		t.Errorf("first run saw %q", log)
	}
	if _, log := run(t, e, spec); log != "kept\n" {
		t.Errorf("second run saw %q, want the volume's content", log)
	}
	anon, err := e.CreateVolume("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	vols, _ := e.ListVolumes()
	if len(vols) != 2 {
		t.Errorf("volumes %v", vols)
	}
	spec.Labels = map[string]string{"keep": "no"}
	run(t, e, spec)
	ids, _, err := e.Prune(ctx, container.PruneFilter{Labels: []string{"keep=no"}})
	if err != nil || len(ids) != 1 {
		t.Errorf("prune by label removed %v (%v), want one", ids, err)
	}
	ids, _, err = e.Prune(ctx, container.PruneFilter{})
	if err != nil || len(ids) != 2 {
		t.Errorf("prune removed %v (%v), want the other two", ids, err)
	}
	names, _, err := e.PruneVolumes(false, nil, nil)
	if err != nil || len(names) != 1 || names[0] != anon.Name {
		t.Errorf("volume prune removed %v (%v), want only the anonymous %s", names, err, anon.Name)
	}
	names, _, _ = e.PruneVolumes(true, nil, nil)
	if len(names) != 1 || names[0] != "data1" {
		t.Errorf("volume prune all removed %v", names)
	}
}
