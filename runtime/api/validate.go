package api

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// How Berth words a Docker feature it will have but does not have yet.

const laterNetworking = "is not supported yet: Berth has the bridge network (the default), host, none and container:<name|id>; user-defined networks come in a later release"

var (
	// One character is enough: `docker run --name s` is the issue's own
	// example, though dockerd wants two.
	containerNameRE = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	volumeNameRE    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
)

// ValidContainerName checks a name as dockerd does; the leading "/" is
// optional.
func ValidContainerName(name string) error {
	if !containerNameRE.MatchString(name) {
		return InvalidParameterf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	return nil
}

// ValidVolumeName checks a local volume's name as dockerd does.
func ValidVolumeName(name string) error {
	if !volumeNameRE.MatchString(name) {
		return InvalidParameterf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name)
	}
	return nil
}

// unsupported is one check of a field Berth does not implement: set says
// the request uses it.
type unsupported struct {
	field string
	set   bool
	why   string
}

func firstUnsupported(checks []unsupported) error {
	for _, c := range checks {
		if c.set {
			why := c.why
			if why == "" {
				why = "is not supported by Berth"
			}
			return InvalidParameterf("%s %s", c.field, why)
		}
	}
	return nil
}

// ValidateCreate checks a create request and returns its mounts merged
// (Binds, HostConfig.Mounts, Tmpfs, then Config.Volumes as anonymous
// volumes). It fills a nil HostConfig and NetworkingConfig and
// canonicalises capabilities ("net_admin" → "CAP_NET_ADMIN") in place. A
// field Berth does not implement is a 400 naming it; the zero values the
// docker CLI always sends (Devices [], MemorySwappiness -1, ConsoleSize,
// an empty "default" endpoint...) pass.
func ValidateCreate(req *ContainerCreateRequest) ([]MountSpec, error) {
	if req.HostConfig == nil {
		req.HostConfig = &HostConfig{}
	}
	if req.NetworkingConfig == nil {
		req.NetworkingConfig = &NetworkingConfig{}
	}
	if strings.TrimSpace(req.Image) == "" {
		return nil, InvalidParameterf("Config.Image is required: the image to create the container from")
	}
	if err := validateConfig(&req.ContainerConfig); err != nil {
		return nil, err
	}
	h := req.HostConfig
	if err := validateHostConfig(h); err != nil {
		return nil, err
	}
	if err := validateNetworking(h.NetworkMode, req.NetworkingConfig); err != nil {
		return nil, err
	}
	return mergeMounts(req)
}

func validateConfig(c *ContainerConfig) error {
	hc := c.Healthcheck
	health := hc != nil && len(hc.Test) > 0 && !(len(hc.Test) == 1 && hc.Test[0] == "NONE")
	if err := firstUnsupported([]unsupported{
		{"Config.MacAddress (--mac-address)", c.MacAddress != "", "is not supported by Berth: a container's MAC address is derived from its IP address, so that a reused address never meets a stale neighbour entry"},
		{"Config.NetworkDisabled", c.NetworkDisabled, "is not supported by Berth: use HostConfig.NetworkMode \"none\" (--network none)"},
		{"Config.Healthcheck (--health-cmd)", health, ""},
		{"Config.Domainname (--domainname)", c.Domainname != "", ""},
		{"Config.Shell", len(c.Shell) > 0, "is a build setting; Berth does not build images"},
		{"Config.OnBuild", len(c.OnBuild) > 0, "is a build setting; Berth does not build images"},
		{"Config.ArgsEscaped", c.ArgsEscaped, "is for Windows containers"},
	}); err != nil {
		return err
	}
	for _, e := range c.Env {
		if k, _, _ := strings.Cut(e, "="); k == "" {
			return InvalidParameterf("invalid environment variable: %q", e)
		}
	}
	for p := range c.ExposedPorts {
		if err := validatePort("Config.ExposedPorts", p); err != nil {
			return err
		}
	}
	for v := range c.Volumes {
		if !path.IsAbs(v) {
			return InvalidParameterf("invalid volume specification: %q: the path in the container must be absolute", v)
		}
	}
	if c.StopSignal != "" {
		if _, _, err := ParseSignal(c.StopSignal); err != nil {
			return err
		}
	}
	return nil
}

