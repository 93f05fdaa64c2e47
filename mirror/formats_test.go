package mirror

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseTOML(t *testing.T) {
	src := `# comment
server = "https://registry-1.docker.io"   # trailing comment
capabilities = [
  "pull",  # one
  'resolve',
]

[host."https://m.example/v2/docker.io"]
  override_path = true
  skip_verify = false
  header = { x-a = "1", "x-b" = "two" }

[[registry]]
prefix = "docker.io"
[[registry.mirror]]
location = "m1.example"
[[registry.mirror]]
location = "m2\u002eexample"
[[registry]]
location = "quay.io"
n = 1_000
`
	root, err := parseTOML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := root.str("server"); s != "https://registry-1.docker.io" {
		t.Errorf("server %q", s)
	}
	if caps, _ := root.strings("capabilities"); !slices.Equal(caps, []string{"pull", "resolve"}) {
		t.Errorf("capabilities %q", caps)
	}
	host := root.vals["host"].(*tomlTable)
	if !slices.Equal(host.keys, []string{"https://m.example/v2/docker.io"}) {
		t.Errorf("hosts %q", host.keys)
	}
	h := host.vals["https://m.example/v2/docker.io"].(*tomlTable)
	if b, _, _ := h.boolean("override_path"); !b {
		t.Error("override_path")
	}
	if hdr := h.vals["header"].(*tomlTable); !slices.Equal(hdr.keys, []string{"x-a", "x-b"}) {
		t.Errorf("header %q", hdr.keys)
	}
	regs := root.vals["registry"].([]*tomlTable)
	if len(regs) != 2 {
		t.Fatalf("%d registries", len(regs))
	}
	mirrors := regs[0].vals["mirror"].([]*tomlTable)
	if loc, _, _ := mirrors[1].str("location"); len(mirrors) != 2 || loc != "m2.example" {
		t.Errorf("mirrors %d, %q", len(mirrors), loc)
	}
	if regs[1].vals["n"] != int64(1000) {
		t.Errorf("n = %v", regs[1].vals["n"])
	}

	for src, want := range map[string]string{
		"a = 1\na = 2":                     `line 2: "a" is defined twice (first on line 1)`,
		"[t]\n[t]":                         "line 2: table [t] is defined twice",
		`a = "open`:                        "line 1: unterminated string",
		"a = 2024-01-01":                   `line 1: "2024-01-01" is not a value this file takes`,
		"a = \"\"\"x\"\"\"":                "line 1: multi-line strings are not supported here",
		"a = [1, 2":                        "line 1: unterminated list",
		"a = 1 b = 2":                      `line 1: unexpected 'b' after the value; one setting per line`,
		"[[r]]\nx = 1\n[r]":                "line 3: [r] is already something else",
		"a = { b = 1,\n c = 2 }":           "line 1: an inline table must end on its line with }",
		"a = \"\\q\"":                      `line 1: unknown escape \q`,
		"server = https://m.example":       `line 1: "https:" is not a value this file takes`,
		"location = \"m.example\"\nx = no": `line 2: "no" is not a value`,
	} {
		if _, err := parseTOML([]byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %s", src, err, want)
		}
	}
}

