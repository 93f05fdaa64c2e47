//go:build e2e

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/berthhq/berth/runtime/daemon"
	"github.com/berthhq/berth/runtime/network"
	"github.com/berthhq/berth/testvm"
)

// The host's network as the e2e daemons leave it. A daemon keeps its
// bridge and NAT rules when it stops, as dockerd keeps docker0 (its
// containers outlive it), so the harness removes what a test's daemon
// made for its throwaway data root once the daemon has stopped: its
// bridge (daemon.BridgeName: one per data root), the bridge's rules in
// Berth's nftables table and elsewhere, and net.ipv4.ip_forward as it
// was, unless another Berth bridge still needs it.
const ipForward = "/proc/sys/net/ipv4/ip_forward"

// leaveHostNetwork is startRealEngine's: it returns the cleanup to run
// after the daemon stops.
func leaveHostNetwork(t *testing.T, dataRoot string) func() {
	forward, _ := os.ReadFile(ipForward)
	return func() {
		h, err := network.OpenHost("")
		if err != nil {
			t.Errorf("cleaning up the test's network: %v", err)
			return
		}
		defer h.Close()
		br := daemon.BridgeName(dataRoot)
		if veths := vethsGone(t, br); len(veths) > 0 {
			t.Errorf("veths left on %s after the daemon stopped: %v", br, veths)
		}
		if err := h.RemoveNAT(br); err != nil {
			t.Errorf("removing the NAT rules of %s: %v", br, err)
		}
		if err := h.RemoveBridge(br); err != nil {
			t.Error(err)
		}
		links, _ := netlink.LinkList()
		for _, l := range links {
			if l.Type() == "bridge" && (l.Attrs().Name == network.DefaultBridge || strings.HasPrefix(l.Attrs().Name, "berth-")) {
				return // another daemon's bridge: it needs forwarding
			}
		}
		if len(forward) > 0 {
			os.WriteFile(ipForward, forward, 0o644)
		}
	}
}

// vethsOn are the host ends of the veths attached to bridge.
func vethsOn(t *testing.T, bridge string) []string {
	t.Helper()
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return nil
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		if l.Type() == "veth" && l.Attrs().MasterIndex == br.Attrs().Index {
			out = append(out, l.Attrs().Name)
		}
	}
	return out
}

