package container

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container/caps"
	"github.com/berthhq/berth/runtime/container/seccomp"
)

// InitMain is the hidden verb "container-init": the first process in the
// container's namespaces, started by the monitor from the sealed memfd. It
// reads its plan from fd 4 (which the monitor writes only once the process
// is in the container's cgroup), builds the root filesystem and pivots
// into it, then either becomes the container's command (no init) or forks
// it and stays as PID 1, reaping orphans and forwarding signals, until it
// exits with the command's status. Progress goes to fd 3: "ok" or "exec"
// once the command runs, or "err <code> <message>". It returns the exit
// code when it does not exec.
func InitMain(args []string) int {
	// Every step that changes this process's credentials, namespaces or
	// root happens on this one thread.
	runtime.LockOSThread()
	status := os.NewFile(3, "status")
	planFile := os.NewFile(4, "plan")
	if status == nil || planFile == nil {
		fmt.Fprintln(os.Stderr, "container-init is started by the Berth engine, not by hand")
		return 2
	}
	// Signals are caught from the start (the init forwards them once the
	// command runs; exec resets them otherwise), and set up while the
	// monitor still moves this process into the cgroup.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, append(forwarded, unix.SIGCHLD)...)
	var p initPlan
	err := json.NewDecoder(planFile).Decode(&p)
	planFile.Close()
	if err != nil {
		return initFail(status, ExitEngineError, fmt.Sprintf("reading the container's plan: %v", err))
	}
	// The seccomp filter compiles while the rootfs is being mounted.
	compiled := compileFilter(p.Seccomp, p.Caps)
	unix.Umask(0)
	pids, err := openPidsMax(&p)
	if err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	if err := setupContainer(&p); err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	var slave *os.File
	if p.Tty {
		if slave, err = openConsole(&p); err != nil {
			return initFail(status, ExitEngineError, err.Error())
		}
	}
	return runProcess(&p, status, pids, sigs, compiled, slave)
}

// openConsole makes the container's terminal, hands its master to the
// monitor over fd 5 and returns the slave, the command's stdio.
func openConsole(p *initPlan) (*os.File, error) {
	sock := os.NewFile(5, "console")
	if sock == nil {
		return nil, errors.New("the container has a terminal but no console socket")
	}
	defer sock.Close()
	master, slave, err := newConsole(p.Rows, p.Cols)
	if err != nil {
		return nil, err
	}
	defer master.Close()
	if err := bindConsole(slave); err != nil {
		slave.Close()
		return nil, err
	}
	if err := sendFile(sock, master); err != nil {
		slave.Close()
		return nil, err
	}
	return slave, nil
}

type compiledFilter struct {
	filter *seccomp.Filter
	err    error
}

// compileFilter compiles Docker's seccomp profile for caps in the
// background (nothing when on is false).
func compileFilter(on bool, caps []string) <-chan compiledFilter {
	compiled := make(chan compiledFilter, 1)
	go func() {
		var c compiledFilter
		if on {
			c.filter, c.err = seccomp.Default(caps)
		}
		compiled <- c
	}()
	return compiled
}

// lookPath finds the command as the process will: on its own PATH, from
// the working directory, inside the root this process is in now.
func lookPath(arg0 string, env []string) (string, error) {
	os.Setenv("PATH", envValue(env, "PATH"))
	path, err := exec.LookPath(arg0)
	if errors.Is(err, exec.ErrDot) {
		err = nil
	}
	return path, err
}

// withHome adds the user's HOME unless the environment has one.
func withHome(env []string, u execUser) []string {
	if hasEnv(env, "HOME") {
		return env
	}
	return append(env, "HOME="+u.Home)
}

