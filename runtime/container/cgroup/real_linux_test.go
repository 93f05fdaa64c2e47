package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Root tests: real cgroups on this host (v1 or hybrid for the v1 tests; any
// cgroup2 mount, the hybrid's unified one included, for the v2 tests). All
// live under testParent, which TestMain sweeps away at the end whatever
// happened, so a failed test leaves no cgroup behind.

var testParent = fmt.Sprintf("berth-test-%d", os.Getpid())

const cgroupRoot = "/sys/fs/cgroup"

func TestMain(m *testing.M) {
	if action := os.Getenv("BERTH_CGROUP_HELPER"); action != "" {
		helper(strings.Fields(action))
		os.Exit(0)
	}
	code := m.Run()
	if os.Geteuid() == 0 {
		if err := sweep(); err != nil {
			fmt.Fprintln(os.Stderr, "cleaning up test cgroups:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// sweep removes every testParent* tree in every cgroup mount, killing what
// runs there.
func sweep() error {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	mounts, err := parseMountInfo(mi)
	if err != nil {
		return err
	}
	var errs []error
	for _, mt := range mounts {
		dirs, _ := filepath.Glob(filepath.Join(mt.point, testParent+"*"))
		for _, d := range dirs {
			filepath.Walk(d, func(p string, info os.FileInfo, err error) error {
				if err == nil && info.Name() == "cgroup.procs" {
					b, _ := os.ReadFile(p)
					for _, f := range strings.Fields(string(b)) {
						if pid, _ := strconv.Atoi(f); pid > 0 && pid != os.Getpid() {
							unix.Kill(pid, unix.SIGKILL)
						}
					}
				}
				return nil
			})
			if err := removeTree(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// helper is the child process the tests run inside cgroups: it waits for a
// byte on stdin (the runtime's handshake: the parent adds it to the cgroup
// first), then does one thing.
func helper(args []string) {
	io.ReadFull(os.Stdin, make([]byte, 1))
	switch args[0] {
	case "open":
		f, err := os.Open(args[1])
		var errno syscall.Errno
		switch {
		case err == nil:
			f.Close()
			fmt.Println("ok")
		case errors.As(err, &errno):
			fmt.Printf("errno=%d\n", int(errno))
		default:
			fmt.Println(err)
		}
	case "alloc":
		var keep [][]byte
		for i, a := range args[1:] {
			mib, _ := strconv.Atoi(a)
			b := make([]byte, mib<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
			fmt.Printf("allocated %d MiB\n", mib)
			if i < len(args)-2 {
				io.ReadFull(os.Stdin, make([]byte, 1))
			}
		}
		_ = keep
	case "spin":
		fmt.Println("spinning")
		for {
		}
	case "cgroup":
		b, _ := os.ReadFile("/proc/self/cgroup")
		os.Stdout.Write(b)
	}
}

type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

func startHelper(t *testing.T, attr *syscall.SysProcAttr, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BERTH_CGROUP_HELPER="+strings.Join(args, " "))
	cmd.SysProcAttr = attr
	cmd.Stderr = os.Stderr
	return start(t, cmd)
}

func start(t *testing.T, cmd *exec.Cmd) *child {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, in: in, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return c
}

// proceed ends the handshake.
func (c *child) proceed(t *testing.T) {
	t.Helper()
	if _, err := c.in.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
}

func (c *child) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			t.Fatal("the helper ended without a word")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("the helper said nothing for 10 s")
	}
	return ""
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes real cgroups")
	}
}

// v1Manager makes a manager for a real v1 or hybrid host and destroys its
// cgroup when the test ends.
func v1Manager(t *testing.T, id string, opts ...Option) *Manager {
	t.Helper()
	requireRoot(t)
	mode, err := DetectMode()
	if err != nil {
		t.Fatal(err)
	}
	if mode == ModeV2 {
		t.Skip("this host is cgroup v2; the v1 tests need v1 controllers")
	}
	m, err := New(cgroupRoot, mode, id, append([]Option{Parent(testParent)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { destroy(t, m) })
	return m
}

func destroy(t *testing.T, m *Manager) {
	t.Helper()
	if pids, err := m.Procs(); err == nil && len(pids) > 0 {
		if err := m.Kill(unix.SIGKILL); err != nil {
			t.Error(err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Error(err)
	}
	for _, d := range m.leaves() {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", d, err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func waitEmpty(t *testing.T, m *Manager) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		pids, err := m.Procs()
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v still in the cgroup", pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestV1Limits: the kernel takes every value Create and Update write, in
// the order they write them, and Destroy leaves nothing. It uses the real
// parent, berth/, as the daemon does.
func TestV1Limits(t *testing.T) {
	requireRoot(t)
	id := fmt.Sprintf("berth-cgroup-test-%d", os.Getpid())
	mode, _ := DetectMode()
	if mode == ModeV2 {
		t.Skip("this host is cgroup v2")
	}
	// Leave /sys/fs/cgroup/*/berth as we found it.
	parents, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", DefaultParent))
	existed := map[string]bool{}
	for _, p := range parents {
		existed[p] = true
	}
	t.Cleanup(func() {
		all, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", DefaultParent))
		for _, p := range all {
			if !existed[p] {
				unix.Rmdir(p) // fails, rightly, if someone else's cgroup is inside
			}
		}
	})
	m, err := New(cgroupRoot, mode, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { destroy(t, m) })

	const mi = 1 << 20
	if err := m.Create(Resources{MemoryBytes: 64 * mi, MemorySwapBytes: 128 * mi, NanoCPUs: 1.5e9, CPUShares: 512, PidsLimit: 7, CPUSetCPUs: "0"}); err != nil {
		t.Fatal(err)
	}
	file := func(controller, name string) string {
		d := m.dir(controller)
		if d == "" {
			t.Skipf("no %s hierarchy", controller)
		}
		return readFile(t, filepath.Join(d, name))
	}
	expect := func(controller, name, want string) {
		t.Helper()
		if got := file(controller, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	expect("cpu", "cpu.cfs_period_us", "100000")
	expect("cpu", "cpu.cfs_quota_us", "150000")
	expect("cpu", "cpu.shares", "512")
	expect("pids", "pids.max", "7")
	expect("memory", "memory.limit_in_bytes", "67108864")
	expect("cpuset", "cpuset.cpus", "0")
	expect("cpuset", "cpuset.mems", readFile(t, filepath.Join(cgroupRoot, "cpuset", "cpuset.mems")))
	if _, err := os.Stat(filepath.Join(m.dir("memory"), "memory.memsw.limit_in_bytes")); err == nil {
		expect("memory", "memory.memsw.limit_in_bytes", "134217728")
	}
	want := "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\nc 5:0 rwm\nc 5:1 rwm\nc 5:2 rwm\nc 136:* rwm\nc 10:200 rwm"
	expect("devices", "devices.list", want)
	if mode == ModeHybrid {
		if _, err := os.Stat(m.unified); err != nil {
			t.Errorf("no cgroup in the hybrid's cgroup2 mount: %v", err)
		}
	}

	// Down below the old memory limit, up above the old memsw, then off:
	// each needs the right order of the two memory writes.
	for _, r := range []Resources{
		{MemoryBytes: 32 * mi, MemorySwapBytes: 32 * mi},
		{MemoryBytes: 256 * mi, MemorySwapBytes: 512 * mi},
		{MemoryBytes: 16 * mi, MemorySwapBytes: -1},
		{},
	} {
		if err := m.Update(r); err != nil {
			t.Fatalf("Update(%d, %d): %v", r.MemoryBytes, r.MemorySwapBytes, err)
		}
		if r.MemoryBytes > 0 {
			expect("memory", "memory.limit_in_bytes", strconv.FormatInt(r.MemoryBytes, 10))
		}
	}
	if l, _ := readUint(filepath.Join(m.dir("memory"), "memory.limit_in_bytes")); l < v1Unlimited {
		t.Errorf("memory limit %d after Update to none", l)
	}
	expect("cpu", "cpu.cfs_quota_us", "-1")
	expect("cpu", "cpu.shares", "1024")
	expect("pids", "pids.max", "max")
	expect("cpuset", "cpuset.cpus", readFile(t, filepath.Join(cgroupRoot, "cpuset", "cpuset.cpus")))

	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", DefaultParent, id))
	if len(left) > 0 {
		t.Errorf("Destroy left %v", left)
	}
}

// TestV1OOM: over its memory limit a process is OOM-killed, and OOMKilled
// says so.
func TestV1OOM(t *testing.T) {
	m := v1Manager(t, "oom")
	const mi = 1 << 20
	if err := m.Create(Resources{MemoryBytes: 32 * mi, MemorySwapBytes: 32 * mi}); err != nil {
		t.Fatal(err)
	}
	c := startHelper(t, nil, "alloc", "8", "64")
	if err := m.AddProc(c.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	c.proceed(t)
	if l := c.line(t); l != "allocated 8 MiB" {
		t.Fatalf("helper: %q", l)
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Memory.Usage < 8*mi || st.Memory.Limit != 32*mi || st.Memory.RSS < 8*mi || st.Pids.Current < 1 || st.CPU.TotalNanos == 0 {
		t.Errorf("Stats while running: %+v", st)
	}
	if oom, err := m.OOMKilled(); oom || err != nil {
		t.Fatalf("OOMKilled before the allocation: %v, %v", oom, err)
	}
	c.proceed(t)
	err = c.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the helper ended with %v, want killed by SIGKILL", err)
	}
	if oom, err := m.OOMKilled(); !oom || err != nil {
		t.Errorf("OOMKilled after the kill: %v, %v", oom, err)
	}
	if st, err := m.Stats(); err != nil || st.Memory.MaxUsage < 31*mi {
		t.Errorf("Stats after the kill: %+v, %v", st, err)
	}
}

// TestV1Pids: with pids.max 5 the shell's fifth child cannot be forked.
func TestV1Pids(t *testing.T) {
	m := v1Manager(t, "pids")
	if err := m.Create(Resources{PidsLimit: 5}); err != nil {
		t.Fatal(err)
	}
	// The sleeps let go of stderr, so that Wait returns when sh does.
	cmd := exec.Command("sh", "-c", "read x; for i in 1 2 3 4 5 6; do sleep 9 >/dev/null 2>&1 & done; wait")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	c := start(t, cmd)
	if err := m.AddProc(c.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	c.in.Write([]byte("go\n"))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(strings.ToLower(stderr.String()), "fork") {
			t.Errorf("sh: %v, stderr %q; want a failed fork", err, stderr.String())
		}
		t.Logf("sh: %v: %s", err, strings.TrimSpace(stderr.String()))
	case <-time.After(8 * time.Second):
		t.Fatal("all six forks succeeded")
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pids.Current != 4 || st.Pids.Limit != 5 {
		t.Errorf("pids %+v, want the 4 sleeps and the limit 5", st.Pids)
	}
	// The orphaned sleeps are the Kill's to end.
	if err := m.Kill(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, m)
}

// TestV1FreezeKill: a frozen process gets no CPU time, a thawed one does,
// and Kill ends it.
func TestV1FreezeKill(t *testing.T) {
	m := v1Manager(t, "freeze")
	if err := m.Create(Resources{}); err != nil {
		t.Fatal(err)
	}
	testFreezeKill(t, m, startHelper(t, nil, "spin"), true)
}

func testFreezeKill(t *testing.T, m *Manager, c *child, add bool) {
	if add {
		if err := m.AddProc(c.cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	c.proceed(t)
	c.line(t)
	cpu := func() uint64 {
		st, err := m.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st.CPU.TotalNanos
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	u1 := cpu()
	time.Sleep(300 * time.Millisecond)
	u2 := cpu()
	if u2-u1 > uint64(time.Millisecond) {
		t.Errorf("frozen, the spinner used %v of CPU in 300 ms", time.Duration(u2-u1))
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if u3 := cpu(); u3-u2 < uint64(30*time.Millisecond) {
		t.Errorf("thawed, the spinner used only %v of CPU in 300 ms", time.Duration(u3-u2))
	}
	if err := m.Kill(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := c.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the spinner ended with %v, want SIGKILL", err)
	}
	waitEmpty(t, m)
}

// mknodDevices makes /dev/mem-like (1:1) and /dev/null-like (1:3) nodes.
func mknodDevices(t *testing.T) (mem, null string) {
	dir := t.TempDir()
	mem, null = filepath.Join(dir, "mem"), filepath.Join(dir, "null")
	if err := unix.Mknod(mem, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 1))); err != nil {
		t.Skipf("mknod: %v", err)
	}
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	// Outside any device rule, 1:1 opens or fails for its own reason.
	c := startHelper(t, nil, "open", mem)
	c.proceed(t)
	if got := c.line(t); got == "errno=1" {
		t.Fatalf("the mem node is refused even outside the cgroup")
	}
	return mem, null
}

// TestV1Devices: Docker's default list refuses a /dev/mem-like node and
// lets /dev/null through.
func TestV1Devices(t *testing.T) {
	m := v1Manager(t, "devices")
	mem, null := mknodDevices(t)
	if err := m.Create(Resources{}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{mem: "errno=1", null: "ok"} {
		c := startHelper(t, nil, "open", path)
		if err := m.AddProc(c.cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		c.proceed(t)
		if got := c.line(t); got != want {
			t.Errorf("open %s in the cgroup: %s, want %s", filepath.Base(path), got, want)
		}
		c.cmd.Wait()
	}
}

// TestV1Cleanup: stale cgroups go, with what runs in them; kept ones stay.
func TestV1Cleanup(t *testing.T) {
	requireRoot(t)
	parent := Parent(testParent + "-cleanup")
	keep := v1Manager(t, "keep1", parent)
	stale1 := v1Manager(t, "stale1", parent)
	stale2 := v1Manager(t, "stale2", parent)
	for _, m := range []*Manager{keep, stale1, stale2} {
		if err := m.Create(Resources{}); err != nil {
			t.Fatal(err)
		}
	}
	c := startHelper(t, nil, "spin")
	if err := stale1.AddProc(c.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	removed, err := Cleanup(cgroupRoot, stale1.mode, func(id string) bool { return id == "keep1" }, parent)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, " ") != "stale1 stale2" {
		t.Errorf("Cleanup removed %q", removed)
	}
	if err := c.cmd.Wait(); err == nil {
		t.Error("the process in the stale cgroup survived")
	}
	for _, m := range []*Manager{stale1, stale2} {
		for _, d := range m.leaves() {
			if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %v", d, err)
			}
		}
	}
	for _, d := range keep.leaves() {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("kept cgroup: %v", err)
		}
	}
}

// TestV2Real runs the v2 code on a real cgroup2 mount: the host's root on a
// v2 host, the unified mount on a hybrid one (no controllers there, but the
// device program, freezing, cgroup.kill and CLONE_INTO_CGROUP are all core
// cgroup2 features, which the kernel enforces in hybrid mode too).
func TestV2Real(t *testing.T) {
	requireRoot(t)
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	mounts, _ := parseMountInfo(mi)
	root := ""
	for _, mt := range mounts {
		if mt.v2 && under(mt.point, cgroupRoot) {
			root = mt.point
			break
		}
	}
	if root == "" {
		t.Skip("no cgroup2 mount under /sys/fs/cgroup")
	}
	m, err := New(root, ModeV2, "v2", Parent(testParent))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { destroy(t, m) })
	mem, null := mknodDevices(t)
	for range 2 { // the second Create replaces the device program
		if err := m.Create(Resources{}); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := m.DirFD()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	q, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Programs) != 1 {
		t.Errorf("%d device programs attached, want 1", len(q.Programs))
	}
	into := &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}

	c := startHelper(t, into, "cgroup")
	c.proceed(t)
	want := "0::/" + m.Path()
	got := c.line(t)
	for !strings.HasPrefix(got, "0::") { // v1 lines come first on a hybrid host
		got = c.line(t)
	}
	if got != want {
		t.Errorf("/proc/self/cgroup says %q, want %q", got, want)
	}
	c.cmd.Wait()

	for path, want := range map[string]string{mem: "errno=1", null: "ok"} {
		c := startHelper(t, into, "open", path)
		c.proceed(t)
		if got := c.line(t); got != want {
			t.Errorf("open %s under the device program: %s, want %s", filepath.Base(path), got, want)
		}
		c.cmd.Wait()
	}

	testFreezeKill(t, m, startHelper(t, into, "spin"), false)
}

// BenchmarkV1CreateDestroy is the cgroup share of `run --rm`: New, Create
// with a memory and a pids limit and the default devices, AddProc, Destroy.
func BenchmarkV1CreateDestroy(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: makes real cgroups")
	}
	mode, err := DetectMode()
	if err != nil || mode == ModeV2 {
		b.Skip("needs a v1 or hybrid host")
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		m, err := New(cgroupRoot, mode, fmt.Sprintf("bench%d", i), Parent(testParent), MountInfo(mi))
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Create(Resources{MemoryBytes: 64 << 20, PidsLimit: 100}); err != nil {
			b.Fatal(err)
		}
		if err := m.AddProc(0); err == nil {
			b.Fatal("pid 0 was accepted")
		}
		if err := m.Destroy(); err != nil {
			b.Fatal(err)
		}
	}
}

// The main goroutine keeps the main thread, so that a test's locked
// goroutine never gets it: a thread moved into a cgroup must end with its
// goroutine, and the main thread never ends (TestV1JoinThread).
func init() { runtime.LockOSThread() }

// TestV1JoinThread: a thread that joins moves alone, and what it forks is
// born in the cgroup; the rest of the process stays where it was.
func TestV1JoinThread(t *testing.T) {
	m := v1Manager(t, "pids")
	if err := m.Create(Resources{}); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, "/proc/self/cgroup")
	type result struct {
		own string
		pid int
		err error
	}
	done := make(chan result, 1)
	go func() {
		// The thread is changed for good: it ends with this goroutine.
		runtime.LockOSThread()
		var r result
		if unix.Gettid() == os.Getpid() {
			r.err = errors.New("the test goroutine runs on the main thread")
			done <- r
			return
		}
		if r.err = m.JoinThread(); r.err == nil {
			b, _ := os.ReadFile("/proc/thread-self/cgroup")
			r.own = string(b)
			cmd := exec.Command("sleep", "30")
			if r.err = cmd.Start(); r.err == nil {
				r.pid = cmd.Process.Pid
				go cmd.Wait()
			}
		}
		done <- r
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !strings.Contains(r.own, m.Path()) {
		t.Errorf("the joined thread's cgroups:\n%s\nlack %s", r.own, m.Path())
	}
	if after := readFile(t, "/proc/self/cgroup"); after != before {
		t.Errorf("the process moved:\n%s\nwas\n%s", after, before)
	}
	// The joined thread ends with its goroutine: then the cgroup holds
	// the forked process alone (a Kill must not freeze this test).
	deadline := time.Now().Add(5 * time.Second)
	for {
		procs, err := m.Procs()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(procs, os.Getpid()) {
			if !slices.Contains(procs, r.pid) {
				t.Errorf("the forked process %d is not in the cgroup: %v", r.pid, procs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the joined thread did not end: %v", procs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := m.Kill(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, m)
}

// TestV1Adopt: a cgroup made ahead becomes the container's under its own
// name, with the limits asked for; the spare's name is gone.
func TestV1Adopt(t *testing.T) {
	spare := v1Manager(t, "spare-adopt")
	if err := spare.Create(Resources{}); err != nil {
		t.Fatal(err)
	}
	m := v1Manager(t, "adopted")
	if err := m.Adopt("spare-adopt", Resources{PidsLimit: 9, MemoryBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	for _, h := range m.v1 {
		if _, err := os.Stat(h.dir); err != nil {
			t.Errorf("%s: %v", h.dir, err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(h.dir), "spare-adopt")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the spare's directory stays in %s: %v", h.mount, err)
		}
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(m.dir("pids"), "pids.max"))); got != "9" {
		t.Errorf("pids.max %q after the adoption", got)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(m.dir("memory"), "memory.limit_in_bytes"))); got != strconv.Itoa(64<<20) {
		t.Errorf("memory.limit_in_bytes %q after the adoption", got)
	}
	// Nothing to adopt: an error, and nothing made in the container's place.
	other := v1Manager(t, "adopted-2")
	if err := other.Adopt("spare-missing", Resources{}); err == nil {
		t.Error("adopting a missing spare succeeded")
	}
	for _, h := range other.v1 {
		if _, err := os.Stat(h.dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a failed adoption", h.dir)
		}
	}
}
