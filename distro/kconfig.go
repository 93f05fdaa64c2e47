package distro

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
)

// kernelOption is one kernel build option `berth check` asks about. The
// table follows moby's contrib/check-config.sh in its version rules and its
// alternatives; which options are asked, and which are required, follow
// what Berth's engine uses.
type kernelOption struct {
	name string
	// required options stop the engine from running containers; the rest
	// take away a feature or a limit. Overlay is required: it is Berth's
	// only storage driver.
	required bool
	// what the option gives containers, as a noun phrase.
	what string
	// since and before bound the kernels that are asked about it: since is
	// the first version asked, before the first no longer asked (the option
	// was removed or became implicit). Zero means no bound.
	since, before KernelVersion
	// cgroupV1 options are asked only when the host does not run the
	// unified hierarchy alone; on cgroup v2 check-config.sh reads the
	// controllers from cgroup.controllers instead.
	cgroupV1 bool
	// cgroupV2 options are asked only on the unified hierarchy.
	cgroupV2 bool
	// anyOf are options that stand in for this one when it is not set: the
	// kernel merged it into them, or one of them makes it unnecessary.
	anyOf []string
	// bootParam turns the feature on at boot though the config leaves it
	// off; the proof's paths then tell whether it is on.
	bootParam string
	// proof is what the running kernel shows when the option is built.
	proof optionProof
}

// optionProof is runtime evidence of an option, read when no kernel config is.
type optionProof struct {
	paths       []string // files or /proc/self/ns entries that exist only with it
	filesystem  string   // a name in /proc/filesystems
	controller  string   // a cgroup controller in /proc/cgroups
	statusField string   // a field of /proc/self/status
	modules     []string // modules that are loaded, built in or loadable
}

func kver(major, minor int) KernelVersion { return KernelVersion{major, minor, 0} }

func nsProof(name string) optionProof { return optionProof{paths: []string{"/proc/self/ns/" + name}} }

func modProof(names ...string) optionProof { return optionProof{modules: names} }

func cgProof(controller string) optionProof { return optionProof{controller: controller} }

