package container_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/container/cgroup"
	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/testvm"
)

// TestMain lets the test binary play the roles the berth binary plays:
// the engine seals this binary and runs it as every container's monitor
// and init. BERTH_TEST_ENGINE runs an engine in a subprocess (for the
// kill -9 test).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "container-monitor":
			os.Exit(container.MonitorMain(os.Args[2:]))
		case "container-init":
			os.Exit(container.InitMain(os.Args[2:]))
		case "container-exec":
			os.Exit(container.ExecMain(os.Args[2:]))
		}
	}
	if os.Getenv("BERTH_TEST_ENGINE") != "" {
		os.Exit(engineProcess())
	}
	code := m.Run()
	removeCgroupParent()
	if store != nil {
		store.Close()
		os.RemoveAll(storeDir)
	}
	os.Exit(code)
}

// testParent keeps this run's cgroups apart from a real engine's and from
// other test binaries'.
var testParent = "berth-test-" + strconv.Itoa(os.Getpid())

func removeCgroupParent() {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + testParent)
	for _, d := range dirs {
		unix.Rmdir(d)
	}
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("containers need root (namespaces, mounts, cgroups); CI runs as root")
	}
}

var (
	storeOnce sync.Once
	store     *image.Store
	storeDir  string // removed by TestMain
	storeErr  error
)

// images is one image store per test process with busybox, nginx and
// layered loaded from ../shared/images.
func images(t testing.TB) *image.Store {
	t.Helper()
	requireRoot(t)
	storeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "berth-images-")
		if err != nil {
			storeErr = err
			return
		}
		storeDir = dir
		store, storeErr = image.Open(dir)
		if storeErr != nil {
			return
		}
		for _, a := range []string{"busybox.oci.tar", "layered.oci.tar"} {
			f, err := os.Open(testvm.ImageArchive(t, a))
			if err != nil {
				storeErr = err
				return
			}
			_, err = store.Load(context.Background(), f, nil)
			f.Close()
			if err != nil {
				storeErr = fmt.Errorf("loading %s: %w", a, err)
				return
			}
		}
	})
	if storeErr != nil {
		t.Fatal(storeErr)
	}
	return store
}

// newEngine opens an engine on a fresh data root and, when the test ends,
// removes every container and checks that nothing is left: no mount, no
// cgroup, no process, no container directory.
func newEngine(t testing.TB, opts ...container.Option) *container.Engine {
	t.Helper()
	s := images(t)
	root := t.TempDir()
	return openEngine(t, root, s, opts...)
}

func openEngine(t testing.TB, root string, s *image.Store, opts ...container.Option) *container.Engine {
	t.Helper()
	opts = append([]container.Option{container.WithCgroupParent(testParent), container.WithDefaultNetwork(container.NetworkNone)}, opts...)
	e, err := container.New(root, s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		list, _ := e.List(true)
		for _, c := range list {
			if err := e.Remove(context.Background(), c.ID, true, true); err != nil && !errors.Is(err, container.ErrNotFound) {
				t.Errorf("removing %s: %v", c.ID, err)
			}
		}
		e.Close()
		assertClean(t, root)
	})
	return e
}

// assertClean fails the test if anything of the data root is left, and
// removes it.
func assertClean(t testing.TB, root string) {
	t.Helper()
	leaks := leftovers(root)
	// The spare monitor's cgroup is the engine's while it lives; Close
	// removes it.
	spares, _ := filepath.Glob("/sys/fs/cgroup/*/" + testParent + "/spare-*")
	for _, d := range spares {
		leaks = append(leaks, "cgroup: "+d)
	}
	if len(leaks) > 0 {
		t.Errorf("left behind:\n%s", strings.Join(leaks, "\n"))
		killLeftovers(root)
	}
}

