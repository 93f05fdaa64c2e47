package container

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container/cgroup"
)

// MonitorMain is the hidden verb "container-monitor <container dir>": one
// per running container, in a session of its own. It reads the launch
// from fd 3, creates the cgroup, starts the init in new namespaces, logs
// the container's output, reports "ok" or "err <code> <message>" on fd 4,
// answers the control socket, and after the container exits records the
// final state, removes the cgroup and exits. It returns the process's exit
// code.
func MonitorMain(args []string) int {
	// Small and steady: a monitor holds little and lives long.
	debug.SetGCPercent(20)
	// Pdeathsig (the container dies with its monitor) follows the thread
	// that forked the init: keep that thread for the process's life.
	runtime.LockOSThread()
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	report := os.NewFile(4, "report")
	cfg := os.NewFile(3, "launch")
	if len(args) != 1 || report == nil || cfg == nil {
		fmt.Fprintln(os.Stderr, "container-monitor is started by the Berth engine, not by hand")
		return 2
	}
	// A spare (started before its container, see spareMonitor) starts
	// the init too while it waits: in the namespaces and with the
	// output pipes most containers get; the init waits for its plan, and
	// joins the cgroup before it gets it. A launch it does not fit (cgroup
	// v2, the host's network, no log) gets an init of its own.
	var pre *initProc
	if strings.HasPrefix(args[0], sparePrefix) {
		pre, _ = startInit(true, -1, false, false)
	}
	var l launch
	err := json.NewDecoder(cfg).Decode(&l)
	cfg.Close()
	if err != nil {
		if pre != nil {
			pre.kill()
		}
		fmt.Fprintf(report, "err %d reading the launch: %v\n", ExitEngineError, err)
		return 1
	}
	showDir(args[0], l.Dir)
	m := &monitor{l: &l, report: report, pre: pre}
	return m.run()
}

// initProc is a started container init that waits for its plan.
type initProc struct {
	cmd                        *exec.Cmd
	outR, errR, statusR, planW *os.File
	stdinW                     *os.File // the process's stdin, with -i
	consoleR                   *os.File // where the terminal's master comes, with -t
}

// startInit starts a container's init from the sealed memfd this monitor
// runs from, in new mount, UTS, IPC and PID namespaces (and network with
// newNet), its output to pipes, and in the cgroup of cgroupFD (v2) unless
// it is -1. Its stdin is a pipe with stdin, /dev/null otherwise; with tty
// it gets a socket (fd 5) to hand back the terminal it makes.
func startInit(newNet bool, cgroupFD int, stdin, tty bool) (*initProc, error) {
	ip := &initProc{}
	var outW, errW, stdinR, consoleW *os.File
	var statusW, planR *os.File
	closeAll := func(fs ...*os.File) {
		for _, f := range fs {
			if f != nil {
				f.Close()
			}
		}
	}
	var err error
	if stdin {
		stdinR, ip.stdinW, err = os.Pipe()
	} else {
		stdinR, err = os.Open(os.DevNull)
	}
	if err == nil {
		ip.outR, outW, err = os.Pipe()
	}
	if err == nil {
		ip.errR, errW, err = os.Pipe()
	}
	if err == nil {
		ip.statusR, statusW, err = os.Pipe()
	}
	if err == nil {
		planR, ip.planW, err = os.Pipe()
	}
	if err == nil && tty {
		ip.consoleR, consoleW, err = socketPair()
	}
	if err != nil {
		closeAll(stdinR, outW, errW, statusW, planR, consoleW, ip.stdinW, ip.outR, ip.errR, ip.statusR, ip.planW, ip.consoleR)
		return nil, err
	}
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWPID)
	if newNet {
		flags |= unix.CLONE_NEWNET
	}
	attr := &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	if cgroupFD >= 0 {
		attr.UseCgroupFD, attr.CgroupFD = true, cgroupFD
	}
	extra := []*os.File{statusW, planR}
	if consoleW != nil {
		extra = append(extra, consoleW)
	}
	ip.cmd = &exec.Cmd{
		Path:        "/proc/self/exe", // the sealed memfd this monitor runs from
		Args:        []string{"berth", "container-init"},
		Env:         roleEnv,
		Stdin:       stdinR,
		Stdout:      outW,
		Stderr:      errW,
		ExtraFiles:  extra,
		SysProcAttr: attr,
	}
	err = ip.cmd.Start()
	closeAll(stdinR, outW, errW, statusW, planR, consoleW)
	if err != nil {
		ip.close()
		return nil, err
	}
	return ip, nil
}

func (ip *initProc) close() {
	for _, f := range []*os.File{ip.outR, ip.errR, ip.statusR, ip.planW, ip.stdinW, ip.consoleR} {
		if f != nil {
			f.Close()
		}
	}
}

