package container

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berthhq/berth/runtime/network"
)

// BridgeNetwork is the bridge the engine attaches containers to, as the
// daemon set it up at its start (see runtime/network's Wiring): the host
// namespace that holds it, the bridge itself, and the data root's address
// allocator.
type BridgeNetwork struct {
	Host   *network.Host
	Bridge *network.Bridge
	IPAM   *network.IPAM
}

// WithBridgeNetwork gives the engine its bridge network. Without it, a
// container asking for the bridge fails to create (ErrNotImplemented).
func WithBridgeNetwork(b *BridgeNetwork) Option {
	return func(o *options) error {
		if b == nil || b.Host == nil || b.Bridge == nil || b.IPAM == nil {
			return errors.New("WithBridgeNetwork: incomplete bridge network")
		}
		o.bridge = b
		return nil
	}
}

// NetworkOptions are create's network settings beside NetworkMode, as
// Docker's HostConfig has them.
type NetworkOptions struct {
	// PortBindings maps a container port ("80/tcp") to its host bindings
	// (-p); a binding's HostPort is a port, a range ("8000-8010": the
	// first free one) or "" (a random port).
	PortBindings    map[string][]PortBinding `json:",omitempty"`
	PublishAllPorts bool                     `json:",omitempty"`
	DNS             []string                 `json:",omitempty"`
	DNSSearch       []string                 `json:",omitempty"`
	DNSOptions      []string                 `json:",omitempty"`
	// ExtraHosts are --add-host's "name:ip".
	ExtraHosts []string `json:",omitempty"`
	// IPv4Address is --ip: the bridge address the container wants.
	IPv4Address string `json:",omitempty"`
}

// PortBinding is one host side of a published port.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

// netLaunch is the network part of a launch: what the monitor does for
// the container's network before its command runs.
type netLaunch struct {
	// Bridge, Gateway, Subnet and IP: attach a veth to the bridge.
	Bridge  string `json:",omitempty"`
	Gateway net.IP `json:",omitempty"`
	Subnet  string `json:",omitempty"`
	IP      net.IP `json:",omitempty"`
	// Ports are the published ports; random host ports (0 or a range)
	// are resolved when the monitor binds them.
	Ports []network.PortMapping `json:",omitempty"`
	// Join is the network namespace the init starts in instead of a new
	// one (--network container:<id>).
	Join string `json:",omitempty"`
}

// apply puts the network plan into the launch.
func (n *netLaunch) apply(l *launch) {
	if n == nil {
		return
	}
	l.Net = n
	if n.Join != "" {
		// The namespace is the other container's, lo and all.
		l.NewNet, l.Init.Loopback = false, false
	}
}

// network resolves a NetworkMode: none, host, bridge or container:<id>.
func (e *Engine) network(mode string) (string, error) {
	switch mode {
	case "", NetworkDefault:
		mode = e.o.defaultNetwork
	}
	switch {
	case mode == NetworkNone || mode == NetworkHost:
		return mode, nil
	case mode == NetworkBridge:
		if e.o.bridge == nil {
			return "", kindf(ErrNotImplemented, "the bridge network is not available on this engine (see the daemon's log): use --network none or --network host")
		}
		return mode, nil
	case strings.HasPrefix(mode, "container:"):
		if strings.TrimPrefix(mode, "container:") == "" {
			return "", invalidf("invalid network mode %q: container:<name|id>", mode)
		}
		return mode, nil
	}
	return "", kindf(ErrNotFound, "network %s not found", mode)
}

