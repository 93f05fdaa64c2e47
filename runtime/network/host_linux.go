package network

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Host is the network namespace that holds the bridge and the NAT rules:
// the daemon's own (OpenHost("")), or in tests one the test made.
type Host struct {
	ns netns.NsHandle // -1: the caller's namespace
	nl *netlink.Handle
}

// OpenHost opens the network namespace at netnsPath ("" for the calling
// process's).
func OpenHost(netnsPath string) (*Host, error) {
	h := &Host{ns: netns.None()}
	var err error
	if netnsPath == "" {
		h.nl, err = netlink.NewHandle()
	} else {
		if h.ns, err = netns.GetFromPath(netnsPath); err != nil {
			return nil, fmt.Errorf("opening network namespace %s: %w", netnsPath, err)
		}
		h.nl, err = netlink.NewHandleAt(h.ns)
	}
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return h, nil
}

// Close releases the namespace and the netlink socket.
func (h *Host) Close() error {
	if h.nl != nil {
		h.nl.Close()
	}
	if h.ns.IsOpen() {
		return h.ns.Close()
	}
	return nil
}

func (h *Host) nft() (*nftables.Conn, error) {
	var c *nftables.Conn
	var err error
	if h.ns.IsOpen() {
		c, err = nftables.New(nftables.WithNetNSFd(int(h.ns)))
	} else {
		c, err = nftables.New()
	}
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

// do runs fn on a thread in the host's namespace. The thread is locked
// and never unlocked, so Go retires it rather than reuse it elsewhere.
func (h *Host) do(fn func() error) error {
	if !h.ns.IsOpen() {
		return fn()
	}
	return inNetNS(h.ns, fn)
}

func inNetNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("entering network namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// EnableIPForward turns net.ipv4.ip_forward on in the host's namespace,
// as dockerd does at start (the daemon skips it for "ip-forward": false).
func (h *Host) EnableIPForward() error {
	return h.do(func() error {
		const p = "/proc/sys/net/ipv4/ip_forward"
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 && b[0] == '1' {
			return nil
		}
		if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
			return fmt.Errorf("enabling IP forwarding: %w", err)
		}
		return nil
	})
}

// IPForwardEnabled says whether net.ipv4.ip_forward is on, for the
// daemon's warning when it is not.
func (h *Host) IPForwardEnabled() (bool, error) {
	var on bool
	err := h.do(func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		on = err == nil && len(b) > 0 && b[0] == '1'
		return err
	})
	return on, err
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}
