package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container/cgroup"
)

// execHelper is an exec helper process (berth container-exec, from the
// sealed copy) that has started and waits for its plan on planW. Its
// stdio are pipes (the process gets them, or its terminal with -t), fd 3
// reports, fd 5 hands back a terminal's master.
type execHelper struct {
	cmd                      *exec.Cmd
	statusR, planW, consoleR *os.File
	stdinW, stdoutR, stderrR *os.File
}

func (h *execHelper) closeFiles() {
	for _, f := range []*os.File{h.statusR, h.planW, h.consoleR, h.stdinW, h.stdoutR, h.stderrR} {
		if f != nil {
			f.Close()
		}
	}
}

// discard ends a helper that has not had its plan: with its plan pipe
// closed, it reports an error and exits.
func (h *execHelper) discard() {
	h.closeFiles()
	h.cmd.Wait()
}

// startExecHelper starts an exec helper that waits for its plan.
func (e *Engine) startExecHelper() (*execHelper, error) {
	h := &execHelper{}
	var child []*os.File
	fail := func(err error) (*execHelper, error) {
		h.closeFiles()
		for _, f := range child {
			f.Close()
		}
		return nil, err
	}
	var stdinR, stdoutW, stderrW, statusW, planR, consoleW *os.File
	var err error
	if stdinR, h.stdinW, err = os.Pipe(); err == nil {
		child = append(child, stdinR)
		if h.stdoutR, stdoutW, err = os.Pipe(); err == nil {
			child = append(child, stdoutW)
			if h.stderrR, stderrW, err = os.Pipe(); err == nil {
				child = append(child, stderrW)
				if h.statusR, statusW, err = os.Pipe(); err == nil {
					child = append(child, statusW)
					if planR, h.planW, err = os.Pipe(); err == nil {
						child = append(child, planR)
						if h.consoleR, consoleW, err = socketPair(); err == nil {
							child = append(child, consoleW)
						}
					}
				}
			}
		}
	}
	if err != nil {
		return fail(err)
	}
	h.cmd = &exec.Cmd{
		Path: e.self.path, Args: []string{"berth", "container-exec"}, Env: roleEnv,
		Stdin: stdinR, Stdout: stdoutW, Stderr: stderrW,
		ExtraFiles: []*os.File{statusW, planR, consoleW},
	}
	if err := h.cmd.Start(); err != nil {
		return fail(fmt.Errorf("starting the exec helper: %w", err))
	}
	for _, f := range child {
		f.Close()
	}
	return h, nil
}

// takeExecHelper returns the spare exec helper if there is one that still
// lives, else a new one; either way the next spare starts now. An exec
// then does not wait for a Go process's start (5 to 8 ms here), as a
// container start does not wait for its monitor's (spareMonitor).
func (e *Engine) takeExecHelper() (*execHelper, error) {
	defer func() { go refill(e, &e.spareExec, e.startExecHelper) }()
	if h := takeLive(&e.spareMu, &e.spareExec); h != nil {
		return h, nil
	}
	return e.startExecHelper()
}

func (h *execHelper) process() *os.Process { return h.cmd.Process }

// startExec hands a plan to an exec helper and reads its report: the
// process runs (its host PID), or why it does not. With a terminal, the
// master comes back over the console socket.
func (e *Engine) startExec(ctx context.Context, p *execPlan, stdin bool) (*Process, error) {
	h, err := e.takeExecHelper()
	if err != nil {
		return nil, err
	}
	proc := &Process{cmd: h.cmd}
	switch {
	case p.Tty:
		// The process's streams are its terminal's, input included.
		h.stdoutR.Close()
		h.stderrR.Close()
		h.stdinW.Close()
	default:
		proc.Stdout, proc.Stderr = h.stdoutR, h.stderrR
		if stdin {
			proc.Stdin = h.stdinW
		} else {
			// No input: the process reads EOF, as from /dev/null.
			h.stdinW.Close()
		}
	}
	go func() {
		json.NewEncoder(h.planW).Encode(p)
		h.planW.Close()
	}()
	fail := func(err error) (*Process, error) {
		h.cmd.Process.Kill()
		h.cmd.Wait()
		for _, f := range []*os.File{h.statusR, h.consoleR, proc.Stdin, proc.Stdout, proc.Stderr} {
			f.Close() // nil or closed already: an error that says nothing
		}
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { h.cmd.Process.Kill() })
	report, err := io.ReadAll(h.statusR)
	stop()
	h.statusR.Close()
	line := strings.TrimSpace(string(report))
	if msg, ok := strings.CutPrefix(line, "err "); ok {
		code, msg, _ := strings.Cut(msg, " ")
		n, _ := strconv.Atoi(code)
		if n == 0 {
			n = ExitEngineError
		}
		return fail(&StartError{Code: n, Msg: msg})
	}
	pidStr, ok := strings.CutPrefix(line, "ok ")
	pid, perr := strconv.Atoi(pidStr)
	if err != nil || !ok || perr != nil {
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		return fail(&StartError{Code: ExitEngineError, Msg: fmt.Sprintf("the exec helper ended without starting the process (%q)", line)})
	}
	proc.Pid = pid
	if p.Tty {
		master, err := recvFile(h.consoleR)
		if err != nil {
			return fail(err)
		}
		proc.Console = master
	}
	h.consoleR.Close()
	return proc, nil
}