// Docker's log options that Berth's json-file logger implements.
var logOptions = []string{"max-size", "max-file"}

func validateHostConfig(h *HostConfig) error {
	r := &h.Resources
	if err := firstUnsupported([]unsupported{
		{"HostConfig.Links (--link)", len(h.Links) > 0, "is a legacy Docker feature Berth does not implement"},
		{"HostConfig.VolumesFrom (--volumes-from)", len(h.VolumesFrom) > 0, ""},
		{"HostConfig.VolumeDriver (--volume-driver)", h.VolumeDriver != "" && h.VolumeDriver != "local", "is not supported: Berth has the local volume driver only"},
		{"HostConfig.Annotations (--annotation)", len(h.Annotations) > 0, ""},
		{"HostConfig.CgroupnsMode (--cgroupns)", h.CgroupnsMode != "" && h.CgroupnsMode != "private", ""},
		{"HostConfig.GroupAdd (--group-add)", len(h.GroupAdd) > 0, ""},
		{"HostConfig.IpcMode (--ipc)", h.IpcMode != "" && h.IpcMode != "private" && h.IpcMode != "shareable", ""},
		{"HostConfig.Cgroup (--cgroup)", h.Cgroup != "", ""},
		{"HostConfig.OomScoreAdj (--oom-score-adj)", h.OomScoreAdj != 0, ""},
		{"HostConfig.PidMode (--pid)", h.PidMode != "", ""},
		{"HostConfig.StorageOpt (--storage-opt)", len(h.StorageOpt) > 0, ""},
		{"HostConfig.UTSMode (--uts)", h.UTSMode != "", ""},
		{"HostConfig.UsernsMode (--userns)", h.UsernsMode != "", ""},
		{"HostConfig.ShmSize (--shm-size)", h.ShmSize != 0, ""},
		{"HostConfig.Sysctls (--sysctl)", len(h.Sysctls) > 0, ""},
		{"HostConfig.Runtime (--runtime)", h.Runtime != "", "is not supported: Berth is its own runtime"},
		{"HostConfig.Isolation (--isolation)", h.Isolation != "" && h.Isolation != "default", "is for Windows containers"},
		{"HostConfig.MaskedPaths", h.MaskedPaths != nil, ""},
		{"HostConfig.ReadonlyPaths", h.ReadonlyPaths != nil, ""},
		{"HostConfig.CgroupParent (--cgroup-parent)", r.CgroupParent != "", ""},
		{"HostConfig.BlkioWeight (--blkio-weight)", r.BlkioWeight != 0, ""},
		{"HostConfig.BlkioWeightDevice (--blkio-weight-device)", len(r.BlkioWeightDevice) > 0, ""},
		{"HostConfig.BlkioDeviceReadBps (--device-read-bps)", len(r.BlkioDeviceReadBps) > 0, ""},
		{"HostConfig.BlkioDeviceWriteBps (--device-write-bps)", len(r.BlkioDeviceWriteBps) > 0, ""},
		{"HostConfig.BlkioDeviceReadIOps (--device-read-iops)", len(r.BlkioDeviceReadIOps) > 0, ""},
		{"HostConfig.BlkioDeviceWriteIOps (--device-write-iops)", len(r.BlkioDeviceWriteIOps) > 0, ""},
		{"HostConfig.CpuPeriod (--cpu-period)", r.CPUPeriod != 0, "is not supported by Berth: use --cpus"},
		{"HostConfig.CpuQuota (--cpu-quota)", r.CPUQuota != 0, "is not supported by Berth: use --cpus"},
		{"HostConfig.CpuRealtimePeriod (--cpu-rt-period)", r.CPURealtimePeriod != 0, ""},
		{"HostConfig.CpuRealtimeRuntime (--cpu-rt-runtime)", r.CPURealtimeRuntime != 0, ""},
		{"HostConfig.CpusetCpus (--cpuset-cpus)", r.CpusetCpus != "", ""},
		{"HostConfig.CpusetMems (--cpuset-mems)", r.CpusetMems != "", ""},
		{"HostConfig.Devices (--device)", len(r.Devices) > 0, ""},
		{"HostConfig.DeviceCgroupRules (--device-cgroup-rule)", len(r.DeviceCgroupRules) > 0, ""},
		{"HostConfig.DeviceRequests (--gpus)", len(r.DeviceRequests) > 0, ""},
		{"HostConfig.KernelMemory (--kernel-memory)", r.KernelMemory != 0, "is not supported: the kernel dropped it"},
		{"HostConfig.KernelMemoryTCP", r.KernelMemoryTCP != 0, ""},
		{"HostConfig.MemoryReservation (--memory-reservation)", r.MemoryReservation != 0, ""},
		{"HostConfig.MemorySwappiness (--memory-swappiness)", r.MemorySwappiness != nil && *r.MemorySwappiness != -1, ""},
		{"HostConfig.OomKillDisable (--oom-kill-disable)", r.OomKillDisable != nil && *r.OomKillDisable, ""},
		{"HostConfig.Ulimits (--ulimit)", len(r.Ulimits) > 0, ""},
		{"HostConfig.CpuCount", r.CPUCount != 0, "is for Windows containers"},
		{"HostConfig.CpuPercent", r.CPUPercent != 0, "is for Windows containers"},
		{"HostConfig.IOMaximumIOps", r.IOMaximumIOps != 0, "is for Windows containers"},
		{"HostConfig.IOMaximumBandwidth", r.IOMaximumBandwidth != 0, "is for Windows containers"},
	}); err != nil {
		return err
	}
	if err := validateLogConfig(h.LogConfig); err != nil {
		return err
	}
	if err := validatePortBindings(h.PortBindings); err != nil {
		return err
	}
	for _, d := range h.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return InvalidParameterf("HostConfig.Dns (--dns): %s is not an ip address", d)
		}
	}
	for _, e := range h.ExtraHosts {
		if err := validateExtraHost(e); err != nil {
			return err
		}
	}
	if err := validateRestart(h); err != nil {
		return err
	}
	if err := validateResources(r); err != nil {
		return err
	}
	for _, list := range []*[]string{&h.CapAdd, &h.CapDrop} {
		for i, c := range *list {
			canon, err := canonicalCapability(c)
			if err != nil {
				return err
			}
			(*list)[i] = canon
		}
	}
	for _, o := range h.SecurityOpt {
		if err := validateSecurityOpt(o); err != nil {
			return err
		}
	}
	return nil
}

