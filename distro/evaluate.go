package distro

import (
	"fmt"
	"net"
	"strings"
)

// DefaultBridgeSubnet is the engine's default bridge network, chosen to
// leave Docker's 172.17.0.0/16 and Podman's 10.88.0.0/16 alone.
const DefaultBridgeSubnet = "10.213.0.0/16"

// evaluate judges the facts: every check, in report order.
func evaluate(f *Facts, r rootFS) []Check {
	var cs []Check
	add := func(c Check) { cs = append(cs, c) }

	add(distroCheck(f))
	add(archCheck(f))
	if f.OS == "darwin" {
		cs = append(cs, macChecks(f)...)
		return cs
	}
	add(kernelCheck(f))
	add(initCheck(f))
	cs = append(cs, cgroupChecks(f)...)
	cs = append(cs, kconfigChecks(f, r)...)
	cs = append(cs, storageChecks(f)...)
	cs = append(cs, networkChecks(f)...)
	cs = append(cs, securityChecks(f)...)
	cs = append(cs, environmentChecks(f)...)
	return cs
}

func distroCheck(f *Facts) Check {
	d := f.Distro
	c := Check{ID: "distro.support", Required: true}
	name := d.Pretty
	if name == "" {
		name = d.ID
	}
	switch d.Support {
	case Supported:
		c.Status, c.Message = OK, name+" is supported"
		if d.Family != d.ID && d.Family != "macos" {
			c.Message += fmt.Sprintf(" (as %s %s)", familyNames[d.Family], d.FamilyVersion)
		}
		if d.EOL != "" {
			c.Message += ", until " + d.EOL
		}
	case EndOfLife:
		c.Status, c.Message = Warn, d.Reason
		c.Fix = upgradeHint(f)
	default:
		c.Message = d.Reason
		if d.Family == "" {
			// The engine is one static binary: an unknown distribution
			// may well run it, so this is a warning, not a refusal.
			c.Status = Warn
		} else {
			c.Status = Fail
			c.Fix = upgradeHint(f)
		}
	}
	return c
}

// upgradeHint names the release to move to.
func upgradeHint(f *Facts) string {
	switch f.Distro.Family {
	case "ubuntu":
		return "upgrade to Ubuntu 24.04 LTS (do-release-upgrade)"
	case "debian":
		return "upgrade to Debian 12 or 13 (https://www.debian.org/releases/)"
	case "rhel":
		return "move to a supported EL release (Rocky Linux, AlmaLinux or RHEL 9)"
	case "amzn":
		return "move to Amazon Linux 2023"
	case "alpine":
		return "upgrade to a supported Alpine branch (edit /etc/apk/repositories, then apk upgrade --available)"
	case "fedora":
		return "upgrade Fedora (dnf system-upgrade)"
	case "macos":
		return "update macOS (System Settings → General → Software Update)"
	}
	return ""
}

func archCheck(f *Facts) Check {
	a := f.ArchInfo
	c := Check{ID: "arch", Required: true}
	switch {
	case a.Supported:
		c.Status, c.Message = OK, a.Name+" ("+a.Source+")"
	case a.Name == "unknown":
		c.Status, c.Message = Unknown, a.Reason
	case a.Name == "arm":
		c.Status, c.Message = Warn, a.Reason
	default:
		c.Status, c.Message = Fail, a.Reason
	}
	return c
}

func kernelCheck(f *Facts) Check {
	c := Check{ID: "kernel.version", Required: true}
	if !f.Kernel.Known() {
		c.Status, c.Message = Unknown, "kernel release unknown (no /proc/sys/kernel/osrelease or /lib/modules under the root)"
		return c
	}
	v := f.Kernel.Parsed()
	if v.Less(MinKernel) {
		c.Status = Fail
		c.Message = fmt.Sprintf("kernel %s is older than %s, the oldest that runs containers", f.Kernel.Release, MinKernel)
		c.Fix = "boot a kernel 3.10 or newer; " + upgradeHint(f)
		return c
	}
	c.Status, c.Message = OK, "kernel "+f.Kernel.Release
	return c
}

