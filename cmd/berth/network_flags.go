package main

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/network"
)

// networking puts create's network flags into the request as the docker
// CLI sends them: the mode, -p as PortBindings and ExposedPorts (a range
// becomes one key per port), --expose, -P, --ip as the endpoint's
// address, --dns*, --add-host.
func (f *ContainerFlags) networking(req *api.ContainerCreateRequest) error {
	c, h := &req.ContainerConfig, req.HostConfig
	mode := f.Network
	if mode == "" {
		mode = "default"
	}
	if mode == "container:" {
		return usageErrorf("--network container: needs the container whose network to join (container:<name|id>)")
	}
	h.NetworkMode = mode
	exposed := map[string]struct{}{}
	for _, e := range f.Expose {
		if strings.Contains(e, ":") {
			return usageErrorf("--expose %q: invalid port format: a port or a range, without a host port", e)
		}
		ms, err := network.ParsePortSpec(e)
		if err != nil {
			return usageErrorf("--expose %q: %v", e, err)
		}
		for _, m := range ms {
			exposed[portKey(m)] = struct{}{}
		}
	}
	for _, p := range f.Publish {
		ms, err := network.ParsePortSpec(p)
		if err != nil {
			return usageErrorf("-p/--publish %q: %v", p, err)
		}
		if h.PortBindings == nil {
			h.PortBindings = map[string][]api.PortBinding{}
		}
		for _, m := range ms {
			key := portKey(m)
			exposed[key] = struct{}{}
			b := api.PortBinding{}
			if m.HostIP != nil {
				b.HostIP = m.HostIP.String()
			}
			switch {
			case m.HostPortEnd > m.HostPort:
				b.HostPort = strconv.Itoa(int(m.HostPort)) + "-" + strconv.Itoa(int(m.HostPortEnd))
			case m.HostPort != 0:
				b.HostPort = strconv.Itoa(int(m.HostPort))
			}
			h.PortBindings[key] = append(h.PortBindings[key], b)
		}
	}
	if len(exposed) > 0 {
		c.ExposedPorts = exposed
	}
	h.PublishAllPorts = f.PublishAll
	if f.IP != "" {
		if a, err := netip.ParseAddr(f.IP); err != nil || !a.Is4() {
			return usageErrorf("--ip %q: not an IPv4 address", f.IP)
		}
		req.NetworkingConfig = &api.NetworkingConfig{EndpointsConfig: map[string]*api.EndpointSettings{
			mode: {IPAMConfig: &api.EndpointIPAMConfig{IPv4Address: f.IP}},
		}}
	}
	for _, d := range f.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return usageErrorf("--dns %q: %s is not an ip address", d, d)
		}
	}
	h.DNS, h.DNSSearch, h.DNSOptions = f.DNS, f.DNSSearch, f.DNSOptions
	for _, a := range f.AddHosts {
		name, addr, ok := strings.Cut(a, ":")
		addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		if _, err := netip.ParseAddr(addr); !ok || name == "" || (err != nil && addr != "host-gateway") {
			return usageErrorf("--add-host %q: want HOST:IP (or HOST:host-gateway)", a)
		}
	}
	h.ExtraHosts = f.AddHosts
	return nil
}

// portKey is the API's name of a container port: "80/tcp".
func portKey(m network.PortMapping) string {
	return strconv.Itoa(int(m.ContainerPort)) + "/" + m.Proto
}
