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

// startExec runs the exec helper (berth container-exec) from the sealed
// executable with the plan on fd 4, reads its report from fd 3 and, with
// a terminal, the terminal's master from fd 5.
func (e *Engine) startExec(ctx context.Context, p *execPlan, stdin bool) (*Process, error) {
	var opened []*os.File
	closeAll := func() {
		for _, f := range opened {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		if r, w, err = os.Pipe(); err == nil {
			opened = append(opened, r, w)
		}
		return r, w, err
	}
	proc := &Process{}
	cmd := &exec.Cmd{Path: e.self.path, Args: []string{"berth", "container-exec", shortID(p.ID)}, Env: roleEnv}
	statusR, statusW, err := pipe()
	if err != nil {
		return nil, err
	}
	planR, planW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{statusW, planR}
	var consoleR, consoleW *os.File
	if p.Tty {
		if consoleR, consoleW, err = socketPair(); err != nil {
			closeAll()
			return nil, err
		}
		opened = append(opened, consoleR, consoleW)
		cmd.ExtraFiles = append(cmd.ExtraFiles, consoleW)
	} else {
		var outW, errW *os.File
		var outR, errR *os.File
		if outR, outW, err = pipe(); err == nil {
			errR, errW, err = pipe()
		}
		if err != nil {
			closeAll()
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = outW, errW
		proc.Stdout, proc.Stderr = outR, errR
		if stdin {
			inR, inW, err := pipe()
			if err != nil {
				closeAll()
				return nil, err
			}
			cmd.Stdin, proc.Stdin = inR, inW
		}
	}
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, fmt.Errorf("starting the exec helper: %w", err)
	}
	// The child's ends are the child's now.
	for _, f := range []*os.File{statusW, planR, consoleW} {
		if f != nil {
			f.Close()
		}
	}
	if f, ok := cmd.Stdout.(*os.File); ok {
		f.Close()
	}
	if f, ok := cmd.Stderr.(*os.File); ok {
		f.Close()
	}
	if f, ok := cmd.Stdin.(*os.File); ok {
		f.Close()
	}
	go func() {
		json.NewEncoder(planW).Encode(p)
		planW.Close()
	}()
	fail := func(err error) (*Process, error) {
		cmd.Process.Kill()
		cmd.Wait()
		for _, f := range []io.Closer{statusR, consoleR, proc.Stdin, proc.Stdout, proc.Stderr} {
			if f != nil && !isNilFile(f) {
				f.Close()
			}
		}
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() })
	report, err := io.ReadAll(statusR)
	stop()
	statusR.Close()
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
	proc.Pid, proc.cmd = pid, cmd
	if consoleR != nil {
		master, err := recvFile(consoleR)
		consoleR.Close()
		if err != nil {
			return fail(err)
		}
		proc.Console = master
	}
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
	runtime.LockOSThread()
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
	compiled := compileFilter(p.Seccomp, p.Caps)
	cgroupFD, err := joinCgroup(&p)
	if err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	if err := enterNamespaces(p.Pid); err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	return execProcess(&p, status, cgroupFD, compiled)
}

// joinCgroup puts this helper in the container's cgroup (v1 and hybrid),
// or returns the cgroup's directory for the process to be cloned into
// (v2, -1 otherwise).
func joinCgroup(p *execPlan) (int, error) {
	cg, err := cgroup.New(p.CgroupRoot, p.CgroupMode, p.ID, cgroup.Parent(p.CgroupParent))
	if err != nil {
		return -1, err
	}
	if p.CgroupMode == cgroup.ModeV2 {
		return cg.DirFD()
	}
	return -1, cg.AddProc(os.Getpid())
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

// execProcess runs the process inside the container, from this thread
// (which is in its namespaces), confined as the container's command.
func execProcess(p *execPlan, status *os.File, cgroupFD int, compiled <-chan compiledFilter) int {
	u, err := lookupUser(p.User)
	if err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	env := withHome(p.Env, u)
	if err := unix.Chdir(p.Cwd); err != nil {
		msg := fmt.Sprintf("chdir to the working directory %s: %v", p.Cwd, err)
		return initFail(status, ExitCannotInvoke, msg)
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		msg := err.Error()
		return initFail(status, exitCodeFor(msg), msg)
	}
	if err := setRlimits(p.Rlimits); err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	var tty *os.File
	if p.Tty {
		master, slave, err := newConsole(p.Rows, p.Cols)
		if err != nil {
			return initFail(status, ExitEngineError, err.Error())
		}
		unix.Fchown(int(slave.Fd()), u.Uid, -1)
		err = sendFile(os.NewFile(5, "console"), master)
		master.Close()
		if err != nil {
			return initFail(status, ExitEngineError, err.Error())
		}
		tty = slave
	}
	res := <-compiled
	if res.err != nil {
		return initFail(status, ExitEngineError, res.err.Error())
	}
	// The helper keeps what it needs to switch the child's user.
	const helperOwn = 1<<unix.CAP_SETUID | 1<<unix.CAP_SETGID
	if err := confineForFork(res.filter, p.Caps, helperOwn, p.NoNewPrivs); err != nil {
		return initFail(status, ExitEngineError, err.Error())
	}
	unix.Umask(0o022)
	// Nothing of the helper's but stdio reaches the process (the report
	// pipe kept open by it would hold the engine's read).
	if err := cloexecFrom(3); err != nil {
		return initFail(status, ExitEngineError, err.Error())
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
		return initFail(status, exitCodeFor(msg), msg)
	}
	fmt.Fprintf(status, "ok %d\n", pid)
	status.Close()
	// The helper's own stdio is the process's: let go of it, so that
	// the engine sees the streams end when the process's do.
	for fd := 0; fd <= 2; fd++ {
		unix.Close(fd)
	}
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || got != pid {
			return exitUnknownStatus
		}
		return waitCode(syscall.WaitStatus(ws))
	}
}