// setRlimits gives this process (and what it forks) the container's
// limits; syscall's Setrlimit, so that exec does not restore the soft
// NOFILE limit the Go runtime raised at start.
func setRlimits(rl []rlimitPlan) error {
	for _, r := range rl {
		if err := syscall.Setrlimit(r.Type, &syscall.Rlimit{Cur: r.Soft, Max: r.Hard}); err != nil {
			return fmt.Errorf("setting rlimit %d to %d:%d: %v", r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}

// confineForFork confines this process as the command it forks will be:
// seccomp first while CAP_SYS_ADMIN allows it (or last, under
// no_new_privs), the bounding set the container's and every thread's
// capabilities those of the container plus own (what this process needs
// to switch the child's user), no_new_privs on every thread.
func confineForFork(filter *seccomp.Filter, capNames []string, own uint64, noNewPrivs bool) error {
	if filter != nil && !noNewPrivs {
		if err := filter.Install(); err != nil {
			return err
		}
	}
	keep, err := caps.Mask(capNames)
	if err != nil {
		return err
	}
	if err := confineAllThreads(keep, keep|own); err != nil {
		return err
	}
	if noNewPrivs {
		if errno := allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); errno != 0 {
			return fmt.Errorf("no_new_privs: %v", errno)
		}
		if filter != nil {
			return filter.Install()
		}
	}
	return nil
}

func initFail(status *os.File, code int, msg string) int {
	fmt.Fprintf(status, "err %d %s\n", code, strings.ReplaceAll(msg, "\n", " "))
	status.Close()
	return code
}

// setupContainer does everything up to the pivot into the rootfs.
func setupContainer(p *initPlan) error {
	if p.CgroupNS {
		// After the cgroup join, so the namespace's root is the
		// container's cgroup.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("creating the cgroup namespace: %w", err)
		}
	}
	if p.Loopback {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if err := unix.Sethostname([]byte(p.Hostname)); err != nil {
		return fmt.Errorf("setting the hostname: %w", err)
	}
	return setupRootfs(p)
}

// openPidsMax opens the container's pids.max while the host's cgroupfs is
// still reachable (see initPlan.PidsLimit); nil when there is no limit.
func openPidsMax(p *initPlan) (*os.File, error) {
	if p.PidsLimit <= 0 {
		return nil, nil
	}
	for _, dir := range []string{filepath.Join(p.CgroupRoot, "pids"), p.CgroupRoot} {
		f, err := os.OpenFile(filepath.Join(dir, p.CgroupPath, "pids.max"), os.O_WRONLY, 0)
		if err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("--pids-limit: no pids controller for cgroup %s", p.CgroupPath)
}

func setPidsMax(f *os.File, limit int64) error {
	if f == nil {
		return nil
	}
	_, err := f.WriteString(strconv.FormatInt(limit, 10))
	f.Close()
	if err != nil {
		return fmt.Errorf("setting the pids limit: %w", err)
	}
	return nil
}

// loopbackUp brings lo up in the container's network namespace, as
// Docker's none network has it.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	return nil
}

// runProcess starts the container's command inside the new root.
func runProcess(p *initPlan, status *os.File, pids *os.File, sigs chan os.Signal, compiled <-chan compiledFilter, tty *os.File) int {
	u, err := lookupUser(p.User)
	if err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	if tty != nil {
		// The user owns its terminal, as login gives it one.
		unix.Fchown(int(tty.Fd()), u.Uid, -1)
	}
	env := withHome(p.Env, u)
	// The working directory is reached from the new root alone: the
	// rootfs was pivoted into and the old root detached, and this process
	// holds no directory descriptor of the host (CVE-2024-21626).
	if err := os.MkdirAll(p.Cwd, 0o755); err != nil {
		return initFail(status, ExitEngineError, fmt.Sprintf("creating the working directory %s: %v", p.Cwd, err))
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return initFail(status, ExitEngineError, fmt.Sprintf("changing to the working directory %s: %v", p.Cwd, err))
	}
	if wd, err := unix.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return initFail(status, ExitEngineError, fmt.Sprintf("the working directory %s is outside the container", p.Cwd))
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		msg := err.Error()
		return initFail(status, exitCodeFor(msg), msg)
	}
	if err := setRlimits(p.Rlimits); err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	res := <-compiled
	if res.err != nil {
		return initFail(status, ExitEngineError, res.err.Error())
	}
	filter := res.filter
	unix.Umask(0o022)
	if err := cloexecFrom(3); err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	if p.Init {
		return forkAndReap(p, status, path, env, u, filter, pids, sigs, tty)
	}
	if err := setPidsMax(pids, p.PidsLimit); err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	if tty != nil {
		if err := takeTerminal(tty); err != nil {
			return initFail(status, ExitEngineError, err.Error())
		}
	}
	return execInPlace(p, status, path, env, u, filter)
}

// takeTerminal makes tty this process's standard streams and controlling
// terminal, in a session of its own.
func takeTerminal(tty *os.File) error {
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(int(tty.Fd()), fd, 0); err != nil {
			return fmt.Errorf("attaching the terminal: %w", err)
		}
	}
	tty.Close()
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("taking the terminal: %w", err)
	}
	return nil
}