// kernelOptions is every option asked about, in report order. It starts
// from moby's check-config.sh and keeps what Berth's engine uses: swarm's
// IPVS, overlay networks, IPsec, ipvlan and macvlan are left out, as are the
// legacy-iptables tables that nftables replaces.
var kernelOptions = []kernelOption{
	// Required: the engine cannot isolate, network or store without them.
	{name: "CONFIG_NAMESPACES", required: true, what: "namespaces",
		proof: optionProof{paths: []string{"/proc/self/ns"}}},
	{name: "CONFIG_NET_NS", required: true, what: "network namespaces", proof: nsProof("net")},
	{name: "CONFIG_PID_NS", required: true, what: "PID namespaces", proof: nsProof("pid")},
	{name: "CONFIG_IPC_NS", required: true, what: "IPC namespaces", proof: nsProof("ipc")},
	{name: "CONFIG_UTS_NS", required: true, what: "hostname (UTS) namespaces", proof: nsProof("uts")},
	{name: "CONFIG_CGROUPS", required: true, what: "control groups",
		proof: optionProof{paths: []string{"/proc/cgroups"}}},
	// runc refuses to run on cgroup v1 without the devices controller; on
	// v2 a BPF program takes its place.
	{name: "CONFIG_CGROUP_DEVICE", required: true, cgroupV1: true, what: "device access control (devices controller)",
		proof: cgProof("devices")},
	{name: "CONFIG_CGROUP_BPF", required: true, cgroupV2: true, since: kver(4, 15), what: "device access control under cgroup v2 (BPF)"},
	{name: "CONFIG_VETH", required: true, what: "container network interfaces (veth)", proof: modProof("veth")},
	{name: "CONFIG_BRIDGE", required: true, what: "the bridge network", proof: modProof("bridge")},
	{name: "CONFIG_BRIDGE_NETFILTER", required: true, what: "filtering of bridged traffic (br_netfilter)",
		proof: optionProof{paths: []string{"/proc/sys/net/bridge"}, modules: []string{"br_netfilter"}}},
	{name: "CONFIG_NF_NAT", required: true, what: "network address translation", proof: modProof("nf_nat")},
	{name: "CONFIG_NF_NAT_IPV4", required: true, before: kver(5, 2), anyOf: []string{"CONFIG_NF_NAT"},
		what: "IPv4 NAT", proof: modProof("nf_nat_ipv4")},
	{name: "CONFIG_NF_NAT_NEEDED", required: true, before: kver(5, 3), anyOf: []string{"CONFIG_NF_NAT"},
		what: "NAT support in netfilter"},
	// Either packet-filter backend serves: nftables where the kernel has
	// it, iptables where that is what the host uses.
	{name: "CONFIG_NF_TABLES", required: true, anyOf: []string{"CONFIG_IP_NF_FILTER"},
		what: "a packet filter (nftables, or iptables)", proof: modProof("nf_tables", "ip_tables")},
	{name: "CONFIG_NFT_NAT", required: true, anyOf: []string{"CONFIG_IP_NF_NAT"},
		what: "NAT rules for published ports", proof: modProof("nft_nat", "iptable_nat")},
	{name: "CONFIG_NFT_MASQ", required: true, anyOf: []string{"CONFIG_IP_NF_TARGET_MASQUERADE"},
		what: "masquerading of outbound traffic", proof: modProof("nft_masq", "ipt_MASQUERADE")},
	{name: "CONFIG_NFT_CT", required: true, anyOf: []string{"CONFIG_NETFILTER_XT_MATCH_CONNTRACK"},
		what: "connection-tracking rules", proof: modProof("nft_ct", "xt_conntrack")},
	{name: "CONFIG_NFT_FIB_IPV4", required: true, anyOf: []string{"CONFIG_NETFILTER_XT_MATCH_ADDRTYPE"},
		what: "local-address matching for published ports", proof: modProof("nft_fib_ipv4", "xt_addrtype")},
	{name: "CONFIG_POSIX_MQUEUE", required: true, what: "POSIX message queues (/dev/mqueue)",
		proof: optionProof{filesystem: "mqueue"}},
	{name: "CONFIG_DEVPTS_MULTIPLE_INSTANCES", required: true, before: kver(4, 8), what: "a private /dev/pts per container"},
	{name: "CONFIG_OVERLAY_FS", required: true, what: "overlay storage",
		proof: optionProof{filesystem: "overlay", modules: []string{"overlay"}}},

	// Optional: a feature or a limit is missing without them.
	{name: "CONFIG_USER_NS", what: "user namespaces (rootless, userns-remap)", proof: nsProof("user")},
	{name: "CONFIG_SECCOMP", what: "seccomp profiles", proof: optionProof{statusField: "Seccomp"}},
	{name: "CONFIG_SECCOMP_FILTER", what: "seccomp filters", proof: optionProof{statusField: "Seccomp_filters"}},
	{name: "CONFIG_CGROUP_SCHED", what: "CPU scheduling groups (cpu controller)", proof: cgProof("cpu")},
	{name: "CONFIG_FAIR_GROUP_SCHED", what: "CPU shares (--cpu-shares)"},
	{name: "CONFIG_CFS_BANDWIDTH", what: "CPU quotas (--cpus)"},
	{name: "CONFIG_CPUSETS", cgroupV1: true, what: "CPU pinning (cpuset controller)", proof: cgProof("cpuset")},
	{name: "CONFIG_CGROUP_CPUACCT", cgroupV1: true, what: "CPU accounting (cpuacct controller)", proof: cgProof("cpuacct")},
	{name: "CONFIG_MEMCG", cgroupV1: true, what: "memory limits (memory controller)", proof: cgProof("memory")},
	{name: "CONFIG_MEMCG_SWAP", before: kver(5, 8), what: "swap limits",
		proof: optionProof{paths: []string{"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"}}},
	{name: "CONFIG_MEMCG_SWAP_ENABLED", before: kver(5, 8), what: "swap limits", bootParam: "swapaccount=1",
		proof: optionProof{paths: []string{"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"}}},
	{name: "CONFIG_CGROUP_PIDS", cgroupV1: true, what: "process limits (pids controller)", proof: cgProof("pids")},
	{name: "CONFIG_CGROUP_FREEZER", cgroupV1: true, what: "pausing containers (freezer controller)", proof: cgProof("freezer")},
	{name: "CONFIG_BLK_CGROUP", what: "block I/O limits (blkio controller)", proof: cgProof("blkio")},
	{name: "CONFIG_BLK_DEV_THROTTLING", what: "block I/O bandwidth limits"},
	{name: "CONFIG_KEYS", what: "kernel keyrings (keyctl in containers)",
		proof: optionProof{paths: []string{"/proc/keys"}}},
	{name: "CONFIG_IP6_NF_NAT", what: "IPv6 NAT for published ports", proof: modProof("ip6table_nat", "nft_chain_nat")},
}

