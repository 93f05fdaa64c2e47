package container

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/network"
)

// monitorNet is what a monitor holds for its container's network: the
// published ports' sockets (the userland proxy, which also reserves
// them), and the veth and rules it made, to remove at the exit. The
// monitor outlives the daemon, so published ports keep working while the
// daemon restarts.
type monitorNet struct {
	proxy *network.Proxy
	ports []network.PortMapping // host ports resolved
	host  *network.Host
	ep    *network.Endpoint
	stop  context.CancelFunc // ends the proxy's Serve
	// shared: another container joined the network namespace
	// (--network container:<id>; the engine says so, "netshared").
	shared atomic.Bool
	// attaching is closed when attach has returned.
	attaching chan struct{}
}

// listenPorts binds every published port, all or none, before anything
// else is made for the container: a port in use is then one error and
// nothing to undo but the sockets already bound (Proxy.Listen closes them).
func (m *monitor) listenPorts() error {
	n := m.l.Net
	if n == nil || len(n.Ports) == 0 {
		return nil
	}
	p := network.NewProxy(n.IP, n.Ports)
	ports, err := p.Listen()
	if err != nil {
		return err
	}
	m.net.proxy, m.net.ports = p, ports
	return nil
}

// attachNetwork connects the init (pid, waiting for its plan) to the
// bridge and publishes its ports, in the background while the cgroup
// handshake goes on; the caller waits for the result before the plan
// lets the command run, so the command finds eth0 up and its ports
// published.
func (m *monitor) attachNetwork(pid int) <-chan error {
	done := make(chan error, 1)
	if n := m.l.Net; n == nil || n.Bridge == "" {
		done <- nil
		return done
	}
	m.net.attaching = make(chan struct{})
	go func() {
		defer close(m.net.attaching)
		done <- m.attach(pid)
	}()
	return done
}

func (m *monitor) attach(pid int) error {
	n := m.l.Net
	_, subnet, err := net.ParseCIDR(n.Subnet)
	if err != nil {
		return fmt.Errorf("the bridge's subnet %q: %w", n.Subnet, err)
	}
	h, err := network.OpenHost("")
	if err != nil {
		return err
	}
	m.net.host = h
	br := &network.Bridge{Name: n.Bridge, Gateway: n.Gateway, Subnet: subnet}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep, err := h.Attach(ctx, br, network.NetNS{Pid: pid}, m.l.ID, n.IP)
	if err != nil {
		return err
	}
	m.net.ep = ep
	if m.net.proxy == nil {
		return nil
	}
	if err := h.Publish(ep, m.net.ports); err != nil {
		return err
	}
	sctx, stop := context.WithCancel(context.Background())
	m.net.stop = stop
	go m.net.proxy.Serve(sctx)
	return nil
}

// teardownNetwork closes the published ports and removes the container's
// rules. Its veth goes with its network namespace once the init is gone:
// the kernel deletes the pair when it dismantles the namespace, off the
// exit's path (a veth deleted by hand waits for an RCU grace period, 10
// to 20 ms here, most of a bridged run's extra time). Only when another
// container joined the namespace (--network container:<id>), which keeps
// it, is the veth removed here, so that the address released with this
// container is nowhere in use, as Docker's sandbox goes with its owner.
func (m *monitor) teardownNetwork() error {
	if m.net.attaching != nil {
		<-m.net.attaching // a failed start may not have waited for it
	}
	if m.net.stop != nil {
		m.net.stop()
	}
	if m.net.proxy != nil {
		m.net.proxy.Close()
	}
	h := m.net.host
	if h == nil {
		return nil
	}
	m.net.host = nil
	defer h.Close()
	var unpublish, detach error
	if m.net.proxy != nil {
		unpublish = h.Unpublish(m.l.ID)
	}
	if m.net.ep != nil && m.net.shared.Load() {
		detach = h.Detach(m.l.ID)
	}
	if err := errors.Join(unpublish, detach); err != nil {
		return fmt.Errorf("removing the container's network: %w", err)
	}
	return nil
}

// inNetNS runs start, which starts the init, with this thread in the
// namespace the container joins (--network container:<id>): the init is
// forked from this thread (the monitor's main thread, locked) and is
// born in its namespace. The thread returns to its own namespace after.
func (m *monitor) inNetNS(start func() error) error {
	if m.l.Net == nil || m.l.Net.Join == "" {
		return start()
	}
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer self.Close()
	target, err := os.Open(m.l.Net.Join)
	if err != nil {
		return fmt.Errorf("the network namespace to join: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("joining the network namespace %s: %w", m.l.Net.Join, err)
	}
	startErr := start()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// This thread must not stay in the other container's namespace.
		panic(fmt.Sprintf("returning to the monitor's network namespace: %v", err))
	}
	return startErr
}
