package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

var berthTable = &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}

func baseChains() []*nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return []*nftables.Chain{
		{Name: "postrouting", Table: berthTable, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
		{Name: "prerouting", Table: berthTable, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		{Name: "output", Table: berthTable, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		{Name: "forward", Table: berthTable, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept},
	}
}

// EnsureNAT sets up outbound NAT for the bridge: Berth's table with the
// masquerade of the bridge subnet leaving by another interface, the
// forward accepts for the bridge, and the same accepts inserted at the
// head of every other forward chain whose policy is drop. Idempotent:
// the rules it made before for this bridge are replaced in the same
// transaction, so that a daemon restarting never opens a moment in which
// a foreign drop cuts the running containers off. Other bridges' rules
// (another data root's daemon) are left alone.
func (h *Host) EnsureNAT(br *Bridge) (*NAT, error) {
	c, err := h.nft()
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	c.AddTable(berthTable)
	chains := baseChains()
	for _, ch := range chains {
		c.AddChain(ch)
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("nftables: creating table %s: %w", TableName, err)
	}
	tag := bridgeTag(br.Name)
	for _, ch := range []*nftables.Chain{chains[0], chains[3]} {
		if _, err := queueDelTagged(c, berthTable, ch, tag); err != nil {
			return nil, err
		}
	}
	ud := userdata.AppendString(nil, userdata.TypeComment, tag)
	masq := append(append(payloadCmpNet(12, br.Subnet, expr.CmpOpEq), ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, br.Name)...), &expr.Masq{})
	c.AddRule(&nftables.Rule{Table: berthTable, Chain: chains[0], Exprs: masq, UserData: ud})
	for _, r := range forwardAccepts(br.Name) {
		c.AddRule(&nftables.Rule{Table: berthTable, Chain: chains[3], Exprs: r, UserData: ud})
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("nftables: masquerade for %s: %w", br.Subnet, err)
	}
	n := &NAT{}
	h.do(func() error {
		b, err := os.ReadFile("/proc/thread-self/net/ip_tables_names")
		n.LegacyFilter = err == nil && slices.Contains(strings.Fields(string(b)), "filter")
		return nil
	})
	drops, err := foreignDropChains(c)
	if err != nil {
		return nil, err
	}
	for _, ch := range drops {
		if _, err := queueDelTagged(c, ch.Table, ch, tag); err != nil {
			return nil, err
		}
		rules := forwardAccepts(br.Name)
		for i := len(rules) - 1; i >= 0; i-- {
			c.InsertRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: rules[i], UserData: ud})
		}
		if err := c.Flush(); err != nil {
			return nil, fmt.Errorf("nftables: accepts for %s in %s: %w", br.Name, chainName(ch), err)
		}
		n.ForeignDrop = append(n.ForeignDrop, chainName(ch))
	}
	return n, nil
}

// bridgeTag is the comment of the rules EnsureNAT makes for a bridge.
func bridgeTag(bridge string) string { return CommentPrefix + "bridge:" + bridge }

// RemoveNAT removes what EnsureNAT made for the bridge: its masquerade
// and accepts, here and in other tables' forward chains; Berth's table
// goes too once no bridge uses it any more.
func (h *Host) RemoveNAT(bridge string) error {
	c, err := h.nft()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	tag := bridgeTag(bridge)
	drops, err := foreignDropChains(c)
	if err != nil {
		return err
	}
	for _, ch := range drops {
		if err := delTagged(c, ch.Table, ch, tag); err != nil {
			return err
		}
	}
	t, err := c.ListTableOfFamily(TableName, nftables.TableFamilyIPv4)
	if err != nil || t == nil {
		return nil // no table, nothing of Berth's in it
	}
	chains := baseChains()
	for _, ch := range []*nftables.Chain{chains[0], chains[3]} {
		if err := delTagged(c, berthTable, ch, tag); err != nil {
			return err
		}
	}
	if left, err := c.GetRules(berthTable, chains[0]); err != nil || len(left) > 0 {
		return err // another bridge's masquerade: the table stays
	}
	c.DelTable(berthTable)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: removing table %s: %w", TableName, err)
	}
	return nil
}

func chainName(ch *nftables.Chain) string {
	fam := map[nftables.TableFamily]string{nftables.TableFamilyIPv4: "ip", nftables.TableFamilyINet: "inet"}[ch.Table.Family]
	return fmt.Sprintf("%s %s %s", fam, ch.Table.Name, ch.Name)
}

// foreignDropChains are the forward base chains of other ip and inet
// tables whose policy is drop.
func foreignDropChains(c *nftables.Conn) ([]*nftables.Chain, error) {
	var out []*nftables.Chain
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyINet} {
		chains, err := c.ListChainsOfTableFamily(fam)
		if err != nil {
			return nil, fmt.Errorf("nftables: listing chains: %w", err)
		}
		for _, ch := range chains {
			if ch.Table.Name == TableName && fam == nftables.TableFamilyIPv4 {
				continue
			}
			if ch.Hooknum != nil && *ch.Hooknum == *nftables.ChainHookForward && ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop {
				out = append(out, ch)
			}
		}
	}
	return out, nil
}