// ExecMain is the hidden verb "container-exec": the exec helper. It joins
// the container's cgroup (v1; on v2 the process is cloned into it), enters
// its namespaces from a locked thread that unshared its filesystem
// context, confines itself as the container's command is confined, forks
// the process there and exits with its status. Its plan comes on fd 4;
// "ok <pid>" or "err <code> <message>" goes to fd 3; with a terminal, the
// master goes over fd 5.
func ExecMain(args []string) int {
	status := os.NewFile(3, "status")
	planFile := os.NewFile(4, "plan")
	if status == nil || planFile == nil {
		fmt.Fprintln(os.Stderr, "container-exec is started by the Berth engine, not by hand")
		return 2
	}
	// Caught, not ignored: an ignored signal would stay ignored in the
	// process. The helper lives as long as the process and no longer.
	signal.Notify(make(chan os.Signal, 1), unix.SIGHUP, unix.SIGINT, unix.SIGTERM, unix.SIGQUIT)
	var p execPlan
	err := json.NewDecoder(planFile).Decode(&p)
	planFile.Close()
	if err != nil {
		return initFail(status, ExitEngineError, fmt.Sprintf("reading the exec plan: %v", err))
	}
	type started struct{ pid, code int }
	res := make(chan started, 1)
	go func() {
		// This thread joins the container's cgroup and namespaces and
		// forks the process there; it is never unlocked, so it ends with
		// this goroutine and takes its membership along: only the
		// process stays in the container (top does not list the helper),
		// and the main thread waits for it from outside.
		runtime.LockOSThread()
		pid, code := startInContainer(&p, status)
		res <- started{pid, code}
	}()
	r := <-res
	if r.pid <= 0 {
		return r.code
	}
	fmt.Fprintf(status, "ok %d\n", r.pid)
	status.Close()
	// The helper's own stdio is the process's: let go of it, so that
	// the engine sees the streams end when the process's do.
	for fd := 0; fd <= 2; fd++ {
		unix.Close(fd)
	}
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(r.pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || got != r.pid {
			return exitUnknownStatus
		}
		return waitCode(syscall.WaitStatus(ws))
	}
}

// startInContainer joins the container from this locked thread and forks
// the process there: its host PID, or 0 and the exit code after the
// failure is reported.
func startInContainer(p *execPlan, status *os.File) (int, int) {
	compiled := compileFilter(p.Seccomp, p.Caps)
	cgroupFD, err := joinCgroup(p)
	if err != nil {
		return 0, initFail(status, ExitEngineError, err.Error())
	}
	if err := enterNamespaces(p.Pid); err != nil {
		return 0, initFail(status, ExitEngineError, err.Error())
	}
	return execProcess(p, status, cgroupFD, compiled)
}

// joinCgroup puts this helper's locked thread, the one that forks the
// process, in the container's cgroup (v1 and hybrid: the process is born
// there, and the helper's other threads count against none of the
// container's limits), or returns the cgroup's directory for the process
// to be cloned into (v2; -1 otherwise).
func joinCgroup(p *execPlan) (int, error) {
	cg, err := cgroup.New(p.CgroupRoot, p.CgroupMode, p.ID, cgroup.Parent(p.CgroupParent))
	if err != nil {
		return -1, err
	}
	if p.CgroupMode == cgroup.ModeV2 {
		return cg.DirFD()
	}
	return -1, cg.JoinThread()
}

