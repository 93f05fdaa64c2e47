package container

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/runtime/container/cgroup"
)

// CreateSpec is what docker create/run's flags ask for. Config and
// HostConfig are embedded so that callers set the fields flat
// (spec.Cmd, spec.Binds) and a Container shows them as Docker's inspect
// groups them.
type CreateSpec struct {
	// Name follows Docker's rules ([a-zA-Z0-9][a-zA-Z0-9_.-]+, an optional
	// leading "/"); empty gets a generated adjective_surname name.
	Name string
	Config
	HostConfig
}

// Config is the part of a container's configuration that travels with an
// image (Docker's Config). Unset fields take the image's values at Create.
type Config struct {
	// Image is the reference or ID as the user gave it.
	Image string
	// Cmd and Entrypoint follow Docker: a nil Entrypoint means the image's;
	// a non-nil empty one (--entrypoint "") means none, and then the
	// image's Cmd is still used when Cmd is empty; a non-empty Entrypoint
	// drops the image's Cmd.
	Cmd        []string
	Entrypoint []string
	// Env is KEY=VALUE (a bare KEY is dropped, as the client resolves it);
	// after Create it holds the image's environment with these on top.
	Env        []string
	User       string
	WorkingDir string
	// Hostname defaults to the first 12 characters of the ID (the host's
	// name with the host network).
	Hostname   string
	Domainname string
	// Labels: the image's, then these on top.
	Labels map[string]string
	// Tty gives the process a terminal (a pty inside the container);
	// OpenStdin keeps its standard input open for attached clients, and
	// StdinOnce closes it when the first client's input ends.
	Tty         bool
	OpenStdin   bool
	StdinOnce   bool
	AttachStdin bool `json:",omitempty"`
	// ConsoleSize is the terminal's height and width at start.
	ConsoleSize [2]uint
	// StopSignal is a name (SIGTERM, TERM) or number; default the image's,
	// then SIGTERM.
	StopSignal string
	// StopTimeout is in seconds; nil means 10 (-1 waits forever).
	StopTimeout *int
	// Volumes are the image's VOLUMEs (filled in by Create).
	Volumes map[string]struct{} `json:",omitempty"`
	// ExposedPorts ("80/tcp"): the image's, --expose and the published
	// ones (filled in by Create).
	ExposedPorts map[string]struct{} `json:",omitempty"`
}

// HostConfig is the host-specific part (Docker's HostConfig).
type HostConfig struct {
	// NetworkOptions: published ports, DNS, extra hosts, --ip (network.go).
	NetworkOptions
	// Binds are "/host/path:/ctr/path[:ro|rw]" and "volume:/ctr/path[:ro]"
	// (a named volume, created when missing).
	Binds []string
	// Tmpfs maps a container path to mount options ("size=64m,mode=1777").
	Tmpfs         map[string]string
	RestartPolicy RestartPolicy
	AutoRemove    bool
	// Init runs Berth's init as PID 1; nil means the engine's default.
	Init      *bool
	LogConfig LogConfig
	// NetworkMode is "none", "host", "container:<id>", or
	// "bridge"/"default"/"" (the engine's default network).
	NetworkMode    string
	Resources      cgroup.Resources
	CapAdd         []string
	CapDrop        []string
	Privileged     bool
	ReadonlyRootfs bool
	// SecurityOpt: "no-new-privileges" (or no-new-privileges=true|false)
	// and "seccomp=unconfined"; anything else is refused.
	SecurityOpt []string
	Ulimits     []Ulimit
	// ShmSize is /dev/shm's size in bytes; 0 means 64 MiB.
	ShmSize int64
}

// RestartPolicy is --restart.
type RestartPolicy struct {
	// Name is "", "no", "on-failure", "always" or "unless-stopped".
	Name              string
	MaximumRetryCount int
}

// LogConfig is --log-driver and --log-opt.
type LogConfig struct {
	// Type is "json-file" (the default when empty) or "none".
	Type   string
	Config map[string]string
}

// Ulimit is one --ulimit (name as Docker spells it: nofile, nproc, core...).
type Ulimit struct {
	Name string
	Soft int64
	Hard int64
}

// MountPoint is one resolved mount of a container (Docker's inspect Mounts).
type MountPoint struct {
	// Type is "bind", "volume" or "tmpfs".
	Type string
	// Name is the volume's name for a volume.
	Name string `json:",omitempty"`
	// Source is the host path (a volume's _data directory).
	Source      string `json:",omitempty"`
	Destination string
	// Options are a tmpfs's mount options.
	Options string `json:",omitempty"`
	RW      bool
	// Anonymous is an image VOLUME's volume, made for this container.
	Anonymous bool `json:",omitempty"`
}

// Restart policy names.
const (
	RestartNo            = "no"
	RestartOnFailure     = "on-failure"
	RestartAlways        = "always"
	RestartUnlessStopped = "unless-stopped"
)