func validateLogConfig(l LogConfig) error {
	if l.Type != "" && l.Type != "json-file" {
		return InvalidParameterf("HostConfig.LogConfig.Type (--log-driver) %q is not supported: Berth writes Docker's json-file logs", l.Type)
	}
	keys := make([]string, 0, len(l.Config))
	for k := range l.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := l.Config[k]
		switch k {
		case "max-size":
			if n, err := ParseBytes(v); err != nil || n <= 0 {
				return InvalidParameterf("invalid value for log option max-size: %q (a size such as 10m)", v)
			}
		case "max-file":
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				return InvalidParameterf("invalid value for log option max-file: %q (a count of at least 1)", v)
			}
		default:
			return InvalidParameterf("unknown log opt '%s' for json-file log driver: Berth implements %s", k, strings.Join(logOptions, " and "))
		}
	}
	if _, ok := l.Config["max-file"]; ok {
		if _, ok := l.Config["max-size"]; !ok {
			return InvalidParameterf("log option max-file needs max-size: logs rotate by size")
		}
	}
	return nil
}

func validateRestart(h *HostConfig) error {
	p := h.RestartPolicy
	switch p.Name {
	case "", "no", "always", "unless-stopped":
		if p.MaximumRetryCount != 0 {
			return InvalidParameterf("invalid restart policy: maximum retry count can only be used with 'on-failure'")
		}
	case "on-failure":
		if p.MaximumRetryCount < 0 {
			return InvalidParameterf("invalid restart policy: maximum retry count must be a positive integer")
		}
	default:
		return InvalidParameterf("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure' or 'unless-stopped'", p.Name)
	}
	if h.AutoRemove && p.Name != "" && p.Name != "no" {
		return InvalidParameterf("can't create 'AutoRemove' container with restart policy (--rm and --restart %s)", p.Name)
	}
	return nil
}

