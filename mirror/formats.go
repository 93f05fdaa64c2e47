package mirror

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// The other engines' mirror configurations Berth reads and writes.
const (
	// FormatDocker is dockerd's daemon.json: registry-mirrors (Docker Hub
	// only) and insecure-registries.
	FormatDocker = "docker"
	// FormatContainerd is containerd's hosts directory
	// (/etc/containerd/certs.d/<host>/hosts.toml).
	FormatContainerd = "containerd"
	// FormatContainers is containers-registries.conf(5), version 2, read by
	// Podman, Buildah, CRI-O and skopeo.
	FormatContainers = "containers"
)

// Imported is what an import read: settings in daemon.json's terms, and
// one line for each thing it could not carry over, and why.
type Imported struct {
	Settings Settings
	Notes    []string
}

func (im *Imported) note(format string, a ...any) {
	im.Notes = append(im.Notes, fmt.Sprintf(format, a...))
}

// File is one file read or written by an import or export; Path is
// relative to where the format lives (the hosts directory for containerd).
type File struct {
	Path string
	Data []byte
}

// Exported is what an export wrote, and what it could not.
type Exported struct {
	Files []File
	// Settings are Docker's two keys, for merging into an existing
	// daemon.json (FormatDocker only).
	Settings Settings
	Notes    []string
}

func (ex *Exported) note(format string, a ...any) {
	ex.Notes = append(ex.Notes, fmt.Sprintf(format, a...))
}

// validEndpoint checks a URL as daemon.json would take it for registry.
func validEndpoint(registry string, ec EndpointConfig) error {
	c, _ := NewConfig(nil, nil, nil)
	_, err := c.ParseEndpoint(registry, ec)
	return err
}

// ImportDocker reads dockerd's daemon.json (name is for messages). ca, when
// not nil, returns the CA file Docker trusts for a host
// (/etc/docker/certs.d/<host>/ca.crt), or "".
func ImportDocker(name string, data []byte, ca func(host string) string) (*Imported, error) {
	im := &Imported{}
	var top map[string]json.RawMessage
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	var other []string
	for k := range top {
		if k != keyRegistryMirrors && k != keyInsecureRegistries {
			other = append(other, fmt.Sprintf("%q", k))
		}
	}
	var mirrors, insecure []string
	if raw, ok := top[keyRegistryMirrors]; ok {
		if err := json.Unmarshal(raw, &mirrors); err != nil {
			return nil, fmt.Errorf("%s: %q: expected a list of strings", name, keyRegistryMirrors)
		}
	}
	if raw, ok := top[keyInsecureRegistries]; ok {
		if err := json.Unmarshal(raw, &insecure); err != nil {
			return nil, fmt.Errorf("%s: %q: expected a list of strings", name, keyInsecureRegistries)
		}
	}
	for _, in := range insecure {
		if _, err := NewConfig(nil, []string{in}, nil); err != nil {
			im.note("%s: insecure-registries: %v; not imported", name, strings.TrimPrefix(err.Error(), "insecure-registries: "))
			continue
		}
		im.Settings.InsecureRegistries = append(im.Settings.InsecureRegistries, in)
	}
	var eps []EndpointConfig
	plain := true
	for _, raw := range mirrors {
		u := strings.TrimSuffix(raw, "/")
		ec := EndpointConfig{URL: u}
		if err := validEndpoint(DockerHub, ec); err != nil {
			im.note("%s: registry-mirrors: %v; not imported", name, err)
			continue
		}
		if ca != nil {
			if pu, err := url.Parse(u); err == nil && pu.Scheme == "https" {
				ec.CA = ca(pu.Host)
			}
		}
		if slices.ContainsFunc(eps, func(e EndpointConfig) bool { return SameEndpoint(e.URL, ec.URL) }) {
			continue
		}
		plain = plain && ec.plain()
		eps = append(eps, ec)
	}
	// A mirror with a CA needs the "mirrors" map; then all go there, in
	// Docker's order.
	for _, ec := range eps {
		if plain {
			im.Settings.RegistryMirrors = append(im.Settings.RegistryMirrors, ec.URL)
		} else {
			im.Settings.ensure(DockerHub).Endpoints = append(im.Settings.ensure(DockerHub).Endpoints, ec)
		}
	}
	if len(other) > 0 {
		sort.Strings(other)
		im.note("%s: not mirror settings, not imported: %s", name, strings.Join(other, ", "))
	}
	return im, nil
}

