package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Mode is the host's cgroup layout.
type Mode string

const (
	// ModeV1 has only v1 hierarchies.
	ModeV1 Mode = "v1"
	// ModeHybrid has v1 controllers plus a cgroup2 mount (systemd's
	// /sys/fs/cgroup/unified). It counts as v1 for every controller.
	ModeHybrid Mode = "hybrid"
	// ModeV2 is the unified hierarchy alone, mounted at the root.
	ModeV2 Mode = "v2"
)

var (
	// ErrNotSupported says the kernel or the host's layout lacks what was
	// asked for (a controller, swap accounting, a file, a platform).
	ErrNotSupported = errors.New("not supported")
	// ErrNoCgroups says no cgroup filesystem is mounted.
	ErrNoCgroups = errors.New("no cgroup filesystem mounted")
)

// v1Controllers are the v1 subsystems the kernel knows; mount options that
// are not among them (rw, xattr, clone_children, ...) are not controllers.
var v1Controllers = []string{
	"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb",
	"memory", "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma",
}

// mount is one cgroup filesystem from the mount table.
type mount struct {
	point string
	v2    bool
	// controllers of a v1 hierarchy, with named ones as "name=systemd".
	controllers []string
}

func (m mount) has(controller string) bool { return slices.Contains(m.controllers, controller) }

// realControllers says whether a v1 mount carries a resource controller and
// is not just a named hierarchy such as name=systemd.
func (m mount) realControllers() bool {
	for _, c := range m.controllers {
		if !strings.HasPrefix(c, "name=") {
			return true
		}
	}
	return false
}

// ModeFromMountInfo tells the layout from the text of /proc/<pid>/mountinfo.
// The unified hierarchy mounted at /sys/fs/cgroup is v2 whatever else is
// mounted; otherwise any v1 hierarchy with a controller makes it v1, or
// hybrid when a cgroup2 filesystem is mounted too; a cgroup2 mount elsewhere
// with no v1 controllers is v2.
func ModeFromMountInfo(mountinfo []byte) (Mode, error) {
	mounts, err := parseMountInfo(mountinfo)
	if err != nil {
		return "", err
	}
	var v1, v2 bool
	for _, m := range mounts {
		switch {
		case m.v2 && m.point == "/sys/fs/cgroup":
			return ModeV2, nil
		case m.v2:
			v2 = true
		case m.realControllers():
			v1 = true
		}
	}
	switch {
	case v1 && v2:
		return ModeHybrid, nil
	case v1:
		return ModeV1, nil
	case v2:
		return ModeV2, nil
	}
	return "", ErrNoCgroups
}

// parseMountInfo returns the cgroup and cgroup2 mounts of a mountinfo text
// (proc(5)): "36 35 98:0 /root /mnt opts [optional...] - fstype source superopts".
func parseMountInfo(text []byte) ([]mount, error) {
	var mounts []mount
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		pre, post, ok := strings.Cut(line, " - ")
		fields := strings.Fields(pre)
		tail := strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			return nil, fmt.Errorf("mountinfo line %d: malformed: %q", n, line)
		}
		fstype := tail[0]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		m := mount{point: filepath.Clean(unescapeMount(fields[4])), v2: fstype == "cgroup2"}
		if !m.v2 && len(tail) >= 3 {
			for _, opt := range strings.Split(tail[2], ",") {
				if strings.HasPrefix(opt, "name=") || slices.Contains(v1Controllers, opt) {
					m.controllers = append(m.controllers, opt)
				}
			}
			if len(m.controllers) == 0 {
				continue
			}
		}
		mounts = append(mounts, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	return mounts, nil
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space, ...)
// in a mountinfo path.
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

// under says whether path is dir or inside it.
func under(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// hierarchies picks the mounts under root that a manager uses: the v1
// hierarchies (one per distinct controller set) and, for hybrid, the cgroup2
// mount.
func hierarchies(mounts []mount, root string) (v1 []mount, unified string) {
	root = filepath.Clean(root)
	seen := map[string]bool{}
	for _, m := range mounts {
		if !under(m.point, root) {
			continue
		}
		if m.v2 {
			if unified == "" {
				unified = m.point
			}
			continue
		}
		key := strings.Join(slices.Sorted(slices.Values(m.controllers)), ",")
		if seen[key] {
			continue
		}
		seen[key] = true
		v1 = append(v1, m)
	}
	return v1, unified
}