// execInPlace turns this process into the container's command (no init):
// seccomp first while CAP_SYS_ADMIN allows it (or last, under
// no_new_privs), the user, the capabilities, then execve.
func execInPlace(p *initPlan, status *os.File, path string, env []string, u execUser, filter *seccomp.Filter) int {
	if filter != nil && !p.NoNewPrivileges {
		if err := filter.Install(); err != nil {
			return initFail(status, ExitEngineError, err.Error())
		}
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return initFail(status, ExitEngineError, fmt.Sprintf("keeping capabilities: %v", err))
	}
	if err := syscall.Setgroups(u.Groups); err != nil {
		return initFail(status, ExitEngineError, fmt.Sprintf("setgroups: %v", err))
	}
	if err := syscall.Setgid(u.Gid); err != nil {
		return initFail(status, ExitEngineError, fmt.Sprintf("setgid %d: %v", u.Gid, err))
	}
	if err := syscall.Setuid(u.Uid); err != nil {
		return initFail(status, ExitEngineError, fmt.Sprintf("setuid %d: %v", u.Uid, err))
	}
	if err := caps.Apply(p.Caps); err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return initFail(status, ExitEngineError, fmt.Sprintf("no_new_privs: %v", err))
		}
		if filter != nil {
			if err := filter.Install(); err != nil {
				return initFail(status, ExitEngineError, err.Error())
			}
		}
	}
	status.WriteString("exec\n") // then the descriptor closes on exec
	err := syscall.Exec(path, p.Args, env)
	msg := fmt.Sprintf("exec %s: %v", path, err)
	return initFail(status, exitCodeFor(msg), msg)
}

// forwarded are the signals PID 1 passes on to the command (all but those
// the kernel or the runtime keep: KILL, STOP, CHLD, URG and the faults).
var forwarded = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGTERM,
	unix.SIGALRM, unix.SIGCONT, unix.SIGWINCH, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU,
	unix.SIGIO, unix.SIGPWR, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGVTALRM,
}