// checkNetwork checks the network options against the mode and merges
// the exposed ports (the image's, --expose and the published ones), as
// Docker's create does. A container joining another's network takes its
// hostname, as Docker's does.
func (e *Engine) checkNetwork(c *Container, mode string, img *v1.Config) error {
	o := &c.HostConfig.NetworkOptions
	joined := strings.HasPrefix(mode, "container:")
	published := len(o.PortBindings) > 0 || o.PublishAllPorts
	switch {
	case joined && published:
		return invalidf("conflicting options: port publishing and the container type network mode")
	case joined && (len(o.DNS) > 0 || len(o.DNSSearch) > 0 || len(o.DNSOptions) > 0):
		return invalidf("conflicting options: dns and the network mode")
	case joined && len(o.ExtraHosts) > 0:
		return invalidf("conflicting options: custom host-to-IP mapping and the network mode")
	case joined && c.Config.Hostname != "":
		return invalidf("conflicting options: hostname and the network mode")
	case o.IPv4Address != "" && mode != NetworkBridge:
		return invalidf("--ip %s: a fixed address needs the bridge network, not %s", o.IPv4Address, mode)
	}
	if joined {
		other, err := e.lookup(strings.TrimPrefix(mode, "container:"))
		if err != nil {
			return err
		}
		oc := other.snapshot()
		if oc.ID == c.ID {
			return invalidf("cannot join own network")
		}
		c.Config.Hostname, c.Config.Domainname = oc.Config.Hostname, oc.Config.Domainname
	}
	exposed := map[string]struct{}{}
	if img != nil {
		maps.Copy(exposed, img.ExposedPorts)
	}
	maps.Copy(exposed, c.Config.ExposedPorts)
	for p := range o.PortBindings {
		exposed[p] = struct{}{}
	}
	for p := range exposed {
		if _, _, err := parsePortProto(p); err != nil {
			return err
		}
	}
	if len(exposed) > 0 {
		c.Config.ExposedPorts = exposed
	}
	if _, err := portMappings(c); err != nil {
		return err
	}
	if _, err := e.extraHosts(o.ExtraHosts); err != nil {
		return err
	}
	for _, s := range o.DNS {
		if net.ParseIP(s) == nil {
			return invalidf("%s is not an ip address", s)
		}
	}
	if o.IPv4Address != "" && net.ParseIP(o.IPv4Address).To4() == nil {
		return invalidf("invalid IPv4 address: %s", o.IPv4Address)
	}
	return nil
}

// allocateAddress gives a bridged container its address, before its
// files are written (/etc/hosts names it); releaseNetwork gives it back.
func (e *Engine) allocateAddress(c *Container, mode string) error {
	if mode != NetworkBridge {
		return nil
	}
	want := net.ParseIP(c.HostConfig.IPv4Address).To4()
	ip, err := e.o.bridge.IPAM.Allocate(c.ID, want)
	switch {
	case errors.Is(err, network.ErrAddressInUse):
		return conflictf("Address already in use: %s", want)
	case errors.Is(err, network.ErrPoolExhausted):
		return conflictf("no free address on the bridge %s (%s): remove a container", e.o.bridge.Bridge.Name, e.o.bridge.Bridge.Subnet)
	case err != nil && want != nil:
		return invalidf("%v", err)
	case err != nil:
		return fmt.Errorf("allocating an address for container %s: %w", shortID(c.ID), err)
	}
	c.IPAddress = ip.String()
	return nil
}

// releaseNetwork gives back what allocateAddress allocated; a container
// without an address has nothing to give back.
func (e *Engine) releaseNetwork(c *Container) {
	if c.IPAddress == "" || e.o.bridge == nil {
		return
	}
	if err := e.o.bridge.IPAM.Release(c.ID); err != nil {
		e.log.Warn("releasing a container's address", "id", c.ID, "address", c.IPAddress, "err", err)
	}
}

// etcFiles are the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf: the host's own with the host network; otherwise
// Docker's, with the container's address and --add-host entries, and the
// host's resolvers without the loopback ones it cannot reach.
func (e *Engine) etcFiles(c *Container, mode string) (map[string][]byte, error) {
	o := c.HostConfig.NetworkOptions
	hostResolv, resolved := e.hostResolvers()
	files := map[string][]byte{c.HostnamePath: network.Hostname(c.Config.Hostname)}
	if mode == NetworkHost {
		hosts, _ := os.ReadFile(e.o.hosts)
		files[c.HostsPath], files[c.ResolvConfPath] = hosts, hostResolv
		if resolved != nil {
			files[c.ResolvConfPath] = resolved
		}
		return files, nil
	}
	extra, err := e.extraHosts(o.ExtraHosts)
	if err != nil {
		return nil, err
	}
	hosts, err := network.Hosts(network.HostsOptions{
		Hostname: c.Config.Hostname, Domainname: c.Config.Domainname, IP: net.ParseIP(c.IPAddress), ExtraHosts: extra,
	})
	if err != nil {
		return nil, invalidf("%v", err)
	}
	files[c.HostsPath] = hosts
	files[c.ResolvConfPath] = network.ResolvConf(hostResolv, resolved, network.DNSOptions{Servers: o.DNS, Search: o.DNSSearch, Options: o.DNSOptions})
	return files, nil
}