// minMemory is dockerd's lower bound for --memory.
const minMemory = 6 * 1024 * 1024

func validateResources(r *Resources) error {
	switch {
	case r.Memory < 0:
		return InvalidParameterf("invalid memory limit %d: it must be positive", r.Memory)
	case r.Memory > 0 && r.Memory < minMemory:
		return InvalidParameterf("Minimum memory limit allowed is 6MB")
	case r.MemorySwap > 0 && r.Memory == 0:
		return InvalidParameterf("You should always set the Memory limit when using Memoryswap limit")
	case r.MemorySwap > 0 && r.MemorySwap < r.Memory:
		return InvalidParameterf("Minimum memoryswap limit should be larger than memory limit, see usage")
	case r.MemorySwap < -1:
		return InvalidParameterf("invalid memory swap limit %d: -1 (unlimited) or a size", r.MemorySwap)
	case r.CPUShares < 0:
		return InvalidParameterf("invalid CPU shares %d: it must be positive", r.CPUShares)
	case r.NanoCPUs < 0:
		return InvalidParameterf("Range of CPUs is from 0.01 to the number of CPUs on the host")
	case r.NanoCPUs > 0 && r.NanoCPUs < 1e7:
		return InvalidParameterf("Range of CPUs is from 0.01 to the number of CPUs on the host")
	}
	return nil
}

// capabilities are Linux's, without the CAP_ prefix.
var capabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// canonicalCapability is "ALL" or "CAP_X" for a known capability.
func canonicalCapability(c string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(c))
	if u == "ALL" {
		return u, nil
	}
	u = strings.TrimPrefix(u, "CAP_")
	if !slices.Contains(capabilities, u) {
		return "", InvalidParameterf("unknown capability: %q", c)
	}
	return "CAP_" + u, nil
}

// validateSecurityOpt accepts the options Berth implements:
// no-new-privileges, seccomp=unconfined, apparmor=unconfined and
// label=disable (no SELinux labels is what Berth does anyway).
func validateSecurityOpt(o string) error {
	k, v, ok := strings.Cut(o, "=")
	if !ok {
		k, v, ok = strings.Cut(o, ":")
	}
	switch {
	case k == "no-new-privileges":
		if ok {
			if _, err := strconv.ParseBool(v); err != nil {
				return InvalidParameterf("invalid --security-opt %q: no-new-privileges takes true or false", o)
			}
		}
		return nil
	case k == "seccomp" && v == "unconfined", k == "apparmor" && v == "unconfined", k == "label" && v == "disable":
		return nil
	case k == "seccomp":
		return InvalidParameterf("--security-opt seccomp: Berth applies Docker's default profile or none (seccomp=unconfined); custom profiles are not supported")
	case k == "apparmor", k == "label":
		return InvalidParameterf("--security-opt %s: Berth does not apply %s profiles (only %s is accepted)", k, k, map[string]string{"apparmor": "apparmor=unconfined", "label": "label=disable"}[k])
	}
	return InvalidParameterf("invalid --security-opt %q: Berth implements no-new-privileges, seccomp=unconfined, apparmor=unconfined and label=disable", o)
}

