package network

import (
	"fmt"
	"net"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// containerChain is the per-container chain of DNAT rules in Berth's
// table; prerouting and output jump to it by rules tagged with the ID.
func containerChain(containerID string) string { return "c-" + hostIface(containerID)[2:] }

// Publish adds the kernel NAT for ep's published ports (ports must have
// their host ports resolved, see Proxy.Listen): traffic from outside to a
// local address (prerouting), and locally made traffic to a local address
// other than 127.0.0.0/8 (output; loopback is the userland proxy's), is
// DNATed to ep.IP. EnsureNAT must have run. It replaces what Publish made
// before for the container; ep.Ports records ports.
func (h *Host) Publish(ep *Endpoint, ports []PortMapping) error {
	if err := h.Unpublish(ep.ContainerID); err != nil {
		return err
	}
	c, err := h.nft()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	chain := c.AddChain(&nftables.Chain{Name: containerChain(ep.ContainerID), Table: berthTable})
	for _, p := range ports {
		if p.HostPort == 0 {
			return fmt.Errorf("publishing %v: host port not resolved", p)
		}
		proto := byte(unix.IPPROTO_TCP)
		if p.Proto == "udp" {
			proto = unix.IPPROTO_UDP
		}
		var ex []expr.Any
		if p.HostIP != nil && !p.HostIP.IsUnspecified() {
			if p.HostIP.To4() == nil {
				continue // IPv6 host addresses: the proxy only
			}
			ex = payloadCmpNet(16, &net.IPNet{IP: p.HostIP.To4(), Mask: net.CIDRMask(32, 32)}, expr.CmpOpEq)
		}
		ex = append(ex,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
			&expr.Immediate{Register: 1, Data: ep.IP.To4()},
			&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
		)
		c.AddRule(&nftables.Rule{Table: berthTable, Chain: chain, Exprs: ex})
	}
	ud := userdata.AppendString(nil, userdata.TypeComment, CommentPrefix+ep.ContainerID)
	local := []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
	jump := &expr.Verdict{Kind: expr.VerdictJump, Chain: chain.Name}
	pre := append(append([]expr.Any{}, local...), jump)
	// Not from the bridge itself: a container reaching its own published
	// port through the host would need hairpin NAT, which Berth lacks.
	pre = append(ifname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, ep.Bridge), pre...)
	out := append(payloadCmpNet(16, &net.IPNet{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}, expr.CmpOpNeq), local...)
	out = append(out, jump)
	for _, bc := range baseChains() {
		switch bc.Name {
		case "prerouting":
			c.AddRule(&nftables.Rule{Table: berthTable, Chain: bc, Exprs: pre, UserData: ud})
		case "output":
			c.AddRule(&nftables.Rule{Table: berthTable, Chain: bc, Exprs: out, UserData: ud})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: publishing ports of %.12s: %w", ep.ContainerID, err)
	}
	ep.Ports = ports
	return nil
}

// Unpublish removes the container's DNAT rules; there being none is not
// an error. It is one transaction: each commit that deletes rules waits
// for the kernel's RCU grace period (10 ms here), and this is on the path
// of every stop of a container with published ports.
func (h *Host) Unpublish(containerID string) error {
	c, err := h.nft()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	if t, err := c.ListTableOfFamily(TableName, nftables.TableFamilyIPv4); err != nil || t == nil {
		return nil // no table, no rules
	}
	n := 0
	for _, bc := range baseChains() {
		if bc.Name == "prerouting" || bc.Name == "output" {
			k, err := queueDelTagged(c, berthTable, bc, CommentPrefix+containerID)
			if err != nil {
				return err
			}
			n += k
		}
	}
	name := containerChain(containerID)
	if ch, err := c.ListChain(berthTable, name); err == nil && ch != nil {
		c.FlushChain(ch)
		c.DelChain(ch)
		n++
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: removing the published ports of %.12s: %w", containerID, err)
	}
	return nil
}
