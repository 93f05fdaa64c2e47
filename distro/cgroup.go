package distro

import (
	"path"
	"sort"
	"strings"
)

// detectCgroup reads the cgroup layout from the mounts and the kernel's
// controller list: v2 when cgroup2 is mounted at /sys/fs/cgroup, hybrid when
// v1 controllers sit beside a cgroup2 mount (systemd's "unified" directory),
// v1 when there is no cgroup2 mount at all.
func detectCgroup(r rootFS, mounts []mountInfo) Cgroup {
	cg := Cgroup{Controllers: []Controller{}}
	v1 := map[string]bool{}
	haveV1 := false
	for _, m := range mounts {
		switch m.fsType {
		case "cgroup2":
			if cg.V2Mount == "" || m.mountPoint == "/sys/fs/cgroup" {
				cg.V2Mount = m.mountPoint
			}
		case "cgroup":
			haveV1 = true
			for _, o := range strings.Split(m.super, ",") {
				if o != "rw" && o != "ro" && !strings.HasPrefix(o, "name=") && !strings.Contains(o, "=") {
					v1[o] = true
				}
			}
		}
	}
	switch {
	case cg.V2Mount == "/sys/fs/cgroup" && !haveV1:
		cg.Mode = CgroupV2
	case cg.V2Mount != "" && haveV1:
		cg.Mode = CgroupHybrid
	case haveV1:
		cg.Mode = CgroupV1
	case cg.V2Mount != "":
		cg.Mode = CgroupV2
	case len(mounts) > 0:
		cg.Mode = CgroupNone
	default:
		// An offline root has no mounts to read.
		cg.Mode = ""
	}
	v2 := map[string]bool{}
	if cg.V2Mount != "" {
		for _, c := range strings.Fields(r.text(path.Join(cg.V2Mount, "cgroup.controllers"))) {
			v2[c] = true
		}
	}
	// /proc/cgroups lists the v1-capable controllers and whether the kernel
	// enabled them (cgroup_disable= or a Raspberry Pi's missing memory).
	enabled := map[string]bool{}
	names := map[string]bool{}
	for _, line := range r.lines("/proc/cgroups") {
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		names[f[0]] = true
		enabled[f[0]] = f[3] == "1"
	}
	if cg.Mode == CgroupV2 {
		// v2 names its controllers itself (io, not blkio; cpu holds
		// cpuacct); of /proc/cgroups only the disabled ones tell more.
		for n := range names {
			if enabled[n] {
				delete(names, n)
			}
		}
	}
	for c := range v2 {
		names[c] = true
		if _, ok := enabled[c]; !ok {
			enabled[c] = true
		}
	}
	for c := range v1 {
		names[c] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		c := Controller{Name: n}
		switch {
		case v1[n]:
			c.Hierarchy = "v1"
		case v2[n]:
			c.Hierarchy = "v2"
		}
		c.Usable = c.Hierarchy != "" && enabled[n]
		cg.Controllers = append(cg.Controllers, c)
	}
	return cg
}

// Controller returns the named controller, and whether the kernel has it.
func (c Cgroup) Controller(name string) (Controller, bool) {
	for _, ct := range c.Controllers {
		if ct.Name == name {
			return ct, true
		}
	}
	return Controller{}, false
}
