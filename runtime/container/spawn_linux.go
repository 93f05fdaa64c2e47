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
	"syscall"

	"github.com/berthhq/berth/runtime/cgroup"
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
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
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
		Args:        []string{"berth", "container-monitor", l.Dir},
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
	go func() {
		cfgW.Write(b)
		cfgW.Close()
	}()
	report, err := io.ReadAll(repR)
	repR.Close()
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