// applies reports whether the option is asked about on kernel version kv.
func (o kernelOption) applies(kv KernelVersion) bool {
	if o.since != (KernelVersion{}) && kv.Less(o.since) {
		return false
	}
	if o.before != (KernelVersion{}) && !kv.Less(o.before) {
		return false
	}
	return true
}

// versioned reports whether the option is asked about only on some kernels.
func (o kernelOption) versioned() bool {
	return o.since != (KernelVersion{}) || o.before != (KernelVersion{})
}

// kernelConfigNames is the set of options readKernelConfig keeps: the
// table's and their alternatives.
func kernelConfigNames() map[string]bool {
	names := map[string]bool{}
	for _, o := range kernelOptions {
		names[o.name] = true
		for _, alt := range o.anyOf {
			names[alt] = true
		}
	}
	return names
}

// maxKernelConfig bounds a decompressed config; real ones are a few hundred
// kilobytes.
const maxKernelConfig = 16 << 20

// readKernelConfig reads the build configuration of the kernel release from
// the first place that has one, as check-config.sh looks for it, and keeps
// the options Berth asks about ("" for one not set or absent). When none is
// readable it returns no Source and nil Options.
func readKernelConfig(r rootFS, release string) KernelConfig {
	for _, p := range kernelConfigPaths(release) {
		b, err := r.read(p)
		if err != nil {
			continue
		}
		if opts, ok := parseKernelConfig(b); ok {
			return KernelConfig{Source: p, Options: opts}
		}
	}
	return KernelConfig{}
}

// kernelConfigPaths lists where a kernel's config may be, most telling first.
func kernelConfigPaths(release string) []string {
	paths := []string{"/proc/config.gz"}
	if release != "" && !strings.Contains(release, "/") {
		paths = append(paths,
			"/boot/config-"+release,
			"/lib/modules/"+release+"/config")
		// Alpine names the config by flavor: /boot/config-lts for
		// 6.6.14-0-lts.
		if i := strings.LastIndexByte(release, '-'); i >= 0 {
			if flavor := release[i+1:]; flavor != "" && !strings.Contains(flavor, ".") {
				paths = append(paths, "/boot/config-"+flavor)
			}
		}
		paths = append(paths, "/usr/src/linux-"+release+"/.config")
	}
	return append(paths, "/usr/src/linux/.config")
}

// parseKernelConfig reads a config, gzipped or not. ok is false when b is
// not one: a corrupt archive, or text with no CONFIG_ line.
func parseKernelConfig(b []byte) (opts map[string]string, ok bool) {
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, false
		}
		b, err = io.ReadAll(io.LimitReader(zr, maxKernelConfig))
		if err != nil {
			return nil, false
		}
	}
	want := kernelConfigNames()
	opts = make(map[string]string, len(want))
	for name := range want {
		opts[name] = ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, found := strings.CutPrefix(line, "# "); found {
			if name, found = strings.CutSuffix(name, " is not set"); found && strings.HasPrefix(name, "CONFIG_") {
				ok = true
			}
			continue
		}
		name, val, found := strings.Cut(line, "=")
		if !found || !strings.HasPrefix(name, "CONFIG_") {
			continue
		}
		ok = true
		if !want[name] {
			continue
		}
		if val == "n" {
			val = ""
		}
		opts[name] = strings.Trim(val, `"`)
	}
	if sc.Err() != nil || !ok {
		return nil, false
	}
	return opts, true
}

// kconfigChecks judges every option that applies to the host's kernel. With
// no config readable it looks for runtime evidence instead, and says unknown
// where there is none: a missing config is no reason to fail a host.
func kconfigChecks(f *Facts, r rootFS) []Check {
	kv, known := f.Kernel.Parsed(), f.Kernel.Known()
	opts := f.KernelConfig.Options
	var ev *runtimeEvidence
	if opts == nil {
		ev = readRuntimeEvidence(r, f.Kernel.Release)
	}
	var checks []Check
	for _, o := range kernelOptions {
		if o.cgroupV1 && f.Cgroup.Mode == CgroupV2 || o.cgroupV2 && f.Cgroup.Mode != CgroupV2 && f.Cgroup.Mode != "" {
			continue
		}
		if known && !o.applies(kv) {
			continue
		}
		c := Check{ID: "kconfig." + o.name, Required: o.required}
		if opts == nil {
			if seen := ev.find(o.proof); seen != "" {
				c.Status, c.Message = OK, o.name+": "+seen+" (no kernel config readable)"
			} else {
				c.Status, c.Message = Unknown, o.name+": no kernel config readable, no sign of "+o.what
			}
			checks = append(checks, c)
			continue
		}
		c.Status, c.Message, c.Fix = judgeOption(f, r, o, opts, known)
		checks = append(checks, c)
	}
	return checks
}