// extraHosts are --add-host's entries as name:ip, from Docker's forms
// name:ip, name=ip and name:[ipv6]; the address host-gateway is the
// bridge's gateway, the host as the containers reach it.
func (e *Engine) extraHosts(list []string) ([]string, error) {
	var out []string
	for _, h := range list {
		name, addr, ok := strings.Cut(h, ":")
		if i := strings.IndexByte(h, '='); i >= 0 && (!ok || i < len(name)) {
			name, addr, ok = h[:i], h[i+1:], true
		}
		addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		if addr == "host-gateway" {
			if e.o.bridge == nil {
				return nil, invalidf("--add-host %s: host-gateway is the bridge's gateway, and this engine has no bridge", h)
			}
			addr = e.o.bridge.Bridge.Gateway.String()
		}
		if !ok || name == "" || net.ParseIP(addr) == nil {
			return nil, invalidf("invalid argument %q for \"--add-host\" flag: want HOST:IP", h)
		}
		out = append(out, name+":"+addr)
	}
	return out, nil
}

// hostResolvers are the host's resolv.conf and, when it exists,
// systemd-resolved's upstream list (network.ResolvConf prefers it when the
// host's file names resolved's stub).
func (e *Engine) hostResolvers() (host, resolved []byte) {
	if e.o.resolvConf != "" {
		host, _ = os.ReadFile(e.o.resolvConf)
		return host, nil
	}
	host, _ = os.ReadFile("/etc/resolv.conf")
	if b, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
		resolved = b
	}
	return host, resolved
}

// startNetwork is the network part of a start: the bridge attachment and
// the published ports for the monitor, or for --network container:<id>
// the other container's namespace and files (Docker shares its hosts,
// hostname and resolv.conf). It may change c, the start's copy.
func (e *Engine) startNetwork(en *entry, c *Container, mode string) (*netLaunch, error) {
	switch {
	case mode == NetworkBridge:
		ip := net.ParseIP(c.IPAddress).To4()
		br := e.o.bridge.Bridge
		if ip == nil || !br.Subnet.Contains(ip) {
			// Created before the bridge moved (bip changed, or a route
			// took its subnet): a new address, and /etc/hosts to match.
			if err := e.readdress(en, c); err != nil {
				return nil, err
			}
			ip = net.ParseIP(c.IPAddress).To4()
		}
		ports, err := portMappings(c)
		if err != nil {
			return nil, err
		}
		return &netLaunch{Bridge: br.Name, Gateway: br.Gateway, Subnet: br.Subnet.String(), IP: ip, Ports: ports}, nil
	case strings.HasPrefix(mode, "container:"):
		ref := strings.TrimPrefix(mode, "container:")
		other, err := e.lookup(ref)
		if err != nil {
			return nil, err
		}
		oc := other.snapshot()
		if !oc.State.Running() || oc.State.Pid == 0 {
			return nil, conflictf("cannot join network of a non running container: %s", ref)
		}
		// Its monitor then removes its veth when it exits, which the
		// namespace kept alive by this container would not.
		if err := monitorRequest(context.Background(), oc.Dir, "netshared", false); err != nil {
			return nil, conflictf("cannot join network of container %s: %v", ref, err)
		}
		c.HostnamePath, c.HostsPath, c.ResolvConfPath = oc.HostnamePath, oc.HostsPath, oc.ResolvConfPath
		c.Config.Hostname, c.Config.Domainname = oc.Config.Hostname, oc.Config.Domainname
		return &netLaunch{Join: "/proc/" + strconv.Itoa(oc.State.Pid) + "/ns/net"}, nil
	}
	return nil, nil
}

// readdress gives a container an address of the bridge's subnet in place
// of one it no longer has; c is the start's copy of en.c.
func (e *Engine) readdress(en *entry, c *Container) error {
	if err := e.o.bridge.IPAM.Release(c.ID); err != nil {
		return err
	}
	c.IPAddress, c.HostConfig.IPv4Address = "", ""
	if err := e.allocateAddress(c, NetworkBridge); err != nil {
		return err
	}
	files, err := e.etcFiles(c, NetworkBridge)
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.HostsPath, files[c.HostsPath], 0o644); err != nil {
		return fmt.Errorf("rewriting %s: %w", c.HostsPath, err)
	}
	en.mu.Lock()
	en.c.IPAddress = c.IPAddress
	rec := record{Container: *en.c}
	en.mu.Unlock()
	return writeJSON(c.Dir+"/"+configFile, rec, false)
}

// cleanupNetwork removes a container's published-port rules and veth
// when its monitor could not (it died).
func (e *Engine) cleanupNetwork(id string) {
	if e.o.bridge == nil {
		return
	}
	h := e.o.bridge.Host
	if err := errors.Join(h.Unpublish(id), h.Detach(id)); err != nil {
		e.log.Warn("removing a dead container's network", "id", id, "err", err)
	}
}

