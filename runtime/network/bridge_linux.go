package network

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureBridge makes the bridge name with the address bip (gateway/prefix,
// "" for DefaultBIP) and brings it up; an existing bridge keeps the address
// it has (Bridge.Moved says so when bip asked for another). When bip's
// subnet overlaps a route on the host other than the bridge's own, the
// next free subnet of the same size is taken (10.214/16, 10.215/16 ...)
// and Bridge.Moved says so.
func (h *Host) EnsureBridge(name, bip string) (*Bridge, error) {
	explicit := bip != ""
	if bip == "" {
		bip = DefaultBIP
	}
	gw, subnet, err := net.ParseCIDR(bip)
	if err != nil || gw.To4() == nil {
		return nil, fmt.Errorf("invalid bip %q: want an IPv4 gateway/prefix such as %s", bip, DefaultBIP)
	}
	gw = gw.To4()
	link, err := h.nl.LinkByName(name)
	switch {
	case isNotFound(err):
		la := netlink.NewLinkAttrs()
		la.Name = name
		if err := h.nl.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("creating bridge %s: %w", name, err)
		}
		if link, err = h.nl.LinkByName(name); err != nil {
			return nil, fmt.Errorf("bridge %s: %w", name, err)
		}
	case err != nil:
		return nil, fmt.Errorf("bridge %s: %w", name, err)
	case link.Type() != "bridge":
		return nil, fmt.Errorf("%s exists and is a %s, not a bridge", name, link.Type())
	}
	br := &Bridge{Name: name}
	addrs, err := h.nl.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("bridge %s addresses: %w", name, err)
	}
	if len(addrs) > 0 {
		br.Gateway = addrs[0].IP.To4()
		br.Subnet = &net.IPNet{IP: addrs[0].IP.Mask(addrs[0].Mask).To4(), Mask: addrs[0].Mask}
		if explicit && !br.Gateway.Equal(gw) {
			br.Moved = fmt.Sprintf("bridge %s keeps its address %s (configured %s)", name, addrs[0].IPNet, bip)
		}
	} else {
		g, s, moved, err := h.freeSubnet(link.Attrs().Index, gw, subnet)
		if err != nil {
			return nil, err
		}
		br.Gateway, br.Subnet, br.Moved = g, s, moved
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: g, Mask: s.Mask}}
		if err := h.nl.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("addressing bridge %s with %s: %w", name, addr.IPNet, err)
		}
	}
	// A bridge without a MAC address of its own takes its ports' lowest,
	// which changes as containers come and go and leaves a stale gateway
	// entry in their neighbour tables: set one from the gateway, as Docker.
	if mac := MAC(br.Gateway); link.Attrs().HardwareAddr.String() != mac.String() {
		if err := h.nl.LinkSetHardwareAddr(link, mac); err != nil {
			return nil, fmt.Errorf("setting bridge %s's MAC address: %w", name, err)
		}
	}
	if err := h.nl.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("bringing bridge %s up: %w", name, err)
	}
	return br, nil
}

// freeSubnet returns subnet, or the first one after it of the same size
// that overlaps no route except those of the bridge (index self).
func (h *Host) freeSubnet(self int, gw net.IP, subnet *net.IPNet) (net.IP, *net.IPNet, string, error) {
	routes, err := h.nl.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, nil, "", fmt.Errorf("listing routes: %w", err)
	}
	ones, bits := subnet.Mask.Size()
	step := uint32(1) << uint(bits-ones)
	off := ip2u(gw) - ip2u(subnet.IP)
	cur := &net.IPNet{IP: subnet.IP.To4(), Mask: subnet.Mask}
	for i := 0; i < 256; i++ {
		var clash *net.IPNet
		for _, r := range routes {
			if r.Dst == nil || r.LinkIndex == self || r.Dst.IP.To4() == nil {
				continue
			}
			if o, _ := r.Dst.Mask.Size(); o == 0 {
				continue
			}
			if r.Dst.Contains(cur.IP) || cur.Contains(r.Dst.IP) {
				clash = r.Dst
				break
			}
		}
		if clash == nil {
			g := u2ip(ip2u(cur.IP) + off)
			moved := ""
			if i > 0 {
				moved = fmt.Sprintf("bridge subnet %s overlaps a route on the host; using %s", subnet, cur)
			}
			return g, cur, moved, nil
		}
		next := ip2u(cur.IP) + step
		if next < ip2u(cur.IP) {
			break
		}
		cur = &net.IPNet{IP: u2ip(next), Mask: subnet.Mask}
	}
	return nil, nil, "", fmt.Errorf("no free subnet of size /%d after %s: set \"bip\" in daemon.json", ones, subnet)
}

// RemoveBridge deletes the bridge, if there is one.
func (h *Host) RemoveBridge(name string) error {
	link, err := h.nl.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err == nil {
		err = h.nl.LinkDel(link)
	}
	if err != nil {
		return fmt.Errorf("removing bridge %s: %w", name, err)
	}
	return nil
}