// kill ends an init that has not had its plan.
func (ip *initProc) kill() {
	ip.cmd.Process.Kill()
	ip.cmd.Wait()
	ip.close()
}

// showDir puts the container's directory on this process's command line
// (what ps and /proc/<pid>/cmdline show) in place of arg, the placeholder
// a monitor started ahead of its container was given (see spareMonitor):
// arg's bytes are the process's argv, which the kernel reads the command
// line from. Only a placeholder of the directory's length is replaced.
func showDir(arg, dir string) {
	if len(arg) != len(dir) || !strings.HasPrefix(arg, sparePrefix) {
		return
	}
	copy(unsafe.Slice(unsafe.StringData(arg), len(arg)), dir)
}

type monitor struct {
	l      *launch
	report *os.File
	cg     *cgroup.Manager
	proc   *os.Process
	pre    *initProc // an init started before the launch came (a spare)
	io     *stdio
	net    monitorNet

	mu      sync.Mutex
	state   State
	done    bool
	waiters []net.Conn
}

// fail reports a start failure, records it, and returns the exit code.
func (m *monitor) fail(code int, msg string) int {
	if m.pre != nil {
		m.pre.kill()
		m.pre = nil
	}
	m.teardownNetwork()
	m.setState(State{Status: StatusCreated, ExitCode: code, Error: msg})
	if m.cg != nil {
		if m.proc != nil {
			m.cg.Kill(unix.SIGKILL)
		}
		m.cg.Destroy()
	}
	if l := m.l; l.SpareCgroup != "" {
		// The cgroup made ahead, if the failure came before it was
		// adopted (an rmdir of nothing otherwise).
		if spare, err := cgroup.New(l.CgroupRoot, l.CgroupMode, l.SpareCgroup, cgroup.Parent(l.CgroupParent)); err == nil {
			spare.Destroy()
		}
	}
	fmt.Fprintf(m.report, "err %d %s\n", code, strings.ReplaceAll(msg, "\n", " "))
	m.report.Close()
	return 1
}

func (m *monitor) setState(s State) {
	m.mu.Lock()
	m.state = s
	m.mu.Unlock()
	writeState(m.l.Dir, s)
}

