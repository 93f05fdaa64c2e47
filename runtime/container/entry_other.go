//go:build !linux

package container

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

var errPlatform = fmt.Errorf("%w (this is %s)", ErrUnsupported, runtime.GOOS)

type sealedExe struct{}

func sealExecutable(string) (*sealedExe, error) { return nil, errPlatform }

func (*sealedExe) close() {}

func socketAddr(dir string) (string, func(), error) {
	return filepath.Join(dir, monitorSock), func() {}, nil
}

type spareMonitor struct{}

type execHelper struct{}

func (e *Engine) dropSpare() {}

func warmMigration(string) {}

func (e *Engine) spawnMonitor(context.Context, *launch) (*os.Process, error) {
	return nil, errPlatform
}

// MonitorMain is Linux's; elsewhere it says so.
func MonitorMain(args []string) int {
	fmt.Fprintln(os.Stderr, errPlatform)
	return 125
}

// InitMain is Linux's; elsewhere it says so.
func InitMain(args []string) int {
	fmt.Fprintln(os.Stderr, errPlatform)
	return 125
}

// ExecMain is Linux's; elsewhere it says so.
func ExecMain(args []string) int {
	fmt.Fprintln(os.Stderr, errPlatform)
	return 125
}

func (e *Engine) startExec(context.Context, *execPlan, bool) (*Process, error) {
	return nil, errPlatform
}

func resizeConsole(*os.File, uint16, uint16) error { return errPlatform }

func (e *Engine) removeSpareCgroups() {}