// validateNetworking accepts the bridge, host and none networks,
// container:<name|id>, and Docker's "default" (the bridge). The endpoint
// the docker CLI sends for the chosen network may ask for an address
// (--ip) and nothing else.
func validateNetworking(mode string, nc *NetworkingConfig) error {
	switch {
	case mode == "", mode == "default", mode == "none", mode == "host", mode == "bridge":
	case strings.HasPrefix(mode, "container:"):
		if strings.TrimPrefix(mode, "container:") == "" {
			return InvalidParameterf("HostConfig.NetworkMode %q: container:<name|id> names the container whose network to join", mode)
		}
	default:
		return InvalidParameterf("HostConfig.NetworkMode %q: no such network: Berth has the bridge, host and none networks and container:<name|id>; user-defined networks come in a later release", mode)
	}
	names := make([]string, 0, len(nc.EndpointsConfig))
	for n := range nc.EndpointsConfig {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		want := mode
		if want == "" {
			want = "default"
		}
		if n != want && !(want == "default" && n == "bridge") {
			return InvalidParameterf("NetworkingConfig.EndpointsConfig[%q]: a container joins one network, %q; more %s", n, want, laterNetworking)
		}
		e := nc.EndpointsConfig[n]
		if e == nil {
			continue
		}
		f := fmt.Sprintf("NetworkingConfig.EndpointsConfig[%q]", n)
		if err := firstUnsupported([]unsupported{
			{f + ".IPAMConfig.IPv6Address (--ip6)", e.IPAMConfig != nil && e.IPAMConfig.IPv6Address != "", "is not supported: Berth's bridge is IPv4"},
			{f + ".IPAMConfig.LinkLocalIPs (--link-local-ip)", e.IPAMConfig != nil && len(e.IPAMConfig.LinkLocalIPs) > 0, ""},
			{f + ".Links", len(e.Links) > 0, laterNetworking},
			{f + ".Aliases (--network-alias)", len(e.Aliases) > 0, laterNetworking},
			{f + ".MacAddress (--mac-address)", e.MacAddress != "", "is not supported by Berth: a container's MAC address is derived from its IP address"},
			{f + ".DriverOpts", len(e.DriverOpts) > 0, laterNetworking},
			{f + ".GwPriority", e.GwPriority != 0, laterNetworking},
			{f + ".DNSNames", len(e.DNSNames) > 0, laterNetworking},
			{f + ".NetworkID", e.NetworkID != "" || e.EndpointID != "" || e.Gateway != "" || e.IPAddress != "" || e.IPPrefixLen != 0 ||
				e.IPv6Gateway != "" || e.GlobalIPv6Address != "" || e.GlobalIPv6PrefixLen != 0, "and the other operational fields are the engine's to set"},
		}); err != nil {
			return err
		}
		if ip := EndpointIPv4(nc, n); ip != "" {
			if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
				return InvalidParameterf("%s.IPAMConfig.IPv4Address (--ip): invalid IPv4 address: %s", f, ip)
			}
			if mode != "" && mode != "default" && mode != "bridge" {
				return InvalidParameterf("%s.IPAMConfig.IPv4Address (--ip): a fixed address needs the bridge network, not %s", f, mode)
			}
		}
	}
	return nil
}

// EndpointIPv4 is the address (--ip) the endpoint for network asks for.
func EndpointIPv4(nc *NetworkingConfig, network string) string {
	if nc == nil || nc.EndpointsConfig[network] == nil || nc.EndpointsConfig[network].IPAMConfig == nil {
		return ""
	}
	return nc.EndpointsConfig[network].IPAMConfig.IPv4Address
}

// validatePort checks a container port as the API writes it: "80/tcp".
func validatePort(field, p string) error {
	port, proto, _ := strings.Cut(p, "/")
	n, err := strconv.ParseUint(port, 10, 16)
	switch {
	case err != nil || n == 0:
		return InvalidParameterf("%s: invalid port %q: a port from 1 to 65535 and its protocol (80/tcp)", field, p)
	case proto == "sctp":
		return InvalidParameterf("%s %q: sctp is not supported by Berth: publish tcp or udp", field, p)
	case proto != "" && proto != "tcp" && proto != "udp":
		return InvalidParameterf("%s: invalid proto %q in %q", field, proto, p)
	}
	return nil
}