// vethsGone waits for the kernel to remove the veths of containers that
// exited (it does when it dismantles their network namespaces, in the
// background) and returns those still on the bridge after a while.
func vethsGone(t *testing.T, bridge string) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := vethsOn(t, bridge)
		if len(v) == 0 || time.Now().After(deadline) {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// natLeftovers are the published-port rules in Berth's table: the
// per-container chains and the jumps to them.
func natLeftovers(t *testing.T) []string {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseLasting()
	tb, err := c.ListTableOfFamily(network.TableName, nftables.TableFamilyIPv4)
	if err != nil || tb == nil {
		return nil
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ch := range chains {
		if ch.Table.Name != network.TableName {
			continue
		}
		if strings.HasPrefix(ch.Name, "c-") {
			out = append(out, "chain "+ch.Name)
			continue
		}
		rules, _ := c.GetRules(tb, ch)
		for _, r := range rules {
			if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); strings.HasPrefix(s, network.CommentPrefix) && !strings.HasPrefix(s, network.CommentPrefix+"bridge:") {
				out = append(out, ch.Name+" rule "+s)
			}
		}
	}
	return out
}

// natLeftoversOf keeps the leftovers that name one of ids.
func natLeftoversOf(t *testing.T, ids ...string) []string {
	var out []string
	for _, l := range natLeftovers(t) {
		for _, id := range ids {
			if strings.Contains(l, id[:12]) {
				out = append(out, l)
			}
		}
	}
	return out
}

// outside is a network namespace the test made: another machine on a
// link to the host (198.51.100.2/30, the host's end 198.51.100.1), which
// reaches published ports through the host as a client on the LAN would.
type outside struct {
	ns     netns.NsHandle
	hostIP string
}

func newOutside(t *testing.T) *outside {
	t.Helper()
	o := &outside{hostIP: "198.51.100.1"}
	hostEnd := fmt.Sprintf("bo%d", os.Getpid()%100000)
	errc := make(chan error, 1)
	go func() {
		// The thread that made the namespace is left locked and dies.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		o.ns, err = netns.New()
		if err == nil {
			err = netns.Set(orig)
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.ns.Close() })
	la := netlink.NewLinkAttrs()
	la.Name = hostEnd
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "eth0", PeerNamespace: netlink.NsFd(o.ns)}); err != nil {
		t.Fatal(err)
	}
	// Deleting the host end deletes both; the namespace going away would
	// do it too, but later.
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(hostEnd); err == nil {
			netlink.LinkDel(l)
		}
	})
	nl, err := netlink.NewHandleAt(o.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	for _, side := range []struct {
		h          *netlink.Handle
		name, addr string
	}{{nil, hostEnd, o.hostIP + "/30"}, {nl, "eth0", "198.51.100.2/30"}, {nl, "lo", ""}} {
		h := side.h
		if h == nil {
			h = &netlink.Handle{}
		}
		l, err := h.LinkByName(side.name)
		if err != nil {
			t.Fatal(err)
		}
		if side.addr != "" {
			a, _ := netlink.ParseAddr(side.addr)
			if err := h.AddrAdd(l, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// in runs fn on a thread in the outside namespace.
func (o *outside) in(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := netns.Set(o.ns); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// get is an HTTP GET from the outside.
func (o *outside) get(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
			err = o.in(func() error { conn, err = (&net.Dialer{}).DialContext(ctx, network, addr); return err })
			return conn, err
		},
	}}
	return httpGet(c, url)
}

func httpGet(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// getLocal is an HTTP GET from the host.
func getLocal(url string) (string, error) {
	return httpGet(&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}, url)
}

// waitHTTP waits until url answers with want, from the host (o nil) or
// the outside.
func waitHTTP(t *testing.T, o *outside, url, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var body string
		var err error
		if o == nil {
			body, err = getLocal(url)
		} else {
			body, err = o.get(url)
		}
		if err == nil && strings.Contains(body, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never answered %q: %v %q", url, want, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// udpEcho answers datagrams in the network namespace of process pid (a
// container's), as a UDP server in the container would: the socket lives
// in the container's namespace, so what reaches it went over the bridge.
func udpEcho(t *testing.T, pid int, port int) {
	t.Helper()
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	var pc net.PacketConn
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		pc, err = net.ListenPacket("udp4", ":"+strconv.Itoa(port))
		errc <- err
	}()
	if err := <-errc; err != nil {
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
			pc.WriteTo(append([]byte("echo "), b[:n]...), from)
		}
	}()
}

// udpAsk sends ping to addr and returns the answer.
func udpAsk(addr string) (string, error) {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return "", err
	}
	b := make([]byte, 100)
	n, err := c.Read(b)
	return string(b[:n]), err
}

// freeHostPort is a port nothing listens on now, on any address.
func freeHostPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// containerNet is what inspect says of a container's network.
type containerNet struct {
	IP, Gateway, MAC string
	Pid              int
	Ports            map[string][]struct{ HostIp, HostPort string }
}

func inspectNet(t *testing.T, run func(*testing.T, ...string) (string, string, error), name string) containerNet {
	t.Helper()
	out := must(t, run, "inspect", "--format", `{"IP":{{json .NetworkSettings.IPAddress}},"Gateway":{{json .NetworkSettings.Gateway}},"MAC":{{json .NetworkSettings.MacAddress}},"Pid":{{.State.Pid}},"Ports":{{json .NetworkSettings.Ports}}}`, name)
	var n containerNet
	if err := json.Unmarshal([]byte(out), &n); err != nil {
		t.Fatalf("inspect %s: %v\n%s", name, err, out)
	}
	return n
}

// TestNetworkEndToEnd is the bridge and published ports through the real
// daemon, the docker CLI and berth: containers talk over the bridge, reach
// the outside through the masquerade, are reached on published ports from
// the outside (a namespace the test made, through the host), from
// localhost (the userland proxy) and over UDP; none, host and
// container:<id> networks; the /etc files and their flags; network
// ls/inspect; a port in use.
func TestNetworkEndToEnd(t *testing.T) {
	e := startRealEngine(t)
	for _, a := range []string{"busybox.oci.tar", "nginx.oci.tar"} {
		must(t, e.berth, "load", "-i", testvm.ImageArchive(t, a))
	}
	o := newOutside(t)
	br := daemon.BridgeName(e.data)

	must(t, e.docker, "run", "-d", "--name", "srv", "busybox:1.35", "httpd", "-f", "-p", "8080", "-h", "/www")
	srv := inspectNet(t, e.docker, "srv")
	subnet := must(t, e.docker, "network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}}", "bridge")
	_, ipnet, err := net.ParseCIDR(strings.Fields(subnet)[0])
	if err != nil {
		t.Fatalf("network inspect bridge: %q", subnet)
	}
	if !ipnet.Contains(net.ParseIP(srv.IP)) || srv.Gateway != strings.Fields(subnet)[1] {
		t.Fatalf("srv's address %s, gateway %s: not of the bridge %s", srv.IP, srv.Gateway, subnet)
	}
	ip4 := net.ParseIP(srv.IP).To4()
	if want := fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", ip4[0], ip4[1], ip4[2], ip4[3]); srv.MAC != want {
		t.Errorf("MAC %s, want %s (derived from the address)", srv.MAC, want)
	}

	t.Run("container to container", func(t *testing.T) {
		for _, c := range []realClient{{"docker", e.docker}, {"berth", e.berth}} {
			out, errOut, err := c.run(t, "run", "--rm", "busybox:1.35", "sh", "-c", "ping -c 1 -W 2 "+srv.IP+" >/dev/null && wget -q -O- http://"+srv.IP+":8080/")
			if err != nil || !strings.Contains(out, "busybox httpd") {
				t.Errorf("%s: ping and TCP to %s: %v %q %q", c.name, srv.IP, err, out, errOut)
			}
		}
	})

	t.Run("none has only lo", func(t *testing.T) {
		out := must(t, e.docker, "run", "--rm", "--network", "none", "busybox:1.35", "sh", "-c", "ls /sys/class/net; cat /etc/hosts")
		if !strings.HasPrefix(out, "lo\n127.0.0.1\tlocalhost\n") || strings.Contains(out, "eth0") {
			t.Errorf("--network none:\n%s", out)
		}
	})

	t.Run("host network", func(t *testing.T) {
		out := must(t, e.berth, "run", "--rm", "--network", "host", "busybox:1.35", "ls", "/sys/class/net")
		if !strings.Contains(out, br+"\n") || strings.Contains(must(t, e.berth, "run", "--rm", "busybox:1.35", "ls", "/sys/class/net"), br) {
			t.Errorf("--network host does not see the host's links (the bridge %s):\n%s", br, out)
		}
	})

	t.Run("container network", func(t *testing.T) {
		out := must(t, e.docker, "run", "--rm", "--network", "container:srv", "busybox:1.35", "sh", "-c", "hostname; wget -q -O- http://127.0.0.1:8080/")
		if hostname := strings.TrimSpace(must(t, e.docker, "inspect", "--format", "{{.Config.Hostname}}", "srv")); !strings.HasPrefix(out, hostname+"\n") || !strings.Contains(out, "busybox httpd") {
			t.Errorf("--network container:srv: %q, want srv's hostname %q and its httpd on localhost", out, hostname)
		}
		_, errOut, err := e.docker(t, "run", "--rm", "--network", "container:srv", "-p", "80", "busybox:1.35", "true")
		if processExit(err) != 125 || !strings.Contains(errOut, "conflicting options: port publishing and the container type network mode") {
			t.Errorf("-p with container:srv: %v %q", err, errOut)
		}
	})

	t.Run("etc files and flags", func(t *testing.T) {
		want := srv.IP[:strings.LastIndex(srv.IP, ".")] + ".200"
		out := must(t, e.berth, "run", "--rm", "--ip", want, "--hostname", "box", "--add-host", "db:192.0.2.7", "--add-host", "gw:host-gateway",
			"--dns", "192.0.2.53", "--dns-search", "corp.example", "busybox:1.35", "sh", "-c", "hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf; ip -o -4 addr show eth0")
		for _, w := range []string{"box\nbox\n", "192.0.2.7\tdb\n", srv.Gateway + "\tgw\n", want + "\tbox\n", "nameserver 192.0.2.53\n", "search corp.example\n", "inet " + want + "/"} {
			if !strings.Contains(out, w) {
				t.Errorf("lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "nameserver 127.") {
			t.Errorf("a loopback resolver in the container:\n%s", out)
		}
		_, errOut, err := e.docker(t, "run", "--rm", "--ip", srv.IP, "busybox:1.35", "true")
		if processExit(err) != 125 || !strings.Contains(errOut, "Address already in use") {
			t.Errorf("--ip of srv's address: %v %q", err, errOut)
		}
	})

	t.Run("masquerade to the outside", func(t *testing.T) {
		var l net.Listener
		if err := o.in(func() (err error) { l, err = net.Listen("tcp4", "198.51.100.2:9000"); return err }); err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				// Read the request first: closing with it unread resets.
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err == nil {
					req.Body.Close()
					fmt.Fprintf(c, "HTTP/1.0 200 OK\r\n\r\nfrom %s\n", c.RemoteAddr().(*net.TCPAddr).IP)
				}
				c.Close()
			}
		}()
		out := must(t, e.berth, "run", "--rm", "busybox:1.35", "wget", "-q", "-O-", "http://198.51.100.2:9000/")
		if out != "from "+o.hostIP+"\n" {
			t.Errorf("the outside saw %q, want the host's address %s (masqueraded)", out, o.hostIP)
		}
	})

	t.Run("published ports", func(t *testing.T) {
		lo, any := freeHostPort(t), freeHostPort(t)
		id := strings.TrimSpace(must(t, e.docker, "run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", lo), "-p", fmt.Sprintf("%d:80", any), "-p", "127.0.0.1::80", "nginx:1.22"))
		waitHTTP(t, nil, fmt.Sprintf("http://127.0.0.1:%d/", lo), "Welcome to nginx!")
		waitHTTP(t, nil, fmt.Sprintf("http://127.0.0.1:%d/", any), "Welcome to nginx!")
		waitHTTP(t, o, fmt.Sprintf("http://%s:%d/", o.hostIP, any), "Welcome to nginx!")
		if _, err := o.get(fmt.Sprintf("http://%s:%d/", o.hostIP, lo)); err == nil {
			t.Errorf("port %d, published on 127.0.0.1, answers the outside", lo)
		}
		web := inspectNet(t, e.docker, "web")
		if b := web.Ports["80/tcp"]; len(b) != 3 || b[0].HostIp != "127.0.0.1" || b[0].HostPort != strconv.Itoa(lo) || b[1].HostIp != "0.0.0.0" || b[2].HostPort == "0" {
			t.Errorf("NetworkSettings.Ports %+v", web.Ports)
		}
		random := web.Ports["80/tcp"][2].HostPort
		waitHTTP(t, nil, "http://127.0.0.1:"+random+"/", "Welcome to nginx!")
		want := fmt.Sprintf("80/tcp -> 127.0.0.1:%d\n80/tcp -> 0.0.0.0:%d\n80/tcp -> 127.0.0.1:%s\n", lo, any, random)
		for _, c := range []realClient{{"docker", e.docker}, {"berth", e.berth}} {
			if out := must(t, c.run, "port", "web"); !sameLines(out, want) {
				t.Errorf("%s port web:\n%s\nwant\n%s", c.name, out, want)
			}
			if out := must(t, c.run, "ps", "--format", "{{.Ports}}", "--filter", "name=web"); !strings.Contains(out, fmt.Sprintf("0.0.0.0:%d->80/tcp", any)) || !strings.Contains(out, fmt.Sprintf("127.0.0.1:%d->80/tcp", lo)) {
				t.Errorf("%s ps PORTS: %q", c.name, out)
			}
		}
		if out := must(t, e.docker, "port", "web", "80"); !strings.Contains(out, fmt.Sprintf("0.0.0.0:%d\n", any)) {
			t.Errorf("docker port web 80: %q", out)
		}

		// -P: every exposed port (the image's 80, --expose 8443) on a
		// random host port.
		must(t, e.berth, "run", "-d", "--name", "all", "-P", "--expose", "8443", "nginx:1.22")
		all := inspectNet(t, e.berth, "all")
		if len(all.Ports["80/tcp"]) != 1 || len(all.Ports["8443/tcp"]) != 1 || all.Ports["80/tcp"][0].HostPort == "0" {
			t.Errorf("-P: %+v", all.Ports)
		} else {
			waitHTTP(t, nil, "http://127.0.0.1:"+all.Ports["80/tcp"][0].HostPort+"/", "Welcome to nginx!")
		}
		must(t, e.berth, "rm", "-f", "all")

		// A port in use: one line, exit 125, and nothing of the failed
		// container on the host.
		before := vethsOn(t, br)
		out, errOut, err := e.docker(t, "run", "--rm", "-p", fmt.Sprintf("%d:80", any), "nginx:1.22")
		if processExit(err) != 125 || !strings.Contains(errOut, fmt.Sprintf("Bind for 0.0.0.0:%d failed: port is already allocated", any)) {
			t.Errorf("port in use: exit %d %q %q", processExit(err), out, errOut)
		}
		_, errOut, err = e.berth(t, "run", "-d", "--name", "clash", "-p", fmt.Sprintf("%d:80", any), "busybox:1.35", "sleep", "60")
		if processExit(err) != 125 || len(errorLines(errOut)) != 1 || !strings.Contains(errOut, "port is already allocated") {
			t.Errorf("berth, port in use: exit %d %q", processExit(err), errOut)
		}
		clash := strings.TrimSpace(must(t, e.berth, "inspect", "--format", "{{.Id}} {{.State.Status}}", "clash"))
		must(t, e.berth, "rm", "clash")
		// A veth of a container removed just before may still be going
		// (the kernel deletes it with the namespace): none may be new.
		for _, v := range vethsOn(t, br) {
			if !slices.Contains(before, v) {
				t.Errorf("veth %s appeared with the failed starts (before: %v)", v, before)
			}
		}
		if l := natLeftoversOf(t, strings.Fields(clash)[0]); len(l) > 0 {
			t.Errorf("rules of the failed container: %v", l)
		}

		must(t, e.docker, "rm", "-f", "web")
		if l := natLeftoversOf(t, id); len(l) > 0 {
			t.Errorf("rules left after rm -f: %v", l)
		}
		if _, err := getLocal(fmt.Sprintf("http://127.0.0.1:%d/", lo)); err == nil {
			t.Error("the proxy still answers after rm -f")
		}
	})

	t.Run("udp", func(t *testing.T) {
		outPort := freeHostPort(t)
		must(t, e.berth, "run", "-d", "--name", "dns", "-p", "127.0.0.1::5353/udp", "-p", fmt.Sprintf("%d:5353/udp", outPort), "busybox:1.35", "sleep", "600")
		defer e.berth(t, "rm", "-f", "dns")
		n := inspectNet(t, e.berth, "dns")
		udpEcho(t, n.Pid, 5353)
		local := n.Ports["5353/udp"][0]
		if got, err := udpAsk("127.0.0.1:" + local.HostPort); err != nil || got != "echo ping" {
			t.Errorf("UDP through the proxy: %q %v", got, err)
		}
		var got string
		err := o.in(func() (err error) { got, err = udpAsk(fmt.Sprintf("%s:%d", o.hostIP, outPort)); return err })
		if err != nil || got != "echo ping" {
			t.Errorf("UDP from the outside: %q %v", got, err)
		}
	})

	t.Run("network ls and inspect", func(t *testing.T) {
		for _, c := range []realClient{{"docker", e.docker}, {"berth", e.berth}} {
			out := must(t, c.run, "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}")
			if out != "bridge bridge local\nhost host local\nnone null local\n" {
				t.Errorf("%s network ls: %q", c.name, out)
			}
			out = must(t, c.run, "network", "inspect", "--format", `{{index .Options "com.docker.network.bridge.name"}} {{len .Containers}}`, "bridge")
			if out != br+" 1\n" {
				t.Errorf("%s network inspect bridge: %q, want %s with srv on it", c.name, out, br)
			}
		}
		_, errOut, err := e.docker(t, "network", "create", "mynet")
		if err == nil || !strings.Contains(errOut, "user-defined networks are not supported by Berth yet") {
			t.Errorf("network create: %v %q", err, errOut)
		}
		_, errOut, err = e.docker(t, "network", "rm", "bridge")
		if err == nil || !strings.Contains(errOut, "bridge is a pre-defined network and cannot be removed") {
			t.Errorf("network rm bridge: %v %q", err, errOut)
		}
	})

	t.Run("another firewall drops forwarded traffic", func(t *testing.T) {
		// As dockerd leaves the host when it starts after Berth: a forward
		// chain with a drop policy in a table of its own. The daemon puts
		// its accepts there; until then the outside cannot get through.
		c, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseLasting()
		drop := nftables.ChainPolicyDrop
		fw := c.AddTable(&nftables.Table{Name: fmt.Sprintf("berth_e2e_%d", os.Getpid()), Family: nftables.TableFamilyIPv4})
		c.AddChain(&nftables.Chain{Name: "forward", Table: fw, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			c.DelTable(fw)
			if err := c.Flush(); err != nil {
				t.Errorf("removing the test's firewall: %v", err)
			}
		}()
		port := freeHostPort(t)
		must(t, e.berth, "run", "-d", "--name", "guarded", "-p", fmt.Sprintf("%d:8080", port), "busybox:1.35", "httpd", "-f", "-p", "8080", "-h", "/www")
		defer e.berth(t, "rm", "-f", "guarded")
		waitHTTP(t, o, fmt.Sprintf("http://%s:%d/", o.hostIP, port), "busybox httpd")
		if !strings.Contains(e.logs.String(), "accepts for the bridge inserted") {
			t.Errorf("the daemon did not say it mended the other firewall's chain:\n%s", e.logs.String())
		}
	})

	t.Run("owner of a joined network stops", func(t *testing.T) {
		// The joiner keeps the namespace; srv's veth goes with srv, so
		// that its address, released at rm, is nowhere in use.
		srvID := strings.TrimSpace(must(t, e.docker, "inspect", "--format", "{{.Id}}", "srv"))
		must(t, e.docker, "run", "-d", "--name", "joiner", "--network", "container:srv", "busybox:1.35", "sleep", "600")
		must(t, e.docker, "stop", "srv")
		for _, v := range vethsOn(t, br) {
			if v == "bv"+srvID[:12] {
				t.Errorf("srv stopped, its veth %s is still on the bridge", v)
			}
		}
		if out := must(t, e.docker, "inspect", "--format", "{{.State.Status}}", "joiner"); out != "running\n" {
			t.Errorf("the joiner: %q", out)
		}
		must(t, e.docker, "rm", "-f", "joiner")
	})

	must(t, e.docker, "rm", "-f", "srv")
	if l := natLeftovers(t); len(l) > 0 {
		t.Errorf("rules left: %v", l)
	}
	e.stop(t)
	checkNoLeaks(t, e.data)
}