// forkAndReap confines this process as the command will be (seccomp,
// bounding and capability sets on every thread, no_new_privs), forks the
// command under the user's credentials, and stays as PID 1 until it
// exits, as tini runs under Docker's --init. Confining the init itself,
// instead of re-executing a stage that confines only the command, saves
// a Go process start on every container start.
func forkAndReap(p *initPlan, status *os.File, path string, env []string, u execUser, filter *seccomp.Filter, pids *os.File, sigs chan os.Signal, tty *os.File) int {
	// The init keeps what it needs to switch the child's user and signal
	// it; the bounding set (what an execve can yield) is the container's.
	const initOwn = 1<<unix.CAP_SETUID | 1<<unix.CAP_SETGID | 1<<unix.CAP_KILL
	if err := confineForFork(filter, p.Caps, initOwn, p.NoNewPrivileges); err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	// ps in the container shows what PID 1 is (Docker's shows docker-init).
	os.WriteFile("/proc/self/comm", []byte("berth-init"), 0)
	if pids != nil {
		// This process's threads (and one more the runtime may start)
		// on top of the container's limit.
		limit := p.PidsLimit
		if ents, err := os.ReadDir("/proc/self/task"); err == nil {
			limit += int64(len(ents))
		}
		if err := setPidsMax(pids, limit); err != nil {
			return initFail(status, ExitEngineError, err.Error())
		}
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			Setpgid:    true,
			Credential: &syscall.Credential{Uid: uint32(u.Uid), Gid: uint32(u.Gid), Groups: toUint32(u.Groups)},
		},
	}
	if tty != nil {
		// A session led by the command, with the terminal as its
		// controlling one: Ctrl-C reaches its foreground job.
		fd := tty.Fd()
		attr.Files = []uintptr{fd, fd, fd}
		attr.Sys.Setpgid = false
		attr.Sys.Setsid, attr.Sys.Setctty, attr.Sys.Ctty = true, true, 0
	}
	pid, err := syscall.ForkExec(path, p.Args, attr)
	if tty != nil {
		tty.Close()
	}
	if err != nil {
		msg := fmt.Sprintf("exec %s: %v", path, err)
		return initFail(status, exitCodeFor(msg), msg)
	}
	status.WriteString("ok\n")
	status.Close()
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			unix.Kill(pid, sig.(syscall.Signal))
			continue
		}
		for {
			var ws unix.WaitStatus
			got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || got <= 0 {
				break
			}
			if got == pid {
				return waitCode(syscall.WaitStatus(ws))
			}
		}
	}
	return exitUnknownStatus
}

// confineAllThreads confines this process as the command will be: on this
// locked thread, the one that forks the command (a child inherits its
// credentials), the bounding set becomes bounding and the ambient set is
// emptied; on every thread the effective and permitted sets become own
// and the inheritable set is emptied. (One AllThreadsSyscall stops the
// world; a bounding set drop on every thread would cost one per
// capability.) A binary built with cgo (a test binary, never berth)
// cannot change every thread: then only this thread is confined.
func confineAllThreads(bounding, own uint64) error {
	last := lastCap()
	for c := 0; c <= last; c++ {
		if bounding&(1<<c) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clearing the ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(own), Permitted: uint32(own)},
		{Effective: uint32(own >> 32), Permitted: uint32(own >> 32)},
	}
	errno := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	if errno != 0 {
		return fmt.Errorf("capset: %w", errno)
	}
	return nil
}

// allThreads makes a syscall on every thread, or on this one alone where
// the runtime cannot (cgo).
func allThreads(trap, a1, a2, a3 uintptr) syscall.Errno {
	_, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	if errno == syscall.ENOTSUP {
		_, _, errno = syscall.RawSyscall(trap, a1, a2, a3)
	}
	return errno
}

func lastCap() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d", &n); err == nil && n > 0 && n < 64 {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}

// cloexecFrom marks every descriptor from fd on close-on-exec, so that
// nothing of the host reaches the command but stdio.
func cloexecFrom(fd int) error {
	err := unix.CloseRange(uint(fd), math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	ents, rerr := os.ReadDir("/proc/self/fd")
	if rerr != nil {
		return fmt.Errorf("closing inherited descriptors: %v (%v)", err, rerr)
	}
	for _, e := range ents {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "%d", &n); err == nil && n >= fd {
			unix.CloseOnExec(n)
		}
	}
	return nil
}

// lookupUser resolves the user in the container's own /etc/passwd and
// /etc/group (read after the pivot, so inside the rootfs).
func lookupUser(spec string) (execUser, error) {
	passwd, _ := os.ReadFile("/etc/passwd")
	group, _ := os.ReadFile("/etc/group")
	return resolveUser(spec, bytes.NewReader(passwd), bytes.NewReader(group))
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			return true
		}
	}
	return false
}

func envValue(env []string, key string) string {
	for _, e := range env {
		if k, v, _ := strings.Cut(e, "="); k == key {
			return v
		}
	}
	return ""
}

func toUint32(in []int) []uint32 {
	out := make([]uint32, len(in))
	for i, v := range in {
		out[i] = uint32(v)
	}
	return out
}
