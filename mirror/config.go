package mirror

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// RegistryConfig is one entry of daemon.json's "mirrors" map, keyed by the
// registry's host[:port].
type RegistryConfig struct {
	Endpoints []EndpointConfig `json:"endpoints,omitempty"`
	// Fallback, when false, forbids asking the registry itself once every
	// mirror has failed. It defaults to true.
	Fallback *bool `json:"fallback,omitempty"`
	// Probe is a repository and tag ("owner/repo:tag") that `berth mirror
	// test` fetches to time the endpoints.
	Probe string `json:"probe,omitempty"`
}

// EndpointConfig is one mirror of a registry as daemon.json writes it.
type EndpointConfig struct {
	URL          string   `json:"url"`
	Insecure     bool     `json:"insecure,omitempty"`
	CA           string   `json:"ca,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// Config is the validated mirror configuration. Its methods are safe for
// concurrent use.
type Config struct {
	registries    map[string]*registryEntry
	insecureHosts map[string]bool
	insecureNets  []netip.Prefix
	warnings      []string

	stall Stall

	mu       sync.Mutex
	defaultT *http.Transport // the clone of http.DefaultTransport for nil bases
}

// Option configures NewConfig.
type Option func(*Config) error

// WithStall sets the speed floor below which a pull abandons an endpoint
// (DefaultStall when not given; a zero BytesPerSecond turns it off).
func WithStall(s Stall) Option {
	return func(c *Config) error {
		if err := s.validate(); err != nil {
			return err
		}
		c.stall = s
		return nil
	}
}

type registryEntry struct {
	mirrors  []Endpoint
	fallback bool
	probe    string
}

// DockerHub is the normalised name of Docker Hub.
const DockerHub = "docker.io"

// NormalizeRegistry returns the name Berth uses for a registry host: lower
// case, with Docker Hub's aliases folded into "docker.io".
func NormalizeRegistry(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return DockerHub
	}
	return host
}

// NewConfig validates daemon.json's mirror settings. registryMirrors are
// Docker's "registry-mirrors" (mirrors of docker.io); they come before the
// endpoints of mirrors["docker.io"], so a daemon.json written for Docker keeps
// its order and Berth's map only adds to it. insecureRegistries are host[:port]
// names or CIDRs; as in Docker, a leading http:// or https:// is dropped with a
// warning (see Warnings).
func NewConfig(registryMirrors, insecureRegistries []string, mirrors map[string]RegistryConfig, opts ...Option) (*Config, error) {
	c := &Config{
		registries:    map[string]*registryEntry{},
		insecureHosts: map[string]bool{},
		stall:         DefaultStall,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	for _, raw := range insecureRegistries {
		if err := c.addInsecure(raw); err != nil {
			return nil, fmt.Errorf("insecure-registries: %w", err)
		}
	}

	seen := map[string]map[string]string{} // registry → endpoint key → where it was listed
	add := func(reg string, ec EndpointConfig, where string) error {
		ep, key, err := c.parseEndpoint(reg, ec)
		if err != nil {
			return err
		}
		if seen[reg] == nil {
			seen[reg] = map[string]string{}
		}
		if prev, ok := seen[reg][key]; ok {
			return fmt.Errorf("mirror %q duplicates %s; list it once", ec.URL, prev)
		}
		seen[reg][key] = fmt.Sprintf("%q in %s", ec.URL, where)
		e := c.entry(reg)
		e.mirrors = append(e.mirrors, ep)
		return nil
	}

	for _, raw := range registryMirrors {
		if err := add(DockerHub, EndpointConfig{URL: raw}, "registry-mirrors"); err != nil {
			return nil, fmt.Errorf("registry-mirrors: %w", err)
		}
	}

	keys := make([]string, 0, len(mirrors))
	for k := range mirrors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names := map[string]string{} // normalised → key as written
	for _, key := range keys {
		rc := mirrors[key]
		if err := checkRegistryKey(key); err != nil {
			return nil, fmt.Errorf("mirrors: %w", err)
		}
		reg := NormalizeRegistry(key)
		if prev, ok := names[reg]; ok {
			return nil, fmt.Errorf("mirrors: %q and %q are the same registry; merge their endpoints under %q", prev, key, reg)
		}
		names[reg] = key
		for _, ec := range rc.Endpoints {
			if err := add(reg, ec, fmt.Sprintf("mirrors[%q]", key)); err != nil {
				return nil, fmt.Errorf("mirrors[%q]: %w", key, err)
			}
		}
		if err := checkProbe(rc.Probe); err != nil {
			return nil, fmt.Errorf("mirrors[%q]: %w", key, err)
		}
		e := c.entry(reg)
		e.probe = rc.Probe
		if rc.Fallback != nil {
			e.fallback = *rc.Fallback
		}
		if !e.fallback && len(e.mirrors) == 0 {
			return nil, fmt.Errorf("mirrors[%q]: fallback is false and there are no endpoints, so nothing could serve %s; add an endpoint or drop \"fallback\"", key, reg)
		}
	}
	return c, nil
}

func (c *Config) entry(reg string) *registryEntry {
	e := c.registries[reg]
	if e == nil {
		e = &registryEntry{fallback: true}
		c.registries[reg] = e
	}
	return e
}

// Warnings are what NewConfig accepted for Docker compatibility but would
// rather see written differently.
func (c *Config) Warnings() []string { return slices.Clone(c.warnings) }

// Registries lists the registries that have mirror settings, sorted.
func (c *Config) Registries() []string {
	out := make([]string, 0, len(c.registries))
	for r := range c.registries {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Probe is the configured probe image ("owner/repo:tag") of a registry, or "".
func (c *Config) Probe(registry string) string {
	if e := c.registries[NormalizeRegistry(registry)]; e != nil {
		return e.probe
	}
	return ""
}

// Fallback reports whether the registry itself may be asked after its mirrors.
func (c *Config) Fallback(registry string) bool {
	if e := c.registries[NormalizeRegistry(registry)]; e != nil {
		return e.fallback
	}
	return true
}

// Endpoints lists where to pull the registry's content from, in order: its
// mirrors, then the registry itself unless fallback is disabled.
func (c *Config) Endpoints(registry string) []Endpoint {
	reg := NormalizeRegistry(registry)
	var out []Endpoint
	if e := c.registries[reg]; e != nil {
		out = slices.Clone(e.mirrors)
	}
	if c.Fallback(reg) {
		out = append(out, c.origin(reg))
	}
	return out
}

// Stall is the speed floor pulls apply to every endpoint.
func (c *Config) Stall() Stall { return c.stall }

// Origin is the registry itself as an endpoint: what pulls fall back to and
// what `berth mirror test` compares tags with.
func (c *Config) Origin(registry string) Endpoint { return c.origin(NormalizeRegistry(registry)) }

// ParseEndpoint validates one mirror of registry as NewConfig does, for an
// endpoint that is not (yet) in the configuration: one given to `berth
// mirror test` or `add`.
func (c *Config) ParseEndpoint(registry string, ec EndpointConfig) (Endpoint, error) {
	if err := checkRegistryKey(registry); err != nil {
		return Endpoint{}, err
	}
	ep, _, err := c.parseEndpoint(NormalizeRegistry(registry), ec)
	return ep, err
}

// SameEndpoint reports whether two mirror URLs name the same endpoint: the
// same scheme, host, port and prefix, whatever the case, default port or
// trailing slash.
func SameEndpoint(a, b string) bool {
	ka, oka := endpointKey(a)
	kb, okb := endpointKey(b)
	if !oka || !okb {
		return a == b
	}
	return ka == kb
}

func endpointKey(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme + "://" + canonicalHost(u.Host, scheme) + "/" + strings.Trim(u.Path, "/"), true
}

// origin is the registry itself as an endpoint.
func (c *Config) origin(reg string) Endpoint {
	host := reg
	if reg == DockerHub {
		// What go-containerregistry (and Docker) talk to for docker.io.
		host = "index.docker.io"
	}
	return Endpoint{
		Registry:     reg,
		Scheme:       "https",
		Host:         host,
		Insecure:     c.Insecure(reg) || c.Insecure(host),
		URL:          "https://" + host,
		Capabilities: Pull | Resolve,
	}
}

// Insecure reports whether host (host[:port]) may be reached over plain http
// or unverified TLS: it is listed in insecure-registries, or it is a literal
// IP inside one of the listed CIDRs, or it is loopback ("localhost",
// 127.0.0.0/8, ::1), which Docker always treats as insecure. Names are not
// resolved: a CIDR only matches hosts written as IPs.
func (c *Config) Insecure(host string) bool {
	if c.listedInsecure(host) {
		return true
	}
	name := hostname(host)
	if name == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.Unmap().IsLoopback()
}

// listedInsecure is Insecure without the implicit loopback rule.
func (c *Config) listedInsecure(host string) bool {
	host = strings.ToLower(host)
	if c.insecureHosts[host] {
		return true
	}
	ip, err := netip.ParseAddr(hostname(host))
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range c.insecureNets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (c *Config) addInsecure(raw string) error {
	entry := raw
	for _, scheme := range []string{"http://", "https://"} {
		if len(entry) > len(scheme) && strings.EqualFold(entry[:len(scheme)], scheme) {
			entry = entry[len(scheme):]
			c.warnings = append(c.warnings, fmt.Sprintf("insecure-registries: %q should not have a scheme; read as %q", raw, entry))
			break
		}
	}
	if strings.Contains(entry, "/") {
		if p, ok := strings.CutSuffix(entry, "/"); ok && !strings.Contains(p, "/") {
			return fmt.Errorf("%q ends in a slash; write %q", raw, p)
		}
		pfx, err := parseCIDR(entry)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR: %v; write e.g. 10.0.0.0/8", raw, err)
		}
		c.insecureNets = append(c.insecureNets, pfx)
		return nil
	}
	if err := checkHostPort(entry); err != nil {
		return fmt.Errorf("%q is not a host[:port] or CIDR: %v", raw, err)
	}
	c.insecureHosts[strings.ToLower(entry)] = true
	return nil
}

// parseCIDR is netip.ParsePrefix with errors a user can act on.
func parseCIDR(s string) (netip.Prefix, error) {
	addr, bits, _ := strings.Cut(s, "/")
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", addr)
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 0 || n > ip.BitLen() {
		return netip.Prefix{}, fmt.Errorf("prefix length %q must be 0-%d", bits, ip.BitLen())
	}
	return netip.PrefixFrom(ip, n).Masked(), nil
}

var (
	// A repository path component, as the distribution spec defines it.
	componentRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`) })
	labelRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`) })
	tagRE       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`) })
	digestRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`) })
)

