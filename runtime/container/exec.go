package container

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"

	"github.com/berthhq/berth/runtime/container/caps"
	"github.com/berthhq/berth/runtime/container/cgroup"
)

// ExecConfig is a process to run in a running container (docker exec).
type ExecConfig struct {
	Cmd []string
	// Env is KEY=VALUE on top of the container's environment.
	Env []string
	// User and WorkingDir default to the container's.
	User       string
	WorkingDir string
	// Privileged gives the process every capability and no seccomp
	// filter, whatever the container has.
	Privileged bool
	// Tty gives it a terminal of its own in the container's devpts,
	// sized Rows x Cols; Stdin keeps its standard input open.
	Tty        bool
	Rows, Cols uint16
	Stdin      bool
}

// Process is a started exec: its streams, its terminal, its exit.
type Process struct {
	// Pid is the process's PID on the host.
	Pid int
	// Stdin is nil unless ExecConfig.Stdin; closing it gives EOF.
	Stdin *os.File
	// Stdout and Stderr are its output; with a terminal both are nil and
	// Console carries everything, both ways.
	Stdout, Stderr *os.File
	Console        *os.File

	cmd *exec.Cmd
}

// Resize sets the size of the process's terminal.
func (p *Process) Resize(rows, cols uint16) error {
	if p.Console == nil {
		return invalidf("the process has no terminal (it was started without -t)")
	}
	return resizeConsole(p.Console, rows, cols)
}

// Wait waits for the process to exit and returns its status, as Docker
// reports it (128+signal for a signal). It closes the streams: read them
// to their end first.
func (p *Process) Wait() int {
	err := p.cmd.Wait()
	for _, f := range []*os.File{p.Stdin, p.Stdout, p.Stderr, p.Console} {
		f.Close() // nil or closed already: an error that says nothing
	}
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return waitCode(ws)
		}
	}
	return exitUnknownStatus
}

// execPlan is what the exec helper does, computed by the engine.
type execPlan struct {
	// Pid is the container's PID 1 on the host: its namespaces are
	// entered through /proc/<pid>/ns.
	Pid          int
	ID           string
	CgroupRoot   string
	CgroupMode   cgroup.Mode
	CgroupParent string
	Args         []string
	Env          []string
	User         string
	Cwd          string
	Caps         []string
	Seccomp      bool
	NoNewPrivs   bool
	Rlimits      []rlimitPlan
	Tty          bool
	Rows, Cols   uint16
}

// Exec starts a process in a running container: in every namespace and
// the cgroup of the container, confined as its command is (capabilities,
// seccomp, no_new_privs, rlimits), as the container's user unless cfg
// says another. It returns once the process runs, or a *StartError (126,
// 127 as Docker's) saying why it does not.
func (e *Engine) Exec(ctx context.Context, idOrName string, cfg ExecConfig) (*Process, error) {
	if len(cfg.Cmd) == 0 {
		return nil, invalidf("no command specified")
	}
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	c := en.snapshot()
	switch {
	case c.State.Paused():
		return nil, conflictf("Container %s is paused, unpause the container before exec", c.ID)
	case !c.State.Running() || c.State.Pid <= 0:
		return nil, conflictf("Container %s is not running", c.ID)
	}
	privileged := c.HostConfig.Privileged || cfg.Privileged
	keep, err := caps.Resolve(c.HostConfig.CapAdd, c.HostConfig.CapDrop, privileged)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	sec, err := parseSecurityOpts(c.HostConfig.SecurityOpt)
	if err != nil {
		return nil, err
	}
	// Docker's exec environment: the container's, with TERM for a
	// terminal of the exec's own.
	env := []string{"PATH=" + defaultPath, "HOSTNAME=" + c.Config.Hostname}
	if cfg.Tty {
		env = append(env, "TERM=xterm")
	}
	env = replaceOrAppendEnv(env, c.Config.Env)
	p := execPlan{
		Pid: c.State.Pid, ID: c.ID, CgroupRoot: e.o.cgroupRoot, CgroupMode: e.cgMode, CgroupParent: e.o.cgroupParent,
		Args: cfg.Cmd, Env: replaceOrAppendEnv(env, cfg.Env), User: firstNonEmpty(cfg.User, c.Config.User),
		Cwd: firstNonEmpty(cfg.WorkingDir, c.Config.WorkingDir, "/"), Caps: keep,
		Seccomp: !sec.Unconfined && !privileged, NoNewPrivs: sec.NoNewPrivileges,
		Tty: cfg.Tty, Rows: cfg.Rows, Cols: cfg.Cols,
	}
	p.Rlimits, _ = rlimits(c.HostConfig.Ulimits, e.facts())
	return e.startExec(ctx, &p, cfg.Stdin)
}

// firstNonEmpty is the first of its arguments that is not empty.
func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