func initCheck(f *Facts) Check {
	in := f.Init
	c := Check{ID: "init.system", Required: false}
	switch {
	case in.System == "systemd" && in.Running:
		c.Status, c.Message = OK, "systemd is PID 1: berth.socket and berth.service will be installed"
	case in.System == "systemd" && !f.Live && in.PID1 == "":
		c.Status, c.Message = OK, "systemd is the init system of this offline root"
	case in.System == "systemd":
		pid1 := in.PID1
		if pid1 == "" {
			pid1 = "unknown"
		}
		c.Status = Warn
		c.Message = "systemd is installed but not running (PID 1 is " + pid1 + "): the service cannot be enabled now"
		c.Fix = "boot with systemd, or start the engine yourself: berth daemon &"
		if f.Environment.WSL == "2" {
			c.Fix = "enable systemd in WSL: put the lines [boot] and systemd=true in /etc/wsl.conf, then run wsl --shutdown"
		}
	case in.System == "openrc", in.System == "sysvinit", in.System == "upstart":
		c.Status, c.Message = OK, in.System+": an init script will be installed"
		if !in.Running && f.Live {
			c.Status = Warn
			c.Message = in.System + " is installed but PID 1 is " + in.PID1 + ": the service cannot be started by it now"
		}
	default:
		c.Status, c.Message = Unknown, "no known init system found"
	}
	return c
}

// cgroupChecks judges the cgroup layout and the controllers the engine uses
// for limits.
func cgroupChecks(f *Facts) []Check {
	cg := f.Cgroup
	var cs []Check
	mode := Check{ID: "cgroup.mode", Required: true}
	switch cg.Mode {
	case CgroupV2:
		mode.Status, mode.Message = OK, "cgroup v2 (unified) at "+cg.V2Mount
	case CgroupHybrid:
		mode.Status, mode.Message = OK, "hybrid: v1 controllers, cgroup2 at "+cg.V2Mount
	case CgroupV1:
		mode.Status, mode.Message = OK, "cgroup v1"
	case CgroupNone:
		mode.Status, mode.Message = Fail, "no cgroup filesystem is mounted"
		mode.Fix = "mount cgroups: mount -t cgroup2 none /sys/fs/cgroup (or boot with systemd, which mounts them)"
	default:
		mode.Status, mode.Message = Unknown, "no /proc/self/mountinfo under the root: cgroup layout unknown"
	}
	cs = append(cs, mode)
	if cg.Mode == "" || cg.Mode == CgroupNone {
		return cs
	}
	if cg.Mode == CgroupV2 && f.Kernel.Known() {
		v2 := Check{ID: "cgroup.v2", Required: true, Status: OK, Message: "kernel " + f.Kernel.Version + " supports cgroup v2 fully"}
		switch kv := f.Kernel.Parsed(); {
		case !kv.AtLeast(4, 15):
			v2.Status, v2.Message = Fail, "cgroup v2 needs kernel 4.15 or newer for the cpu controller; this is "+f.Kernel.Version
			v2.Fix = "boot with systemd.unified_cgroup_hierarchy=0 to use cgroup v1, or a newer kernel"
		case !kv.AtLeast(5, 2):
			v2.Status, v2.Message = Warn, "cgroup v2 on kernel "+f.Kernel.Version+": no v2 freezer before 5.2 (pause unavailable)"
			v2.Fix = "use kernel 5.2 or newer"
		}
		cs = append(cs, v2)
	}
	type want struct {
		name, v2name string
		required     bool
		what         string
	}
	wants := []want{
		{"cpu", "cpu", false, "CPU limits (--cpus, --cpu-shares)"},
		{"memory", "memory", false, "memory limits (--memory)"},
		{"pids", "pids", false, "process limits (--pids-limit)"},
		{"cpuset", "cpuset", false, "CPU pinning (--cpuset-cpus)"},
		{"blkio", "io", false, "block I/O limits (--blkio-weight)"},
		{"freezer", "", false, "pause and unpause"},
	}
	if cg.Mode != CgroupV2 {
		// runc refuses to start a container on v1 without the devices
		// controller; on v2 a BPF program takes its place.
		wants = append(wants, want{"devices", "", true, "device access control"})
	}
	for _, w := range wants {
		name := w.name
		if cg.Mode == CgroupV2 {
			if w.v2name == "" {
				// v2 has no freezer controller (cgroup.freeze, reported
				// by cgroup.v2) and no devices controller (BPF).
				continue
			}
			name = w.v2name
		}
		c := Check{ID: "cgroup." + name, Required: w.required}
		ct, known := cg.Controller(name)
		switch {
		case ct.Usable:
			c.Status, c.Message = OK, fmt.Sprintf("%s controller (%s): %s", name, ct.Hierarchy, w.what)
		case known && ct.Hierarchy == "":
			c.Status = Warn
			c.Message = fmt.Sprintf("%s controller is disabled in the kernel: no %s", name, w.what)
			c.Fix = cgroupEnableFix(f, name)
		default:
			c.Status = Warn
			c.Message = fmt.Sprintf("no %s controller: no %s", name, w.what)
			if known {
				c.Fix = cgroupEnableFix(f, name)
			}
		}
		if c.Status != OK && w.required {
			c.Status = Fail
		}
		cs = append(cs, c)
	}
	return cs
}