// checkHostPort accepts host[:port] with a DNS name, an IPv4 address or a
// bracketed IPv6 address.
func checkHostPort(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	u, err := url.Parse("//" + s)
	if err != nil || u.Host != s || u.User != nil {
		return fmt.Errorf("not a host[:port]")
	}
	if port := u.Port(); port != "" || strings.HasSuffix(s, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not 1-65535", port)
		}
	}
	name := u.Hostname()
	if strings.HasPrefix(s, "[") {
		if ip, err := netip.ParseAddr(name); err != nil || !ip.Is6() {
			return fmt.Errorf("%q is not an IPv6 address", name)
		}
		return nil
	}
	if net.ParseIP(name) != nil {
		return nil
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
		if !labelRE().MatchString(label) {
			return fmt.Errorf("%q is not a host name", name)
		}
	}
	return nil
}

// checkRegistryKey rejects mirrors map keys that are not host[:port], with
// the key the user probably meant.
func checkRegistryKey(key string) error {
	if err := checkHostPort(key); err == nil {
		return nil
	}
	want := key
	if _, rest, ok := strings.Cut(want, "://"); ok {
		want = rest
	}
	want, _, _ = strings.Cut(want, "/")
	if want != key && checkHostPort(want) == nil {
		return fmt.Errorf("registry %q is not a host[:port]; write %q (a path prefix belongs in the endpoint URL)", key, want)
	}
	return fmt.Errorf("registry %q is not a host[:port] such as \"ghcr.io\" or \"registry.lan:5000\"", key)
}