// sameLines compares two outputs as sets of lines.
func sameLines(a, b string) bool {
	as, bs := strings.Split(strings.TrimSpace(a), "\n"), strings.Split(strings.TrimSpace(b), "\n")
	if len(as) != len(bs) {
		return false
	}
	seen := map[string]int{}
	for _, l := range as {
		seen[l]++
	}
	for _, l := range bs {
		if seen[l] == 0 {
			return false
		}
		seen[l]--
	}
	return true
}

// TestNetworkDaemonRestartEndToEnd: published ports are served by the
// container's monitor and the kernel's rules, not by the daemon: they
// keep answering while the daemon is killed and restarted. A container
// whose monitor died while the daemon was down has its rules removed at
// the daemon's start.
func TestNetworkDaemonRestartEndToEnd(t *testing.T) {
	e := startRealEngine(t)
	must(t, e.berth, "load", "-i", testvm.ImageArchive(t, "nginx.oci.tar"))
	must(t, e.berth, "load", "-i", testvm.ImageArchive(t, "busybox.oci.tar"))
	o := newOutside(t)
	lo, any := freeHostPort(t), freeHostPort(t)
	must(t, e.docker, "run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", lo), "-p", fmt.Sprintf("%d:80", any), "nginx:1.22")
	local, outside := fmt.Sprintf("http://127.0.0.1:%d/", lo), fmt.Sprintf("http://%s:%d/", o.hostIP, any)
	waitHTTP(t, nil, local, "Welcome to nginx!")
	waitHTTP(t, o, outside, "Welcome to nginx!")
	victim := strings.TrimSpace(must(t, e.berth, "run", "-d", "-p", "127.0.0.1::80", "busybox:1.35", "sleep", "600"))

	e.kill(t)
	for i := 0; i < 5; i++ {
		if body, err := getLocal(local); err != nil || !strings.Contains(body, "Welcome to nginx!") {
			t.Fatalf("localhost with the daemon down: %v", err)
		}
		if body, err := o.get(outside); err != nil || !strings.Contains(body, "Welcome to nginx!") {
			t.Fatalf("the outside with the daemon down: %v", err)
		}
	}
	// The victim's monitor dies meanwhile: its container goes with it,
	// its rules stay until the daemon's start reconciles them.
	killMonitor(t, e.data, victim)
	if l := natLeftoversOf(t, victim); len(l) == 0 {
		t.Fatal("the killed monitor's rules are already gone: the reconcile below proves nothing")
	}
	e.start(t)
	if l := natLeftoversOf(t, victim); len(l) > 0 {
		t.Errorf("rules of a container that died while the daemon was down, after its start: %v", l)
	}
	waitHTTP(t, nil, local, "Welcome to nginx!")
	waitHTTP(t, o, outside, "Welcome to nginx!")
	if out := must(t, e.docker, "port", "web", "80"); !strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", lo)) {
		t.Errorf("port after the restart: %q", out)
	}
	must(t, e.docker, "stop", "web")
	must(t, e.docker, "rm", "web", victim)
	if _, err := getLocal(local); err == nil {
		t.Error("localhost still answers after stop and rm")
	}
	if a := allocations(t, e.data); len(a) != 0 {
		t.Errorf("addresses still allocated: %v", a)
	}
	if l := natLeftovers(t); len(l) > 0 {
		t.Errorf("rules left: %v", l)
	}
	e.stop(t)
	checkNoLeaks(t, e.data)
}

