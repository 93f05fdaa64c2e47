package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/container"
)

var _ api.NetworkBackend = (*ContainerBackend)(nil)

// networkOptions are the engine's form of a create request's network
// settings.
func networkOptions(req *api.ContainerCreateRequest) container.NetworkOptions {
	h := req.HostConfig
	o := container.NetworkOptions{
		PublishAllPorts: h.PublishAllPorts, DNS: h.DNS, DNSSearch: h.DNSSearch, DNSOptions: h.DNSOptions,
		ExtraHosts: h.ExtraHosts,
	}
	if len(h.PortBindings) > 0 {
		o.PortBindings = map[string][]container.PortBinding{}
		for port, bindings := range h.PortBindings {
			// "80" means 80/tcp, as dockerd reads it.
			if !strings.Contains(port, "/") {
				port += "/tcp"
			}
			list := []container.PortBinding{}
			for _, b := range bindings {
				list = append(list, container.PortBinding{HostIP: b.HostIP, HostPort: b.HostPort})
			}
			o.PortBindings[port] = list
		}
	}
	mode := h.NetworkMode
	if mode == "" {
		mode = "default"
	}
	o.IPv4Address = api.EndpointIPv4(req.NetworkingConfig, mode)
	if o.IPv4Address == "" && mode == "default" {
		o.IPv4Address = api.EndpointIPv4(req.NetworkingConfig, container.NetworkBridge)
	}
	return o
}

// setNetworkOptions puts a container's network settings into inspect's
// HostConfig, with Docker's empty values where none was given.
func setNetworkOptions(h *api.HostConfig, o container.NetworkOptions) {
	h.PortBindings = map[string][]api.PortBinding{}
	for port, bindings := range o.PortBindings {
		list := []api.PortBinding{}
		for _, b := range bindings {
			list = append(list, api.PortBinding{HostIP: b.HostIP, HostPort: b.HostPort})
		}
		h.PortBindings[port] = list
	}
	h.PublishAllPorts = o.PublishAllPorts
	h.DNS, h.DNSSearch, h.DNSOptions = nonNil(o.DNS), nonNil(o.DNSSearch), nonNil(o.DNSOptions)
	h.ExtraHosts = o.ExtraHosts
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// networkID is the stable ID of a built-in network: the same across the
// daemon's restarts, and another for another data root's bridge.
func (b *ContainerBackend) networkID(name string) string {
	bridge := "none"
	if b.Bridge != nil {
		bridge = b.Bridge.Bridge.Name
	}
	return hashID("berth network", name, bridge)
}

func hashID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// networkSettings is inspect's NetworkSettings: while the container runs,
// its address, gateway and MAC on the bridge and its published ports; the
// network's entry alone otherwise, as dockerd shows a stopped container.
func (b *ContainerBackend) networkSettings(c *container.Container) *api.NetworkSettings {
	name := b.network(c.HostConfig.NetworkMode)
	ns := &api.NetworkSettings{Ports: map[string][]api.PortBinding{}, Networks: map[string]*api.EndpointSettings{}}
	if strings.HasPrefix(name, "container:") {
		// The other container's namespace: no endpoint of its own.
		return ns
	}
	ep := &api.EndpointSettings{NetworkID: b.networkID(name)}
	if ip := c.HostConfig.IPv4Address; ip != "" {
		ep.IPAMConfig = &api.EndpointIPAMConfig{IPv4Address: ip}
	}
	ns.Networks[name] = ep
	if !c.State.Running() {
		return ns
	}
	ns.SandboxID = hashID("berth sandbox", c.ID, strconv.Itoa(c.State.Pid))
	if name != container.NetworkHost {
		ns.SandboxKey = "/proc/" + strconv.Itoa(c.State.Pid) + "/ns/net"
	}
	ep.EndpointID = hashID("berth endpoint", c.ID, name)
	if e := c.State.Network; e != nil {
		ep.IPAddress, ep.IPPrefixLen, ep.Gateway, ep.MacAddress = e.IP.String(), e.PrefixLen, e.Gateway.String(), e.MAC
		ns.IPAddress, ns.IPPrefixLen, ns.Gateway, ns.MacAddress = ep.IPAddress, ep.IPPrefixLen, ep.Gateway, ep.MacAddress
		ns.EndpointID = ep.EndpointID
		for p := range c.Config.ExposedPorts {
			ns.Ports[p] = nil
		}
		for _, m := range e.Ports {
			key := strconv.Itoa(int(m.ContainerPort)) + "/" + m.Proto
			hostIP := "0.0.0.0"
			if m.HostIP != nil {
				hostIP = m.HostIP.String()
			}
			ns.Ports[key] = append(ns.Ports[key], api.PortBinding{HostIP: hostIP, HostPort: strconv.Itoa(int(m.HostPort))})
		}
	}
	return ns
}

// Networks are the engine's networks as docker network inspect shows
// them: bridge (when it is set up), host and none, each with the running
// containers on it.
func (b *ContainerBackend) Networks(ctx context.Context) ([]*api.NetworkResource, error) {
	list, err := b.Engine.List(false)
	if err != nil {
		return nil, containerError(err)
	}
	created := b.NetworksCreated.UTC().Format(time.RFC3339Nano)
	mk := func(name, driver string) *api.NetworkResource {
		return &api.NetworkResource{
			Name: name, ID: b.networkID(name), Created: created, Scope: "local", Driver: driver,
			IPAM:       api.NetworkIPAM{Driver: "default", Config: []api.NetworkIPAMPool{}},
			Containers: map[string]api.NetworkContainer{}, Options: map[string]string{}, Labels: map[string]string{},
		}
	}
	nets := map[string]*api.NetworkResource{container.NetworkHost: mk("host", "host"), container.NetworkNone: mk("none", "null")}
	if br := b.Bridge; br != nil {
		n := mk("bridge", "bridge")
		n.IPAM.Config = []api.NetworkIPAMPool{{Subnet: br.Bridge.Subnet.String(), Gateway: br.Bridge.Gateway.String()}}
		mtu := "1500"
		if l, err := net.InterfaceByName(br.Bridge.Name); err == nil {
			mtu = strconv.Itoa(l.MTU)
		}
		n.Options = map[string]string{
			"com.docker.network.bridge.default_bridge":       "true",
			"com.docker.network.bridge.enable_icc":           "true",
			"com.docker.network.bridge.enable_ip_masquerade": "true",
			"com.docker.network.bridge.host_binding_ipv4":    "0.0.0.0",
			"com.docker.network.bridge.name":                 br.Bridge.Name,
			"com.docker.network.driver.mtu":                  mtu,
		}
		nets[container.NetworkBridge] = n
	}
	for _, c := range list {
		n := nets[b.network(c.HostConfig.NetworkMode)]
		if n == nil {
			continue // container:<id>: counted on the other container's network
		}
		ce := api.NetworkContainer{Name: c.Name, EndpointID: hashID("berth endpoint", c.ID, n.Name)}
		if e := c.State.Network; e != nil {
			ce.MacAddress = e.MAC
			ce.IPv4Address = (&net.IPNet{IP: e.IP, Mask: net.CIDRMask(e.PrefixLen, 32)}).String()
		}
		n.Containers[c.ID] = ce
	}
	var out []*api.NetworkResource
	for _, name := range []string{container.NetworkBridge, container.NetworkHost, container.NetworkNone} {
		if n := nets[name]; n != nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// Warnings are what the bridge network's setup said a user must know;
// /info shows them.
func (b *ContainerBackend) Warnings() []string { return b.NetworkWarnings }
