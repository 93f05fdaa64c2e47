package distro

import (
	"path"
	"strings"
)

// Module states, as moduleState reports them.
const (
	moduleLoaded    = "loaded"
	moduleBuiltin   = "builtin"
	moduleAvailable = "module"
)

// moduleState says whether the kernel module name is "loaded", "builtin"
// (compiled into the kernel), available to load ("module"), or "" when the
// root shows no trace of it. release is the kernel whose module directory is
// read; "-" and "_" in names are the same module, as modprobe treats them.
func moduleState(r rootFS, release, name string) string {
	return readModuleIndex(r, release).state(name)
}

// moduleEvidence says in words what the index knows of module name, "" when
// nothing.
func moduleEvidence(m moduleIndex, name string) string {
	switch m.state(name) {
	case moduleLoaded:
		return name + " module loaded"
	case moduleBuiltin:
		return name + " built into the kernel"
	case moduleAvailable:
		return name + " module available"
	}
	return ""
}

// moduleIndex is what a root says about the kernel modules of one release,
// read once so that asking about many modules reads each file once.
type moduleIndex struct {
	r rootFS
	// procModules is false when /proc/modules could not be read; only then
	// is /sys/module asked whether a module is loaded.
	procModules bool
	loaded      map[string]bool
	builtin     map[string]bool
	available   map[string]bool
}

func readModuleIndex(r rootFS, release string) moduleIndex {
	m := moduleIndex{
		r:         r,
		loaded:    map[string]bool{},
		builtin:   map[string]bool{},
		available: map[string]bool{},
	}
	if lines := r.lines("/proc/modules"); lines != nil {
		m.procModules = true
		for _, l := range lines {
			if name, _, _ := strings.Cut(l, " "); name != "" {
				m.loaded[normModule(name)] = true
			}
		}
	}
	if release == "" || strings.Contains(release, "/") {
		return m
	}
	// Merged-/usr systems keep modules under /usr/lib/modules; older ones
	// under /lib/modules, and some have both.
	for _, dir := range []string{"/lib/modules/" + release, "/usr/lib/modules/" + release} {
		for _, l := range r.lines(dir + "/modules.builtin") {
			if name := moduleFileName(l); name != "" {
				m.builtin[name] = true
			}
		}
		for _, l := range r.lines(dir + "/modules.dep") {
			file, _, _ := strings.Cut(l, ":")
			if name := moduleFileName(file); name != "" {
				m.available[name] = true
			}
		}
	}
	return m
}

func (m moduleIndex) state(name string) string {
	n := normModule(name)
	if n == "" || strings.Contains(n, "/") {
		return ""
	}
	switch {
	case m.loaded[n]:
		return moduleLoaded
	// Only a loadable module has an initstate; /sys/module/<name> alone also
	// exists for built-in code that has parameters.
	case !m.procModules && m.r.exists("/sys/module/"+n+"/initstate"):
		return moduleLoaded
	case m.builtin[n]:
		return moduleBuiltin
	case m.available[n]:
		return moduleAvailable
	case m.r.exists("/sys/module/"+n) && !m.r.exists("/sys/module/"+n+"/initstate"):
		return moduleBuiltin
	}
	return ""
}

// moduleFileName returns the module name of a path in modules.dep or
// modules.builtin (kernel/net/bridge/br_netfilter.ko.zst), "" if it names no
// module.
func moduleFileName(p string) string {
	base := path.Base(strings.TrimSpace(p))
	for _, z := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, z)
	}
	name, ok := strings.CutSuffix(base, ".ko")
	if !ok {
		return ""
	}
	return normModule(name)
}

func normModule(name string) string {
	return strings.ReplaceAll(strings.TrimSpace(name), "-", "_")
}
