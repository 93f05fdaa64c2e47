package daemon

import (
	"net"
	"testing"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/network"
)

// TestNetworkSettings: inspect shows a running bridged container's
// endpoint and published ports as dockerd does, and a stopped one's
// network entry alone.
func TestNetworkSettings(t *testing.T) {
	_, subnet, _ := net.ParseCIDR("10.213.0.0/16")
	b := &ContainerBackend{DefaultNetwork: container.NetworkBridge, Bridge: &container.BridgeNetwork{Bridge: &network.Bridge{Name: "berth0", Gateway: net.IPv4(10, 213, 0, 1).To4(), Subnet: subnet}}}
	c := &container.Container{ID: "c0ffee", Config: container.Config{ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}}}}
	c.HostConfig.NetworkMode = "default"
	c.HostConfig.IPv4Address = "10.213.0.9"
	c.State = container.State{Status: container.StatusRunning, Pid: 42, Network: &network.Endpoint{
		IP: net.IPv4(10, 213, 0, 9).To4(), PrefixLen: 16, Gateway: net.IPv4(10, 213, 0, 1).To4(), MAC: "02:42:0a:d5:00:09",
		Ports: []network.PortMapping{
			{HostIP: net.IPv4(127, 0, 0, 1).To4(), HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
			{HostPort: 32768, ContainerPort: 80, Proto: "tcp"},
		},
	}}
	ns := b.networkSettings(c)
	ep := ns.Networks["bridge"]
	switch {
	case ep == nil || len(ns.Networks) != 1:
		t.Fatalf("networks %v, want bridge alone", ns.Networks)
	case ns.IPAddress != "10.213.0.9" || ns.IPPrefixLen != 16 || ns.Gateway != "10.213.0.1" || ns.MacAddress != "02:42:0a:d5:00:09":
		t.Errorf("top-level endpoint %+v", ns)
	case ep.IPAddress != ns.IPAddress || ep.Gateway != ns.Gateway || ep.MacAddress != ns.MacAddress || ep.NetworkID != b.networkID("bridge") || ep.EndpointID == "":
		t.Errorf("Networks.bridge %+v", ep)
	case ep.IPAMConfig == nil || ep.IPAMConfig.IPv4Address != "10.213.0.9":
		t.Errorf("--ip not in IPAMConfig: %+v", ep.IPAMConfig)
	case ns.SandboxKey != "/proc/42/ns/net":
		t.Errorf("sandbox key %q", ns.SandboxKey)
	}
	want := map[string][]api.PortBinding{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}, {HostIP: "0.0.0.0", HostPort: "32768"}}, "53/udp": nil}
	if len(ns.Ports) != 2 || len(ns.Ports["80/tcp"]) != 2 || ns.Ports["80/tcp"][0] != want["80/tcp"][0] || ns.Ports["80/tcp"][1] != want["80/tcp"][1] || ns.Ports["53/udp"] != nil {
		t.Errorf("ports %v, want %v", ns.Ports, want)
	}
	c.State = container.State{Status: container.StatusExited}
	ns = b.networkSettings(c)
	if ns.IPAddress != "" || len(ns.Ports) != 0 || ns.Networks["bridge"] == nil || ns.Networks["bridge"].IPAddress != "" || ns.Networks["bridge"].NetworkID == "" {
		t.Errorf("stopped: %+v, bridge %+v", ns, ns.Networks["bridge"])
	}
	c.HostConfig.NetworkMode = "container:web"
	if ns = b.networkSettings(c); len(ns.Networks) != 0 {
		t.Errorf("container:web has networks of its own: %v", ns.Networks)
	}
}

func TestNetworkOptionsIP(t *testing.T) {
	req := &api.ContainerCreateRequest{HostConfig: &api.HostConfig{NetworkMode: "bridge"}, NetworkingConfig: &api.NetworkingConfig{
		EndpointsConfig: map[string]*api.EndpointSettings{"bridge": {IPAMConfig: &api.EndpointIPAMConfig{IPv4Address: "10.213.0.7"}}},
	}}
	if got := networkOptions(req).IPv4Address; got != "10.213.0.7" {
		t.Errorf("--ip with --network bridge: %q", got)
	}
}