// ExportDocker writes Docker Hub's mirrors and the insecure registries as
// dockerd's daemon.json takes them. Docker mirrors only Docker Hub, host
// swap only, always falls back, and reads CAs from /etc/docker/certs.d.
func ExportDocker(s Settings) (*Exported, error) {
	cfg, err := s.Config()
	if err != nil {
		return nil, err
	}
	ex := &Exported{}
	out := Settings{InsecureRegistries: slices.Clone(s.InsecureRegistries)}
	for _, reg := range cfg.Registries() {
		mirrors := mirrorsOf(cfg, reg)
		if reg != DockerHub {
			if len(mirrors) > 0 {
				ex.note("Docker mirrors only Docker Hub: the mirrors of %s are not written", reg)
			}
			continue
		}
		for _, ep := range mirrors {
			if ep.Prefix != "" {
				ex.note("%s: Docker's registry-mirrors cannot have a path (a prefix-style mirror); not written", ep.URL)
				continue
			}
			out.RegistryMirrors = append(out.RegistryMirrors, ep.Scheme+"://"+ep.Host)
			if ep.Insecure && ep.Scheme == "https" && !cfg.listedInsecure(ep.Host) {
				out.InsecureRegistries = append(out.InsecureRegistries, ep.Host)
			}
			if ep.CAFile != "" {
				ex.note("%s: Docker reads a mirror's CA from a directory: copy %s to /etc/docker/certs.d/%s/ca.crt", ep.URL, ep.CAFile, ep.Host)
			}
			if !ep.Can(Resolve) || !ep.Can(Pull) {
				ex.note("%s: Docker asks every mirror for everything; its \"capabilities\" cannot be written", ep.URL)
			}
		}
		if !cfg.Fallback(reg) {
			ex.note("Docker always falls back to Docker Hub: \"fallback\": false cannot be written")
		}
		if p := cfg.Probe(reg); p != "" {
			ex.note("%s: \"probe\" is Berth's own (berth mirror test); not written", reg)
		}
	}
	ex.Settings = out
	doc := map[string][]string{}
	if len(out.RegistryMirrors) > 0 {
		doc[keyRegistryMirrors] = out.RegistryMirrors
	}
	if len(out.InsecureRegistries) > 0 {
		doc[keyInsecureRegistries] = out.InsecureRegistries
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	ex.Files = []File{{Path: "daemon.json", Data: append(b, '\n')}}
	return ex, nil
}

// mirrorsOf is a registry's mirrors, without the registry itself.
func mirrorsOf(cfg *Config, reg string) []Endpoint {
	var out []Endpoint
	for _, ep := range cfg.Endpoints(reg) {
		if ep.Mirror {
			out = append(out, ep)
		}
	}
	return out
}

// originURL is the registry itself as containerd's "server" names it.
func originURL(reg string) string {
	if reg == DockerHub {
		return "https://registry-1.docker.io"
	}
	return "https://" + reg
}

// isOrigin reports whether host[/path] is the registry itself.
func isOrigin(reg, hostPath string) bool {
	hostPath = strings.TrimSuffix(strings.TrimSuffix(hostPath, "/"), "/v2")
	return NormalizeRegistry(hostPath) == reg || (reg == DockerHub && strings.EqualFold(hostPath, "registry-1.docker.io"))
}

// hostDir is containerd's directory name for a registry host: "host:port"
// is also looked up as "host_port_"; Berth writes the first.
func hostFromDir(dir string) string {
	if strings.HasSuffix(dir, "_") {
		if i := strings.LastIndex(dir[:len(dir)-1], "_"); i > 0 {
			return dir[:i] + ":" + dir[i+1:len(dir)-1]
		}
	}
	return dir
}

// ImportContainerd reads a containerd hosts directory: fsys is its root
// (one directory per registry holding hosts.toml), dir its path for
// relative CA files and messages.
func ImportContainerd(fsys fs.FS, dir string) (*Imported, error) {
	im := &Imported{}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		file := filepath.Join(dir, name, "hosts.toml")
		data, err := fs.ReadFile(fsys, path.Join(name, "hosts.toml"))
		if errors.Is(err, fs.ErrNotExist) {
			im.note("%s: no hosts.toml (certificates only); nothing to import", filepath.Join(dir, name))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if name == "_default" {
			im.note("%s: applies to every registry; Berth has no default mirror, not imported", file)
			continue
		}
		reg := NormalizeRegistry(hostFromDir(name))
		if err := checkRegistryKey(reg); err != nil {
			im.note("%s: the directory name is not a registry host; not imported", file)
			continue
		}
		t, err := parseTOML(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if err := im.containerdHosts(t, reg, file, filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	return im, nil
}

// containerdHost is one [host."url"] table or the top level.
type containerdHost struct {
	url          string
	capabilities []string
	ca           []string
	skipVerify   bool
	overridePath bool
	line         int
}

func readContainerdHost(t *tomlTable, key string, hostDir string, file string, im *Imported, top bool) (containerdHost, error) {
	h := containerdHost{}
	var err error
	if h.capabilities, err = t.strings("capabilities"); err != nil {
		return h, err
	}
	if h.ca, err = t.strings("ca"); err != nil {
		return h, err
	}
	for i, c := range h.ca {
		if !filepath.IsAbs(c) {
			h.ca[i] = filepath.Join(hostDir, c)
		}
	}
	if h.skipVerify, _, err = t.boolean("skip_verify"); err != nil {
		return h, err
	}
	if h.overridePath, _, err = t.boolean("override_path"); err != nil {
		return h, err
	}
	for _, k := range t.keys {
		switch k {
		case "capabilities", "ca", "skip_verify", "override_path":
		case "server", "host":
			if !top {
				im.note("%s: %s: %q inside a host table; ignored", file, key, k)
			}
		case "client", "header", "dial_timeout":
			im.note("%s: %s: %q is not supported by Berth; ignored", file, key, k)
		default:
			im.note("%s: %s: unknown setting %q; ignored", file, key, k)
		}
	}
	return h, nil
}

func (im *Imported) containerdHosts(t *tomlTable, reg, file, hostDir string) error {
	server, _, err := t.str("server")
	if err != nil {
		return err
	}
	var hosts []containerdHost
	if v, ok := t.vals["host"]; ok {
		ht, ok := v.(*tomlTable)
		if !ok {
			return fmt.Errorf("line %d: \"host\" must be a table of [host.\"URL\"] tables", t.line["host"])
		}
		for _, u := range ht.keys {
			sub, ok := ht.vals[u].(*tomlTable)
			if !ok {
				return fmt.Errorf("line %d: host %q must be a table", ht.line[u], u)
			}
			h, err := readContainerdHost(sub, fmt.Sprintf("host %q", u), hostDir, file, im, false)
			if err != nil {
				return err
			}
			h.url, h.line = u, ht.line[u]
			hosts = append(hosts, h)
		}
	}
	top, err := readContainerdHost(t, "server", hostDir, file, im, true)
	if err != nil {
		return err
	}
	top.url = server
	fallback := true
	if server != "" {
		u := server
		if !strings.HasPrefix(u, "http") {
			u = "https://" + u
		}
		pu, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("server %q is not a URL", server)
		}
		if isOrigin(reg, pu.Host+pu.Path) {
			if top.skipVerify || pu.Scheme == "http" {
				if !slices.Contains(im.Settings.InsecureRegistries, reg) {
					im.Settings.InsecureRegistries = append(im.Settings.InsecureRegistries, reg)
				}
			}
			if len(top.ca) > 0 {
				im.note("%s: \"ca\" for %s itself: Berth verifies registries with the system's CAs; add it there (not imported)", file, reg)
			}
		} else {
			// containerd asks the server after the hosts and never the
			// registry: the server is the last mirror, without fallback.
			hosts = append(hosts, top)
			fallback = false
		}
	}
	for _, h := range hosts {
		ec, ok := im.containerdEndpoint(h, reg, file)
		if !ok {
			continue
		}
		r := im.Settings.ensure(reg)
		r.Endpoints = append(r.Endpoints, ec)
	}
	if !fallback {
		r := im.Settings.ensure(reg)
		f := false
		r.Fallback = &f
	}
	return nil
}

func (im *Imported) containerdEndpoint(h containerdHost, reg, file string) (EndpointConfig, bool) {
	raw := h.url
	if !strings.HasPrefix(raw, "http") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		im.note("%s: host %q is not a URL; not imported", file, h.url)
		return EndpointConfig{}, false
	}
	p := path.Clean("/" + u.Path)
	prefix := ""
	switch {
	case p == "/" || p == "/v2":
	case h.overridePath && strings.HasPrefix(p, "/v2/"):
		prefix = strings.TrimPrefix(p, "/v2/")
	default:
		im.note("%s: host %q: an API root other than /v2[/prefix] cannot be expressed in Berth; not imported", file, h.url)
		return EndpointConfig{}, false
	}
	ec := EndpointConfig{URL: u.Scheme + "://" + u.Host}
	if prefix != "" {
		ec.URL += "/" + prefix
	}
	var caps []string
	for _, c := range h.capabilities {
		switch strings.ToLower(c) {
		case "pull", "resolve":
			caps = append(caps, strings.ToLower(c))
		case "push":
		default:
			im.note("%s: host %q: unknown capability %q ignored", file, h.url, c)
		}
	}
	if len(h.capabilities) > 0 && len(caps) == 0 {
		im.note("%s: host %q serves only pushes; Berth only pulls, not imported", file, h.url)
		return EndpointConfig{}, false
	}
	if !(slices.Contains(caps, "pull") && slices.Contains(caps, "resolve")) {
		ec.Capabilities = caps
	}
	if h.skipVerify && u.Scheme == "https" {
		ec.Insecure = true
	}
	if len(h.ca) > 0 && u.Scheme == "https" && !ec.Insecure {
		ec.CA = h.ca[0]
		if len(h.ca) > 1 {
			im.note("%s: host %q: Berth takes one CA file per endpoint; kept %s, dropped %s", file, h.url, h.ca[0], strings.Join(h.ca[1:], ", "))
		}
	}
	if err := validEndpoint(reg, ec); err != nil {
		im.note("%s: %v; not imported", file, err)
		return EndpointConfig{}, false
	}
	return ec, true
}

// ExportContainerd writes a hosts.toml for each registry with mirrors or
// marked insecure, as <host>/hosts.toml.
func ExportContainerd(s Settings) (*Exported, error) {
	cfg, err := s.Config()
	if err != nil {
		return nil, err
	}
	ex := &Exported{}
	regs := cfg.Registries()
	for _, in := range s.InsecureRegistries {
		if strings.Contains(in, "/") {
			ex.note("insecure-registries: containerd has no address ranges: %s not written (list the hosts)", in)
			continue
		}
		host := NormalizeRegistry(strings.TrimPrefix(strings.TrimPrefix(in, "http://"), "https://"))
		if !slices.Contains(regs, host) {
			regs = append(regs, host)
		}
	}
	sort.Strings(regs)
	for _, reg := range regs {
		mirrors := mirrorsOf(cfg, reg)
		var b strings.Builder
		fmt.Fprintf(&b, "# Written by berth mirror export: the mirrors of %s, tried in order", reg)
		if cfg.Fallback(reg) {
			b.WriteString(", then the registry itself.\n")
		} else {
			b.WriteString("; the registry itself is never asked.\n")
		}
		hosts := mirrors
		if cfg.Fallback(reg) {
			if cfg.listedInsecure(reg) {
				// https unverified, then http: Docker's insecure.
				fmt.Fprintf(&b, "server = %s\nskip_verify = true\n", tomlQuote("http://"+reg))
			} else {
				fmt.Fprintf(&b, "server = %s\n", tomlQuote(originURL(reg)))
			}
		} else if len(mirrors) > 0 {
			last := mirrors[len(mirrors)-1]
			hosts = mirrors[:len(mirrors)-1]
			fmt.Fprintf(&b, "server = %s\n", tomlQuote(containerdURL(last)))
			writeContainerdSettings(&b, last, "")
		}
		for _, ep := range hosts {
			fmt.Fprintf(&b, "\n[host.%s]\n", tomlQuote(containerdURL(ep)))
			writeContainerdSettings(&b, ep, "  ")
		}
		for _, ep := range mirrors {
			if ep.CAFile != "" && ep.Insecure {
				ex.note("%s: insecure, so its CA is not written", ep.URL)
			}
		}
		if p := cfg.Probe(reg); p != "" {
			ex.note("%s: \"probe\" is Berth's own (berth mirror test); not written", reg)
		}
		ex.Files = append(ex.Files, File{Path: path.Join(reg, "hosts.toml"), Data: []byte(b.String())})
	}
	return ex, nil
}

// containerdURL is an endpoint as a hosts.toml host: a prefix-style
// mirror's path is its API root, so /v2 is written with override_path.
func containerdURL(ep Endpoint) string {
	if ep.Prefix != "" {
		return ep.Scheme + "://" + ep.Host + "/v2/" + ep.Prefix
	}
	return ep.Scheme + "://" + ep.Host
}

func writeContainerdSettings(b *strings.Builder, ep Endpoint, indent string) {
	var caps []string
	if ep.Can(Pull) {
		caps = append(caps, "pull")
	}
	if ep.Can(Resolve) {
		caps = append(caps, "resolve")
	}
	fmt.Fprintf(b, "%scapabilities = %s\n", indent, tomlList(caps))
	if ep.Prefix != "" {
		fmt.Fprintf(b, "%soverride_path = true\n", indent)
	}
	if ep.Insecure && ep.Scheme == "https" {
		fmt.Fprintf(b, "%sskip_verify = true\n", indent)
	} else if ep.CAFile != "" {
		fmt.Fprintf(b, "%sca = %s\n", indent, tomlQuote(ep.CAFile))
	}
}

// ImportContainers reads containers-registries.conf files, the main file
// first and then its drop-ins (registries.conf.d/*.conf), as Podman does:
// a later [[registry]] for the same prefix replaces an earlier one.
func ImportContainers(files []File) (*Imported, error) {
	im := &Imported{}
	type entry struct {
		reg   string
		file  string
		table *tomlTable
	}
	var order []string
	byReg := map[string]entry{}
	for _, f := range files {
		t, err := parseTOML(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		if _, v1 := t.vals["registries"]; v1 {
			if err := im.containersV1(t, f.Path); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
			continue
		}
		for _, k := range t.keys {
			switch k {
			case "registry":
			case "unqualified-search-registries":
				list, _ := t.strings(k)
				im.note("%s: unqualified-search-registries (%s) is not a mirror: it is where short names are searched; Berth, like Docker, resolves short names on docker.io; not imported", f.Path, strings.Join(list, ", "))
			case "aliases", "short-name-mode":
				im.note("%s: %s (short names) is not a mirror setting; not imported", f.Path, k)
			default:
				im.note("%s: %q is not a mirror setting; not imported", f.Path, k)
			}
		}
		v, ok := t.vals["registry"]
		if !ok {
			continue
		}
		list, ok := v.([]*tomlTable)
		if !ok {
			return nil, fmt.Errorf("%s: line %d: \"registry\" must be [[registry]] tables", f.Path, t.line["registry"])
		}
		for _, r := range list {
			prefix, _, err := r.str("prefix")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
			location, _, err := r.str("location")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
			key := prefix
			if key == "" {
				key = location
			}
			if key == "" {
				return nil, fmt.Errorf("%s: a [[registry]] has neither prefix nor location", f.Path)
			}
			if strings.ContainsAny(key, "/*") || checkRegistryKey(key) != nil {
				im.note("%s: [[registry]] %q: Berth's mirrors are per registry host, not per namespace or wildcard; not imported", f.Path, key)
				continue
			}
			reg := NormalizeRegistry(key)
			if _, seen := byReg[reg]; !seen {
				order = append(order, reg)
			}
			byReg[reg] = entry{reg: reg, file: f.Path, table: r}
		}
	}
	for _, reg := range order {
		e := byReg[reg]
		if err := im.containersRegistry(e.table, reg, e.file); err != nil {
			return nil, fmt.Errorf("%s: %w", e.file, err)
		}
	}
	return im, nil
}

func (im *Imported) containersV1(t *tomlTable, file string) error {
	regs, ok := t.vals["registries"].(*tomlTable)
	if !ok {
		return fmt.Errorf("\"registries\" must be a table")
	}
	for _, k := range regs.keys {
		sub, ok := regs.vals[k].(*tomlTable)
		if !ok {
			continue
		}
		list, err := sub.strings("registries")
		if err != nil {
			return err
		}
		switch k {
		case "insecure":
			for _, h := range list {
				if !slices.Contains(im.Settings.InsecureRegistries, h) {
					im.Settings.InsecureRegistries = append(im.Settings.InsecureRegistries, h)
				}
			}
		case "search":
			im.note("%s: [registries.search] (%s) is not a mirror: it is where short names are searched; not imported", file, strings.Join(list, ", "))
		case "block":
			im.note("%s: [registries.block] (%s): Berth cannot block registries; not imported", file, strings.Join(list, ", "))
		default:
			im.note("%s: [registries.%s] is not a mirror setting; not imported", file, k)
		}
	}
	return nil
}

func (im *Imported) containersRegistry(r *tomlTable, reg, file string) error {
	location, _, _ := r.str("location")
	insecure, _, err := r.boolean("insecure")
	if err != nil {
		return err
	}
	blocked, _, err := r.boolean("blocked")
	if err != nil {
		return err
	}
	digestOnly, _, err := r.boolean("mirror-by-digest-only")
	if err != nil {
		return err
	}
	if blocked {
		im.note("%s: [[registry]] %s is blocked: Berth cannot block a registry; not imported", file, reg)
		return nil
	}
	regPull, _, err := r.str("pull-from-mirror")
	if err != nil {
		return err
	}
	for _, k := range r.keys {
		switch k {
		case "prefix", "location", "insecure", "blocked", "mirror-by-digest-only", "mirror", "pull-from-mirror":
		default:
			im.note("%s: [[registry]] %s: %q is not supported by Berth; ignored", file, reg, k)
		}
	}
	var eps []EndpointConfig
	if v, ok := r.vals["mirror"]; ok {
		list, ok := v.([]*tomlTable)
		if !ok {
			return fmt.Errorf("line %d: \"mirror\" must be [[registry.mirror]] tables", r.line["mirror"])
		}
		for _, m := range list {
			loc, _, err := m.str("location")
			if err != nil {
				return err
			}
			minsecure, _, err := m.boolean("insecure")
			if err != nil {
				return err
			}
			pull, _, err := m.str("pull-from-mirror")
			if err != nil {
				return err
			}
			for _, k := range m.keys {
				if k != "location" && k != "insecure" && k != "pull-from-mirror" {
					im.note("%s: mirror %q of %s: %q is not supported by Berth; ignored", file, loc, reg, k)
				}
			}
			if pull == "" {
				pull = regPull
			}
			ec, ok := im.containersEndpoint(loc, minsecure, digestOnly, pull, reg, file)
			if ok {
				eps = append(eps, ec)
			}
		}
	}
	fallback := true
	switch {
	case location == "" || isOrigin(reg, location):
		if insecure && !slices.Contains(im.Settings.InsecureRegistries, reg) {
			im.Settings.InsecureRegistries = append(im.Settings.InsecureRegistries, reg)
		}
	default:
		// Pulls of reg go to location and never to reg itself.
		if ec, ok := im.containersEndpoint(location, insecure, false, "", reg, file); ok {
			eps = append(eps, ec)
			fallback = false
		} else {
			return nil
		}
	}
	if len(eps) == 0 && fallback {
		return nil
	}
	rm := im.Settings.ensure(reg)
	rm.Endpoints = append(rm.Endpoints, eps...)
	if !fallback {
		f := false
		rm.Fallback = &f
	}
	return nil
}

func (im *Imported) containersEndpoint(loc string, insecure, digestOnly bool, pull, reg, file string) (EndpointConfig, bool) {
	if strings.Contains(loc, "://") {
		im.note("%s: mirror %q of %s: a location has no scheme; read as %s", file, loc, reg, loc[strings.Index(loc, "://")+3:])
		loc = loc[strings.Index(loc, "://")+3:]
	}
	ec := EndpointConfig{URL: "https://" + strings.TrimSuffix(loc, "/"), Insecure: insecure}
	switch pull {
	case "", "all":
		if digestOnly {
			ec.Capabilities = []string{"pull"}
		}
	case "digest-only":
		ec.Capabilities = []string{"pull"}
	case "tag-only":
		im.note("%s: mirror %q of %s: pull-from-mirror = \"tag-only\" cannot be expressed in Berth; imported for every pull", file, loc, reg)
	default:
		im.note("%s: mirror %q of %s: unknown pull-from-mirror %q; imported for every pull", file, loc, reg, pull)
	}
	if err := validEndpoint(reg, ec); err != nil {
		im.note("%s: %v; not imported", file, err)
		return EndpointConfig{}, false
	}
	return ec, true
}

// ExportContainers writes containers-registries.conf (version 2) [[registry]]
// tables. The file is meant as a drop-in
// (/etc/containers/registries.conf.d/50-berth.conf), so the main file's
// short-name settings stay as they are.
func ExportContainers(s Settings) (*Exported, error) {
	cfg, err := s.Config()
	if err != nil {
		return nil, err
	}
	ex := &Exported{}
	var b strings.Builder
	b.WriteString("# Written by berth mirror export: registry mirrors, tried in order before the\n# registry itself (location).\n")
	regs := cfg.Registries()
	for _, in := range s.InsecureRegistries {
		if strings.Contains(in, "/") {
			ex.note("insecure-registries: registries.conf has no address ranges: %s not written (list the hosts)", in)
			continue
		}
		host := NormalizeRegistry(strings.TrimPrefix(strings.TrimPrefix(in, "http://"), "https://"))
		if !slices.Contains(regs, host) {
			regs = append(regs, host)
		}
	}
	sort.Strings(regs)
	for _, reg := range regs {
		mirrors := mirrorsOf(cfg, reg)
		fmt.Fprintf(&b, "\n[[registry]]\nprefix = %s\n", tomlQuote(reg))
		if cfg.Fallback(reg) || len(mirrors) == 0 {
			fmt.Fprintf(&b, "location = %s\n", tomlQuote(reg))
			if cfg.listedInsecure(reg) {
				b.WriteString("insecure = true\n")
			}
		} else {
			last := mirrors[len(mirrors)-1]
			mirrors = mirrors[:len(mirrors)-1]
			fmt.Fprintf(&b, "location = %s\n", tomlQuote(containersLocation(last)))
			if last.Insecure {
				b.WriteString("insecure = true\n")
			}
			ex.containersNotes(last)
			if !last.Can(Resolve) {
				ex.note("%s: the last mirror of %s without fallback stands for the registry, which is asked for tags too: its \"capabilities\" cannot be written", last.URL, reg)
			}
		}
		for _, ep := range mirrors {
			fmt.Fprintf(&b, "\n[[registry.mirror]]\nlocation = %s\n", tomlQuote(containersLocation(ep)))
			if ep.Insecure {
				b.WriteString("insecure = true\n")
			}
			switch {
			case !ep.Can(Resolve):
				b.WriteString("pull-from-mirror = \"digest-only\"\n")
			case !ep.Can(Pull):
				ex.note("%s: a resolve-only mirror cannot be expressed in registries.conf; written for every pull", ep.URL)
			}
			ex.containersNotes(ep)
		}
		if p := cfg.Probe(reg); p != "" {
			ex.note("%s: \"probe\" is Berth's own (berth mirror test); not written", reg)
		}
	}
	ex.Files = []File{{Path: "registries.conf", Data: []byte(b.String())}}
	return ex, nil
}

func containersLocation(ep Endpoint) string {
	if ep.Prefix != "" {
		return ep.Host + "/" + ep.Prefix
	}
	return ep.Host
}

func (ex *Exported) containersNotes(ep Endpoint) {
	if ep.Scheme == "http" {
		ex.note("%s: registries.conf has no scheme; written as insecure (https unverified, then http)", ep.URL)
	}
	if ep.CAFile != "" {
		ex.note("%s: containers read a mirror's CA from a directory: copy %s to /etc/containers/certs.d/%s/ca.crt", ep.URL, ep.CAFile, ep.Host)
	}
}