// delTagged deletes the rules of ch whose comment is tag, or starts with
// tag when it ends in ':'.
func delTagged(c *nftables.Conn, t *nftables.Table, ch *nftables.Chain, tag string) error {
	n, err := queueDelTagged(c, t, ch, tag)
	if err != nil || n == 0 {
		return err
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: removing Berth's rules from %s: %w", chainName(ch), err)
	}
	return nil
}

// queueDelTagged is delTagged without the flush: the deletions join the
// caller's transaction. It returns how many rules it queued.
func queueDelTagged(c *nftables.Conn, t *nftables.Table, ch *nftables.Chain, tag string) (int, error) {
	rules, err := c.GetRules(t, ch)
	if err != nil {
		return 0, fmt.Errorf("nftables: listing %s: %w", chainName(ch), err)
	}
	n := 0
	for _, r := range rules {
		if s, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && (s == tag || strings.HasSuffix(tag, ":") && strings.HasPrefix(s, tag)) {
			if err := c.DelRule(r); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

// forwardAccepts lets the bridge's traffic through a forward chain:
// everything from the containers, and to them only replies and published
// ports (DNATed connections), as Docker's rules do. The conntrack test is
// iptables' own match (xt conntrack), not nftables' ct expression, so
// that iptables-nft (and dockerd through it) can still read a chain that
// Berth inserted into.
func forwardAccepts(bridge string) [][]expr.Any {
	const (
		established = 1 << (0 + 1) // XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED)
		related     = 1 << (1 + 1)
		dnat        = 1 << 7 // XT_CONNTRACK_STATE_DNAT
	)
	ct := &expr.Match{Name: "conntrack", Rev: 3, Info: &xt.ConntrackMtinfo3{ConntrackMtinfo2: xt.ConntrackMtinfo2{
		ConntrackMtinfoBase: xt.ConntrackMtinfoBase{MatchFlags: uint16(xt.ConntrackState)},
		StateMask:           established | related | dnat,
	}}}
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	return [][]expr.Any{
		append(ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, bridge), accept),
		append(ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, bridge), ct, accept),
	}
}

func ifname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: b}}
}

// payloadCmpNet matches the IPv4 address at offset (12 source, 16
// destination) against n.
func payloadCmpNet(offset uint32, n *net.IPNet, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte(n.Mask), Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: n.IP.To4()},
	}
}

// GuardForward keeps the bridge's accepts in other tables' forward chains
// with a drop policy while ctx lasts: a firewall or another engine that
// starts after the daemon (dockerd sets its FORWARD policy to drop) would
// otherwise cut the bridge off until the daemon's next start. It watches
// the ruleset's changes and, a moment after each burst of them, inserts
// the accepts into every such chain that lacks them; inserted reports the
// chains it mended. It returns when ctx ends or the watch fails.
func (h *Host) GuardForward(ctx context.Context, br *Bridge, inserted func(chains []string, err error)) error {
	c, err := h.nft()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	mon := nftables.NewMonitor(nftables.WithMonitorAction(nftables.MonitorActionAny), nftables.WithMonitorObject(nftables.MonitorObjectAny))
	events, err := c.AddMonitor(mon)
	if err != nil {
		return fmt.Errorf("nftables: watching the ruleset: %w", err)
	}
	defer func() {
		mon.Close()
		for range events { // the watch's goroutines end once drained
		}
	}()
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				return fmt.Errorf("nftables: the ruleset's watch ended")
			}
			if settle == nil {
				// A firewall's reload is many changes: act once after them.
				settle = time.After(200 * time.Millisecond)
			}
		case <-settle:
			settle = nil
			if chains, err := h.mendForward(br); len(chains) > 0 || err != nil {
				inserted(chains, err)
			}
		}
	}
}

// mendForward inserts the bridge's accepts at the head of the other
// tables' drop-policy forward chains that lack them, and names those.
func (h *Host) mendForward(br *Bridge) ([]string, error) {
	c, err := h.nft()
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	drops, err := foreignDropChains(c)
	if err != nil {
		return nil, err
	}
	tag := bridgeTag(br.Name)
	ud := userdata.AppendString(nil, userdata.TypeComment, tag)
	var mended []string
	for _, ch := range drops {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			return mended, fmt.Errorf("nftables: listing %s: %w", chainName(ch), err)
		}
		n := 0
		for _, r := range rules {
			if s, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && s == tag {
				n++
			}
		}
		if n == len(forwardAccepts(br.Name)) {
			continue
		}
		if _, err := queueDelTagged(c, ch.Table, ch, tag); err != nil {
			return mended, err
		}
		accepts := forwardAccepts(br.Name)
		for i := len(accepts) - 1; i >= 0; i-- {
			c.InsertRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: accepts[i], UserData: ud})
		}
		if err := c.Flush(); err != nil {
			return mended, fmt.Errorf("nftables: accepts for %s in %s: %w", br.Name, chainName(ch), err)
		}
		mended = append(mended, chainName(ch))
	}
	return mended, nil
}