// cgroupEnableFix says how to turn a controller on at boot.
func cgroupEnableFix(f *Facts, name string) string {
	args := "cgroup_enable=" + name
	if name == "memory" {
		args = "cgroup_enable=memory cgroup_memory=1 swapaccount=1"
	}
	if f.Distro.ID == "raspbian" || strings.Contains(f.Kernel.Release, "rpi") || strings.HasSuffix(f.Kernel.Release, "-v7+") || strings.HasSuffix(f.Kernel.Release, "+") && strings.HasPrefix(f.Arch, "arm") {
		cmdline := "/boot/cmdline.txt"
		if f.Distro.FamilyVersion != "" && !versionLess(f.Distro.FamilyVersion, "12") {
			cmdline = "/boot/firmware/cmdline.txt"
		}
		return "append \"" + args + "\" to the single line of " + cmdline + ", then reboot"
	}
	update := "update-grub"
	if f.Distro.Family == "rhel" || f.Distro.Family == "fedora" || f.Distro.Family == "amzn" {
		update = "grub2-mkconfig -o /boot/grub2/grub.cfg"
	}
	return "add \"" + args + "\" to GRUB_CMDLINE_LINUX in /etc/default/grub, run " + update + ", then reboot"
}

// storageChecks judges what the overlay driver needs.
func storageChecks(f *Facts) []Check {
	s := f.Storage
	ov := Check{ID: "storage.overlay", Required: true}
	switch s.Overlay {
	case "yes":
		ov.Status, ov.Message = OK, "overlayfs available ("+s.OverlaySource+")"
	case "no":
		ov.Status, ov.Message = Fail, "overlayfs unavailable: "+s.OverlaySource
		ov.Fix = overlayFix(f)
	default:
		ov.Status, ov.Message = Unknown, "cannot tell whether overlayfs is available"
		ov.Fix = "modprobe overlay"
	}
	cs := []Check{ov}

	fs := Check{ID: "storage.backing", Required: true}
	where := s.DataRoot
	switch {
	case s.FSType == "":
		fs.Status, fs.Message = Unknown, "filesystem of "+where+" unknown"
	case s.FSType == "overlay":
		fs.Status = Fail
		fs.Message = where + " is on overlayfs: overlay cannot use an overlay as its upper layer"
		fs.Fix = "mount a volume (ext4 or xfs) at " + where
	case s.FSType == "xfs" && s.DType == "no":
		fs.Status = Fail
		fs.Message = where + " is on xfs formatted with ftype=0: overlay needs d_type"
		fs.Fix = "put " + where + " on a filesystem made with mkfs.xfs -n ftype=1 (or ext4)"
	case s.DType == "no":
		fs.Status = Fail
		fs.Message = where + " is on " + s.FSType + ", which does not report d_type: overlay cannot use it"
		fs.Fix = "put " + where + " on ext4 or xfs (ftype=1)"
	case s.FSType == "tmpfs":
		fs.Status, fs.Message = Warn, where+" is on tmpfs: images and containers are lost at reboot"
	case s.DType == "yes":
		fs.Status, fs.Message = OK, where+" on "+s.FSType+" with d_type"
	default:
		fs.Status, fs.Message = OK, where+" on "+s.FSType
	}
	cs = append(cs, fs)

	space := Check{ID: "storage.space", Required: false}
	switch {
	case s.SizeBytes == 0:
		space.Status, space.Message = Unknown, "free space for "+where+" unknown"
	case s.FreeBytes < 2<<30:
		space.Status = Warn
		space.Message = fmt.Sprintf("only %s free for %s: nginx alone is 60 MB unpacked", humanBytes(s.FreeBytes), where)
		space.Fix = "free disk space, or point data-root in /etc/berth/daemon.json at a larger disk"
	default:
		space.Status, space.Message = OK, fmt.Sprintf("%s free of %s", humanBytes(s.FreeBytes), humanBytes(s.SizeBytes))
	}
	return append(cs, space)
}