// Network modes.
const (
	NetworkNone    = "none"
	NetworkHost    = "host"
	NetworkBridge  = "bridge"
	NetworkDefault = "default"
)

const (
	defaultStopTimeout = 10 * time.Second
	defaultShmSize     = 64 << 20
	defaultPath        = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// securityOpts is the parsed --security-opt list.
type securityOpts struct {
	NoNewPrivileges bool
	Unconfined      bool
}

func parseSecurityOpts(opts []string) (securityOpts, error) {
	var s securityOpts
	for _, o := range opts {
		k, v, hasValue := strings.Cut(o, "=")
		if !hasValue {
			// Docker's old colon form: seccomp:unconfined.
			k, v, hasValue = strings.Cut(o, ":")
		}
		switch {
		case k == "no-new-privileges" && !hasValue:
			s.NoNewPrivileges = true
		case k == "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return s, invalidf("invalid --security-opt %q: no-new-privileges takes true or false", o)
			}
			s.NoNewPrivileges = b
		case k == "seccomp" && v == "unconfined":
			s.Unconfined = true
		case k == "seccomp":
			return s, invalidf("invalid --security-opt %q: only seccomp=unconfined is supported (a custom profile is not)", o)
		default:
			return s, invalidf("invalid --security-opt %q: Berth supports no-new-privileges and seccomp=unconfined", o)
		}
	}
	return s, nil
}

// bind is a parsed -v.
type bind struct {
	Source      string // host path, or volume name
	Destination string
	ReadOnly    bool
	Volume      bool
}

// parseBind reads "src:dst[:opts]" as docker -v does on Linux.
func parseBind(s string) (bind, error) {
	parts := strings.Split(s, ":")
	var b bind
	switch len(parts) {
	case 2, 3:
		b.Source, b.Destination = parts[0], parts[1]
	default:
		return b, invalidf("invalid volume specification: '%s'", s)
	}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				b.ReadOnly = true
			case "rw", "z", "Z", "rprivate", "private", "rslave", "slave", "nocopy", "":
			default:
				return b, invalidf("invalid mode: %s", o)
			}
		}
	}
	if b.Source == "" {
		return b, invalidf("invalid volume specification: '%s'", s)
	}
	if !path.IsAbs(b.Destination) {
		return b, invalidf("invalid volume specification: '%s': invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute", s, b.Destination)
	}
	b.Destination = path.Clean(b.Destination)
	if b.Destination == "/" {
		return b, invalidf("invalid volume specification: '%s': invalid mount config: destination can't be '/'", s)
	}
	if strings.HasPrefix(b.Source, "/") {
		b.Source = path.Clean(b.Source)
	} else {
		if err := validVolumeName(b.Source); err != nil {
			return b, invalidf("invalid volume specification: '%s': %v", s, err)
		}
		b.Volume = true
	}
	return b, nil
}

// ulimitNames maps Docker's --ulimit names to RLIMIT_* numbers (the same
// on every Linux architecture Berth supports).
var ulimitNames = map[string]int{
	"cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6,
	"nofile": 7, "memlock": 8, "as": 9, "locks": 10, "sigpending": 11,
	"msgqueue": 12, "nice": 13, "rtprio": 14, "rttime": 15,
}

// defaultUlimits are Docker's (dockerd under systemd since 25.0).
var defaultUlimits = []Ulimit{{Name: "nofile", Soft: 1024, Hard: 524288}}

// validate checks what Create can check without the image.
func (s *CreateSpec) validate() error {
	if s.Name != "" {
		if err := validName(s.Name); err != nil {
			return err
		}
	}
	if s.Image == "" {
		return invalidf("no image given: name the image to create the container from")
	}
	switch s.RestartPolicy.Name {
	case "", RestartNo, RestartAlways, RestartUnlessStopped:
		if s.RestartPolicy.MaximumRetryCount != 0 {
			return invalidf("invalid restart policy: maximum retry count can only be used with 'on-failure'")
		}
	case RestartOnFailure:
		if s.RestartPolicy.MaximumRetryCount < 0 {
			return invalidf("invalid restart policy: maximum retry count cannot be negative")
		}
	default:
		return invalidf("invalid restart policy '%s'", s.RestartPolicy.Name)
	}
	if s.AutoRemove && s.RestartPolicy.Name != "" && s.RestartPolicy.Name != RestartNo {
		return invalidf("can't create 'AutoRemove' container with restart policy")
	}
	if _, err := parseSecurityOpts(s.SecurityOpt); err != nil {
		return err
	}
	if _, err := parseLogConfig(s.LogConfig); err != nil {
		return err
	}
	if _, err := parseSignal(s.StopSignal); s.StopSignal != "" && err != nil {
		return err
	}
	if err := s.Resources.Validate(); err != nil {
		return invalidf("%v", err)
	}
	for _, b := range s.Binds {
		if _, err := parseBind(b); err != nil {
			return err
		}
	}
	for dst := range s.Tmpfs {
		if !path.IsAbs(dst) || path.Clean(dst) == "/" {
			return invalidf("invalid tmpfs mount path %q: it must be absolute and not /", dst)
		}
	}
	for _, u := range s.Ulimits {
		if _, ok := ulimitNames[u.Name]; !ok {
			return invalidf("invalid ulimit type: %s", u.Name)
		}
		if u.Soft > u.Hard {
			return invalidf("ulimit soft limit must be less than or equal to hard limit: %d > %d", u.Soft, u.Hard)
		}
	}
	if s.ShmSize < 0 {
		return invalidf("SHM size can not be less than 0")
	}
	for _, c := range slices.Concat(s.CapAdd, s.CapDrop) {
		if c == "" {
			return invalidf("invalid capability: empty name")
		}
	}
	return nil
}