// nsOrder is the order namespaces are entered in: mount last, since the
// others are opened through the host's /proc.
var nsOrder = []struct {
	name string
	flag int
}{
	{"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}, {"net", unix.CLONE_NEWNET},
	{"pid", unix.CLONE_NEWPID}, {"cgroup", unix.CLONE_NEWCGROUP}, {"mnt", unix.CLONE_NEWNS},
}

// enterNamespaces moves this thread into the namespaces of pid (each one
// that differs from this thread's own): the processes it forks are born
// in them. The mount namespace needs a filesystem context of this
// thread's own; entering it makes the container's root this thread's
// root and working directory.
func enterNamespaces(pid int) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare(CLONE_FS): %w", err)
	}
	fds := make([]int, len(nsOrder))
	defer func() {
		for _, fd := range fds {
			if fd > 0 {
				unix.Close(fd)
			}
		}
	}()
	for i, ns := range nsOrder {
		path := filepath.Join("/proc", strconv.Itoa(pid), "ns", ns.name)
		var theirs, ours unix.Stat_t
		if err := unix.Stat(path, &theirs); err != nil {
			if errors.Is(err, unix.ENOENT) && ns.name != "mnt" && ns.name != "pid" {
				continue // a namespace type this kernel lacks
			}
			return fmt.Errorf("the container's process is gone: %w", err)
		}
		if err := unix.Stat("/proc/thread-self/ns/"+ns.name, &ours); err == nil && ours.Ino == theirs.Ino && ours.Dev == theirs.Dev {
			continue // shared with the host (--network host)
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening the container's %s namespace: %w", ns.name, err)
		}
		fds[i] = fd
	}
	for i, ns := range nsOrder {
		if fds[i] <= 0 {
			continue
		}
		if err := unix.Setns(fds[i], ns.flag); err != nil {
			return fmt.Errorf("entering the container's %s namespace: %w", ns.name, err)
		}
	}
	return nil
}

// execProcess forks the process inside the container, from this thread
// (which is in its namespaces), confined as the container's command, and
// returns its PID (or 0 and the exit code of a reported failure).
func execProcess(p *execPlan, status *os.File, cgroupFD int, compiled <-chan compiledFilter) (int, int) {
	u, err := lookupUser(p.User)
	if err != nil {
		return 0, initFail(status, ExitEngineError, err.Error())
	}
	env := withHome(p.Env, u)
	if err := unix.Chdir(p.Cwd); err != nil {
		msg := fmt.Sprintf("chdir to the working directory %s: %v", p.Cwd, err)
		return 0, initFail(status, ExitCannotInvoke, msg)
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		msg := err.Error()
		return 0, initFail(status, exitCodeFor(msg), msg)
	}
	if err := setRlimits(p.Rlimits); err != nil {
		return 0, initFail(status, ExitEngineError, err.Error())
	}
	var tty *os.File
	if p.Tty {
		master, slave, err := newConsole(p.Rows, p.Cols)
		if err != nil {
			return 0, initFail(status, ExitEngineError, err.Error())
		}
		unix.Fchown(int(slave.Fd()), u.Uid, -1)
		err = sendFile(os.NewFile(5, "console"), master)
		master.Close()
		if err != nil {
			return 0, initFail(status, ExitEngineError, err.Error())
		}
		tty = slave
	}
	res := <-compiled
	if res.err != nil {
		return 0, initFail(status, ExitEngineError, res.err.Error())
	}
	// The helper keeps what it needs to switch the child's user.
	const helperOwn = 1<<unix.CAP_SETUID | 1<<unix.CAP_SETGID
	if err := confineForFork(res.filter, p.Caps, helperOwn, p.NoNewPrivs); err != nil {
		return 0, initFail(status, ExitEngineError, err.Error())
	}
	unix.Umask(0o022)
	// Nothing of the helper's but stdio reaches the process (the report
	// pipe kept open by it would hold the engine's read).
	if err := cloexecFrom(3); err != nil {
		return 0, initFail(status, ExitEngineError, err.Error())
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: uint32(u.Uid), Gid: uint32(u.Gid), Groups: toUint32(u.Groups)},
		},
	}
	if cgroupFD >= 0 {
		attr.Sys.UseCgroupFD, attr.Sys.CgroupFD = true, cgroupFD
	}
	if tty != nil {
		fd := tty.Fd()
		attr.Files = []uintptr{fd, fd, fd}
		attr.Sys.Setsid, attr.Sys.Setctty, attr.Sys.Ctty = true, true, 0
	}
	pid, err := syscall.ForkExec(path, slices.Clone(p.Args), attr)
	if tty != nil {
		tty.Close()
	}
	if err != nil {
		msg := fmt.Sprintf("exec %s: %v", path, err)
		return 0, initFail(status, exitCodeFor(msg), msg)
	}
	return pid, 0
}
