package container

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container/cgroup"
)

// roleEnv is the environment of the monitor and init processes: small Go
// runtimes (one P) that do not inherit the daemon's environment.
var roleEnv = []string{"PATH=" + defaultPath, "GOMAXPROCS=1", "GOGC=off"}

// spawnMonitor starts the container's monitor from the sealed executable,
// in a session of its own, hands it the launch over a pipe, and waits for
// its report: the container's command runs, or why it does not. The
// monitor is this process's child until this process dies; then it is
// orphaned and lives on.
func (e *Engine) spawnMonitor(ctx context.Context, l *launch) (*os.Process, error) {
	if l.CgroupMode != cgroup.ModeV2 {
		go warmMigration(l.CgroupRoot)
	}
	m := e.takeSpare()
	if m != nil && m.cg != nil {
		// Its cgroup, made ahead, becomes the container's.
		l.SpareCgroup, m.cg = m.cgName, nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		if m != nil {
			m.discard()
		}
		return nil, err
	}
	if m == nil {
		if m, err = e.startMonitor(l.Dir); err != nil {
			return nil, err
		}
	}
	cmd := m.cmd
	go func() {
		m.cfgW.Write(b)
		m.cfgW.Close()
	}()
	report, err := io.ReadAll(m.repR)
	m.repR.Close()
	// The next start takes a monitor that has started already; it starts
	// now, not to compete for the CPU with this one's start.
	go e.refillSpare()
	line := strings.TrimSpace(string(report))
	switch {
	case err == nil && line == "ok":
		return cmd.Process, nil
	case strings.HasPrefix(line, "err "):
		cmd.Wait()
		code, msg, _ := strings.Cut(strings.TrimPrefix(line, "err "), " ")
		n, _ := strconv.Atoi(code)
		if n == 0 {
			n = ExitEngineError
		}
		return nil, &StartError{Code: n, Msg: msg}
	}
	werr := cmd.Wait()
	return nil, &StartError{Code: ExitEngineError, Msg: fmt.Sprintf("the container's monitor exited before the container started (%v)", werr)}
}

// spareMonitor is a monitor process that has started (the Go runtime and
// the binary's package state, a few milliseconds) and waits for its launch
// on cfgW. The engine keeps one ready after its first start, so that a
// start does not wait for a process start of its own: the monitor is
// started from the same sealed copy, in a session of its own, with the
// same environment, as it would be for the container. It exits (having
// done nothing) when cfgW closes: at Close, or when the engine dies.
type spareMonitor struct {
	cmd  *exec.Cmd
	cfgW *os.File
	repR *os.File
	// cg is a cgroup made for its container ahead (v1 and hybrid: see
	// cgroup.Manager.Adopt), nil when none; cgName names it.
	cg     *cgroup.Manager
	cgName string
}

// startMonitor starts a monitor process that waits for its launch. dir is
// what its command line shows; a spare's shows a placeholder of the same
// length as a container's directory, which the monitor overwrites with
// the directory once it has its launch (see showDir).
func (e *Engine) startMonitor(dir string) (*spareMonitor, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:        e.self.path,
		Args:        []string{"berth", "container-monitor", dir},
		Env:         roleEnv,
		ExtraFiles:  []*os.File{cfgR, repW},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	cfgR.Close()
	repW.Close()
	if err != nil {
		cfgW.Close()
		repR.Close()
		return nil, fmt.Errorf("starting the container's monitor: %w", err)
	}
	return &spareMonitor{cmd: cmd, cfgW: cfgW, repR: repR}, nil
}

// spareDir is the placeholder on a spare monitor's command line: as long
// as a container's directory, and naming no directory (nor the data root).
func (e *Engine) spareDir() string {
	n := len(e.root) + 1 + 64
	return sparePrefix + strings.Repeat(".", max(n-len(sparePrefix), 0))
}

const sparePrefix = "(spare)"

// takeSpare returns the spare monitor, if there is one and it still lives.
func (e *Engine) takeSpare() *spareMonitor {
	return takeLive(&e.spareMu, &e.spare)
}