func (m *monitor) run() int {
	l := m.l
	ln, err := m.listen()
	if err != nil {
		return m.fail(ExitEngineError, err.Error())
	}
	var closeOnce sync.Once
	closeSocket := func() {
		closeOnce.Do(func() {
			ln.Close()
			os.Remove(filepath.Join(l.Dir, monitorSock))
		})
	}
	defer closeSocket()
	if err := m.listenPorts(); err != nil {
		return m.fail(ExitEngineError, err.Error())
	}

	cg, err := cgroup.New(l.CgroupRoot, l.CgroupMode, l.ID, cgroup.Parent(l.CgroupParent))
	if err != nil {
		return m.fail(ExitEngineError, err.Error())
	}
	m.cg = cg
	// v1 and hybrid: the cgroup is made while the init starts (it waits
	// for its plan until it is in the cgroup); v2 clones into it.
	created := make(chan error, 1)
	if l.CgroupMode == cgroup.ModeV2 {
		if err := cg.Create(l.Resources); err != nil {
			return m.fail(ExitEngineError, err.Error())
		}
		close(created)
	} else {
		go func() { created <- m.createCgroup(cg) }()
	}

	var logger *jsonLogger
	if l.LogPath != "" {
		if logger, err = openJSONLog(l.LogPath, l.LogMaxSize, l.LogMaxFile); err != nil {
			return m.fail(ExitEngineError, err.Error())
		}
	}
	var ip *initProc
	if pre := m.pre; pre != nil {
		m.pre = nil
		if l.CgroupMode != cgroup.ModeV2 && l.NewNet && !l.Stdin && !l.Init.Tty {
			ip = pre
		} else {
			pre.kill()
		}
	}
	if ip == nil {
		cgroupFD := -1
		if l.CgroupMode == cgroup.ModeV2 {
			// Born in its cgroup: CLONE_INTO_CGROUP.
			fd, err := cg.DirFD()
			if err != nil {
				return m.fail(ExitEngineError, err.Error())
			}
			defer unix.Close(fd)
			cgroupFD = fd
		}
		err = m.inNetNS(func() (err error) { ip, err = startInit(l.NewNet, cgroupFD, l.Stdin, l.Init.Tty); return err })
	}
	var attached <-chan error
	if err == nil {
		// The veth is made while the cgroup is: each takes milliseconds.
		attached = m.attachNetwork(ip.cmd.Process.Pid)
	}
	if cerr := <-created; cerr != nil {
		if err == nil {
			ip.kill()
		}
		return m.fail(ExitEngineError, cerr.Error())
	}
	if err != nil {
		return m.fail(ExitEngineError, fmt.Sprintf("starting the container's init: %v", err))
	}
	cmd, outR, errR, statusR, planW := ip.cmd, ip.outR, ip.errR, ip.statusR, ip.planW
	m.proc = cmd.Process
	// The container's mount namespace is held open here until its exit
	// is reported: the init's exit then does not unmount its tree, which
	// waits for an RCU grace period (several ms) before the exit is seen.
	mntns, _ := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid))
	defer func() {
		if mntns != nil {
			mntns.Close()
		}
	}()
	if l.CgroupMode != cgroup.ModeV2 {
		// The v1 handshake: the init waits on the plan pipe, so it joins
		// the cgroup before it does anything for the container.
		if err := cg.AddProc(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return m.fail(ExitEngineError, err.Error())
		}
	}
	if err := <-attached; err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return m.fail(ExitEngineError, err.Error())
	}
	go func() {
		json.NewEncoder(planW).Encode(&l.Init)
		planW.Close()
	}()
	sio := newStdio(logger, l.Init.Tty, l.StdinOnce, l.WaitAttach)
	m.io = sio
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); sio.pump(streamStdout, outR) }()
	go func() { defer pumps.Done(); sio.pump(streamStderr, errR) }()

	status, _ := io.ReadAll(statusR)
	statusR.Close()
	started := false
	var initErr string
	for _, line := range strings.Split(strings.TrimSpace(string(status)), "\n") {
		switch {
		case line == "ok" || line == "exec":
			started = true
		case strings.HasPrefix(line, "err "):
			initErr = strings.TrimPrefix(line, "err ")
		}
	}
	if initErr == "" && started && ip.consoleR != nil {
		master, err := recvFile(ip.consoleR)
		if err != nil {
			initErr = fmt.Sprintf("%d %v", ExitEngineError, err)
			cmd.Process.Kill()
		} else {
			sio.console = master
			pumps.Add(1)
			go func() { defer pumps.Done(); sio.pump(streamStdout, master) }()
		}
	}
	if ip.consoleR != nil {
		ip.consoleR.Close()
	}
	switch {
	case !l.Stdin:
	case sio.console != nil:
		sio.stdin = sio.console
		ip.stdinW.Close() // unused: the terminal is the input
	default:
		sio.stdin = ip.stdinW
	}
	if initErr != "" || !started {
		ws, _ := cmd.Process.Wait()
		sio.release()
		waitPumps(&pumps)
		sio.close()
		if sio.console != nil {
			sio.console.Close()
		}
		if logger != nil {
			logger.close()
		}
		if initErr == "" {
			return m.fail(ExitEngineError, fmt.Sprintf("the container's init exited before starting the command (%v): see the container's log", ws))
		}
		code, msg, _ := strings.Cut(initErr, " ")
		n, _ := strconv.Atoi(code)
		if n == 0 {
			n = ExitEngineError
		}
		return m.fail(n, msg)
	}

	m.setState(State{Status: StatusRunning, Pid: cmd.Process.Pid, StartedAt: time.Now().UTC(), MonitorPid: os.Getpid(), Network: m.net.ep})
	io.WriteString(m.report, "ok\n")
	m.report.Close()
	go m.serve(ln)
	// What starting took (the launch, the binary's package state) is
	// garbage now: give it back, the monitor lives as long as the
	// container.
	debug.FreeOSMemory()

	ws, err := cmd.Process.Wait()
	finished := time.Now().UTC()
	code := exitUnknownStatus
	if err == nil {
		if w, ok := ws.Sys().(syscall.WaitStatus); ok {
			code = waitCode(w)
		}
	}
	// Output a client was to attach for waits for it (attachWaitMax at
	// most), then is drained.
	<-sio.ready
	waitPumps(&pumps)
	sio.close()
	if sio.console != nil {
		sio.console.Close()
	}
	if logger != nil {
		logger.close()
	}
	oom, _ := cg.OOMKilled()
	var errMsg string
	if err := errors.Join(m.teardownNetwork(), cg.Destroy()); err != nil {
		errMsg = err.Error()
	}
	m.mu.Lock()
	st := m.state
	m.mu.Unlock()
	m.setState(State{Status: StatusExited, ExitCode: code, OOMKilled: oom, Error: errMsg, StartedAt: st.StartedAt, FinishedAt: finished})
	// The socket goes before the waiters hear: the engine may start the
	// container again at once, and the next monitor's socket is at the
	// same path.
	closeSocket()

	m.mu.Lock()
	m.done = true
	for _, c := range m.waiters {
		io.WriteString(c, "ok\n")
		c.Close()
	}
	m.waiters = nil
	m.mu.Unlock()
	// Now the container's mounts go, after its exit is known.
	mntns.Close()
	mntns = nil
	return 0
}