// validatePortBindings checks -p's bindings: the container ports, and
// each host side's address and port (a number, a range, or "" for a
// random one).
func validatePortBindings(pb map[string][]PortBinding) error {
	keys := make([]string, 0, len(pb))
	for k := range pb {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := validatePort("HostConfig.PortBindings (-p)", k); err != nil {
			return err
		}
		for _, b := range pb[k] {
			if b.HostIP != "" {
				if _, err := netip.ParseAddr(b.HostIP); err != nil {
					return InvalidParameterf("HostConfig.PortBindings (-p) %s: invalid host IP address %q", k, b.HostIP)
				}
			}
			if b.HostPort == "" {
				continue
			}
			lo, hi, isRange := strings.Cut(b.HostPort, "-")
			l, err1 := strconv.ParseUint(lo, 10, 16)
			h, err2 := l, error(nil)
			if isRange {
				h, err2 = strconv.ParseUint(hi, 10, 16)
			}
			if err1 != nil || err2 != nil || h < l {
				return InvalidParameterf("HostConfig.PortBindings (-p) %s: invalid host port %q: a port, a range (8000-8010) or empty for a random one", k, b.HostPort)
			}
		}
	}
	return nil
}

// validateExtraHost checks one --add-host: "name:ip", the address
// possibly in brackets, or Docker's "name:host-gateway".
func validateExtraHost(e string) error {
	name, addr, ok := strings.Cut(e, ":")
	if !ok {
		name, addr, ok = strings.Cut(e, "=")
	}
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if !ok || name == "" {
		return InvalidParameterf("HostConfig.ExtraHosts (--add-host): invalid %q: want HOST:IP", e)
	}
	if addr == "host-gateway" {
		return nil
	}
	if _, err := netip.ParseAddr(addr); err != nil {
		return InvalidParameterf("HostConfig.ExtraHosts (--add-host): invalid IP address in %q", e)
	}
	return nil
}