// refillSpare starts a spare monitor unless there is one or the engine is
// closing. An idle engine does not keep a spare monitor and init in
// memory: after spareIdle without starts it is ended, and the next start
// begins a fresh one.
func (e *Engine) refillSpare() {
	refill(e, &e.spare, func() (*spareMonitor, error) {
		m, err := e.startMonitor(e.spareDir())
		if err == nil && e.cgMode != cgroup.ModeV2 {
			// Best effort: without it, the monitor makes the cgroup.
			name := spareCgroupPrefix + strconv.Itoa(m.cmd.Process.Pid)
			if cg, err := cgroup.New(e.o.cgroupRoot, e.cgMode, name, cgroup.Parent(e.o.cgroupParent)); err == nil && cg.Create(cgroup.Resources{}) == nil {
				m.cg, m.cgName = cg, name
			}
		}
		return m, err
	})
}

// spareCgroupPrefix names the cgroups made for spare monitors.
const spareCgroupPrefix = "spare-"

// removeSpareCgroups removes the cgroups of spare monitors a previous
// engine of this data root left (it was killed).
func (e *Engine) removeSpareCgroups() {
	dirs, _ := filepath.Glob(filepath.Join(e.o.cgroupRoot, "*", e.o.cgroupParent, spareCgroupPrefix+"*"))
	more, _ := filepath.Glob(filepath.Join(e.o.cgroupRoot, e.o.cgroupParent, spareCgroupPrefix+"*"))
	for _, d := range append(dirs, more...) {
		unix.Rmdir(d)
	}
}

// spareIdle is how long a spare process waits to be used.
const spareIdle = 2 * time.Minute

// sparable is a process started ahead of its use (a spare monitor, an
// exec helper): it can be checked for life and ended unused.
type sparable interface {
	comparable
	process() *os.Process
	discard()
}

func (m *spareMonitor) process() *os.Process { return m.cmd.Process }

// takeLive empties slot and returns what it held, if that still lives
// (a spare killed meanwhile is discarded, and the zero value returned).
func takeLive[T sparable](mu *sync.Mutex, slot *T) T {
	var zero T
	mu.Lock()
	s := *slot
	*slot = zero
	mu.Unlock()
	if s == zero {
		return zero
	}
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, s.process().Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	if err != nil || info.Signo != 0 {
		s.discard()
		return zero
	}
	return s
}

// refill starts a spare into slot unless it holds one or the engine is
// closing; the spare is ended after spareIdle unused.
func refill[T sparable](e *Engine, slot *T, start func() (T, error)) {
	var zero T
	e.spareMu.Lock()
	defer e.spareMu.Unlock()
	if *slot != zero || e.spareClosed {
		return
	}
	s, err := start()
	if err != nil {
		return
	}
	*slot = s
	time.AfterFunc(spareIdle, func() {
		e.spareMu.Lock()
		if *slot != s {
			e.spareMu.Unlock()
			return
		}
		*slot = zero
		e.spareMu.Unlock()
		s.discard()
	})
}

// dropSpare ends the spare monitor and exec helper, if any, and waits for
// them; no other is started after them.
func (e *Engine) dropSpare() {
	e.spareMu.Lock()
	m, h := e.spare, e.spareExec
	e.spare, e.spareExec = nil, nil
	e.spareClosed = true
	e.spareMu.Unlock()
	if m != nil {
		m.discard()
	}
	if h != nil {
		h.discard()
	}
}

// discard ends a spare monitor that has not had its launch: with its
// launch pipe closed, it reports an error and exits.
func (m *spareMonitor) discard() {
	m.cfgW.Close()
	m.repR.Close()
	m.cmd.Wait()
	if m.cg != nil {
		m.cg.Destroy()
	}
}

// warmMigration moves this process into the cgroup it is already in. On
// v1 the first cgroup migration after a quiet moment waits for an RCU
// grace period (the kernel's cgroup_threadgroup_rwsem: 5 to 15 ms here),
// and migrations during or just after it do not. Paying it while the
// monitor and the init start takes it off the critical path of the
// monitor's handshake, which migrates the init.
func warmMigration(root string) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || f[1] == "" || strings.Contains(f[1], ",") {
			continue
		}
		procs := filepath.Join(root, strings.TrimPrefix(f[1], "name="), f[2], "cgroup.procs")
		if os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0) == nil {
			return
		}
	}
}