// logConfig is a validated LogConfig.
type logConfig struct {
	Type    string
	MaxSize int64
	MaxFile int
}

func parseLogConfig(lc LogConfig) (logConfig, error) {
	out := logConfig{Type: lc.Type, MaxFile: 1}
	switch lc.Type {
	case "":
		out.Type = "json-file"
	case "json-file", "none":
	default:
		return out, kindf(ErrNotImplemented, "log driver %q is not supported: use json-file or none", lc.Type)
	}
	for k, v := range lc.Config {
		if out.Type == "none" {
			return out, invalidf("unknown log opt '%s' for log driver none", k)
		}
		switch k {
		case "max-size":
			if v == "-1" {
				continue
			}
			n, err := parseBytes(v)
			if err != nil || n <= 0 {
				return out, invalidf("invalid log opt max-size %q: give a size such as 10m", v)
			}
			out.MaxSize = n
		case "max-file":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return out, invalidf("max-file cannot be less than 1")
			}
			out.MaxFile = n
		case "compress":
			if b, err := strconv.ParseBool(v); err != nil || b {
				return out, kindf(ErrNotImplemented, "log opt compress=%s is not supported", v)
			}
		case "labels", "labels-regex", "env", "env-regex", "tag":
			// Accepted as Docker does; json-file lines carry no attributes here.
		default:
			return out, invalidf("unknown log opt '%s' for json-file log driver", k)
		}
	}
	if out.MaxFile > 1 && out.MaxSize == 0 {
		return out, invalidf("max-file cannot be set without max-size")
	}
	return out, nil
}

// parseBytes reads Docker's RAMInBytes units: 10, 10k, 10kb, 10m, 1g (1024s).
func parseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(f * float64(mult)), nil
}

// signals are the names docker accepts for --stop-signal and kill -s.
var signals = map[string]int{
	"ABRT": 6, "ALRM": 14, "BUS": 7, "CHLD": 17, "CLD": 17, "CONT": 18, "FPE": 8, "HUP": 1,
	"ILL": 4, "INT": 2, "IO": 29, "IOT": 6, "KILL": 9, "PIPE": 13, "POLL": 29, "PROF": 27,
	"PWR": 30, "QUIT": 3, "SEGV": 11, "STKFLT": 16, "STOP": 19, "SYS": 31, "TERM": 15,
	"TRAP": 5, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "USR1": 10, "USR2": 12,
	"VTALRM": 26, "WINCH": 28, "XCPU": 24, "XFSZ": 25,
}

// parseSignal reads "SIGTERM", "TERM", "15" or "RTMIN+3".
func parseSignal(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, invalidf("Invalid signal: %s", s)
		}
		return n, nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n, ok := signals[name]; ok {
		return n, nil
	}
	if rest, ok := strings.CutPrefix(name, "RTMIN"); ok {
		off := 0
		if rest != "" {
			o, err := strconv.Atoi(strings.TrimPrefix(rest, "+"))
			if err != nil || !strings.HasPrefix(rest, "+") {
				return 0, invalidf("Invalid signal: %s", s)
			}
			off = o
		}
		if 34+off <= 64 {
			return 34 + off, nil
		}
	}
	if rest, ok := strings.CutPrefix(name, "RTMAX"); ok {
		off := 0
		if rest != "" {
			o, err := strconv.Atoi(strings.TrimPrefix(rest, "-"))
			if err != nil || !strings.HasPrefix(rest, "-") {
				return 0, invalidf("Invalid signal: %s", s)
			}
			off = o
		}
		if 64-off >= 34 {
			return 64 - off, nil
		}
	}
	return 0, invalidf("Invalid signal: %s", s)
}

// stopTimeout is how long Stop waits before SIGKILL; negative: forever.
func (c *Config) stopTimeout() time.Duration {
	if c.StopTimeout == nil {
		return defaultStopTimeout
	}
	if *c.StopTimeout < 0 {
		return -1
	}
	return time.Duration(*c.StopTimeout) * time.Second
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