// checkProbe accepts "repo[:tag|@digest]" without a registry host.
func checkProbe(p string) error {
	if p == "" {
		return nil
	}
	repo, ref := p, ""
	if i := strings.Index(repo, "@"); i >= 0 {
		repo, ref = repo[:i], repo[i+1:]
		if !digestRE().MatchString(ref) {
			return fmt.Errorf("probe %q: %q is not a digest", p, ref)
		}
	} else if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo, ref = repo[:i], repo[i+1:]
		if !tagRE().MatchString(ref) {
			return fmt.Errorf("probe %q: %q is not a tag", p, ref)
		}
	}
	parts := strings.Split(repo, "/")
	if first := parts[0]; len(parts) > 1 && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return fmt.Errorf("probe %q names a registry; write the repository only, e.g. %q", p, strings.Join(parts[1:], "/")+strings.TrimPrefix(p, repo))
	}
	for _, part := range parts {
		if !componentRE().MatchString(part) {
			return fmt.Errorf("probe %q: %q is not a repository name component (lower-case letters, digits, '.', '_', '-')", p, part)
		}
	}
	return nil
}

// parseEndpoint validates one mirror of reg. key identifies the endpoint for
// duplicate detection: the same scheme, host, port and prefix.
func (c *Config) parseEndpoint(reg string, ec EndpointConfig) (Endpoint, string, error) {
	raw := ec.URL
	bad := func(format string, a ...any) (Endpoint, string, error) {
		return Endpoint{}, "", fmt.Errorf("mirror %q: "+format, append([]any{raw}, a...)...)
	}
	if raw == "" {
		return bad("empty URL; write https://host[:port]")
	}
	if strings.TrimSpace(raw) != raw {
		return bad("remove the surrounding spaces")
	}
	if !strings.Contains(raw, "://") {
		lower := strings.ToLower(raw)
		for _, s := range []string{"https:", "http:"} {
			if rest, ok := strings.CutPrefix(lower, s); ok {
				return bad("malformed; write %s//%s", s, strings.TrimLeft(raw[len(raw)-len(rest):], "/"))
			}
		}
		return bad("no scheme; write https://%s", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return bad("not a URL: %v", err)
	}
	if u.User != nil {
		raw = u.Redacted() // never echo a password
		return bad("credentials do not belong in the URL; remove them and use berth login %s", u.Host)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return bad("scheme %q is not supported; use https:// (or http:// for a plain-http mirror)", u.Scheme)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return bad("a query (?%s) is not allowed; remove it", u.RawQuery)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("a fragment (#%s) is not allowed; remove it", u.Fragment)
	}
	if u.Host == "" {
		return bad("no host; write %s://host[:port]", scheme)
	}
	if err := checkHostPort(u.Host); err != nil {
		return bad("host %v", err)
	}
	host := strings.ToLower(u.Host)

	if u.RawPath != "" {
		return bad("the path has escaped characters; a prefix is plain repository name components")
	}
	trimmed := strings.Trim(u.Path, "/")
	var segs []string
	if trimmed != "" {
		segs = strings.Split(trimmed, "/")
	}
	if slices.Contains(segs, "v2") {
		keep := slices.DeleteFunc(slices.Clone(segs), func(s string) bool { return s == "v2" })
		want := scheme + "://" + u.Host
		if len(keep) > 0 {
			want += "/" + strings.Join(keep, "/")
		}
		return bad("remove \"/v2\"; Berth adds it (write %s)", want)
	}
	for _, s := range segs {
		if !componentRE().MatchString(s) {
			return bad("path segment %q is not a repository name component (lower-case letters, digits, '.', '_', '-'); the path is a repository prefix", s)
		}
	}
	prefix := strings.Join(segs, "/")

	if ec.CA != "" {
		switch {
		case !filepath.IsAbs(ec.CA):
			return bad("ca %q is not an absolute path; write the full path, e.g. /etc/berth/certs/ca.pem", ec.CA)
		case scheme == "http":
			return bad("ca %q is for https endpoints; drop it or use https://", ec.CA)
		case ec.Insecure:
			return bad("ca %q and \"insecure\": true contradict each other (insecure skips verification); keep one", ec.CA)
		}
	}

	caps := Capability(0)
	for _, name := range ec.Capabilities {
		cp, ok := capabilityNames[name]
		if !ok {
			return bad("unknown capability %q; use \"pull\" and/or \"resolve\"", name)
		}
		caps |= cp
	}
	if len(ec.Capabilities) == 0 {
		caps = Pull | Resolve
	}

	ep := Endpoint{
		Registry:     reg,
		Scheme:       scheme,
		Host:         host,
		Prefix:       prefix,
		Insecure:     ec.Insecure || scheme == "http" || c.listedInsecure(host),
		CAFile:       ec.CA,
		Mirror:       true,
		URL:          raw,
		Capabilities: caps,
	}
	return ep, scheme + "://" + canonicalHost(host, scheme) + "/" + prefix, nil
}

// hostname is host[:port] without the port and IPv6 brackets, lower-case.
func hostname(hostport string) string {
	hostport = strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// canonicalHost lower-cases host[:port] and drops the scheme's default port,
// so "m.example:443" and "m.example" compare equal over https.
func canonicalHost(hostport, scheme string) string {
	hostport = strings.ToLower(hostport)
	h, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return hostport
}
