package network

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Attach connects the container whose network namespace is target to the
// bridge with address ip: a veth pair, the host end in the bridge, the
// other end eth0 in the container (MAC from the IP, ip/prefix, default
// route via the gateway) with lo and eth0 up. A previous attachment of the
// same container is replaced; on failure nothing is left behind.
func (h *Host) Attach(ctx context.Context, br *Bridge, target NetNS, containerID string, ip net.IP) (ep *Endpoint, err error) {
	if ip.To4() == nil || !br.Subnet.Contains(ip) {
		return nil, fmt.Errorf("attaching %.12s: address %v is not in the bridge subnet %s", containerID, ip, br.Subnet)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ns netns.NsHandle
	if target.Path != "" {
		ns, err = netns.GetFromPath(target.Path)
	} else {
		ns, err = netns.GetFromPid(target.Pid)
	}
	if err != nil {
		return nil, fmt.Errorf("attaching %.12s: container network namespace %+v: %w", containerID, target, err)
	}
	defer ns.Close()
	brLink, err := h.nl.LinkByName(br.Name)
	if err != nil {
		return nil, fmt.Errorf("attaching %.12s: bridge %s: %w", containerID, br.Name, err)
	}
	if err := h.Detach(containerID); err != nil {
		return nil, err
	}
	ep = &Endpoint{
		ContainerID: containerID,
		Bridge:      br.Name,
		HostIface:   hostIface(containerID),
		IP:          ip.To4(),
		Gateway:     br.Gateway,
		MAC:         MAC(ip).String(),
	}
	ep.PrefixLen, _ = br.Subnet.Mask.Size()
	la := netlink.NewLinkAttrs()
	la.Name = ep.HostIface
	la.MasterIndex = brLink.Attrs().Index
	la.MTU = brLink.Attrs().MTU
	peer := "bp" + ep.HostIface[2:]
	veth := &netlink.Veth{LinkAttrs: la, PeerName: peer, PeerHardwareAddr: MAC(ip), PeerNamespace: netlink.NsFd(ns)}
	if err := h.nl.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("attaching %.12s: creating veth %s: %w", containerID, ep.HostIface, err)
	}
	defer func() {
		if err != nil {
			h.Detach(containerID)
		}
	}()
	if err := configureContainerEnd(ns, peer, ep); err != nil {
		return nil, fmt.Errorf("attaching %.12s: %w", containerID, err)
	}
	host, err := h.nl.LinkByName(ep.HostIface)
	if err == nil {
		// The full ID, for Reconcile.
		err = h.nl.LinkSetAlias(host, aliasPrefix+containerID)
	}
	if err == nil {
		err = h.nl.LinkSetUp(host)
	}
	if err != nil {
		return nil, fmt.Errorf("attaching %.12s: bringing %s up: %w", containerID, ep.HostIface, err)
	}
	cnl, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("attaching %.12s: netlink in the container: %w", containerID, err)
	}
	defer cnl.Close()
	for _, w := range []struct {
		nl   *netlink.Handle
		name string
	}{{h.nl, ep.HostIface}, {cnl, "eth0"}} {
		if err := waitOperUp(ctx, w.nl, w.name); err != nil {
			return nil, fmt.Errorf("attaching %.12s: %w", containerID, err)
		}
	}
	return ep, nil
}

// waitOperUp waits until the kernel's link watcher has seen the link's
// carrier: until then its queue discipline is the one that drops
// everything, and a container's first SYN would be lost (a 1 s retry).
func waitOperUp(ctx context.Context, nl *netlink.Handle, name string) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		l, err := nl.LinkByName(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if l.Attrs().OperState == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s has no carrier after 3s (operstate %s)", name, l.Attrs().OperState)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func configureContainerEnd(ns netns.NsHandle, peer string, ep *Endpoint) error {
	nl, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in the container: %w", err)
	}
	defer nl.Close()
	link, err := nl.LinkByName(peer)
	if err != nil {
		return fmt.Errorf("container end %s: %w", peer, err)
	}
	if err := nl.LinkSetName(link, "eth0"); err != nil {
		return fmt.Errorf("renaming %s to eth0: %w", peer, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ep.IP, Mask: net.CIDRMask(ep.PrefixLen, 32)}}
	if err := nl.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("addressing eth0 with %s: %w", addr.IPNet, err)
	}
	lo, err := nl.LinkByName("lo")
	if err == nil {
		err = nl.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	if err := nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("bringing eth0 up: %w", err)
	}
	if err := nl.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: ep.Gateway}); err != nil {
		return fmt.Errorf("default route via %s: %w", ep.Gateway, err)
	}
	return nil
}

// Detach removes the container's veth pair (deleting the host end deletes
// both); detaching what is not attached is not an error.
func (h *Host) Detach(containerID string) error {
	name := hostIface(containerID)
	link, err := h.nl.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err == nil {
		err = h.nl.LinkDel(link)
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("detaching %.12s: removing %s: %w", containerID, name, err)
	}
	return nil
}