// overlayFix names the kernel to install for a usable overlayfs.
func overlayFix(f *Facts) string {
	switch {
	case f.Distro.ID == "ubuntu" && f.Distro.Version == "14.04":
		return "install the Xenial HWE kernel (4.4): apt-get install linux-generic-lts-xenial, then reboot"
	case f.Distro.Family == "rhel" && strings.Contains(f.Kernel.Release, ".el7"):
		return "update the kernel to RHEL 7.4 or newer (yum update kernel), then reboot"
	case f.Distro.Family == "debian" && f.Distro.FamilyVersion == "8":
		return "install the jessie-backports kernel (4.9), then reboot"
	}
	return "boot a kernel 4.0 or newer with CONFIG_OVERLAY_FS; then modprobe overlay"
}

func networkChecks(f *Facts) []Check {
	n := f.Network
	var cs []Check

	fw := Check{ID: "network.ip_forward", Required: false}
	switch n.IPForward {
	case "1":
		fw.Status, fw.Message = OK, "net.ipv4.ip_forward = 1"
	case "0":
		fw.Status = Warn
		fw.Message = "net.ipv4.ip_forward = 0: the engine turns it on when it starts, as dockerd does"
		fw.Fix = "sysctl -w net.ipv4.ip_forward=1 (berth install makes it permanent)"
	default:
		fw.Status, fw.Message = Unknown, "net.ipv4.ip_forward unreadable"
	}
	cs = append(cs, fw)

	for _, s := range []struct{ id, name, val string }{
		{"network.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-iptables", n.BridgeNFCallIptables},
		{"network.bridge-nf-call-ip6tables", "net.bridge.bridge-nf-call-ip6tables", n.BridgeNFCallIP6},
	} {
		c := Check{ID: s.id, Required: false}
		switch s.val {
		case "1":
			c.Status, c.Message = OK, s.name+" = 1"
		case "0":
			c.Status = Warn
			c.Message = s.name + " = 0: traffic between containers on the bridge bypasses the firewall"
			c.Fix = "sysctl -w " + s.name + "=1 (berth install makes it permanent)"
		default:
			if !f.Live && f.Cgroup.Mode == "" {
				c.Status, c.Message = Unknown, s.name+" unknown for an offline root"
				break
			}
			c.Status = Warn
			c.Message = s.name + " missing: br_netfilter is not loaded"
			if n.BrNetfilter == "builtin" {
				c.Message = s.name + " missing although br_netfilter is built in"
			}
			c.Fix = "modprobe br_netfilter && sysctl -w " + s.name + "=1 (berth install makes both permanent)"
		}
		cs = append(cs, c)
	}

	pf := Check{ID: "network.firewall", Required: false, Status: OK}
	switch {
	case n.Iptables != "" && n.IptablesMode != "":
		pf.Message = fmt.Sprintf("iptables (%s) at %s; Berth writes its own rules with nftables over netlink", n.IptablesMode, n.Iptables)
	case n.Iptables != "":
		pf.Message = "iptables at " + n.Iptables + "; Berth writes its own rules with nftables over netlink"
	case n.Nft != "":
		pf.Message = "nft at " + n.Nft + "; Berth writes its own rules with nftables over netlink"
	default:
		pf.Message = "no iptables or nft command: not needed, Berth writes its rules with nftables over netlink"
	}
	cs = append(cs, pf)

	sub := Check{ID: "network.subnet", Required: false, Status: OK,
		Message: "bridge subnet " + DefaultBridgeSubnet + " is free"}
	if over := overlapping(DefaultBridgeSubnet, f.Environment.Routes); over != "" {
		sub.Status = Warn
		sub.Message = DefaultBridgeSubnet + " overlaps the route to " + over + ": the engine will pick the next free /16"
		sub.Fix = "set \"bip\" in /etc/berth/daemon.json to a free range, e.g. \"10.214.0.1/16\""
	} else if f.Environment.Routes == nil && !f.Live {
		sub.Status, sub.Message = Unknown, "no routing table under the root"
	}
	return append(cs, sub)
}