// allocations are the data root's allocated addresses (container ID ->
// address).
func allocations(t *testing.T, dataRoot string) map[string]string {
	t.Helper()
	var ipam struct{ Allocations map[string]string }
	b, err := os.ReadFile(dataRoot + "/network/ipam.json")
	if err == nil {
		err = json.Unmarshal(b, &ipam)
	}
	if err != nil {
		t.Fatalf("the address allocator's state: %v", err)
	}
	return ipam.Allocations
}

// killMonitor kills a container's monitor with SIGKILL, as a crash would.
func killMonitor(t *testing.T, dataRoot, id string) {
	t.Helper()
	var st struct{ MonitorPid int }
	b, err := os.ReadFile(dataRoot + "/containers/" + id + "/state.json")
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil || st.MonitorPid == 0 {
		t.Fatalf("the monitor of %s: %v %s", id, err, b)
	}
	p, err := os.FindProcess(st.MonitorPid)
	if err != nil {
		t.Fatal(err)
	}
	p.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", st.MonitorPid)); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitor %d did not die", st.MonitorPid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunRmPublishLeakEndToEnd: 200 `run --rm -p` cycles leave no veth,
// rule, proxy (monitor), address or network namespace behind.
func TestRunRmPublishLeakEndToEnd(t *testing.T) {
	e := startRealEngine(t)
	must(t, e.berth, "load", "-i", testvm.ImageArchive(t, "busybox.oci.tar"))
	br := daemon.BridgeName(e.data)
	// A network namespace outlives its processes only when something
	// holds it: a bind mount (ip netns add) or a descriptor of a process.
	// Processes are checkNoLeaks's; the mounts are counted here.
	namespaces := func() int {
		n := 0
		mi, _ := os.ReadFile("/proc/self/mountinfo")
		for _, l := range strings.Split(string(mi), "\n") {
			if strings.Contains(l, " - nsfs ") {
				n++
			}
		}
		named, _ := os.ReadDir("/run/netns")
		return n + len(named)
	}
	nsBefore := namespaces()
	n := 200
	if testing.Short() {
		n = 20
	}
	for i := 0; i < n; i++ {
		port := "127.0.0.1::80"
		if i%2 == 1 {
			port = "80/udp"
		}
		if out := must(t, e.berth, "run", "--rm", "-p", port, "busybox:1.35", "echo", "cycle"); out != "cycle\n" {
			t.Fatalf("cycle %d printed %q", i, out)
		}
	}
	if out := must(t, e.berth, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("containers left after %d run --rm -p: %q", n, out)
	}
	if v := vethsGone(t, br); len(v) > 0 {
		t.Errorf("veths left on %s: %v", br, v)
	}
	if l := natLeftovers(t); len(l) > 0 {
		t.Errorf("published-port rules left: %v", l)
	}
	if a := allocations(t, e.data); len(a) != 0 {
		t.Errorf("addresses still allocated: %v", a)
	}
	if after := namespaces(); after > nsBefore {
		t.Errorf("%d namespaces held by mounts before, %d after", nsBefore, after)
	}
	e.stop(t)
	checkNoLeaks(t, e.data)
}
