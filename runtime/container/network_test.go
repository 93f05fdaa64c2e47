package container

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berthhq/berth/runtime/network"
)

// bridgedEngine is an engine value with a bridge of 10.213.0.1/16 and an
// allocator in a temporary data root: enough for the network helpers,
// which touch no host state but files.
func bridgedEngine(t *testing.T) *Engine {
	t.Helper()
	gw, subnet, _ := net.ParseCIDR("10.213.0.1/16")
	ipam, err := network.OpenIPAM(t.TempDir(), subnet, gw)
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{log: slog.New(slog.DiscardHandler), byID: map[string]*entry{}, names: map[string]string{}}
	e.o.defaultNetwork = NetworkBridge
	e.o.bridge = &BridgeNetwork{Bridge: &network.Bridge{Name: "berth0", Gateway: gw.To4(), Subnet: subnet}, IPAM: ipam}
	return e
}

func TestPortMappings(t *testing.T) {
	c := &Container{}
	c.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}, "53/udp": {}, "443/tcp": {}}
	c.HostConfig.PortBindings = map[string][]PortBinding{
		"80/tcp":  {{HostIP: "127.0.0.1", HostPort: "8080"}, {HostPort: "8000-8010"}},
		"443/tcp": {},
	}
	c.HostConfig.PublishAllPorts = true
	got, err := portMappings(c)
	if err != nil {
		t.Fatal(err)
	}
	want := "[127.0.0.1:8080->80/tcp 0.0.0.0:8000->80/tcp 0.0.0.0:0->443/tcp 0.0.0.0:0->53/udp]"
	if fmt.Sprint(got) != want || got[1].HostPortEnd != 8010 {
		t.Errorf("%v (range end %d), want %s with the range 8000-8010", got, got[1].HostPortEnd, want)
	}
	c.HostConfig.PortBindings = map[string][]PortBinding{"80/tcp": {{HostPort: "9-1"}}}
	if _, err := portMappings(c); !errors.Is(err, ErrInvalid) {
		t.Errorf("a backwards range: %v", err)
	}
}

func TestCheckNetwork(t *testing.T) {
	e := bridgedEngine(t)
	other := &Container{ID: strings.Repeat("a", 64), Name: "web"}
	other.Config.Hostname = "webhost"
	e.byID[other.ID], e.names["web"] = newEntry(other), other.ID
	img := &v1.Config{ExposedPorts: map[string]struct{}{"80/tcp": {}}}
	for _, tt := range []struct {
		name, mode string
		set        func(c *Container)
		err        string
	}{
		{"publish into another's network", "container:web", func(c *Container) { c.HostConfig.PublishAllPorts = true }, "port publishing and the container type network mode"},
		{"dns into another's network", "container:web", func(c *Container) { c.HostConfig.DNS = []string{"192.0.2.53"} }, "dns and the network mode"},
		{"hostname into another's network", "container:web", func(c *Container) { c.Config.Hostname = "x" }, "hostname and the network mode"},
		{"no such container", "container:nope", func(*Container) {}, "No such container: nope"},
		{"ip on host", NetworkHost, func(c *Container) { c.HostConfig.IPv4Address = "10.213.0.9" }, "needs the bridge network"},
		{"bad exposed port", NetworkBridge, func(c *Container) { c.Config.ExposedPorts = map[string]struct{}{"80/sctp": {}} }, "Berth publishes tcp and udp ports"},
		{"bad extra host", NetworkBridge, func(c *Container) { c.HostConfig.ExtraHosts = []string{"db:nowhere"} }, "--add-host"},
		{"bad dns", NetworkBridge, func(c *Container) { c.HostConfig.DNS = []string{"dns.example"} }, "is not an ip address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Container{ID: strings.Repeat("b", 64)}
			tt.set(c)
			if err := e.checkNetwork(c, tt.mode, img); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v, want %q", err, tt.err)
			}
		})
	}
	c := &Container{ID: strings.Repeat("b", 64)}
	if err := e.checkNetwork(c, "container:web", img); err != nil || c.Config.Hostname != "webhost" {
		t.Errorf("joining web: %v, hostname %q (want web's)", err, c.Config.Hostname)
	}
	c = &Container{ID: strings.Repeat("c", 64)}
	c.HostConfig.PortBindings = map[string][]PortBinding{"8080/tcp": {{}}}
	if err := e.checkNetwork(c, NetworkBridge, img); err != nil || len(c.Config.ExposedPorts) != 2 {
		t.Errorf("exposed ports %v, %v: want the image's 80/tcp and the published 8080/tcp", c.Config.ExposedPorts, err)
	}
}

