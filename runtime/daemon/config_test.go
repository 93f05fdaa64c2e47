package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestParseConfigValid(t *testing.T) {
	data := `{
	"data-root": "/srv/berth",
	"debug": true,
	"hosts": ["unix:///run/b.sock", "/run/c.sock"],
	"group": "docker",
	"registry-mirrors": ["https://hub-mirror.example.com"],
	"insecure-registries": ["10.0.0.0/8", "registry.lan:5000"],
	"proxies": {"http-proxy": "http://proxy:3128", "no-proxy": "localhost,.lan"},
	"log-level": "warn",
	"bip": "10.99.0.1/16",
	"ip-forward": false,
	"init": false,
	"max-concurrent-downloads": 6,
	"mirrors": {"ghcr.io": {"endpoints": [{"url": "https://ghcr-mirror.example.com"},
	                                      {"url": "http://10.0.0.5:5000", "insecure": true}],
	                        "fallback": true}}
}`
	c, err := ParseConfig("daemon.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataRoot != "/srv/berth" || !c.Debug || c.Group != "docker" || c.LogLevel != "warn" || c.BIP != "10.99.0.1/16" ||
		c.IPForward || c.Init || c.MaxConcurrentDownloads != 6 || c.Proxies.HTTPProxy != "http://proxy:3128" || c.Proxies.NoProxy != "localhost,.lan" {
		t.Errorf("config %+v", c)
	}
	if paths, sd := c.Sockets(); !slices.Equal(paths, []string{"/run/b.sock", "/run/c.sock"}) || sd {
		t.Errorf("sockets %v %v", paths, sd)
	}
	if eps := c.Mirror.Endpoints("ghcr.io"); len(eps) != 3 || eps[0].URL != "https://ghcr-mirror.example.com" {
		t.Errorf("ghcr.io endpoints %+v", eps)
	}
	if eps := c.Mirror.Endpoints("docker.io"); len(eps) != 2 || eps[0].URL != "https://hub-mirror.example.com" {
		t.Errorf("docker.io endpoints %+v", eps)
	}
	if !c.Mirror.Insecure("10.1.2.3:5000") || !c.Mirror.Insecure("registry.lan:5000") || c.Mirror.Insecure("ghcr.io") {
		t.Error("insecure registries not applied")
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	for _, data := range []string{"", "  \n", "{}", "\xef\xbb\xbf{}"} {
		c, err := ParseConfig("daemon.json", []byte(data))
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		if c.DataRoot != DefaultDataRoot || c.Group != "berth" || !c.Init || !c.IPForward || c.MaxConcurrentDownloads != 3 || c.Mirror == nil {
			t.Errorf("%q: defaults %+v", data, c)
		}
		if paths, _ := c.Sockets(); !slices.Equal(paths, []string{"/run/berth/berth.sock"}) {
			t.Errorf("default sockets %v", paths)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"syntax", "{\n  \"debug\": true,\n}", `daemon.json:3:1: invalid character '}' looking for beginning of object key string`},
		{"truncated", "{\n  \"debug\": true", "daemon.json:2:16: unexpected end of file"},
		{"bare word", `{"debug": yes}`, "daemon.json:1:11: invalid character 'y' looking for beginning of value"},
		{"not an object", `["debug"]`, "daemon.json:1:1: the file must hold one JSON object"},
		{"trailing data", "{}\n{}", "daemon.json:2:1: unexpected data after the closing brace"},
		{"misspelt key", "{\n  \"registry-mirror\": [\"https://m.example\"]\n}", `daemon.json:2:3: "registry-mirror": unknown key; did you mean "registry-mirrors"?`},
		{"misspelt docker-only key", `{"storage-drivr": "overlay2"}`, `daemon.json:1:2: "storage-drivr": unknown key; did you mean "storage-driver"?`},
		{"unknown key", `{"colour": "blue"}`, `daemon.json:1:2: "colour": unknown key`},
		{"duplicate key", "{\"debug\": true,\n \"debug\": false}", `daemon.json:2:2: "debug" appears twice; keep one`},
		{"nested duplicate", `{"proxies": {"no-proxy": "a", "no-proxy": "b"}}`, `"proxies.no-proxy" appears twice`},
		{"nested unknown", "{\"proxies\": {\n  \"http_proxy\": \"http://p:1\"}}", `daemon.json:2:3: "http_proxy": unknown key; did you mean "http-proxy"? (in "proxies")`},
		{"mirror unknown", "{\"mirrors\": {\"ghcr.io\": {\n \"endpoint\": []}}}", `daemon.json:2:2: "endpoint": unknown key; did you mean "endpoints"? (in "mirrors.ghcr.io")`},
		{"mirror endpoint unknown", `{"mirrors": {"ghcr.io": {"endpoints": [{"uri": "https://m"}]}}}`, `"uri": unknown key; did you mean "url"? (in "mirrors.ghcr.io.endpoints[0]")`},
		{"wrong type", "{\n  \"debug\": \"yes\"\n}", `daemon.json:2:12: "debug": expected true or false, got string`},
		{"nested wrong type", "{\"mirrors\": {\"ghcr.io\": {\n  \"fallback\": \"no\"}}}", `daemon.json:2:15: "mirrors.ghcr.io.fallback": expected true or false, got string`},
		{"wrong list type", `{"registry-mirrors": "https://m.example"}`, `"registry-mirrors": expected a list of strings, got string`},
		{"wrong number", `{"max-concurrent-downloads": 2.5}`, `"max-concurrent-downloads": expected a whole number, got number 2.5`},
		{"relative data root", `{"data-root": "var/lib/berth"}`, `daemon.json:1:2: "data-root": "var/lib/berth" is not an absolute path`},
		{"tcp host", `{"hosts": ["tcp://0.0.0.0:2375"]}`, `"hosts": host "tcp://0.0.0.0:2375": tcp is not supported`},
		{"no hosts", `{"hosts": []}`, `"hosts": give at least one socket`},
		{"log level", `{"log-level": "verbose"}`, `"log-level": "verbose" is not one of debug, info, warn, error, fatal`},
		{"bip network", `{"bip": "10.213.0.0/16"}`, `is a network, not the bridge's address`},
		{"bip garbage", `{"bip": "bridge0"}`, `"bip": "bridge0" is not an IPv4 address with a prefix length`},
		{"downloads", `{"max-concurrent-downloads": 0}`, `"max-concurrent-downloads": 0: must be at least 1`},
		{"proxy", `{"proxies": {"https-proxy": "proxy:3128"}}`, `https-proxy "proxy:3128" is not a proxy URL`},
		{"mirror model", "{\n\"registry-mirrors\": [\"ftp://m.example\"]}", "daemon.json:2:1: registry-mirrors:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("daemon.json", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %s", err, tt.want)
			}
			if err != nil && strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestDockerOnlyKeysWarn(t *testing.T) {
	data := "{\n  \"storage-driver\": \"overlay2\",\n  \"log-opts\": {\"max-size\": \"10m\"},\n  \"tlsverify\": true,\n  \"debug\": true\n}"
	c, err := ParseConfig("/etc/berth/daemon.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`/etc/berth/daemon.json:2:3: "storage-driver" is a Docker setting Berth does not implement; ignored`,
		`/etc/berth/daemon.json:3:3: "log-opts" is a Docker setting Berth does not implement; ignored`,
		`/etc/berth/daemon.json:4:3: "tlsverify" is a Docker setting Berth does not implement; ignored`,
	}
	if !slices.Equal(c.Warnings, want) || !c.Debug {
		t.Errorf("warnings\n%q\nwant\n%q", c.Warnings, want)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	c, err := LoadConfig(filepath.Join(dir, "missing.json"))
	if err != nil || c.DataRoot != DefaultDataRoot {
		t.Errorf("missing file: %+v, %v", c, err)
	}
	path := filepath.Join(dir, "daemon.json")
	os.WriteFile(path, []byte(`{"debug": tru}`), 0o644)
	if _, err := LoadConfig(path); err == nil || !strings.HasPrefix(err.Error(), path+":1:") {
		t.Errorf("malformed file: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "adir")); err == nil || err.Error() != "reading "+filepath.Join(dir, "adir")+": is a directory" {
		t.Errorf("unreadable file: %v", err)
	}
}

func TestApplyFlags(t *testing.T) {
	parse := func(data string) *Config {
		t.Helper()
		c, err := ParseConfig("/etc/berth/daemon.json", []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Flags fill what the file leaves out.
	c := parse(`{"debug": true}`)
	if err := c.ApplyFlags(Flags{DataRoot: ptr("/srv/b"), Hosts: []string{"unix:///tmp/x.sock"}, Group: ptr("wheel")}); err != nil {
		t.Fatal(err)
	}
	if c.DataRoot != "/srv/b" || c.Group != "wheel" || !c.Debug || !slices.Equal(c.Hosts, []string{"unix:///tmp/x.sock"}) {
		t.Errorf("after flags %+v", c)
	}
	// The same value both ways is fine.
	c = parse(`{"data-root": "/srv/b", "debug": true}`)
	if err := c.ApplyFlags(Flags{DataRoot: ptr("/srv/b"), Debug: ptr(true)}); err != nil {
		t.Errorf("equal values: %v", err)
	}
	// Different values: dockerd's error, every conflict named.
	c = parse(`{"data-root": "/srv/b", "group": "docker", "hosts": ["unix:///run/a.sock"]}`)
	err := c.ApplyFlags(Flags{DataRoot: ptr("/srv/c"), Group: ptr("berth"), Hosts: []string{"unix:///run/a.sock"}})
	want := "the following directives are specified both as a flag and in the configuration file (/etc/berth/daemon.json): data-root: (from flag: /srv/c, from file: /srv/b), group: (from flag: berth, from file: docker)"
	if err == nil || err.Error() != want {
		t.Errorf("conflict: %v\nwant %s", err, want)
	}
	// A bad flag value is named as a flag.
	c = parse(`{}`)
	if err := c.ApplyFlags(Flags{DataRoot: ptr("relative")}); err == nil || !strings.HasPrefix(err.Error(), "--data-root: ") {
		t.Errorf("relative --data-root: %v", err)
	}
	// --bip: the bridge's address, as daemon.json's "bip".
	c = parse(`{}`)
	if err := c.ApplyFlags(Flags{BIP: ptr("10.50.0.1/24")}); err != nil || c.BIP != "10.50.0.1/24" {
		t.Errorf("--bip: %v %q", err, c.BIP)
	}
	if err := parse(`{}`).ApplyFlags(Flags{BIP: ptr("10.50.0.0/24")}); err == nil || !strings.HasPrefix(err.Error(), "--bip: ") {
		t.Errorf("--bip of a network: %v", err)
	}
	c = parse(`{"bip": "10.60.0.1/24"}`)
	if err := c.ApplyFlags(Flags{BIP: ptr("10.50.0.1/24")}); err == nil || !strings.Contains(err.Error(), "bip: (from flag: 10.50.0.1/24, from file: 10.60.0.1/24)") {
		t.Errorf("--bip against the file: %v", err)
	}
}

func TestBridgeName(t *testing.T) {
	if got := BridgeName("/var/lib/berth/"); got != "berth0" {
		t.Errorf("the default data root's bridge: %q", got)
	}
	a, b := BridgeName("/tmp/a"), BridgeName("/tmp/b")
	if a == b || !strings.HasPrefix(a, "berth-") || len(a) > 15 || BridgeName("/tmp/a/") != a {
		t.Errorf("bridges of /tmp/a and /tmp/b: %q %q; want distinct names within IFNAMSIZ, the same for the same path", a, b)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "abc", 3}, {"registry-mirror", "registry-mirrors", 1}, {"dbug", "debug", 1}, {"same", "same", 0}, {"kitten", "sitting", 3}} {
		if got := editDistance(tt.a, tt.b); got != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
	}
}

func TestParseHost(t *testing.T) {
	for in, want := range map[string]string{"unix:///run/berth/berth.sock": "/run/berth/berth.sock", "/tmp/b.sock": "/tmp/b.sock", "fd://": ""} {
		if got, err := ParseHost(in); err != nil || got != want {
			t.Errorf("ParseHost(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"unix://rel.sock", "tcp://1.2.3.4:2375", "rel.sock", "ssh://host"} {
		if _, err := ParseHost(bad); err == nil {
			t.Errorf("ParseHost(%q) accepted", bad)
		}
	}
}
