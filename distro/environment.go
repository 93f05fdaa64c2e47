package distro

import (
	"strconv"
	"strings"
)

// detectEnvironment finds WSL, an enclosing container, memory, swap and the
// other container engines on the host.
func detectEnvironment(r rootFS, f *Facts, mounts []mountInfo) Environment {
	var e Environment
	e.WSL = detectWSL(r, f.Kernel.Release)
	e.Container, e.ContainerEvidence = detectContainer(r, mounts)
	for _, line := range r.lines("/proc/meminfo") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "MemTotal":
			e.MemTotalBytes = meminfoBytes(v)
		case "SwapTotal":
			e.SwapTotalBytes = meminfoBytes(v)
		}
	}
	e.Routes = readRoutes(r)
	e.Engines = detectEngines(r)
	return e
}

func meminfoBytes(v string) uint64 {
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0
	}
	if len(f) > 1 && f[1] == "kB" {
		n *= 1024
	}
	return n
}

// detectWSL tells WSL 1 (Microsoft's syscall translation, kernel release
// "4.4.0-19041-Microsoft") from WSL 2 (a real kernel, "...-microsoft-standard-WSL2").
func detectWSL(r rootFS, release string) string {
	lower := strings.ToLower(release)
	switch {
	case strings.Contains(lower, "wsl2") || strings.Contains(lower, "microsoft-standard"):
		return "2"
	case strings.Contains(release, "Microsoft"):
		return "1"
	case r.exists("/proc/sys/fs/binfmt_misc/WSLInterop") || strings.Contains(strings.ToLower(r.text("/proc/version")), "microsoft"):
		return "2"
	}
	return ""
}

// detectContainer tells whether the root is itself inside a container, and
// by which marker. /.dockerenv alone is not trusted when the root filesystem
// is a block device: images turned into VM disks keep it.
func detectContainer(r rootFS, mounts []mountInfo) (kind, evidence string) {
	if v := r.text("/run/systemd/container"); v != "" {
		return v, "/run/systemd/container"
	}
	if r.exists("/run/.containerenv") {
		return "podman", "/run/.containerenv"
	}
	if r.exists("/.dockerenv") {
		if m, ok := mountFor(mounts, "/"); ok && strings.HasPrefix(m.source, "/dev/") && m.fsType != "overlay" {
			return "", ""
		}
		return "docker", "/.dockerenv"
	}
	for _, line := range r.lines("/proc/1/cgroup") {
		for _, k := range []string{"/docker/", "/kubepods", "/lxc/", "/libpod-"} {
			if strings.Contains(line, k) {
				return strings.Trim(strings.TrimSuffix(k, "-"), "/"), "/proc/1/cgroup"
			}
		}
	}
	return "", ""
}

// detectEngines finds Docker, containerd and Podman by their sockets,
// processes, bridges and state directories.
func detectEngines(r rootFS) []Engine {
	procs := processNames(r)
	type spec struct {
		name     string
		sockets  []string
		procs    []string
		bridges  []string
		dataRoot string
	}
	specs := []spec{
		{"docker", []string{"/run/docker.sock", "/var/run/docker.sock"}, []string{"dockerd"}, []string{"docker0"}, "/var/lib/docker"},
		{"containerd", []string{"/run/containerd/containerd.sock"}, []string{"containerd"}, nil, "/var/lib/containerd"},
		{"podman", []string{"/run/podman/podman.sock"}, []string{"podman"}, []string{"podman0", "cni-podman0"}, "/var/lib/containers"},
	}
	var engines []Engine
	for _, s := range specs {
		e := Engine{Name: s.name}
		seen := map[string]bool{}
		for _, p := range s.sockets {
			if rp := r.realpath(p); r.lexists(p) && !seen[rp] {
				seen[rp] = true
				e.Sockets = append(e.Sockets, p)
			}
		}
		for _, p := range s.procs {
			if procs[p] {
				e.Processes = append(e.Processes, p)
			}
		}
		for _, b := range s.bridges {
			if r.exists("/sys/class/net/" + b) {
				e.Bridge = b
				e.Subnet = bridgeSubnet(r, b)
				break
			}
		}
		if r.exists(s.dataRoot) {
			e.DataRoot = s.dataRoot
		}
		if len(e.Sockets) > 0 || len(e.Processes) > 0 || e.Bridge != "" || e.DataRoot != "" {
			engines = append(engines, e)
		}
	}
	return engines
}

// bridgeSubnet finds the route through a bridge in /proc/net/route.
func bridgeSubnet(r rootFS, bridge string) string {
	for i, line := range r.lines("/proc/net/route") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 8 || f[0] != bridge {
			continue
		}
		dst, err1 := hexIPv4(f[1])
		mask, err2 := hexIPv4(f[7])
		if err1 != nil || err2 != nil {
			continue
		}
		ones, _ := ipMaskSize(mask)
		return dst.String() + "/" + strconv.Itoa(ones)
	}
	return ""
}

// processNames returns the command names of the processes in the root's
// /proc.
func processNames(r rootFS) map[string]bool {
	names := map[string]bool{}
	for _, pid := range r.list("/proc") {
		if !isDigits(pid) {
			continue
		}
		if c := r.text("/proc/" + pid + "/comm"); c != "" {
			names[c] = true
		}
	}
	return names
}
