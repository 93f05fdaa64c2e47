//go:build !linux

package network

import (
	"context"
	"errors"
	"net"
)

// ErrUnsupported: bridge networking needs Linux (macOS runs Berth in a VM).
var ErrUnsupported = errors.New("bridge networking is only supported on Linux")

// Host is the network namespace that holds the bridge (Linux only).
type Host struct{}

func OpenHost(netnsPath string) (*Host, error)                  { return nil, ErrUnsupported }
func (h *Host) Close() error                                    { return nil }
func (h *Host) EnableIPForward() error                          { return ErrUnsupported }
func (h *Host) IPForwardEnabled() (bool, error)                 { return false, ErrUnsupported }
func (h *Host) EnsureBridge(name, bip string) (*Bridge, error)  { return nil, ErrUnsupported }
func (h *Host) RemoveBridge(name string) error                  { return ErrUnsupported }
func (h *Host) EnsureNAT(br *Bridge) (*NAT, error)              { return nil, ErrUnsupported }
func (h *Host) RemoveNAT(bridge string) error                   { return ErrUnsupported }
func (h *Host) Publish(ep *Endpoint, ports []PortMapping) error { return ErrUnsupported }
func (h *Host) Unpublish(containerID string) error              { return ErrUnsupported }
func (h *Host) Detach(containerID string) error                 { return ErrUnsupported }
func (h *Host) Attach(ctx context.Context, br *Bridge, target NetNS, containerID string, ip net.IP) (*Endpoint, error) {
	return nil, ErrUnsupported
}

func (h *Host) GuardForward(ctx context.Context, br *Bridge, inserted func(chains []string, err error)) error {
	return ErrUnsupported
}

func (h *Host) Reconcile(br *Bridge, keep func(containerID string) bool) ([]string, error) {
	return nil, ErrUnsupported
}
