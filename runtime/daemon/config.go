package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/mirror"
)

// Defaults of the settings daemon.json and the flags may change.
const (
	DefaultConfigFile = "/etc/berth/daemon.json"
	DefaultDataRoot   = "/var/lib/berth"
	DefaultHost       = "unix:///run/berth/berth.sock"
	DefaultGroup      = "berth"
	// DefaultMaxConcurrentDownloads is dockerd's.
	DefaultMaxConcurrentDownloads = 3
)

// Config is the daemon's configuration: daemon.json read strictly, then the
// command-line flags applied (ApplyFlags). The JSON names are Docker's,
// plus Berth's "mirrors" map.
type Config struct {
	DataRoot           string   `json:"data-root"`
	Debug              bool     `json:"debug"`
	Hosts              []string `json:"hosts"`
	Group              string   `json:"group"`
	RegistryMirrors    []string `json:"registry-mirrors"`
	InsecureRegistries []string `json:"insecure-registries"`
	Proxies            Proxies  `json:"proxies"`
	LogLevel           string   `json:"log-level"`
	// BIP is the bridge's address and prefix ("10.213.0.1/16"); empty
	// means Berth's default.
	BIP string `json:"bip"`
	// IPForward turns net.ipv4.ip_forward on at start, as dockerd does.
	IPForward bool `json:"ip-forward"`
	// Init runs Berth's init as PID 1 of each container.
	Init                   bool                             `json:"init"`
	MaxConcurrentDownloads int                              `json:"max-concurrent-downloads"`
	Mirrors                map[string]mirror.RegistryConfig `json:"mirrors"`
	// MirrorStall is the speed floor below which a pull leaves an endpoint
	// for the next.
	MirrorStall MirrorStall `json:"mirror-stall"`

	// File is the daemon.json read ("" when none was).
	File string `json:"-"`
	// Mirror is the validated mirror configuration of RegistryMirrors,
	// InsecureRegistries and Mirrors.
	Mirror *mirror.Config `json:"-"`
	// Warnings are what was accepted but not applied: Docker settings Berth
	// does not implement, and the mirror package's remarks.
	Warnings []string `json:"-"`

	// set holds the keys the file gave, for ApplyFlags' conflicts.
	set map[string]bool
}

// Proxies are the daemon's proxies for registry traffic; they override the
// environment's HTTP_PROXY, HTTPS_PROXY and NO_PROXY, as with dockerd.
type Proxies struct {
	HTTPProxy  string `json:"http-proxy,omitempty"`
	HTTPSProxy string `json:"https-proxy,omitempty"`
	NoProxy    string `json:"no-proxy,omitempty"`
}

// MirrorStall is daemon.json's "mirror-stall": a pull abandons an endpoint
// that delivers less than bytes-per-second over window (default 65536 over
// "10s"; 0 turns it off).
type MirrorStall struct {
	BytesPerSecond *int64 `json:"bytes-per-second,omitempty"`
	Window         string `json:"window,omitempty"`
}

// stall is the floor the setting means.
func (m MirrorStall) stall() (mirror.Stall, error) {
	s := mirror.DefaultStall
	if m.BytesPerSecond != nil {
		if *m.BytesPerSecond < 0 {
			return s, fmt.Errorf("bytes-per-second %d: must be 0 (off) or more", *m.BytesPerSecond)
		}
		s.BytesPerSecond = *m.BytesPerSecond
	}
	if m.Window != "" {
		d, err := time.ParseDuration(m.Window)
		if err != nil || d < time.Second || d > 10*time.Minute {
			return s, fmt.Errorf("window %q: write a duration from \"1s\" to \"10m\", such as \"10s\"", m.Window)
		}
		s.Window = d
	}
	return s, nil
}

// DefaultConfig is the configuration without daemon.json or flags.
func DefaultConfig() *Config {
	c := &Config{
		DataRoot: DefaultDataRoot, Hosts: []string{DefaultHost}, Group: DefaultGroup,
		LogLevel: "info", IPForward: true, Init: true, MaxConcurrentDownloads: DefaultMaxConcurrentDownloads,
		set: map[string]bool{},
	}
	c.Mirror, _ = mirror.NewConfig(nil, nil, nil)
	return c
}

