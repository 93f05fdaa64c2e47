//go:build !linux

package cgroup

import (
	"fmt"
	"runtime"
	"syscall"
)

// Manager is one container's cgroup; only Linux has cgroups.
type Manager struct{}

var errPlatform = fmt.Errorf("cgroups on %s: %w", runtime.GOOS, ErrNotSupported)

// DetectMode fails: only Linux has cgroups.
func DetectMode() (Mode, error) { return "", errPlatform }

// New fails: only Linux has cgroups.
func New(root string, mode Mode, id string, opts ...Option) (*Manager, error) {
	return nil, errPlatform
}

// Cleanup fails: only Linux has cgroups.
func Cleanup(root string, mode Mode, keep func(id string) bool, opts ...Option) ([]string, error) {
	return nil, errPlatform
}

func (m *Manager) Mode() Mode                    { return "" }
func (m *Manager) Path() string                  { return "" }
func (m *Manager) Create(r Resources) error      { return errPlatform }
func (m *Manager) Update(r Resources) error      { return errPlatform }
func (m *Manager) AddProc(pid int) error         { return errPlatform }
func (m *Manager) DirFD() (int, error)           { return -1, errPlatform }
func (m *Manager) Freeze() error                 { return errPlatform }
func (m *Manager) Thaw() error                   { return errPlatform }
func (m *Manager) Stats() (*Stats, error)        { return nil, errPlatform }
func (m *Manager) OOMKilled() (bool, error)      { return false, errPlatform }
func (m *Manager) Procs() ([]int, error)         { return nil, errPlatform }
func (m *Manager) Kill(sig syscall.Signal) error { return errPlatform }
func (m *Manager) Destroy() error                { return errPlatform }