func settingsJSON(s Settings) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestRoundTrips: import of each format, export back to it and import again
// gives the same settings; what the format cannot say is said.
func TestRoundTrips(t *testing.T) {
	t.Run("docker", func(t *testing.T) {
		src := `{"registry-mirrors": ["https://mirror.gcr.io/", "http://10.0.0.5:5000", "mirror.bad"],
		         "insecure-registries": ["registry.lan:5000", "10.0.0.0/8", "10.0.0.0/33"],
		         "log-driver": "journald", "storage-driver": "overlay2"}`
		im, err := ImportDocker("daemon.json", []byte(src), func(host string) string {
			if host == "mirror.gcr.io" {
				return "/etc/docker/certs.d/mirror.gcr.io/ca.crt"
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		wantNotes := []string{
			`daemon.json: insecure-registries: "10.0.0.0/33" is not a CIDR: prefix length "33" must be 0-32; write e.g. 10.0.0.0/8; not imported`,
			`daemon.json: registry-mirrors: mirror "mirror.bad": no scheme; write https://mirror.bad; not imported`,
			`daemon.json: not mirror settings, not imported: "log-driver", "storage-driver"`,
		}
		if !slices.Equal(im.Notes, wantNotes) {
			t.Errorf("notes\n%q\nwant\n%q", im.Notes, wantNotes)
		}
		want := `{"RegistryMirrors":null,"InsecureRegistries":["registry.lan:5000","10.0.0.0/8"],"Mirrors":[{"Registry":"docker.io","endpoints":[{"url":"https://mirror.gcr.io","ca":"/etc/docker/certs.d/mirror.gcr.io/ca.crt"},{"url":"http://10.0.0.5:5000"}]}]}`
		if got := settingsJSON(im.Settings); got != want {
			t.Errorf("settings\n%s\nwant\n%s", got, want)
		}
		ex, err := ExportDocker(im.Settings)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ex.Notes, "https://mirror.gcr.io: Docker reads a mirror's CA from a directory: copy /etc/docker/certs.d/mirror.gcr.io/ca.crt to /etc/docker/certs.d/mirror.gcr.io/ca.crt") {
			t.Errorf("notes %q", ex.Notes)
		}
		again, err := ImportDocker("daemon.json", ex.Files[0].Data, func(host string) string {
			if host == "mirror.gcr.io" {
				return "/etc/docker/certs.d/mirror.gcr.io/ca.crt"
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		// Docker Hub's order is kept.
		if settingsJSON(again.Settings) != settingsJSON(im.Settings) {
			t.Errorf("round trip\n%s\nwant\n%s", settingsJSON(again.Settings), settingsJSON(im.Settings))
		}
		if !slices.Equal(again.Settings.InsecureRegistries, im.Settings.InsecureRegistries) {
			t.Errorf("insecure %q", again.Settings.InsecureRegistries)
		}
	})

	t.Run("containerd", func(t *testing.T) {
		fsys := fstest.MapFS{
			"docker.io/hosts.toml": {Data: []byte(`server = "https://registry-1.docker.io"

[host."https://m1.example"]
  capabilities = ["pull", "resolve"]

[host."https://m2.example/v2/docker.io"]
  capabilities = ["pull"]
  override_path = true
  ca = "certs/m2.pem"

[host."https://m3.example"]
  skip_verify = true
  header = { x-token = "abc" }
`)},
			"ghcr.io/hosts.toml": {Data: []byte(`server = "https://cache.lan/v2/ghcr.io"
override_path = true
capabilities = ["pull", "resolve"]

[host."http://first.lan:5000"]
  capabilities = ["pull", "resolve", "push"]
`)},
			"registry.lan_5000_/hosts.toml": {Data: []byte("server = \"http://registry.lan:5000\"\nskip_verify = true\n")},
			"_default/hosts.toml":           {Data: []byte("[host.\"https://any.example\"]\n")},
			"quay.io/ca.crt":                {Data: []byte("pem")},
			"odd.example/hosts.toml":        {Data: []byte("[host.\"https://odd.example/proxy\"]\n")},
		}
		im, err := ImportContainerd(fsys, "/etc/containerd/certs.d")
		if err != nil {
			t.Fatal(err)
		}
		want := `{"RegistryMirrors":null,"InsecureRegistries":["registry.lan:5000"],"Mirrors":[` +
			`{"Registry":"docker.io","endpoints":[{"url":"https://m1.example"},{"url":"https://m2.example/docker.io","ca":"/etc/containerd/certs.d/docker.io/certs/m2.pem","capabilities":["pull"]},{"url":"https://m3.example","insecure":true}]},` +
			`{"Registry":"ghcr.io","endpoints":[{"url":"http://first.lan:5000"},{"url":"https://cache.lan/ghcr.io"}],"fallback":false}]}`
		if got := settingsJSON(im.Settings); got != want {
			t.Errorf("settings\n%s\nwant\n%s", got, want)
		}
		for _, n := range []string{
			`/etc/containerd/certs.d/_default/hosts.toml: applies to every registry; Berth has no default mirror, not imported`,
			`/etc/containerd/certs.d/docker.io/hosts.toml: host "https://m3.example": "header" is not supported by Berth; ignored`,
			`/etc/containerd/certs.d/odd.example/hosts.toml: host "https://odd.example/proxy": an API root other than /v2[/prefix] cannot be expressed in Berth; not imported`,
			`/etc/containerd/certs.d/quay.io: no hosts.toml (certificates only); nothing to import`,
		} {
			if !slices.Contains(im.Notes, n) {
				t.Errorf("notes lack %q:\n%q", n, im.Notes)
			}
		}
		ex, err := ExportContainerd(im.Settings)
		if err != nil {
			t.Fatal(err)
		}
		out := fstest.MapFS{}
		for _, f := range ex.Files {
			out[f.Path] = &fstest.MapFile{Data: f.Data}
		}
		if got := string(out["ghcr.io/hosts.toml"].Data); got != `# Written by berth mirror export: the mirrors of ghcr.io, tried in order; the registry itself is never asked.
server = "https://cache.lan/v2/ghcr.io"
capabilities = ["pull", "resolve"]
override_path = true

[host."http://first.lan:5000"]
  capabilities = ["pull", "resolve"]
` {
			t.Errorf("ghcr.io/hosts.toml:\n%s", got)
		}
		again, err := ImportContainerd(out, "/etc/containerd/certs.d")
		if err != nil {
			t.Fatal(err)
		}
		if settingsJSON(again.Settings) != settingsJSON(im.Settings) {
			t.Errorf("round trip\n%s\nwant\n%s", settingsJSON(again.Settings), settingsJSON(im.Settings))
		}
	})

	t.Run("containers", func(t *testing.T) {
		main := `unqualified-search-registries = ["docker.io", "quay.io"]
short-name-mode = "enforcing"

[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "m1.example"

[[registry.mirror]]
location = "m2.example/docker.io"
insecure = true
pull-from-mirror = "digest-only"

[[registry]]
location = "registry.lan:5000"
insecure = true

[[registry]]
prefix = "example.com/team"
location = "internal.example/team"

[[registry]]
location = "blocked.example"
blocked = true
`
		dropin := `[[registry]]
prefix = "ghcr.io"
location = "cache.lan/ghcr.io"

[[registry.mirror]]
location = "first.lan:5000"
pull-from-mirror = "tag-only"
`
		im, err := ImportContainers([]File{{Path: "registries.conf", Data: []byte(main)}, {Path: "registries.conf.d/50.conf", Data: []byte(dropin)}})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"RegistryMirrors":null,"InsecureRegistries":["registry.lan:5000"],"Mirrors":[` +
			`{"Registry":"docker.io","endpoints":[{"url":"https://m1.example"},{"url":"https://m2.example/docker.io","insecure":true,"capabilities":["pull"]}]},` +
			`{"Registry":"ghcr.io","endpoints":[{"url":"https://first.lan:5000"},{"url":"https://cache.lan/ghcr.io"}],"fallback":false}]}`
		if got := settingsJSON(im.Settings); got != want {
			t.Errorf("settings\n%s\nwant\n%s", got, want)
		}
		for _, n := range []string{
			`registries.conf: unqualified-search-registries (docker.io, quay.io) is not a mirror: it is where short names are searched; Berth, like Docker, resolves short names on docker.io; not imported`,
			`registries.conf: [[registry]] "example.com/team": Berth's mirrors are per registry host, not per namespace or wildcard; not imported`,
			`registries.conf: [[registry]] blocked.example is blocked: Berth cannot block a registry; not imported`,
			`registries.conf.d/50.conf: mirror "first.lan:5000" of ghcr.io: pull-from-mirror = "tag-only" cannot be expressed in Berth; imported for every pull`,
		} {
			if !slices.Contains(im.Notes, n) {
				t.Errorf("notes lack %q:\n%q", n, im.Notes)
			}
		}
		ex, err := ExportContainers(im.Settings)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ImportContainers([]File{{Path: "50-berth.conf", Data: ex.Files[0].Data}})
		if err != nil {
			t.Fatalf("%v\n%s", err, ex.Files[0].Data)
		}
		if settingsJSON(again.Settings) != settingsJSON(im.Settings) {
			t.Errorf("round trip\n%s\nwant\n%s\n%s", settingsJSON(again.Settings), settingsJSON(im.Settings), ex.Files[0].Data)
		}
		if len(again.Notes) != 0 {
			t.Errorf("notes on Berth's own file: %q", again.Notes)
		}
	})

	// Berth's own settings into each format: what cannot be said is said.
	t.Run("berth", func(t *testing.T) {
		f := false
		s := Settings{
			RegistryMirrors:    []string{"https://hub.example"},
			InsecureRegistries: []string{"10.0.0.0/8"},
			Mirrors: []RegistryMirrors{
				{Registry: "docker.io", RegistryConfig: RegistryConfig{Endpoints: []EndpointConfig{{URL: "https://p.example/docker.io"}}, Probe: "library/busybox:1.35"}},
				{Registry: "ghcr.io", RegistryConfig: RegistryConfig{Endpoints: []EndpointConfig{{URL: "https://g.example", Capabilities: []string{"resolve"}}, {URL: "https://h.example", CA: "/etc/berth/h.pem"}}, Fallback: &f}},
			},
		}
		for format, wantNotes := range map[string][]string{
			FormatDocker: {
				"https://p.example/docker.io: Docker's registry-mirrors cannot have a path (a prefix-style mirror); not written",
				`docker.io: "probe" is Berth's own (berth mirror test); not written`,
				"Docker mirrors only Docker Hub: the mirrors of ghcr.io are not written",
			},
			FormatContainerd: {
				"insecure-registries: containerd has no address ranges: 10.0.0.0/8 not written (list the hosts)",
				`docker.io: "probe" is Berth's own (berth mirror test); not written`,
			},
			FormatContainers: {
				"insecure-registries: registries.conf has no address ranges: 10.0.0.0/8 not written (list the hosts)",
				`docker.io: "probe" is Berth's own (berth mirror test); not written`,
				"https://h.example: containers read a mirror's CA from a directory: copy /etc/berth/h.pem to /etc/containers/certs.d/h.example/ca.crt",
				"https://g.example: a resolve-only mirror cannot be expressed in registries.conf; written for every pull",
			},
		} {
			var ex *Exported
			var err error
			switch format {
			case FormatDocker:
				ex, err = ExportDocker(s)
			case FormatContainerd:
				ex, err = ExportContainerd(s)
			default:
				ex, err = ExportContainers(s)
			}
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(ex.Notes)
			slices.Sort(wantNotes)
			if !slices.Equal(ex.Notes, wantNotes) {
				t.Errorf("%s notes\n%q\nwant\n%q", format, ex.Notes, wantNotes)
			}
		}
	})
}

func TestDocumentKeepsTheRest(t *testing.T) {
	src := "{\n\t\"debug\": true,\n\t\"log-opts\": {\"max-size\":   \"10m\"},\n\t\"registry-mirrors\": [\"https://a.example\"],\n\t\"bip\": \"10.99.0.1/16\"\n}\n"
	d, err := ParseDocument([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(d.Bytes()); got != src {
		t.Errorf("unchanged document rewritten:\n%s", got)
	}
	s := d.Settings()
	if err := s.AddEndpoint("ghcr.io", EndpointConfig{URL: "https://g.example"}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEndpoint("docker.io", EndpointConfig{URL: "https://b.example"}, true); err != nil {
		t.Fatal(err)
	}
	d.SetSettings(s)
	want := "{\n\t\"debug\": true,\n\t\"log-opts\": {\"max-size\":   \"10m\"},\n\t\"registry-mirrors\": [\n\t\t\"https://b.example\",\n\t\t\"https://a.example\"\n\t],\n\t\"bip\": \"10.99.0.1/16\",\n" +
		"\t\"mirrors\": {\n\t\t\"ghcr.io\": {\n\t\t\t\"endpoints\": [\n\t\t\t\t{\n\t\t\t\t\t\"url\": \"https://g.example\"\n\t\t\t\t}\n\t\t\t]\n\t\t}\n\t}\n}\n"
	if got := string(d.Bytes()); got != want {
		t.Errorf("edited:\n%s\nwant:\n%s", got, want)
	}
	if err := s.AddEndpoint("docker.io", EndpointConfig{URL: "https://A.example:443/"}, false); err == nil {
		t.Error("the same endpoint written differently was added twice")
	}
	if _, err := s.RemoveEndpoint("", "https://g.example"); err != nil || len(s.Mirrors) != 0 {
		t.Errorf("rm: %v, %+v", err, s.Mirrors)
	}
}