// reconcileNetwork removes the veths and rules of the bridge's
// containers that do not run (live), and makes the address allocator
// agree with the containers that exist: the addresses of those gone are
// released, those of the others held.
func (e *Engine) reconcileNetwork(live map[string]bool) {
	if e.o.bridge == nil {
		return
	}
	if ids, err := e.o.bridge.Host.Reconcile(e.o.bridge.Bridge, func(id string) bool { return live[id] }); err != nil {
		e.log.Warn("removing the network of dead containers", "err", err)
	} else if len(ids) > 0 {
		e.log.Info("removed the veths and published ports of containers that no longer run", "containers", ids)
	}
	e.mu.Lock()
	exists := map[string]bool{}
	held := map[string]string{}
	for id, en := range e.byID {
		exists[id] = true
		en.mu.Lock()
		if en.c.IPAddress != "" {
			held[id] = en.c.IPAddress
		}
		en.mu.Unlock()
	}
	e.mu.Unlock()
	if ids, err := e.o.bridge.IPAM.Reconcile(func(id string) bool { return exists[id] }); err != nil {
		e.log.Warn("releasing the addresses of removed containers", "err", err)
	} else if len(ids) > 0 {
		e.log.Info("released the addresses of containers that no longer exist", "containers", ids)
	}
	allocated, err := e.o.bridge.IPAM.Allocations()
	if err != nil {
		e.log.Warn("reading the address allocator", "err", err)
		return
	}
	for id, addr := range held {
		ip := net.ParseIP(addr)
		if allocated[id] != nil || ip == nil || !e.o.bridge.Bridge.Subnet.Contains(ip) {
			continue // held already, or readdressed at its next start
		}
		if _, err := e.o.bridge.IPAM.Allocate(id, ip); err != nil {
			e.log.Warn("holding a container's address again", "id", id, "address", addr, "err", err)
		}
	}
}

// parsePortProto reads "80/tcp" (the protocol defaults to tcp).
func parsePortProto(s string) (uint16, string, error) {
	port, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	n, err := strconv.ParseUint(port, 10, 16)
	switch {
	case err != nil || n == 0:
		return 0, "", invalidf("invalid port %q: a container port is a number from 1 to 65535 (80/tcp)", s)
	case proto != "tcp" && proto != "udp":
		return 0, "", invalidf("invalid port %q: Berth publishes tcp and udp ports", s)
	}
	return uint16(n), proto, nil
}

// portMappings are the ports a start publishes: the bindings, then with
// PublishAllPorts every other exposed port on a random host port, in the
// order of the container ports.
func portMappings(c *Container) ([]network.PortMapping, error) {
	o := c.HostConfig.NetworkOptions
	var out []network.PortMapping
	for _, key := range sortedPorts(o.PortBindings) {
		cport, proto, err := parsePortProto(key)
		if err != nil {
			return nil, err
		}
		bindings := o.PortBindings[key]
		if len(bindings) == 0 {
			bindings = []PortBinding{{}}
		}
		for _, b := range bindings {
			m := network.PortMapping{ContainerPort: cport, Proto: proto}
			if b.HostIP != "" {
				if m.HostIP = net.ParseIP(b.HostIP); m.HostIP == nil {
					return nil, invalidf("invalid host IP address %q for port %s", b.HostIP, key)
				}
				if v4 := m.HostIP.To4(); v4 != nil {
					m.HostIP = v4
				}
			}
			if b.HostPort != "" {
				lo, hi, isRange := strings.Cut(b.HostPort, "-")
				l, err1 := strconv.ParseUint(lo, 10, 16)
				h, err2 := l, error(nil)
				if isRange {
					h, err2 = strconv.ParseUint(hi, 10, 16)
				}
				if err1 != nil || err2 != nil || h < l {
					return nil, invalidf("invalid host port %q for port %s", b.HostPort, key)
				}
				m.HostPort, m.HostPortEnd = uint16(l), uint16(h)
				if !isRange {
					m.HostPortEnd = 0
				}
			}
			out = append(out, m)
		}
	}
	if o.PublishAllPorts {
		for _, key := range sortedPorts(c.Config.ExposedPorts) {
			if _, bound := o.PortBindings[key]; bound {
				continue
			}
			cport, proto, err := parsePortProto(key)
			if err != nil {
				return nil, err
			}
			out = append(out, network.PortMapping{ContainerPort: cport, Proto: proto})
		}
	}
	return out, nil
}

// sortedPorts are a port map's keys by number, then protocol.
func sortedPorts[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		pa, ta, _ := strings.Cut(a, "/")
		pb, tb, _ := strings.Cut(b, "/")
		na, _ := strconv.Atoi(pa)
		nb, _ := strconv.Atoi(pb)
		if na != nb {
			return na - nb
		}
		return strings.Compare(ta, tb)
	})
	return keys
}