func leftovers(root string) []string {
	var out []string
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, root) {
			out = append(out, "mount: "+l)
		}
	}
	for _, d := range listCgroups() {
		out = append(out, "cgroup: "+d)
	}
	for _, p := range processesUnder(root) {
		out = append(out, "process: "+p)
	}
	// A removed container's directory is deleted in the background: it
	// is a leftover only if it stays.
	var ents []os.DirEntry
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ents, _ = os.ReadDir(filepath.Join(root, "containers"))
		removing := slices.ContainsFunc(ents, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), ".removed-") })
		if !removing || time.Now().After(deadline) {
			break
		}
	}
	for _, e := range ents {
		if e.Name() != ".lock" {
			out = append(out, "state: "+e.Name())
		}
	}
	return out
}

func listCgroups() []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + testParent + "/*")
	var out []string
	for _, d := range dirs {
		if strings.HasPrefix(filepath.Base(d), "spare-") {
			continue // a spare monitor's, made ahead (see assertClean)
		}
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// processesUnder lists the processes whose command line names root (the
// monitors), and every process in this run's cgroups.
func processesUnder(root string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(root)) {
			st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			out = append(out, fmt.Sprintf("%d %q %s", pid, bytes.ReplaceAll(b, []byte{0}, []byte{' '}), st))
		}
	}
	for _, d := range listCgroups() {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			out = append(out, "in "+d+": "+f)
		}
	}
	return out
}

func killLeftovers(root string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Contains(b, []byte(root)) {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	mode, _ := cgroup.DetectMode()
	cgroup.Cleanup("/sys/fs/cgroup", mode, func(string) bool { return false }, cgroup.Parent(testParent))
	var ws unix.WaitStatus
	for {
		if pid, _ := unix.Wait4(-1, &ws, unix.WNOHANG, nil); pid <= 0 {
			break
		}
	}
}

// run creates and starts a container and waits for it; it returns the
// exit status and the log.
func run(t testing.TB, e *container.Engine, spec container.CreateSpec) (container.ExitStatus, string) {
	t.Helper()
	ctx := context.Background()
	c, _, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatalf("start: %v", err)
	}
	st, err := e.Wait(ctx, c.ID, "not-running")
	if err != nil {
		t.Fatal(err)
	}
	return st, logs(t, e, c.ID)
}

func logs(t testing.TB, e *container.Engine, id string) string {
	t.Helper()
	r, err := e.Logs(context.Background(), id, container.LogOptions{Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b strings.Builder
	for {
		en, err := r.Next()
		if err == io.EOF {
			return b.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		b.Write(en.Line)
	}
}

func busybox(cmd ...string) container.CreateSpec {
	return container.CreateSpec{Config: container.Config{Image: "busybox:1.35", Cmd: cmd}}
}

func ptr[T any](v T) *T { return &v }

// engineProcess is an engine in a process of its own: it starts the
// containers named in BERTH_TEST_RUN (one command line each, separated by
// "|", run by sh -c), prints their IDs, and waits to be killed.
func engineProcess() int {
	root := os.Getenv("BERTH_TEST_ENGINE")
	s, err := image.Open(os.Getenv("BERTH_TEST_IMAGES"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e, err := container.New(root, s, container.WithCgroupParent(os.Getenv("BERTH_TEST_PARENT")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w := bufio.NewWriter(os.Stdout)
	for _, cmd := range strings.Split(os.Getenv("BERTH_TEST_RUN"), "|") {
		spec := busybox("sh", "-c", cmd)
		spec.NetworkMode = container.NetworkNone
		if strings.HasPrefix(cmd, "always:") {
			spec.Cmd = []string{"sh", "-c", strings.TrimPrefix(cmd, "always:")}
			spec.RestartPolicy.Name = container.RestartAlways
		}
		c, _, err := e.Create(context.Background(), spec)
		if err == nil {
			err = e.Start(context.Background(), c.ID)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(w, c.ID)
	}
	w.Flush()
	time.Sleep(time.Hour)
	return 0
}

var _ = syscall.SIGKILL