// overlapping returns the first route in routes that overlaps cidr.
func overlapping(cidr string, routes []string) string {
	_, a, err := net.ParseCIDR(cidr)
	if err != nil {
		return ""
	}
	for _, r := range routes {
		_, b, err := net.ParseCIDR(r)
		if err != nil {
			continue
		}
		if a.Contains(b.IP) || b.Contains(a.IP) {
			return r
		}
	}
	return ""
}

func securityChecks(f *Facts) []Check {
	s := f.Security
	var cs []Check
	if s.SELinux != "" {
		c := Check{ID: "security.selinux", Status: OK, Message: "SELinux " + s.SELinux}
		if s.SELinux == "enforcing" {
			c.Status = Warn
			c.Message = "SELinux is enforcing: Berth does not label containers yet, so they run with the engine's context"
			c.Fix = "keep enforcing (containers still work); for labels, wait for Berth's SELinux support"
		}
		cs = append(cs, c)
	}
	if s.AppArmor != "" {
		cs = append(cs, Check{ID: "security.apparmor", Status: OK, Message: "AppArmor " + s.AppArmor})
	}
	if s.UsernsRestricted == "1" {
		cs = append(cs, Check{ID: "security.userns", Status: OK,
			Message: "unprivileged user namespaces are restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns=1): rootless engines need a profile; Berth's engine runs as root and is unaffected"})
	}
	return cs
}

