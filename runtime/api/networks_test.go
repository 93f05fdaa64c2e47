package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

// fakeNetworks is a strict NetworkBackend: the three built-in networks,
// one container on the bridge.
type fakeNetworks struct{}

func (fakeNetworks) Networks(ctx context.Context) ([]*api.NetworkResource, error) {
	mk := func(name, id, driver string) *api.NetworkResource {
		return &api.NetworkResource{Name: name, ID: id, Driver: driver, Scope: "local", Containers: map[string]api.NetworkContainer{}}
	}
	br := mk("bridge", "b1"+strings.Repeat("0", 62), "bridge")
	br.Containers["c1"] = api.NetworkContainer{Name: "web", IPv4Address: "10.213.0.2/16"}
	return []*api.NetworkResource{br, mk("host", "b2"+strings.Repeat("0", 62), "host"), mk("none", "c3"+strings.Repeat("0", 62), "null")}, nil
}

func TestNetworkRoutes(t *testing.T) {
	sys := &apitest.System{}
	s, err := api.NewServer(apitest.NewBackend(), sys, api.WithNetworks(fakeNetworks{}))
	if err != nil {
		t.Fatal(err)
	}
	list := func(t *testing.T, filters string) []string {
		t.Helper()
		target := "/v1.43/networks"
		if filters != "" {
			target += "?filters=" + url.QueryEscape(filters)
		}
		rec := do(t, s, "GET", target, nil)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		var got []api.NetworkResource
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range got {
			if len(n.Containers) != 0 {
				t.Errorf("%s lists its containers; dockerd's list does not", n.Name)
			}
			names = append(names, n.Name)
		}
		return names
	}
	for _, tt := range []struct{ filters, want string }{
		{"", "bridge host none"},
		{`{"driver":["bridge"]}`, "bridge"},
		{`{"name":["o"]}`, "host none"},
		{`{"id":["b"]}`, "bridge host"},
		{`{"type":["custom"]}`, ""},
		{`{"type":["builtin"],"scope":["local"]}`, "bridge host none"},
	} {
		if got := strings.Join(list(t, tt.filters), " "); got != tt.want {
			t.Errorf("filters %s: %q, want %q", tt.filters, got, tt.want)
		}
	}
	if rec := do(t, s, "GET", "/networks?filters="+url.QueryEscape(`{"colour":["red"]}`), nil); rec.Code != 400 || !strings.Contains(errorMessage(t, rec), "invalid filter 'colour'") {
		t.Errorf("unknown filter: %d %s", rec.Code, rec.Body)
	}

	for _, ref := range []string{"bridge", "b1", "b1" + strings.Repeat("0", 62)} {
		rec := do(t, s, "GET", "/v1.43/networks/"+ref+"?verbose=false", nil)
		var n api.NetworkResource
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &n) != nil || n.Name != "bridge" || n.Containers["c1"].IPv4Address != "10.213.0.2/16" {
			t.Errorf("inspect %s: %d %s", ref, rec.Code, rec.Body)
		}
	}
	for _, tt := range []struct {
		method, target string
		status         int
		message        string
	}{
		{"GET", "/networks/b", 400, "network b is ambiguous (2 matches found based on ID prefix)"},
		{"GET", "/networks/nope", 404, "network nope not found"},
		{"DELETE", "/networks/bridge", 409, "bridge is a pre-defined network and cannot be removed"},
		{"DELETE", "/networks/nope", 404, "network nope not found"},
		{"POST", "/networks/create", 501, "user-defined networks are not supported by Berth yet"},
		{"POST", "/networks/bridge/connect", 501, "user-defined networks are not supported by Berth yet"},
	} {
		rec := do(t, s, tt.method, tt.target, strings.NewReader("{}"))
		if rec.Code != tt.status || !strings.Contains(errorMessage(t, rec), tt.message) {
			t.Errorf("%s %s: %d %s, want %d %q", tt.method, tt.target, rec.Code, rec.Body, tt.status, tt.message)
		}
	}
	rec := do(t, s, "POST", "/networks/prune", nil)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"NetworksDeleted":[]}` {
		t.Errorf("prune: %d %s", rec.Code, rec.Body)
	}
}

func TestPortSummary(t *testing.T) {
	got := api.PortSummary(map[string][]api.PortBinding{
		"80/tcp":  {{HostIP: "0.0.0.0", HostPort: "8080"}, {HostIP: "127.0.0.1", HostPort: "8081"}},
		"53/udp":  nil,
		"443/tcp": {},
	})
	want := []api.Port{
		{PrivatePort: 53, Type: "udp"},
		{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
		{IP: "127.0.0.1", PrivatePort: 80, PublicPort: 8081, Type: "tcp"},
		{PrivatePort: 443, Type: "tcp"},
	}
	if len(got) != len(want) {
		t.Fatalf("%+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestValidateNetworking: what the docker CLI sends for the network
// flags passes, as it sends it.
func TestValidateNetworking(t *testing.T) {
	for name, body := range map[string]string{
		"published":       `{"Image":"nginx","ExposedPorts":{"80/tcp":{}},"HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}],"53/udp":[{"HostIp":"","HostPort":""}],"81/tcp":[{"HostPort":"8000-8010"}]},"PublishAllPorts":true}}`,
		"bridge with ip":  `{"Image":"nginx","HostConfig":{"NetworkMode":"bridge"},"NetworkingConfig":{"EndpointsConfig":{"bridge":{"IPAMConfig":{"IPv4Address":"10.213.0.50"}}}}}`,
		"default with ip": `{"Image":"nginx","HostConfig":{"NetworkMode":"default"},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":{"IPv4Address":"10.213.0.50"}}}}}`,
		"container":       `{"Image":"nginx","HostConfig":{"NetworkMode":"container:web"}}`,
		"dns and hosts":   `{"Image":"nginx","HostConfig":{"Dns":["192.0.2.53"],"DnsSearch":["example.com"],"DnsOptions":["ndots:2"],"ExtraHosts":["db:192.0.2.7","gw:host-gateway","v6:[2001:db8::1]"]}}`,
	} {
		var req api.ContainerCreateRequest
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		if _, err := api.ValidateCreate(&req); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
