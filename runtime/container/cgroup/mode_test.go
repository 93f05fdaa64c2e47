package cgroup

import (
	"errors"
	"slices"
	"testing"
)

// The development machine: v1 controllers, one per mount, and a cgroup2
// mount at unified that holds only hugetlb.
const mountinfoHybrid = `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

// systemd's legacy layout (Debian 10, CentOS 7): co-mounted controllers.
const mountinfoV1 = `25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids
`

const mountinfoV2 = `24 18 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

func TestModeFromMountInfo(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       Mode
		err        error
	}{
		{"hybrid like the dev machine", mountinfoHybrid, ModeHybrid, nil},
		{"v1 with co-mounted controllers", mountinfoV1, ModeV1, nil},
		{"v2", mountinfoV2, ModeV2, nil},
		{"v2 with a stray named v1 hierarchy", mountinfoV2 + "40 24 0:37 / /run/sd rw - cgroup cgroup rw,name=systemd\n", ModeV2, nil},
		{"v2 at root wins over a stray v1 mount", mountinfoV2 + "40 24 0:37 / /mnt/cpu rw - cgroup cgroup rw,cpu\n", ModeV2, nil},
		{"cgroup2 elsewhere and no v1 controller", "24 18 0:22 / /run/cg2 rw - cgroup2 none rw\n", ModeV2, nil},
		{"none", "22 1 0:21 / /proc rw - proc proc rw\n", "", ErrNoCgroups},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ModeFromMountInfo([]byte(tc.text))
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("got %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
	if _, err := ModeFromMountInfo([]byte("garbage\n")); err == nil {
		t.Error("a malformed mountinfo line was accepted")
	}
}

func TestHierarchies(t *testing.T) {
	mounts, err := parseMountInfo([]byte(mountinfoV1 +
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n" +
		// the same hierarchy bind-mounted again, and one outside the root
		"50 25 0:27 / /sys/fs/cgroup/memory2 rw - cgroup cgroup rw,memory\n" +
		"51 25 0:40 / /opt/cg\\040x/perf rw - cgroup cgroup rw,perf_event\n"))
	if err != nil {
		t.Fatal(err)
	}
	v1, unified := hierarchies(mounts, "/sys/fs/cgroup/")
	var points []string
	for _, h := range v1 {
		points = append(points, h.point)
	}
	want := []string{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/net_cls,net_prio", "/sys/fs/cgroup/pids"}
	if !slices.Equal(points, want) {
		t.Errorf("hierarchies = %q, want %q", points, want)
	}
	if unified != "/sys/fs/cgroup/unified" {
		t.Errorf("unified = %q", unified)
	}
	if !v1[1].has("cpu") || !v1[1].has("cpuacct") || !v1[0].has("name=systemd") {
		t.Errorf("controllers = %v, %v", v1[0].controllers, v1[1].controllers)
	}
	all, _ := hierarchies(mounts, "/opt/cg x")
	if len(all) != 1 || all[0].point != "/opt/cg x/perf" {
		t.Errorf("escaped mount point: %+v", all)
	}
}
