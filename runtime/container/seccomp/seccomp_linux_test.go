package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container/caps"
)

// helperEnv carries a scenario to the test binary run as a child.
const helperEnv = "BERTH_SECCOMP_TEST_HELPER"

// scenario is what the child does on a locked thread, in the order the
// container runtime does it: install the filter, apply the capabilities,
// execute the program.
type scenario struct {
	Seccomp    bool     // install Default(FilterCaps)
	FilterCaps []string // the capabilities the filter is compiled for
	Keep       []string // capabilities to keep; nil leaves the thread's alone
	Probe      bool     // instead of executing Argv, make raw syscalls and print their errors
	Argv       []string
}

// TestHelperProcess is the child.
func TestHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		return
	}
	var sc scenario
	if err := json.Unmarshal([]byte(spec), &sc); err != nil {
		helperFail(err)
	}
	runtime.LockOSThread()
	if sc.Seccomp {
		f, err := Default(sc.FilterCaps)
		if err != nil {
			helperFail(err)
		}
		if err := f.Install(); err != nil {
			helperFail(err)
		}
	}
	if sc.Keep != nil {
		if err := caps.Apply(sc.Keep); err != nil {
			helperFail(err)
		}
	}
	if sc.Probe {
		probe()
		os.Exit(0)
	}
	helperFail(unix.Exec(sc.Argv[0], sc.Argv, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}))
}

func helperFail(err error) {
	fmt.Fprintln(os.Stderr, "helper:", err)
	os.Exit(99)
}

// probe makes syscalls the filter decides by number and by argument, and
// prints what the kernel answered.
func probe() {
	show := func(name string, r uintptr, errno syscall.Errno) {
		if errno != 0 {
			fmt.Printf("%s: %s\n", name, unix.ErrnoName(errno))
			return
		}
		fmt.Printf("%s: ok\n", name)
		if strings.HasPrefix(name, "socket") {
			unix.Close(int(r))
		}
	}
	r, _, e := unix.Syscall(unix.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0)
	show("unshare", r, e)
	r, _, e = unix.Syscall(unix.SYS_MOUNT, 0, 0, 0)
	show("mount", r, e)
	r, _, e = unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)
	show("clone3", r, e)
	r, _, e = unix.Syscall(1000, 0, 0, 0)
	show("syscall 1000", r, e)
	r, _, e = unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	show("personality query", r, e)
	r, _, e = unix.Syscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM, 0)
	show("socket inet", r, e)
	r, _, e = unix.Syscall(unix.SYS_SOCKET, unix.AF_VSOCK, unix.SOCK_STREAM, 0)
	show("socket vsock", r, e)
	if strconv.IntSize == 64 {
		// The kernel reads an int and would see AF_INET; the filter sees all 64 bits.
		family := uint64(1)<<32 | unix.AF_INET
		r, _, e = unix.Syscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_DGRAM, 0)
		show("socket inet high word", r, e)
	}
}

type child struct {
	sc            scenario
	privateMounts bool // run the child in a mount namespace of its own
}

func runHelper(t *testing.T, c child) (string, error) {
	t.Helper()
	spec, err := json.Marshal(c.sc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(spec))
	if c.privateMounts {
		// Go makes / private in the child: nothing it mounts reaches the host.
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		t.Fatal(err)
	}
	return string(out), err
}

func TestInstall(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the children drop capabilities and mount")
	}
	for _, p := range []string{"/bin/sh", "/usr/bin/grep", "/usr/bin/unshare", "/bin/mount"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("needs %s: %v", p, err)
		}
	}
	def := caps.Default
	admin, err := caps.Resolve([]string{"SYS_ADMIN"}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mount := []string{"/bin/mount", "-t", "tmpfs", "berth-seccomp-test", dir}
	tests := []struct {
		name  string
		child child
		fails bool
		want  []string
	}{
		{"ordinary commands", child{sc: scenario{Seccomp: true, FilterCaps: def, Keep: def, Argv: []string{"/bin/sh", "-c", "echo ok; ls /"}}},
			false, []string{"ok\n", "proc\n", "usr\n"}},
		{"default capabilities", child{sc: scenario{Seccomp: true, FilterCaps: def, Keep: def, Argv: []string{"/usr/bin/grep", "CapEff", "/proc/self/status"}}},
			false, []string{"CapEff:\t00000000a80425fb\n"}},
		{"cap-drop ALL", child{sc: scenario{Seccomp: true, FilterCaps: nil, Keep: []string{}, Argv: []string{"/usr/bin/grep", "CapEff", "/proc/self/status"}}},
			false, []string{"CapEff:\t0000000000000000\n"}},
		{"no user namespace", child{sc: scenario{Seccomp: true, FilterCaps: def, Keep: def, Argv: []string{"/usr/bin/unshare", "-U", "true"}}},
			true, []string{"Operation not permitted"}},
		{"user namespace unconfined", child{sc: scenario{Keep: def, Argv: []string{"/usr/bin/unshare", "-U", "true"}}},
			false, nil},
		// Root keeps every capability here, so only the filter can refuse.
		{"no mount", child{sc: scenario{Seccomp: true, FilterCaps: def, Argv: mount}, privateMounts: true},
			true, []string{"permission denied"}},
		{"mount unconfined", child{sc: scenario{Argv: mount}, privateMounts: true},
			false, nil},
		{"SYS_ADMIN admits unshare and mount", child{sc: scenario{Seccomp: true, FilterCaps: admin, Keep: admin,
			Argv: []string{"/usr/bin/unshare", "-m", "/bin/sh", "-c", strings.Join(mount, " ") + " && echo mounted && /usr/bin/unshare -U true && echo userns"}}},
			false, []string{"mounted\n", "userns\n"}},
		{"syscalls", child{sc: scenario{Seccomp: true, FilterCaps: def, Keep: def, Probe: true}},
			false, []string{
				"unshare: EPERM\n", "mount: EPERM\n", "clone3: ENOSYS\n", "syscall 1000: ENOSYS\n",
				"personality query: ok\n", "socket inet: ok\n", "socket vsock: EPERM\n",
			}},
	}
	if strconv.IntSize == 64 {
		last := &tests[len(tests)-1]
		last.want = append(last.want, "socket inet high word: EPERM\n")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runHelper(t, tt.child)
			var exit *exec.ExitError
			switch {
			case errors.As(err, &exit) && exit.ExitCode() == 99:
				t.Fatalf("the child failed to set up:\n%s", out)
			case tt.fails && err == nil:
				t.Errorf("succeeded, want a failure:\n%s", out)
			case !tt.fails && err != nil:
				t.Errorf("%v:\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in:\n%s", w, out)
				}
			}
		})
	}
}