// judgeOption decides one option from the config's values.
func judgeOption(f *Facts, r rootFS, o kernelOption, opts map[string]string, known bool) (Status, string, string) {
	if val := opts[o.name]; optionSet(val) {
		return OK, fmt.Sprintf("%s=%s: %s", o.name, val, o.what), ""
	}
	for _, alt := range o.anyOf {
		if val := opts[alt]; optionSet(val) {
			return OK, fmt.Sprintf("%s=%s stands in for %s: %s", alt, val, o.name, o.what), ""
		}
	}
	if o.bootParam != "" {
		for _, p := range o.proof.paths {
			if r.exists(p) {
				return OK, fmt.Sprintf("%s is not set, but %s turned it on (%s exists)", o.name, o.bootParam, p), ""
			}
		}
	}
	if o.versioned() && !known {
		return Unknown, fmt.Sprintf("%s is not set; the kernel version is unknown, so it may not apply", o.name), ""
	}
	status := Warn
	if o.required {
		status = Fail
	}
	return status, fmt.Sprintf("%s is not set: %s unavailable", o.name, o.what), optionFix(f, o)
}

func optionSet(val string) bool { return val == "y" || val == "m" }

// optionFix says how to get a missing option. A distribution kernel lacking
// one is rarely fixed by a rebuild: the usual cure is the standard kernel.
func optionFix(f *Facts, o kernelOption) string {
	switch {
	case f.Kernel.Known() && f.Kernel.Parsed().Less(MinKernel):
		return "boot a kernel " + MinKernel.String() + " or newer: this one predates what containers need"
	case o.bootParam != "":
		return fmt.Sprintf("add %s to the kernel command line and reboot", o.bootParam)
	case f.Environment.WSL != "":
		return fmt.Sprintf("run `wsl --update` for a newer WSL kernel, or use a custom kernel built with %s", o.name)
	case o.required:
		return fmt.Sprintf("use a kernel built with %s (the distribution's standard kernel has it)", o.name)
	}
	return fmt.Sprintf("only needed for %s: use a kernel built with %s", o.what, o.name)
}

// runtimeEvidence is what the running kernel shows of its build, read once.
type runtimeEvidence struct {
	r           rootFS
	modules     moduleIndex
	filesystems map[string]bool
	controllers map[string]bool
	status      map[string]bool
}

func readRuntimeEvidence(r rootFS, release string) *runtimeEvidence {
	ev := &runtimeEvidence{
		r:           r,
		modules:     readModuleIndex(r, release),
		filesystems: map[string]bool{},
		controllers: map[string]bool{},
		status:      map[string]bool{},
	}
	// "nodev\toverlay" or "\text4".
	for _, l := range r.lines("/proc/filesystems") {
		if f := strings.Fields(l); len(f) > 0 {
			ev.filesystems[f[len(f)-1]] = true
		}
	}
	// "#subsys_name hierarchy num_cgroups enabled", then one controller a
	// line. A controller listed is built, even when booted disabled.
	for _, l := range r.lines("/proc/cgroups") {
		if f := strings.Fields(l); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			ev.controllers[f[0]] = true
		}
	}
	for _, l := range r.lines("/proc/self/status") {
		if name, _, ok := strings.Cut(l, ":"); ok {
			ev.status[name] = true
		}
	}
	return ev
}

// find returns what shows the option built, "" when nothing does.
func (ev *runtimeEvidence) find(p optionProof) string {
	for _, path := range p.paths {
		if ev.r.lexists(path) {
			return path + " exists"
		}
	}
	if p.filesystem != "" && ev.filesystems[p.filesystem] {
		return p.filesystem + " in /proc/filesystems"
	}
	if p.controller != "" && ev.controllers[p.controller] {
		return p.controller + " controller in /proc/cgroups"
	}
	if p.statusField != "" && ev.status[p.statusField] {
		return p.statusField + ": in /proc/self/status"
	}
	for _, m := range p.modules {
		if seen := moduleEvidence(ev.modules, m); seen != "" {
			return seen
		}
	}
	return ""
}
