package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, netlink and nftables")
	}
}

// newNS makes an unnamed network namespace that lives while the returned
// handle is open (closed at the test's end, which destroys every link and
// rule in it) and its path for OpenHost and NetNS.
func newNS(t *testing.T) (netns.NsHandle, string) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatal(err) // the thread stays locked and dies with the test binary
	}
	t.Cleanup(func() { ns.Close() })
	return ns, fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(ns))
}

// childInNewNS starts a process in a new network namespace, killed (by
// its PID) at the test's end.
func childInNewNS(t *testing.T) (int, netns.NsHandle) {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ns, err := netns.GetFromPid(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return cmd.Process.Pid, ns
}

func openHost(t *testing.T, path string) *Host {
	t.Helper()
	h, err := OpenHost(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// hostState is what the test must leave as it found it in the host's
// own namespace.
func hostState(t *testing.T) string {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseLasting()
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		names = append(names, "table "+tb.Name)
	}
	named, _ := os.ReadDir("/run/netns")
	for _, e := range named {
		names = append(names, "netns "+e.Name())
	}
	return strings.Join(names, " ")
}

func checkHostUntouched(t *testing.T) {
	before := hostState(t)
	t.Cleanup(func() {
		if after := hostState(t); after != before {
			t.Errorf("host's namespace changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// serveTCP answers each connection with name and the peer's address.
func serveTCP(t *testing.T, ns netns.NsHandle, addr, name string) {
	t.Helper()
	var l net.Listener
	if err := inNetNS(ns, func() (err error) { l, err = net.Listen("tcp4", addr); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s", name, c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
}

func serveUDP(t *testing.T, ns netns.NsHandle, addr, name string) {
	t.Helper()
	var pc net.PacketConn
	if err := inNetNS(ns, func() (err error) { pc, err = net.ListenPacket("udp4", addr); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		b := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(name+" "+string(b[:n])), from)
		}
	}()
}

func dialIn(ns netns.NsHandle, network, addr string) (string, error) {
	var got string
	err := inNetNS(ns, func() error {
		c, err := net.DialTimeout(network, addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if network == "udp4" {
			if _, err := c.Write([]byte("ping")); err != nil {
				return err
			}
			b := make([]byte, 1500)
			n, err := c.Read(b)
			got = string(b[:n])
			return err
		}
		b, err := io.ReadAll(c)
		got = string(b)
		return err
	})
	return got, err
}

func TestEnsureBridgeOverlap(t *testing.T) {
	requireRoot(t)
	checkHostUntouched(t)
	_, path := newNS(t)
	h := openHost(t, path)
	// A route into 10.213/16 already on the "host".
	la := netlink.NewLinkAttrs()
	la.Name = "lan0"
	lan := &netlink.Veth{LinkAttrs: la, PeerName: "lan1"}
	if err := h.nl.LinkAdd(lan); err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("10.213.5.1/24")
	if err := h.nl.AddrAdd(lan, addr); err != nil {
		t.Fatal(err)
	}
	if err := h.nl.LinkSetUp(lan); err != nil {
		t.Fatal(err)
	}
	br, err := h.EnsureBridge("berth0", "")
	if err != nil {
		t.Fatal(err)
	}
	if br.Gateway.String() != "10.214.0.1" || br.Subnet.String() != "10.214.0.0/16" || br.Moved == "" {
		t.Fatalf("got %+v, want 10.214.0.1 in 10.214.0.0/16 and a note", br)
	}
	again, err := h.EnsureBridge("berth0", "")
	if err != nil || !again.Gateway.Equal(br.Gateway) {
		t.Fatalf("second EnsureBridge: %+v %v", again, err)
	}
	if _, err := h.EnsureBridge("lan0", ""); err == nil {
		t.Fatal("a veth taken for a bridge")
	}
	if err := h.RemoveBridge("berth0"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.nl.LinkByName("berth0"); !isNotFound(err) {
		t.Fatalf("bridge still there: %v", err)
	}
	if err := h.RemoveBridge("berth0"); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
}

// TestBridgeNetworking: a "host" namespace with the bridge and NAT, an
// "outside" namespace connected to it by a veth (192.0.2.0/24), and two
// containers; the host's forward chain of another table has policy drop,
// as Docker leaves it.
func TestBridgeNetworking(t *testing.T) {
	requireRoot(t)
	checkHostUntouched(t)
	hostNS, hostPath := newNS(t)
	outNS, _ := newNS(t)
	c1NS, c1Path := newNS(t)
	c2Pid, c2NS := childInNewNS(t)
	h := openHost(t, hostPath)

	// The uplink to the outside, which has no route to the bridge subnet.
	la := netlink.NewLinkAttrs()
	la.Name = "uplink"
	if err := h.nl.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "eth0", PeerNamespace: netlink.NsFd(outNS)}); err != nil {
		t.Fatal(err)
	}
	outNL, err := netlink.NewHandleAt(outNS)
	if err != nil {
		t.Fatal(err)
	}
	defer outNL.Close()
	for _, side := range []struct {
		nl         *netlink.Handle
		name, addr string
	}{{h.nl, "uplink", "192.0.2.1/24"}, {h.nl, "lo", ""}, {outNL, "eth0", "192.0.2.2/24"}, {outNL, "lo", ""}} {
		l, err := side.nl.LinkByName(side.name)
		if err != nil {
			t.Fatal(err)
		}
		if side.addr != "" {
			a, _ := netlink.ParseAddr(side.addr)
			if err := side.nl.AddrAdd(l, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := side.nl.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	// Docker's FORWARD policy drop, as iptables-nft makes it.
	nc, err := h.nft()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.CloseLasting()
	drop := nftables.ChainPolicyDrop
	filter := nc.AddTable(&nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4})
	fwd := nc.AddChain(&nftables.Chain{Name: "FORWARD", Table: filter, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	if err := h.EnableIPForward(); err != nil {
		t.Fatal(err)
	}
	if on, err := h.IPForwardEnabled(); err != nil || !on {
		t.Fatalf("ip_forward: %v %v", on, err)
	}
	br, err := h.EnsureBridge("berth0", "")
	if err != nil {
		t.Fatal(err)
	}
	if br.Gateway.String() != "10.213.0.1" || br.Moved != "" {
		t.Fatalf("bridge %+v", br)
	}
	nat, err := h.EnsureNAT(br)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(nat.ForeignDrop) != "[ip filter FORWARD]" {
		t.Fatalf("foreign drop chains %v", nat.ForeignDrop)
	}
	if nat, err = h.EnsureNAT(br); err != nil {
		t.Fatalf("EnsureNAT twice: %v", err)
	}
	if rules, _ := nc.GetRules(filter, fwd); len(rules) != 2 {
		t.Fatalf("%d rules in ip filter FORWARD after EnsureNAT twice, want 2", len(rules))
	}
	masq := false
	rules, err := nc.GetRules(berthTable, baseChains()[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		for _, e := range r.Exprs {
			if _, ok := e.(*expr.Masq); ok {
				masq = true
			}
		}
	}
	if !masq || len(rules) != 1 {
		t.Fatalf("postrouting has %d rules, masquerade %v", len(rules), masq)
	}

	ipam, err := OpenIPAM(t.TempDir(), br.Subnet, br.Gateway)
	if err != nil {
		t.Fatal(err)
	}
	const id1, id2 = "1111111111111111aaaa", "2222222222222222bbbb"
	ip1, _ := ipam.Allocate(id1, nil)
	ip2, _ := ipam.Allocate(id2, net.ParseIP("10.213.0.77"))
	ctx := context.Background()
	ep1, err := h.Attach(ctx, br, NetNS{Path: c1Path}, id1, ip1)
	if err != nil {
		t.Fatal(err)
	}
	// Attach is idempotent: a second one replaces the first.
	if ep1, err = h.Attach(ctx, br, NetNS{Path: c1Path}, id1, ip1); err != nil {
		t.Fatal(err)
	}
	// The second container by PID, as the monitor will name it: a child
	// process in a new network namespace.
	ep2, err := h.Attach(ctx, br, NetNS{Pid: c2Pid}, id2, ip2)
	if err != nil {
		t.Fatal(err)
	}
	c1NL, err := netlink.NewHandleAt(c1NS)
	if err != nil {
		t.Fatal(err)
	}
	defer c1NL.Close()
	eth0, err := c1NL.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := h.nl.LinkByName("berth0"); l.Attrs().HardwareAddr.String() != "02:42:0a:d5:00:01" {
		t.Fatalf("bridge MAC %s, want one set from the gateway", l.Attrs().HardwareAddr)
	}
	if eth0.Attrs().HardwareAddr.String() != "02:42:0a:d5:00:02" || ep1.MAC != "02:42:0a:d5:00:02" {
		t.Fatalf("eth0 MAC %s, endpoint %s", eth0.Attrs().HardwareAddr, ep1.MAC)
	}

	serveTCP(t, c1NS, ":80", "c1")
	serveUDP(t, c1NS, ":53", "c1")
	serveTCP(t, outNS, "192.0.2.2:9000", "outside")

	t.Run("container to container", func(t *testing.T) {
		if err := pingIn(c2NS, ip1); err != nil {
			t.Fatalf("ping: %v", err)
		}
		got, err := dialIn(c2NS, "tcp4", ip1.String()+":80")
		if err != nil || got != "c1 "+ip2.String() {
			t.Fatalf("TCP: %q %v", got, err)
		}
		got, err = dialIn(c2NS, "udp4", ip1.String()+":53")
		if err != nil || got != "c1 ping" {
			t.Fatalf("UDP: %q %v", got, err)
		}
	})
	t.Run("masquerade to the outside", func(t *testing.T) {
		got, err := dialIn(c1NS, "tcp4", "192.0.2.2:9000")
		if err != nil || got != "outside 192.0.2.1" {
			t.Fatalf("got %q %v, want the uplink's address", got, err)
		}
	})

	// Published ports: 8080 -> c1:80 by the kernel, and the proxy for loopback.
	ports, err := ParsePortSpec("8080:80")
	if err != nil {
		t.Fatal(err)
	}
	udpOut, _ := ParsePortSpec("192.0.2.1:8053:53/udp")
	ports = append(ports, udpOut...)
	udpPorts, _ := ParsePortSpec("127.0.0.1::53/udp")
	loPorts, _ := ParsePortSpec("127.0.0.1::80")
	proxy := NewProxy(ep1.IP, append(loPorts, udpPorts...))
	proxy.Dial = func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		err = inNetNS(hostNS, func() error { c, err = (&net.Dialer{}).DialContext(ctx, network, addr); return err })
		return c, err
	}
	var resolved []PortMapping
	if err := inNetNS(hostNS, func() (err error) { resolved, err = proxy.Listen(); return }); err != nil {
		t.Fatal(err)
	}
	if resolved[0].HostPort == 0 || resolved[1].HostPort == 0 {
		t.Fatalf("random ports not resolved: %v", resolved)
	}
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- proxy.Serve(ctx) }()
	defer func() {
		cancel()
		<-served
	}()
	if err := h.Publish(ep1, append(ports, resolved...)); err != nil {
		t.Fatal(err)
	}

	t.Run("published port from outside", func(t *testing.T) {
		got, err := dialIn(outNS, "tcp4", "192.0.2.1:8080")
		if err != nil || got != "c1 192.0.2.2" {
			t.Fatalf("got %q %v", got, err)
		}
		got, err = dialIn(outNS, "udp4", "192.0.2.1:8053")
		if err != nil || got != "c1 ping" {
			t.Fatalf("UDP: %q %v", got, err)
		}
	})
	t.Run("published port from the host's own address", func(t *testing.T) {
		got, err := dialIn(hostNS, "tcp4", "192.0.2.1:8080")
		if err != nil || !strings.HasPrefix(got, "c1 ") {
			t.Fatalf("got %q %v", got, err)
		}
	})
	t.Run("loopback through the proxy", func(t *testing.T) {
		got, err := dialIn(hostNS, "tcp4", fmt.Sprintf("127.0.0.1:%d", resolved[0].HostPort))
		if err != nil || got != "c1 10.213.0.1" {
			t.Fatalf("TCP: %q %v", got, err)
		}
		got, err = dialIn(hostNS, "udp4", fmt.Sprintf("127.0.0.1:%d", resolved[1].HostPort))
		if err != nil || got != "c1 ping" {
			t.Fatalf("UDP: %q %v", got, err)
		}
	})
	t.Run("port in use", func(t *testing.T) {
		p := NewProxy(ep2.IP, []PortMapping{{HostIP: net.IPv4(127, 0, 0, 1), HostPort: 1, ContainerPort: 80, Proto: "tcp"}, {HostIP: net.IPv4(127, 0, 0, 1), HostPort: resolved[0].HostPort, ContainerPort: 80, Proto: "tcp"}})
		err := inNetNS(hostNS, func() error { _, err := p.Listen(); return err })
		if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), fmt.Sprint(resolved[0].HostPort)) {
			t.Fatalf("got %v, want the port named and ErrPortInUse", err)
		}
		// All or none: port 1 was released again.
		err = inNetNS(hostNS, func() error {
			l, err := net.Listen("tcp4", "127.0.0.1:1")
			if err == nil {
				l.Close()
			}
			return err
		})
		if err != nil {
			t.Fatalf("the first port stayed bound: %v", err)
		}
	})

	t.Run("unpublish and detach", func(t *testing.T) {
		if err := h.Unpublish(id1); err != nil {
			t.Fatal(err)
		}
		if err := h.Unpublish(id1); err != nil {
			t.Fatalf("twice: %v", err)
		}
		if _, err := dialIn(outNS, "tcp4", "192.0.2.1:8080"); err == nil {
			t.Fatal("published port still reachable after Unpublish")
		}
		if ch, _ := nc.ListChain(berthTable, containerChain(id1)); ch != nil {
			t.Fatal("per-container chain left")
		}
		for _, id := range []string{id1, id2} {
			if err := h.Detach(id); err != nil {
				t.Fatal(err)
			}
			if err := h.Detach(id); err != nil {
				t.Fatalf("twice: %v", err)
			}
		}
		if _, err := h.nl.LinkByName(ep1.HostIface); !isNotFound(err) {
			t.Fatalf("host end left: %v", err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			if _, err := c1NL.LinkByName("eth0"); isNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("container's eth0 left after Detach")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("remove NAT", func(t *testing.T) {
		if err := h.RemoveNAT(DefaultBridge); err != nil {
			t.Fatal(err)
		}
		if rules, _ := nc.GetRules(filter, fwd); len(rules) != 0 {
			t.Fatalf("%d of Berth's rules left in ip filter FORWARD", len(rules))
		}
		if tb, err := nc.ListTableOfFamily(TableName, nftables.TableFamilyIPv4); err == nil && tb != nil {
			t.Fatal("table berth left")
		}
		if err := h.RemoveNAT(DefaultBridge); err != nil {
			t.Fatalf("twice: %v", err)
		}
	})
}

func TestAttachFailureAndReconcile(t *testing.T) {
	requireRoot(t)
	checkHostUntouched(t)
	_, hostPath := newNS(t)
	badNS, badPath := newNS(t)
	_, okPath := newNS(t)
	h := openHost(t, hostPath)
	br, err := h.EnsureBridge(DefaultBridge, "10.50.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.EnsureNAT(br); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.Attach(ctx, br, NetNS{Path: badPath}, "outside", net.ParseIP("10.51.0.2")); err == nil {
		t.Fatal("address outside the subnet accepted")
	}
	// A container namespace that already has an eth0: renaming fails.
	badNL, err := netlink.NewHandleAt(badNS)
	if err != nil {
		t.Fatal(err)
	}
	defer badNL.Close()
	la := netlink.NewLinkAttrs()
	la.Name = "eth0"
	if err := badNL.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "eth1"}); err != nil {
		t.Fatal(err)
	}
	const bad, good = "badbadbadbad0000", "600d600d600d0000"
	if _, err := h.Attach(ctx, br, NetNS{Path: badPath}, bad, net.ParseIP("10.50.0.2")); err == nil || !strings.Contains(err.Error(), "eth0") {
		t.Fatalf("got %v, want the rename to eth0 to fail", err)
	}
	if _, err := h.nl.LinkByName(hostIface(bad)); !isNotFound(err) {
		t.Fatalf("failed Attach left its host end: %v", err)
	}
	if _, err := h.Attach(ctx, br, NetNS{Path: "/nonexistent"}, bad, net.ParseIP("10.50.0.2")); err == nil {
		t.Fatal("missing namespace accepted")
	}

	ep, err := h.Attach(ctx, br, NetNS{Path: okPath}, good, net.ParseIP("10.50.0.3"))
	if err != nil {
		t.Fatal(err)
	}
	ports, _ := ParsePortSpec("8081:80/udp")
	if err := h.Publish(ep, ports); err != nil {
		t.Fatal(err)
	}
	if ids, err := h.Reconcile(br, func(string) bool { return true }); err != nil || len(ids) != 0 {
		t.Fatalf("keep all removed %v, %v", ids, err)
	}
	ids, err := h.Reconcile(br, func(id string) bool { return false })
	if err != nil || fmt.Sprint(ids) != "["+good+"]" {
		t.Fatalf("reconcile removed %v, %v", ids, err)
	}
	if _, err := h.nl.LinkByName(ep.HostIface); !isNotFound(err) {
		t.Fatalf("veth left: %v", err)
	}
	c, err := h.nft()
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseLasting()
	if ch, _ := c.ListChain(berthTable, containerChain(good)); ch != nil {
		t.Fatal("per-container chain left")
	}
	if err := h.RemoveNAT(DefaultBridge); err != nil {
		t.Fatal(err)
	}
	if err := h.RemoveBridge(DefaultBridge); err != nil {
		t.Fatal(err)
	}
}

// pingIn sends one ICMP echo request from ns to dst (a raw socket: the
// test is root) and waits for the reply.
func pingIn(ns netns.NsHandle, dst net.IP) error {
	return inNetNS(ns, func() error {
		c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
		if err != nil {
			return err
		}
		defer c.Close()
		req := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'b', 'e', 'r', 't', 'h'}
		sum := 0
		for i := 0; i < len(req)-1; i += 2 {
			sum += int(req[i])<<8 | int(req[i+1])
		}
		sum += int(req[len(req)-1]) << 8
		for sum > 0xffff {
			sum = sum>>16 + sum&0xffff
		}
		req[2], req[3] = byte(^sum>>8), byte(^sum)
		if _, err := c.WriteTo(req, &net.IPAddr{IP: dst}); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(b)
			if err != nil {
				return err
			}
			if n >= 8 && b[0] == 0 && b[4] == 0x12 && b[5] == 0x34 && from.(*net.IPAddr).IP.Equal(dst) {
				return nil // echo reply
			}
		}
	})
}

// TestTwoBridges: two daemons (two data roots) on one host have a bridge
// each; one's Reconcile and RemoveNAT leave the other's containers,
// rules and table alone.
func TestTwoBridges(t *testing.T) {
	requireRoot(t)
	checkHostUntouched(t)
	_, hostPath := newNS(t)
	_, aPath := newNS(t)
	_, bPath := newNS(t)
	h := openHost(t, hostPath)
	brA, err := h.EnsureBridge("bra", "10.60.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	brB, err := h.EnsureBridge("brb", "10.61.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const idA, idB = "aaaaaaaaaaaa0001", "bbbbbbbbbbbb0002"
	ports, _ := ParsePortSpec("9090:80")
	for _, c := range []struct {
		br   *Bridge
		path string
		id   string
		ip   string
	}{{brA, aPath, idA, "10.60.0.2"}, {brB, bPath, idB, "10.61.0.2"}} {
		if _, err := h.EnsureNAT(c.br); err != nil {
			t.Fatal(err)
		}
		ep, err := h.Attach(ctx, c.br, NetNS{Path: c.path}, c.id, net.ParseIP(c.ip))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Publish(ep, ports); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := h.Reconcile(brA, func(string) bool { return false })
	if err != nil || fmt.Sprint(ids) != "["+idA+"]" {
		t.Fatalf("reconcile of bra removed %v, %v; want %s alone", ids, err, idA)
	}
	if _, err := h.nl.LinkByName(hostIface(idB)); err != nil {
		t.Fatalf("brb's container lost its veth: %v", err)
	}
	c, err := h.nft()
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseLasting()
	if ch, _ := c.ListChain(berthTable, containerChain(idB)); ch == nil {
		t.Fatal("brb's container lost its published ports")
	}
	if err := h.RemoveNAT("bra"); err != nil {
		t.Fatal(err)
	}
	if rules, _ := c.GetRules(berthTable, baseChains()[0]); len(rules) != 1 || !namesBridge(rules[0], "brb") {
		t.Fatalf("postrouting after bra's RemoveNAT: %d rules, want brb's masquerade alone", len(rules))
	}
	if ids, err := h.Reconcile(brB, func(string) bool { return false }); err != nil || fmt.Sprint(ids) != "["+idB+"]" {
		t.Fatalf("reconcile of brb removed %v, %v", ids, err)
	}
	if err := h.RemoveNAT("brb"); err != nil {
		t.Fatal(err)
	}
	if tb, err := c.ListTableOfFamily(TableName, nftables.TableFamilyIPv4); err == nil && tb != nil {
		t.Fatal("table berth left after the last bridge's RemoveNAT")
	}
}

// TestGuardForward: a forward chain with a drop policy that appears after
// the daemon's start (dockerd starting later), or a flush of the accepts
// in it, is mended while GuardForward runs.
func TestGuardForward(t *testing.T) {
	requireRoot(t)
	checkHostUntouched(t)
	_, path := newNS(t)
	h := openHost(t, path)
	br, err := h.EnsureBridge("berth0", "10.70.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.EnsureNAT(br); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mended := make(chan []string, 10)
	done := make(chan error, 1)
	go func() {
		done <- h.GuardForward(ctx, br, func(chains []string, err error) {
			if err != nil {
				t.Errorf("mending: %v", err)
			}
			mended <- chains
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("GuardForward: %v", err)
		}
	}()
	time.Sleep(100 * time.Millisecond) // the watch is joined

	nc, err := h.nft()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.CloseLasting()
	drop := nftables.ChainPolicyDrop
	filter := nc.AddTable(&nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4})
	fwd := nc.AddChain(&nftables.Chain{Name: "FORWARD", Table: filter, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	wait := func(what string) {
		t.Helper()
		select {
		case chains := <-mended:
			if fmt.Sprint(chains) != "[ip filter FORWARD]" {
				t.Fatalf("%s: mended %v", what, chains)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the accepts were not inserted", what)
		}
		if rules, _ := nc.GetRules(filter, fwd); len(rules) != 2 {
			t.Fatalf("%s: %d rules in ip filter FORWARD, want Berth's 2", what, len(rules))
		}
	}
	wait("a drop policy after the start")
	nc.FlushChain(fwd)
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	wait("a flush of the chain")
	if err := h.RemoveNAT("berth0"); err != nil {
		t.Fatal(err)
	}
}