// waitPumps gives the log pumps a moment to drain: every writer is gone
// once the container's PID 1 is, but a descriptor passed elsewhere could
// keep a pipe open.
func waitPumps(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
}

func (m *monitor) listen() (net.Listener, error) {
	p := filepath.Join(m.l.Dir, monitorSock)
	os.Remove(p)
	addr, done, err := socketAddr(m.l.Dir)
	if err != nil {
		return nil, err
	}
	defer done()
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, fmt.Errorf("the monitor's control socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	return ln, nil
}

func (m *monitor) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go m.handle(c)
	}
}

func (m *monitor) handle(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReaderSize(c, 64).ReadString('\n')
	if err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	f := strings.Fields(line)
	if len(f) == 0 {
		c.Close()
		return
	}
	reply := func(err error) {
		if err != nil {
			fmt.Fprintf(c, "err %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			io.WriteString(c, "ok\n")
		}
		c.Close()
	}
	switch f[0] {
	case "wait":
		m.mu.Lock()
		if m.done {
			m.mu.Unlock()
			reply(nil)
			return
		}
		m.waiters = append(m.waiters, c)
		m.mu.Unlock()
	case "ping":
		fmt.Fprintf(c, "ok %d\n", m.proc.Pid)
		c.Close()
	case "kill":
		if len(f) < 2 {
			reply(errors.New("kill needs a signal number"))
			return
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			reply(fmt.Errorf("bad signal %q", f[1]))
			return
		}
		reply(m.kill(syscall.Signal(n), len(f) > 2 && f[2] == "thaw"))
	case "attach":
		// attach <stdin> <stdout> <stderr>, each 0 or 1; after "ok" the
		// connection carries output frames one way and input the other.
		if len(f) != 4 {
			reply(errors.New("attach needs three flags"))
			return
		}
		m.mu.Lock()
		done := m.done
		m.mu.Unlock()
		if done {
			reply(errNotRunning)
			return
		}
		io.WriteString(c, "ok\n")
		m.io.attach(c, f[1] == "1", f[2] == "1", f[3] == "1")
	case "resize":
		if len(f) != 3 {
			reply(errors.New("resize needs a height and a width"))
			return
		}
		h, err1 := strconv.ParseUint(f[1], 10, 16)
		w, err2 := strconv.ParseUint(f[2], 10, 16)
		if err1 != nil || err2 != nil {
			reply(fmt.Errorf("bad size %q x %q", f[1], f[2]))
			return
		}
		reply(m.io.resize(uint16(h), uint16(w)))
	case "netshared":
		m.net.shared.Store(true)
		reply(nil)
	case "pause":
		reply(m.pause(true))
	case "unpause":
		reply(m.pause(false))
	default:
		reply(fmt.Errorf("unknown request %q", f[0]))
	}
}

func (m *monitor) kill(sig syscall.Signal, thaw bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return errNotRunning
	}
	if err := m.proc.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return errNotRunning
		}
		return err
	}
	if m.state.Status == StatusPaused && (thaw || sig == syscall.SIGKILL) {
		// A frozen process acts on the signal only once thawed. A
		// cgroup that is gone already was not frozen after all: its
		// process took the signal and the cgroup went with it.
		if err := m.cg.Thaw(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		m.state.Status = StatusRunning
		writeState(m.l.Dir, m.state)
	}
	return nil
}

func (m *monitor) pause(on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return errNotRunning
	}
	if on {
		if err := m.cg.Freeze(); err != nil {
			return err
		}
		m.state.Status = StatusPaused
	} else {
		if err := m.cg.Thaw(); err != nil {
			return err
		}
		m.state.Status = StatusRunning
	}
	return writeState(m.l.Dir, m.state)
}

// createCgroup makes the container's cgroup (v1 and hybrid): out of the
// one made ahead for a spare monitor when the launch names one, else
// afresh.
func (m *monitor) createCgroup(cg *cgroup.Manager) error {
	l := m.l
	if l.SpareCgroup == "" {
		return cg.Create(l.Resources)
	}
	err := cg.Adopt(l.SpareCgroup, l.Resources)
	if err == nil {
		return nil
	}
	if spare, serr := cgroup.New(l.CgroupRoot, l.CgroupMode, l.SpareCgroup, cgroup.Parent(l.CgroupParent)); serr == nil {
		spare.Destroy()
	}
	return cg.Create(l.Resources)
}