func environmentChecks(f *Facts) []Check {
	e := f.Environment
	var cs []Check
	switch e.WSL {
	case "1":
		cs = append(cs, Check{ID: "env.wsl", Required: true, Status: Fail,
			Message: "WSL 1 translates system calls and has no Linux kernel: containers cannot run",
			Fix:     "convert the distribution to WSL 2: wsl --set-version <distro> 2"})
	case "2":
		c := Check{ID: "env.wsl", Status: OK, Message: "WSL 2 (a real Linux kernel in a VM)"}
		cs = append(cs, c)
	}
	if e.Container != "" {
		cs = append(cs, Check{ID: "env.container", Status: Warn,
			Message: "running inside a " + e.Container + " container (" + e.ContainerEvidence + "): the engine needs it privileged, with a real volume for its data root",
			Fix:     "run Berth on the host, or start this container with --privileged and a volume at /var/lib/berth"})
	}
	mem := Check{ID: "env.memory", Status: OK}
	switch {
	case e.MemTotalBytes == 0:
		mem.Status, mem.Message = Unknown, "memory size unknown"
	case e.MemTotalBytes < 512<<20:
		mem.Status, mem.Message = Warn, humanBytes(e.MemTotalBytes)+" of memory: little room for containers"
	default:
		mem.Message = humanBytes(e.MemTotalBytes) + " of memory"
	}
	cs = append(cs, mem)
	if e.MemTotalBytes != 0 {
		swap := Check{ID: "env.swap", Status: OK, Message: "no swap"}
		if e.SwapTotalBytes > 0 {
			swap.Message = humanBytes(e.SwapTotalBytes) + " of swap"
		}
		cs = append(cs, swap)
	}
	for _, en := range e.Engines {
		c := Check{ID: "env.engine." + en.Name, Status: OK}
		var what []string
		if len(en.Processes) > 0 {
			what = append(what, "running")
		} else {
			what = append(what, "installed")
		}
		if len(en.Sockets) > 0 {
			what = append(what, "socket "+strings.Join(en.Sockets, ", "))
		}
		if en.Bridge != "" {
			b := "bridge " + en.Bridge
			if en.Subnet != "" {
				b += " " + en.Subnet
			}
			what = append(what, b)
		}
		c.Message = en.Name + " " + strings.Join(what, ", ") + ": Berth leaves it alone (own socket, data root and bridge)"
		if over := overlapping(DefaultBridgeSubnet, []string{en.Subnet}); en.Subnet != "" && over != "" {
			c.Status = Warn
			c.Message = en.Name + "'s bridge " + en.Subnet + " overlaps Berth's " + DefaultBridgeSubnet
			c.Fix = "set \"bip\" in /etc/berth/daemon.json to a free range"
		}
		cs = append(cs, c)
	}
	return cs
}

func macChecks(f *Facts) []Check {
	m := f.Mac
	var cs []Check
	mem := Check{ID: "macos.memory", Required: true}
	switch {
	case m.MemBytes == 0:
		mem.Status, mem.Message = Unknown, "memory size unknown (sysctl hw.memsize)"
	case m.MemBytes < MinMacMemory:
		mem.Status = Fail
		mem.Message = humanBytes(m.MemBytes) + " of memory: the Linux VM needs a Mac with at least 4 GiB"
	default:
		mem.Status, mem.Message = OK, humanBytes(m.MemBytes)+" of memory"
	}
	cs = append(cs, mem)
	hv := Check{ID: "macos.hypervisor", Required: true}
	switch m.Hypervisor {
	case "yes":
		hv.Status, hv.Message = OK, "Hypervisor.framework is available (kern.hv_support = 1)"
	case "no":
		hv.Status = Fail
		hv.Message = "this Mac cannot run virtual machines (kern.hv_support = 0)"
		if m.Virtualized {
			hv.Message = "macOS itself runs in a VM without nested virtualization (kern.hv_support = 0)"
			hv.Fix = "run Berth on the physical Mac, or enable nested virtualization for this VM"
		}
	default:
		hv.Status, hv.Message = Unknown, "hypervisor support unknown (sysctl kern.hv_support)"
	}
	cs = append(cs, hv)
	if m.Rosetta == "translated" {
		cs = append(cs, Check{ID: "macos.rosetta", Status: Warn,
			Message: "berth runs under Rosetta on Apple silicon: the VM would be emulated",
			Fix:     "install the darwin/arm64 build of berth"})
	}
	if m.CPU != "" {
		cs = append(cs, Check{ID: "macos.chip", Status: OK, Message: m.CPU + " (" + m.Chip + ")"})
	}
	return cs
}

// humanBytes formats a size in binary units, as free(1) -h does.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