// dockerOnlyKeys are daemon.json keys of dockerd that Berth does not
// implement. A file written for Docker keeps working: each is accepted
// with a warning.
var dockerOnlyKeys = []string{
	"allow-direct-routing", "allow-nondistributable-artifacts", "api-cors-header", "authorization-plugins",
	"bip6", "bridge", "bridge-accept-fwmark", "builder", "cdi-spec-dirs", "cgroup-parent", "cluster-advertise",
	"cluster-store", "cluster-store-opts", "containerd", "containerd-namespace", "containerd-plugins-namespace",
	"cpu-rt-period", "cpu-rt-runtime", "default-address-pools", "default-cgroupns-mode", "default-gateway",
	"default-gateway-v6", "default-ipc-mode", "default-network-opts", "default-runtime", "default-shm-size",
	"default-ulimits", "dns", "dns-opts", "dns-search", "exec-opts", "exec-root", "experimental", "features",
	"firewall-backend", "fixed-cidr", "fixed-cidr-v6", "host-gateway-ip", "host-gateway-ips", "icc", "init-path",
	"ip", "ip-forward-no-drop", "ip-masq", "ip6tables", "iptables", "ipv6", "labels", "live-restore",
	"log-driver", "log-format", "log-opts", "max-concurrent-uploads", "max-download-attempts", "metrics-addr",
	"min-api-version", "mtu", "no-new-privileges", "node-generic-resources", "oom-score-adjust", "pidfile",
	"raw-logs", "runtimes", "seccomp-profile", "selinux-enabled", "shutdown-timeout", "storage-driver",
	"storage-opts", "swarm-default-advertise-addr", "tls", "tlscacert", "tlscert", "tlskey", "tlsverify",
	"userland-proxy", "userland-proxy-path", "userns-remap",
}

// configKeys are the top-level keys Config reads, from its JSON tags.
var configKeys = jsonKeys(reflect.TypeFor[Config]())

// LoadConfig reads daemon.json at path. A missing file is the default
// configuration; an unreadable or invalid one is an error naming the file
// (and the line and column, for a mistake in it).
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultConfig(), nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses daemon.json's content; name is the file's name in
// messages. Unknown keys, duplicate keys, wrong types and invalid values
// are errors; Docker keys Berth does not implement are warnings.
func ParseConfig(name string, data []byte) (*Config, error) {
	c := DefaultConfig()
	c.File = name
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		// dockerd takes an empty file as no settings.
		return c, nil
	}
	doc, err := scan(data)
	if err != nil {
		return nil, fmt.Errorf("%s%w", name, err)
	}
	fail := func(err error) error {
		var pe *posError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s%s: %w", name, doc.lineCol(pe.off), pe.err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	atKey := func(key string, err error) error {
		return fail(&posError{off: doc.keyOff[key], err: err})
	}

	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fail(err)
	}
	fields := fieldsByKey(reflect.ValueOf(c).Elem())
	for _, key := range doc.topKeys {
		f, ok := fields[key]
		switch {
		case ok:
			if err := decodeStrict(doc, top[key], f.Addr().Interface(), key); err != nil {
				return nil, fail(err)
			}
			c.set[key] = true
		case slices.Contains(dockerOnlyKeys, key) || strings.HasPrefix(key, "tls"):
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s%s: %q is a Docker setting Berth does not implement; ignored", name, doc.at(key), key))
		default:
			return nil, atKey(key, unknownKey(key, append(slices.Clone(configKeys), dockerOnlyKeys...)))
		}
	}
	for _, key := range doc.topKeys {
		if !c.set[key] {
			continue
		}
		if err := c.validate(key); err != nil {
			return nil, atKey(key, fmt.Errorf("%q: %w", key, err))
		}
	}
	if err := c.buildMirrors(); err != nil {
		// The mirror package names the key; point at it when we can.
		key, _, _ := strings.Cut(err.Error(), ":")
		key, _, _ = strings.Cut(key, "[")
		if c.set[key] {
			return nil, atKey(key, err)
		}
		return nil, fail(err)
	}
	return c, nil
}

func (c *Config) buildMirrors() error {
	stall, err := c.MirrorStall.stall()
	if err != nil {
		return err
	}
	m, err := mirror.NewConfig(c.RegistryMirrors, c.InsecureRegistries, c.Mirrors, mirror.WithStall(stall))
	if err != nil {
		return err
	}
	c.Mirror = m
	for _, w := range m.Warnings() {
		c.Warnings = append(c.Warnings, c.File+": "+w)
	}
	return nil
}

