package distro

import (
	"path"
	"strings"
)

// detectInit finds the installed init system and whether it is PID 1.
func detectInit(r rootFS) Init {
	in := Init{PID1: r.text("/proc/1/comm")}
	initTarget := path.Base(r.realpath("/sbin/init"))
	switch {
	case initTarget == "systemd" || (!r.exists("/sbin/init") && (r.exists("/lib/systemd/systemd") || r.exists("/usr/lib/systemd/systemd"))):
		in.System = "systemd"
	case r.exists("/sbin/openrc") || r.exists("/usr/sbin/openrc") || initTarget == "openrc-init":
		in.System = "openrc"
	case r.exists("/sbin/initctl") && r.exists("/etc/init") && initTarget == "init":
		// Upstart; RHEL 6 keeps an inittab for the default runlevel only.
		in.System = "upstart"
	case r.exists("/etc/inittab") || initTarget == "init":
		in.System = "sysvinit"
	case r.exists("/sbin/initctl"):
		in.System = "upstart"
	default:
		in.System = "unknown"
	}
	switch in.System {
	case "systemd":
		// sd_booted(3): systemd is running when /run/systemd/system exists.
		in.Running = in.PID1 == "systemd" || (in.PID1 == "" && r.exists("/run/systemd/system"))
	case "openrc":
		in.Running = r.exists("/run/openrc/softlevel") || in.PID1 == "openrc-init"
	case "upstart", "sysvinit":
		in.Running = in.PID1 == "init"
	}
	return in
}

// detectPackageManager names the host's package manager.
func detectPackageManager(r rootFS) string {
	for _, pm := range []struct{ name, bin string }{
		{"apt", "/usr/bin/apt-get"},
		{"dnf", "/usr/bin/dnf"},
		{"yum", "/usr/bin/yum"},
		{"zypper", "/usr/bin/zypper"},
		{"apk", "/sbin/apk"},
		{"apk", "/usr/sbin/apk"},
		{"pacman", "/usr/bin/pacman"},
	} {
		if r.exists(pm.bin) {
			return pm.name
		}
	}
	return ""
}

// mountInfo is one line of /proc/self/mountinfo.
type mountInfo struct {
	mountPoint string
	fsType     string
	source     string
	options    string // per-mount options
	super      string // per-superblock options
}

// readMountInfo parses /proc/self/mountinfo under the root.
func readMountInfo(r rootFS) []mountInfo {
	var mounts []mountInfo
	for _, line := range r.lines("/proc/self/mountinfo") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 6 || len(b) < 2 {
			continue
		}
		m := mountInfo{mountPoint: unescapeMount(a[4]), options: a[5], fsType: b[0], source: b[1]}
		if len(b) > 2 {
			m.super = b[2]
		}
		mounts = append(mounts, m)
	}
	return mounts
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// mountFor returns the mount holding p: the longest mount point that is p
// or one of its parents. The last such line wins, as later mounts cover
// earlier ones.
func mountFor(mounts []mountInfo, p string) (mountInfo, bool) {
	var best mountInfo
	found := false
	for _, m := range mounts {
		mp := m.mountPoint
		if mp == p || mp == "/" || strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/") {
			if !found || len(mp) >= len(best.mountPoint) {
				best, found = m, true
			}
		}
	}
	return best, found
}
