package main

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/api"
)

// TestNetworkFlags: run's network flags make the request the docker CLI
// sends: one PortBindings key per container port, the exposed ports, the
// endpoint's address.
func TestNetworkFlags(t *testing.T) {
	_, req, err := parseRun(t, "-p", "127.0.0.1:8080:80", "-p", "8000-8001:90-91/udp", "-p", "9000-9010:100", "-p", "53",
		"-P", "--expose", "7000-7001", "--network", "bridge", "--ip", "10.213.0.50", "--dns", "192.0.2.53", "--dns-search", "corp.example",
		"--add-host", "db:192.0.2.7", "--add-host", "gw:host-gateway", "nginx")
	if err != nil {
		t.Fatal(err)
	}
	h := req.HostConfig
	wantBindings := map[string][]api.PortBinding{
		"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}}, "90/udp": {{HostPort: "8000"}}, "91/udp": {{HostPort: "8001"}},
		"100/tcp": {{HostPort: "9000-9010"}}, "53/tcp": {{}},
	}
	if len(h.PortBindings) != len(wantBindings) {
		t.Errorf("PortBindings %v, want %v", h.PortBindings, wantBindings)
	}
	for k, want := range wantBindings {
		if got := h.PortBindings[k]; len(got) != 1 || got[0] != want[0] {
			t.Errorf("PortBindings[%s] = %v, want %v", k, got, want)
		}
	}
	for _, p := range []string{"80/tcp", "90/udp", "91/udp", "100/tcp", "53/tcp", "7000/tcp", "7001/tcp"} {
		if _, ok := req.ExposedPorts[p]; !ok {
			t.Errorf("ExposedPorts lacks %s: %v", p, req.ExposedPorts)
		}
	}
	switch {
	case !h.PublishAllPorts || h.NetworkMode != "bridge":
		t.Errorf("-P %v, --network %q", h.PublishAllPorts, h.NetworkMode)
	case api.EndpointIPv4(req.NetworkingConfig, "bridge") != "10.213.0.50":
		t.Errorf("--ip: %+v", req.NetworkingConfig)
	case strings.Join(h.DNS, ",") != "192.0.2.53" || strings.Join(h.DNSSearch, ",") != "corp.example" || strings.Join(h.ExtraHosts, ",") != "db:192.0.2.7,gw:host-gateway":
		t.Errorf("dns %v, search %v, hosts %v", h.DNS, h.DNSSearch, h.ExtraHosts)
	}
	if _, err := api.ValidateCreate(req); err != nil {
		t.Errorf("the engine refuses what the flags made: %v", err)
	}
	for _, bad := range [][]string{{"-p", "80:80:80:80"}, {"-p", "8000-8002:80-81"}, {"--expose", "80:80"}, {"--dns", "dns.example"}, {"--network", "container:"}} {
		if _, _, err := parseRun(t, append(bad, "nginx")...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestDisplayPorts(t *testing.T) {
	for _, tt := range []struct {
		ports []api.Port
		want  string
	}{
		{nil, ""},
		{[]api.Port{{PrivatePort: 80, Type: "tcp"}}, "80/tcp"},
		{[]api.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}, {PrivatePort: 53, Type: "udp"}}, "53/udp, 0.0.0.0:8080->80/tcp"},
		{[]api.Port{
			{IP: "0.0.0.0", PrivatePort: 8001, PublicPort: 8001, Type: "tcp"}, {IP: "0.0.0.0", PrivatePort: 8000, PublicPort: 8000, Type: "tcp"},
			{PrivatePort: 9000, Type: "tcp"}, {PrivatePort: 9001, Type: "tcp"}, {PrivatePort: 9003, Type: "tcp"},
		}, "9000-9001/tcp, 0.0.0.0:8000-8001->8000-8001/tcp, 9003/tcp"}, // docker's order: a run closed early comes first
		{[]api.Port{{IP: "::", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}}, "[::]:8080->80/tcp"},
	} {
		if got := displayPorts(tt.ports); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.ports, got, tt.want)
		}
	}
}