// validate checks the value of one setting.
func (c *Config) validate(key string) error {
	switch key {
	case "data-root":
		if !filepath.IsAbs(c.DataRoot) {
			return fmt.Errorf("%q is not an absolute path", c.DataRoot)
		}
	case "hosts":
		if len(c.Hosts) == 0 {
			return errors.New("give at least one socket (unix:///run/berth/berth.sock)")
		}
		for _, h := range c.Hosts {
			if _, err := ParseHost(h); err != nil {
				return err
			}
		}
	case "group":
		if c.Group == "" || strings.ContainsAny(c.Group, ":/ \n") {
			return fmt.Errorf("%q is not a group name", c.Group)
		}
	case "log-level":
		if !slices.Contains([]string{"debug", "info", "warn", "error", "fatal"}, c.LogLevel) {
			return fmt.Errorf("%q is not one of debug, info, warn, error, fatal", c.LogLevel)
		}
	case "bip":
		if c.BIP == "" {
			return nil
		}
		p, err := netip.ParsePrefix(c.BIP)
		if err != nil || !p.Addr().Is4() {
			return fmt.Errorf("%q is not an IPv4 address with a prefix length (10.213.0.1/16)", c.BIP)
		}
		if p.Addr() == p.Masked().Addr() {
			return fmt.Errorf("%q is a network, not the bridge's address in it (write 10.213.0.1/16, not 10.213.0.0/16)", c.BIP)
		}
	case "mirror-stall":
		if _, err := c.MirrorStall.stall(); err != nil {
			return err
		}
	case "max-concurrent-downloads":
		if c.MaxConcurrentDownloads < 1 {
			return fmt.Errorf("%d: must be at least 1", c.MaxConcurrentDownloads)
		}
	case "proxies":
		for k, v := range map[string]string{"http-proxy": c.Proxies.HTTPProxy, "https-proxy": c.Proxies.HTTPSProxy} {
			if v == "" {
				continue
			}
			u, err := url.Parse(v)
			if err != nil || u.Host == "" || !slices.Contains([]string{"http", "https", "socks5", "socks5h"}, u.Scheme) {
				return fmt.Errorf("%s %q is not a proxy URL (http://proxy.example:3128)", k, v)
			}
		}
	}
	return nil
}

// ParseHost returns the socket path of a host setting: unix:///path or an
// absolute path; "fd://" stands for the sockets systemd passes and returns
// "".
func ParseHost(h string) (string, error) {
	switch {
	case h == "fd://":
		return "", nil
	case strings.HasPrefix(h, "unix://"):
		p := strings.TrimPrefix(h, "unix://")
		if !filepath.IsAbs(p) {
			return "", fmt.Errorf("host %q: the socket path must be absolute (unix:///path)", h)
		}
		return filepath.Clean(p), nil
	case filepath.IsAbs(h):
		return filepath.Clean(h), nil
	case strings.Contains(h, "://"):
		scheme, _, _ := strings.Cut(h, "://")
		return "", fmt.Errorf("host %q: %s is not supported; Berth's engine listens on a unix socket (unix:///path)", h, scheme)
	}
	return "", fmt.Errorf("host %q: expected unix:///path", h)
}

// Flags are the daemon's command-line settings that daemon.json also has;
// nil (or an empty Hosts) means the flag was not given.
type Flags struct {
	DataRoot *string
	Debug    *bool
	Hosts    []string
	Group    *string
	// BIP is --bip, the bridge's address and prefix.
	BIP *string
}

// ApplyFlags overrides the file with the flags given. As with dockerd, a
// setting given both ways with different values is an error.
func (c *Config) ApplyFlags(f Flags) error {
	var conflicts []string
	conflict := func(key string, flag, file any) {
		conflicts = append(conflicts, fmt.Sprintf("%s: (from flag: %v, from file: %v)", key, flag, file))
	}
	if f.DataRoot != nil {
		if c.set["data-root"] && *f.DataRoot != c.DataRoot {
			conflict("data-root", *f.DataRoot, c.DataRoot)
		}
		c.DataRoot = *f.DataRoot
	}
	if f.Debug != nil {
		if c.set["debug"] && *f.Debug != c.Debug {
			conflict("debug", *f.Debug, c.Debug)
		}
		c.Debug = *f.Debug
	}
	if len(f.Hosts) > 0 {
		if c.set["hosts"] && !slices.Equal(f.Hosts, c.Hosts) {
			conflict("hosts", f.Hosts, c.Hosts)
		}
		c.Hosts = slices.Clone(f.Hosts)
	}
	if f.Group != nil {
		if c.set["group"] && *f.Group != c.Group {
			conflict("group", *f.Group, c.Group)
		}
		c.Group = *f.Group
	}
	if f.BIP != nil {
		if c.set["bip"] && *f.BIP != c.BIP {
			conflict("bip", *f.BIP, c.BIP)
		}
		c.BIP = *f.BIP
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("the following directives are specified both as a flag and in the configuration file (%s): %s", c.File, strings.Join(conflicts, ", "))
	}
	for flag, key := range map[string]string{"--data-root": "data-root", "-H/--host": "hosts", "--group": "group", "--bip": "bip"} {
		if err := c.validate(key); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	return nil
}

// Sockets are the unix socket paths to listen on, and whether the hosts
// ask for systemd's sockets (fd://).
func (c *Config) Sockets() (paths []string, systemd bool) {
	for _, h := range c.Hosts {
		p, err := ParseHost(h)
		switch {
		case err != nil:
		case p == "":
			systemd = true
		case !slices.Contains(paths, p):
			paths = append(paths, p)
		}
	}
	return paths, systemd
}

// unknownKey is the error for a key Berth does not know, suggesting the
// known one it is likely a misspelling of.
func unknownKey(key string, known []string) error {
	best, bestD := "", 3
	sort.Strings(known)
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Errorf("%q: unknown key; did you mean %q?", key, best)
	}
	return fmt.Errorf("%q: unknown key", key)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