// mergeMounts gathers every mount of the request with the destinations
// unique.
func mergeMounts(req *ContainerCreateRequest) ([]MountSpec, error) {
	h := req.HostConfig
	var out []MountSpec
	seen := map[string]bool{}
	add := func(m MountSpec) error {
		if seen[m.Target] {
			return InvalidParameterf("Duplicate mount point: %s", m.Target)
		}
		seen[m.Target] = true
		out = append(out, m)
		return nil
	}
	for _, b := range h.Binds {
		m, err := ParseBind(b)
		if err != nil {
			return nil, err
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	for i, mt := range h.Mounts {
		m, err := mountSpec(mt, i)
		if err != nil {
			return nil, err
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	targets := make([]string, 0, len(h.Tmpfs))
	for t := range h.Tmpfs {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		m, err := ParseTmpfs(t, h.Tmpfs[t])
		if err != nil {
			return nil, err
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	vols := make([]string, 0, len(req.Volumes))
	for v := range req.Volumes {
		vols = append(vols, v)
	}
	sort.Strings(vols)
	for _, v := range vols {
		t := path.Clean(v)
		if seen[t] {
			continue
		}
		if err := checkTarget(t, v); err != nil {
			return nil, err
		}
		seen[t] = true
		out = append(out, MountSpec{Type: "volume", Target: t})
	}
	return out, nil
}

func checkTarget(t, spec string) error {
	if !path.IsAbs(t) {
		return InvalidParameterf("invalid mount config: %q: the path in the container must be absolute", spec)
	}
	if t == "/" {
		return InvalidParameterf("invalid specification: destination can't be '/' in %q", spec)
	}
	return nil
}

var propagations = []string{"private", "rprivate", "shared", "rshared", "slave", "rslave"}

// ParseBind reads one -v/Binds entry as Docker does on Linux:
// "/host:/ctr[:opts]" is a bind, "name:/ctr[:opts]" a named volume; opts
// are ro or rw, a propagation (binds) and nocopy (volumes).
func ParseBind(spec string) (MountSpec, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return MountSpec{}, InvalidParameterf("invalid volume specification: %q: expected SOURCE:DESTINATION[:OPTIONS]", spec)
	}
	m := MountSpec{Type: "volume", Source: parts[0], Target: path.Clean(parts[1])}
	if path.IsAbs(parts[0]) {
		m.Type, m.Source = "bind", path.Clean(parts[0])
	} else if err := ValidVolumeName(parts[0]); err != nil {
		return MountSpec{}, InvalidParameterf("invalid volume specification: %q: %v", spec, err)
	}
	if err := checkTarget(m.Target, spec); err != nil {
		return MountSpec{}, err
	}
	if len(parts) == 3 {
		rw := ""
		for _, o := range strings.Split(parts[2], ",") {
			switch {
			case o == "ro" || o == "rw":
				if rw != "" {
					return MountSpec{}, InvalidParameterf("invalid mode: %q in %q: give ro or rw once", parts[2], spec)
				}
				rw = o
				m.ReadOnly = o == "ro"
			case slices.Contains(propagations, o) && m.Type == "bind":
				if m.Propagation != "" {
					return MountSpec{}, InvalidParameterf("invalid mode: %q in %q: one propagation", parts[2], spec)
				}
				m.Propagation = o
			case o == "nocopy" && m.Type == "volume":
				m.NoCopy = true
			case o == "z" || o == "Z":
				return MountSpec{}, InvalidParameterf("invalid mode: %q in %q: SELinux relabelling (:z, :Z) is not supported by Berth", o, spec)
			case o == "consistent" || o == "cached" || o == "delegated":
				// Docker for Mac's hints; no meaning on Linux, as with dockerd.
			default:
				return MountSpec{}, InvalidParameterf("invalid mode: %q in %q", o, spec)
			}
		}
	}
	return m, nil
}

// mountSpec checks one HostConfig.Mounts entry (--mount).
func mountSpec(mt Mount, i int) (MountSpec, error) {
	f := fmt.Sprintf("HostConfig.Mounts[%d]", i)
	m := MountSpec{Type: mt.Type, Source: mt.Source, Target: path.Clean(mt.Target), ReadOnly: mt.ReadOnly}
	if mt.Target == "" {
		return m, InvalidParameterf("%s: Target is required", f)
	}
	if err := checkTarget(m.Target, mt.Target); err != nil {
		return m, err
	}
	switch mt.Type {
	case "bind":
		if !path.IsAbs(mt.Source) {
			return m, InvalidParameterf("%s: a bind's Source must be an absolute path, not %q", f, mt.Source)
		}
		m.Source = path.Clean(mt.Source)
		if mt.VolumeOptions != nil || mt.TmpfsOptions != nil {
			return m, InvalidParameterf("%s: VolumeOptions and TmpfsOptions do not apply to a bind", f)
		}
		if b := mt.BindOptions; b != nil {
			if b.Propagation != "" && !slices.Contains(propagations, b.Propagation) {
				return m, InvalidParameterf("%s: unknown propagation %q", f, b.Propagation)
			}
			m.Propagation = b.Propagation
			if err := firstUnsupported([]unsupported{
				{f + ".BindOptions.NonRecursive", b.NonRecursive, ""},
				{f + ".BindOptions.CreateMountpoint", b.CreateMountpoint, ""},
				{f + ".BindOptions.ReadOnlyNonRecursive", b.ReadOnlyNonRecursive, ""},
				{f + ".BindOptions.ReadOnlyForceRecursive", b.ReadOnlyForceRecursive, ""},
			}); err != nil {
				return m, err
			}
		}
	case "volume":
		if mt.Source != "" {
			if err := ValidVolumeName(mt.Source); err != nil {
				return m, err
			}
		}
		if mt.BindOptions != nil || mt.TmpfsOptions != nil {
			return m, InvalidParameterf("%s: BindOptions and TmpfsOptions do not apply to a volume", f)
		}
		if v := mt.VolumeOptions; v != nil {
			m.NoCopy = v.NoCopy
			if err := firstUnsupported([]unsupported{
				{f + ".VolumeOptions.Labels", len(v.Labels) > 0, "is not supported by Berth: create the volume first (volume create --label)"},
				{f + ".VolumeOptions.Subpath", v.Subpath != "", ""},
				{f + ".VolumeOptions.DriverConfig", v.DriverConfig != nil && ((v.DriverConfig.Name != "" && v.DriverConfig.Name != "local") || len(v.DriverConfig.Options) > 0), "is not supported: Berth has the local volume driver, without options"},
			}); err != nil {
				return m, err
			}
		}
	case "tmpfs":
		if mt.Source != "" {
			return m, InvalidParameterf("%s: a tmpfs has no Source", f)
		}
		if mt.BindOptions != nil || mt.VolumeOptions != nil {
			return m, InvalidParameterf("%s: BindOptions and VolumeOptions do not apply to a tmpfs", f)
		}
		if t := mt.TmpfsOptions; t != nil {
			if t.SizeBytes < 0 {
				return m, InvalidParameterf("%s: negative tmpfs size", f)
			}
			m.TmpfsSize, m.TmpfsMode = t.SizeBytes, t.Mode
			if len(t.Options) > 0 {
				return m, InvalidParameterf("%s.TmpfsOptions.Options is not supported by Berth", f)
			}
		}
	default:
		return m, InvalidParameterf("%s: mount type %q is not supported: Berth mounts bind, volume and tmpfs", f, mt.Type)
	}
	return m, nil
}

// tmpfsFlags are the mount flags a --tmpfs may carry besides size and
// mode; uid=, gid= and nr_inodes= pass to the kernel too.
var tmpfsFlags = []string{"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime", "strictatime", "sync", "async"}

// ParseTmpfs reads one --tmpfs entry: the path and its options
// ("size=64m,mode=1777,noexec").
func ParseTmpfs(target, options string) (MountSpec, error) {
	m := MountSpec{Type: "tmpfs", Target: path.Clean(target)}
	if err := checkTarget(m.Target, target); err != nil {
		return m, err
	}
	if options == "" {
		return m, nil
	}
	for _, o := range strings.Split(options, ",") {
		k, v, hasValue := strings.Cut(o, "=")
		switch {
		case k == "size" && hasValue:
			n, err := ParseBytes(v)
			if err != nil || n <= 0 {
				return m, InvalidParameterf("invalid tmpfs size %q for %s", v, target)
			}
			m.TmpfsSize = n
		case k == "mode" && hasValue:
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil || n > 0o7777 {
				return m, InvalidParameterf("invalid tmpfs mode %q for %s: an octal mode such as 1777", v, target)
			}
			m.TmpfsMode = uint32(n)
		case (k == "uid" || k == "gid" || k == "nr_inodes") && hasValue:
			if _, err := strconv.ParseUint(v, 10, 32); err != nil {
				return m, InvalidParameterf("invalid tmpfs option %q for %s", o, target)
			}
			m.Options = append(m.Options, o)
		case !hasValue && slices.Contains(tmpfsFlags, o):
			if o == "ro" {
				m.ReadOnly = true
			} else if o != "rw" {
				m.Options = append(m.Options, o)
			}
		default:
			return m, InvalidParameterf("invalid tmpfs option %q for %s", o, target)
		}
	}
	return m, nil
}

var bytesRE = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`)

// ParseBytes reads a size as Docker's flags do ("64m", "1.5g", "512",
// "100KiB"): binary units.
func ParseBytes(s string) (int64, error) {
	m := bytesRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[strings.ToLower(m[2])]
	return int64(f * mult), nil
}