func TestAllocateAddress(t *testing.T) {
	e := bridgedEngine(t)
	a := &Container{ID: strings.Repeat("a", 64)}
	a.HostConfig.IPv4Address = "10.213.0.50"
	if err := e.allocateAddress(a, NetworkBridge); err != nil || a.IPAddress != "10.213.0.50" {
		t.Fatalf("--ip: %v %q", err, a.IPAddress)
	}
	b := &Container{ID: strings.Repeat("b", 64)}
	b.HostConfig.IPv4Address = "10.213.0.50"
	if err := e.allocateAddress(b, NetworkBridge); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("the same --ip twice: %v", err)
	}
	b.HostConfig.IPv4Address = "10.99.0.1"
	if err := e.allocateAddress(b, NetworkBridge); !errors.Is(err, ErrInvalid) {
		t.Fatalf("--ip outside the subnet: %v", err)
	}
	b.HostConfig.IPv4Address = ""
	if err := e.allocateAddress(b, NetworkBridge); err != nil || b.IPAddress == "" || b.IPAddress == a.IPAddress {
		t.Fatalf("next address: %v %q", err, b.IPAddress)
	}
	e.releaseNetwork(a)
	if got, _ := e.o.bridge.IPAM.Allocations(); len(got) != 1 || got[b.ID] == nil {
		t.Fatalf("after releasing a: %v", got)
	}
	n := &Container{ID: strings.Repeat("d", 64)}
	if err := e.allocateAddress(n, NetworkNone); err != nil || n.IPAddress != "" {
		t.Fatalf("--network none got an address: %v %q", err, n.IPAddress)
	}
}

func TestEtcFiles(t *testing.T) {
	e := bridgedEngine(t)
	dir := t.TempDir()
	host := "# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.com\n"
	e.o.resolvConf = filepath.Join(dir, "resolv.conf")
	os.WriteFile(e.o.resolvConf, []byte(host), 0o644)
	e.o.hosts = filepath.Join(dir, "hosts")
	os.WriteFile(e.o.hosts, []byte("127.0.0.1 the-host\n"), 0o644)
	c := &Container{HostnamePath: "hostname", HostsPath: "hosts", ResolvConfPath: "resolv.conf", IPAddress: "10.213.0.7"}
	c.Config.Hostname = "abc"
	c.HostConfig.ExtraHosts = []string{"db:192.0.2.7", "gw:host-gateway", "v6=[2001:db8::1]"}
	files, err := e.etcFiles(c, NetworkBridge)
	if err != nil {
		t.Fatal(err)
	}
	hosts := string(files["hosts"])
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "192.0.2.7\tdb\n", "10.213.0.1\tgw\n", "2001:db8::1\tv6\n", "10.213.0.7\tabc\n"} {
		if !strings.Contains(hosts, want) {
			t.Errorf("/etc/hosts lacks %q:\n%s", want, hosts)
		}
	}
	resolv := string(files["resolv.conf"])
	if strings.Contains(resolv, "127.0.0.53") || !strings.Contains(resolv, "nameserver 10.0.0.2") || !strings.Contains(resolv, "search example.com") {
		t.Errorf("resolv.conf %q: want the host's without its loopback resolver", resolv)
	}
	if string(files["hostname"]) != "abc\n" {
		t.Errorf("hostname %q", files["hostname"])
	}
	os.WriteFile(e.o.resolvConf, []byte("nameserver ::1\n"), 0o644)
	c.HostConfig.DNS = nil
	if files, _ := e.etcFiles(c, NetworkNone); !strings.Contains(string(files["resolv.conf"]), "8.8.8.8") {
		t.Errorf("only a loopback resolver: %q, want the public ones as the last resort", files["resolv.conf"])
	}
	c.HostConfig.DNS, c.HostConfig.DNSSearch = []string{"192.0.2.53"}, []string{"corp.example"}
	if files, _ := e.etcFiles(c, NetworkBridge); string(files["resolv.conf"]) != "nameserver 192.0.2.53\nsearch corp.example\n" {
		t.Errorf("--dns --dns-search: %q", files["resolv.conf"])
	}
	os.WriteFile(e.o.resolvConf, []byte(host), 0o644)
	if files, _ := e.etcFiles(c, NetworkHost); string(files["resolv.conf"]) != host || string(files["hosts"]) != "127.0.0.1 the-host\n" {
		t.Errorf("host network: %q %q, want the host's files", files["resolv.conf"], files["hosts"])
	}
}
