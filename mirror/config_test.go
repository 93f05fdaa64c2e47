package mirror

import (
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name      string
		hub       []string
		insecure  []string
		mirrors   map[string]RegistryConfig
		want      []string // substrings of the error
		forbidden string   // must not appear in the error
	}{
		{
			name: "no scheme",
			hub:  []string{"hub.example.com"},
			want: []string{`registry-mirrors: mirror "hub.example.com": no scheme; write https://hub.example.com`},
		},
		{
			name: "no scheme with port",
			hub:  []string{"hub.example.com:5000"},
			want: []string{`"hub.example.com:5000": no scheme; write https://hub.example.com:5000`},
		},
		{
			name: "missing slashes",
			hub:  []string{"https:hub.example.com"},
			want: []string{`"https:hub.example.com": malformed; write https://hub.example.com`},
		},
		{
			name: "other scheme",
			hub:  []string{"ftp://hub.example.com"},
			want: []string{`"ftp://hub.example.com"`, `scheme "ftp" is not supported`},
		},
		{
			name: "query",
			hub:  []string{"https://hub.example.com/?ns=x"},
			want: []string{`"https://hub.example.com/?ns=x"`, "query"},
		},
		{
			name: "fragment",
			hub:  []string{"https://hub.example.com#x"},
			want: []string{`"https://hub.example.com#x"`, "fragment"},
		},
		{
			name:      "userinfo is named but not the password",
			hub:       []string{"https://me:s3cret@hub.example.com"},
			want:      []string{`"https://me:xxxxx@hub.example.com"`, "berth login hub.example.com"},
			forbidden: "s3cret",
		},
		{
			name: "no host",
			hub:  []string{"https:///library"},
			want: []string{`"https:///library": no host`},
		},
		{
			name: "bad port",
			hub:  []string{"https://hub.example.com:99999"},
			want: []string{`"https://hub.example.com:99999"`, `port "99999"`},
		},
		{
			name: "v2 path",
			hub:  []string{"https://m.example/v2/"},
			want: []string{`"https://m.example/v2/"`, `remove "/v2"`, "write https://m.example)"},
		},
		{
			name: "v2 after prefix",
			mirrors: map[string]RegistryConfig{"ghcr.io": {Endpoints: []EndpointConfig{
				{URL: "https://m.example/ghcr.io/v2"}}}},
			want: []string{`mirrors["ghcr.io"]: mirror "https://m.example/ghcr.io/v2"`, "write https://m.example/ghcr.io)"},
		},
		{
			name: "path not a repository component",
			mirrors: map[string]RegistryConfig{"ghcr.io": {Endpoints: []EndpointConfig{
				{URL: "https://m.example/GHCR"}}}},
			want: []string{`"https://m.example/GHCR"`, `path segment "GHCR"`},
		},
		{
			name:    "registry key with scheme",
			mirrors: map[string]RegistryConfig{"https://ghcr.io": {Endpoints: []EndpointConfig{{URL: "https://m.example"}}}},
			want:    []string{`registry "https://ghcr.io" is not a host[:port]; write "ghcr.io"`},
		},
		{
			name:    "registry key with path",
			mirrors: map[string]RegistryConfig{"ghcr.io/owner": {Endpoints: []EndpointConfig{{URL: "https://m.example"}}}},
			want:    []string{`registry "ghcr.io/owner" is not a host[:port]; write "ghcr.io"`},
		},
		{
			name:    "registry key garbage",
			mirrors: map[string]RegistryConfig{"ghcr io": {Endpoints: []EndpointConfig{{URL: "https://m.example"}}}},
			want:    []string{`registry "ghcr io" is not a host[:port]`},
		},
		{
			name: "same registry twice",
			mirrors: map[string]RegistryConfig{
				"docker.io":       {Endpoints: []EndpointConfig{{URL: "https://a.example"}}},
				"index.docker.io": {Endpoints: []EndpointConfig{{URL: "https://b.example"}}},
			},
			want: []string{`"docker.io" and "index.docker.io" are the same registry`},
		},
		{
			name:     "CIDR typo",
			insecure: []string{"10.0.0.0/33"},
			want:     []string{`insecure-registries: "10.0.0.0/33" is not a CIDR`, "0-32"},
		},
		{
			name:     "CIDR bad address",
			insecure: []string{"10.0.0/8"},
			want:     []string{`"10.0.0/8" is not a CIDR`},
		},
		{
			name:     "insecure not a host",
			insecure: []string{"registry lan:5000"},
			want:     []string{`"registry lan:5000" is not a host[:port] or CIDR`},
		},
		{
			name: "unknown capability",
			mirrors: map[string]RegistryConfig{"ghcr.io": {Endpoints: []EndpointConfig{
				{URL: "https://m.example", Capabilities: []string{"pull", "push"}}}}},
			want: []string{`"https://m.example": unknown capability "push"`},
		},
		{
			name: "duplicate endpoint",
			mirrors: map[string]RegistryConfig{"ghcr.io": {Endpoints: []EndpointConfig{
				{URL: "https://m.example"}, {URL: "https://M.example:443/"}}}},
			want: []string{`mirrors["ghcr.io"]: mirror "https://M.example:443/" duplicates "https://m.example" in mirrors["ghcr.io"]`},
		},
		{
			name: "duplicate across registry-mirrors and the map",
			hub:  []string{"https://m.example"},
			mirrors: map[string]RegistryConfig{"registry-1.docker.io": {Endpoints: []EndpointConfig{
				{URL: "https://m.example/"}}}},
			want: []string{`mirror "https://m.example/" duplicates "https://m.example" in registry-mirrors`},
		},
		{
			name: "relative CA",
			mirrors: map[string]RegistryConfig{"ghcr.io": {Endpoints: []EndpointConfig{
				{URL: "https://m.example", CA: "certs/ca.pem"}}}},
			want: []string{`"https://m.example": ca "certs/ca.pem" is not an absolute path`},
		},
		{
			name: "CA on http",
			mirrors: map[string]RegistryConfig{"ghcr.io": {Endpoints: []EndpointConfig{
				{URL: "http://m.example", CA: "/etc/berth/ca.pem"}}}},
			want: []string{`"http://m.example": ca "/etc/berth/ca.pem" is for https endpoints`},
		},
		{
			name:    "fallback false without endpoints",
			mirrors: map[string]RegistryConfig{"ghcr.io": {Fallback: ptr(false)}},
			want:    []string{`mirrors["ghcr.io"]: fallback is false and there are no endpoints`},
		},
		{
			name: "probe names the registry",
			mirrors: map[string]RegistryConfig{"ghcr.io": {
				Endpoints: []EndpointConfig{{URL: "https://m.example"}}, Probe: "ghcr.io/owner/repo:tag"}},
			want: []string{`probe "ghcr.io/owner/repo:tag" names a registry; write the repository only, e.g. "owner/repo:tag"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewConfig(tt.hub, tt.insecure, tt.mirrors)
			if err == nil {
				t.Fatal("NewConfig succeeded; want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\ndoes not contain %q", msg, w)
				}
			}
			if tt.forbidden != "" && strings.Contains(msg, tt.forbidden) {
				t.Errorf("error %q leaks %q", msg, tt.forbidden)
			}
		})
	}
}

func TestNewConfigAccepts(t *testing.T) {
	c, err := NewConfig(nil, nil, map[string]RegistryConfig{"quay.io": {
		Endpoints: []EndpointConfig{{URL: "https://m.example"}},
		Probe:     "library/alpine@sha256:0123abcd",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Probe("QUAY.io"); got != "library/alpine@sha256:0123abcd" {
		t.Errorf("Probe = %q", got)
	}
}

// urls lists where each endpoint points, marking the registry itself.
func urls(eps []Endpoint) []string {
	var out []string
	for _, ep := range eps {
		s := ep.Scheme + "://" + ep.Host
		if ep.Prefix != "" {
			s += " prefix " + ep.Prefix
		}
		if !ep.Mirror {
			s += " (registry)"
		}
		out = append(out, s)
	}
	return out
}

func TestEndpoints(t *testing.T) {
	c, err := NewConfig(
		[]string{"https://hub-a.example", "http://10.0.0.5:5000"},
		[]string{"registry.lan:5000"},
		map[string]RegistryConfig{
			"Index.Docker.io": {Endpoints: []EndpointConfig{{URL: "https://m.example/docker.io/"}}},
			"ghcr.io": {Endpoints: []EndpointConfig{
				{URL: "https://m.example/ghcr.io", Capabilities: []string{"pull"}},
				{URL: "https://ghcr-mirror.example/", CA: "/etc/berth/ca.pem"},
			}, Fallback: ptr(false)},
			"registry.lan:5000": {Endpoints: []EndpointConfig{{URL: "https://cache.example"}}},
		})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		registry string
		want     []string
	}{
		{"docker.io", []string{
			"https://hub-a.example", "http://10.0.0.5:5000", "https://m.example prefix docker.io",
			"https://index.docker.io (registry)"}},
		{"index.docker.io", []string{
			"https://hub-a.example", "http://10.0.0.5:5000", "https://m.example prefix docker.io",
			"https://index.docker.io (registry)"}},
		{"registry-1.docker.io", []string{
			"https://hub-a.example", "http://10.0.0.5:5000", "https://m.example prefix docker.io",
			"https://index.docker.io (registry)"}},
		{"ghcr.io", []string{"https://m.example prefix ghcr.io", "https://ghcr-mirror.example"}},
		{"registry.lan:5000", []string{"https://cache.example", "https://registry.lan:5000 (registry)"}},
		{"quay.io", []string{"https://quay.io (registry)"}},
	}
	for _, tt := range tests {
		t.Run(tt.registry, func(t *testing.T) {
			eps := c.Endpoints(tt.registry)
			if got := urls(eps); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Endpoints(%q) =\n%q\nwant\n%q", tt.registry, got, tt.want)
			}
			for _, ep := range eps {
				if ep.Registry != NormalizeRegistry(tt.registry) {
					t.Errorf("%s: Registry = %q", ep, ep.Registry)
				}
			}
		})
	}

	if got, want := c.Registries(), []string{"docker.io", "ghcr.io", "registry.lan:5000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Registries() = %q, want %q", got, want)
	}

	ghcr := c.Endpoints("ghcr.io")
	if got := ghcr[0].Repository("owner/repo"); got != "ghcr.io/owner/repo" {
		t.Errorf("prefix Repository = %q", got)
	}
	if got := ghcr[1].Repository("owner/repo"); got != "owner/repo" {
		t.Errorf("host-swap Repository = %q", got)
	}
	if !ghcr[0].Can(Pull) || ghcr[0].Can(Resolve) || !ghcr[1].Can(Pull|Resolve) {
		t.Errorf("capabilities: %v, %v", ghcr[0].Capabilities, ghcr[1].Capabilities)
	}
	if ghcr[1].CAFile != "/etc/berth/ca.pem" || ghcr[1].String() != "https://ghcr-mirror.example/" {
		t.Errorf("ghcr mirror = %+v", ghcr[1])
	}

	hub := c.Endpoints("docker.io")
	insecure := map[string]bool{}
	for _, ep := range hub {
		insecure[ep.URL] = ep.Insecure
	}
	want := map[string]bool{
		"https://hub-a.example": false, "http://10.0.0.5:5000": true,
		"https://m.example/docker.io/": false, "https://index.docker.io": false,
	}
	if !reflect.DeepEqual(insecure, want) {
		t.Errorf("Insecure per endpoint = %v, want %v", insecure, want)
	}
	if lan := c.Endpoints("registry.lan:5000"); !lan[1].Insecure || lan[0].Insecure {
		t.Errorf("registry.lan:5000 endpoints = %+v", lan)
	}
}

func TestInsecure(t *testing.T) {
	c, err := NewConfig(nil, []string{"registry.lan:5000", "10.0.0.0/8", "fd00::/8", "HTTP://old.example:5000"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], `"HTTP://old.example:5000"`) {
		t.Errorf("Warnings() = %q", w)
	}
	tests := map[string]bool{
		"registry.lan:5000":  true,
		"Registry.LAN:5000":  true,
		"registry.lan":       false, // as in Docker, a listed port is part of the name
		"registry.lan:5001":  false,
		"old.example:5000":   true,
		"10.1.2.3":           true,
		"10.1.2.3:5000":      true,
		"11.0.0.1:5000":      false,
		"[fd00::1]:5000":     true,
		"ten.example":        false, // names are never resolved
		"localhost":          true,
		"localhost:5000":     true,
		"127.0.0.1:5000":     true,
		"127.9.9.9":          true,
		"[::1]:5000":         true,
		"ghcr.io":            false,
		"registry.lan:5000x": false,
	}
	for host, want := range tests {
		if got := c.Insecure(host); got != want {
			t.Errorf("Insecure(%q) = %v, want %v", host, got, want)
		}
	}

	// A mirror on a listed host is insecure; an https mirror on loopback is not,
	// since its URL says how to reach it.
	c, err = NewConfig([]string{"https://10.1.1.1:5000", "https://127.0.0.1:5000"}, []string{"10.0.0.0/8"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	eps := c.Endpoints("docker.io")
	if !eps[0].Insecure || eps[1].Insecure {
		t.Errorf("Insecure = %v, %v; want true, false", eps[0].Insecure, eps[1].Insecure)
	}
}
