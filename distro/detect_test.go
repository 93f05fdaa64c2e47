package distro

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// This machine's layout: v1 controllers and a cgroup2 mount holding hugetlb.
const hybridMountinfo = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const hybridCgroups = `#subsys_name	hierarchy	num_cgroups	enabled
cpu	1	1	1
memory	4	46	1
devices	5	1	1
net_cls	0	1	1
hugetlb	0	1	1
pids	8	1	1
`

func TestDetectCgroup(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		mode        string
		usable      []string
		notUsable   []string
		v2Mount     string
		absentNames []string
	}{
		{
			name:      "hybrid, hugetlb in v2",
			files:     map[string]string{"proc/self/mountinfo": hybridMountinfo, "proc/cgroups": hybridCgroups, "sys/fs/cgroup/unified/cgroup.controllers": "hugetlb\n"},
			mode:      CgroupHybrid,
			usable:    []string{"cpu", "memory", "devices", "pids", "hugetlb"},
			notUsable: []string{"net_cls"},
			v2Mount:   "/sys/fs/cgroup/unified",
		},
		{
			name: "v2 only",
			files: map[string]string{
				"proc/self/mountinfo":              "27 1 8:1 / / rw - ext4 /dev/sda1 rw\n30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
				"proc/cgroups":                     "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t80\t1\nblkio\t0\t80\t1\nmemory\t0\t80\t1\n",
				"sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
			},
			mode:        CgroupV2,
			usable:      []string{"cpu", "io", "memory", "pids"},
			v2Mount:     "/sys/fs/cgroup",
			absentNames: []string{"blkio"},
		},
		{
			name: "v1 with memory disabled (Raspberry Pi)",
			files: map[string]string{
				"proc/self/mountinfo": "20 1 179:2 / / rw - ext4 /dev/root rw\n25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
				"proc/cgroups":        "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t2\t1\t1\ncpuacct\t2\t1\t1\nmemory\t0\t1\t0\n",
			},
			mode:      CgroupV1,
			usable:    []string{"cpu", "cpuacct"},
			notUsable: []string{"memory"},
		},
		{
			name:  "offline root: no mounts",
			files: map[string]string{"etc/os-release": "ID=debian\n"},
			mode:  "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := writeRoot(t, tt.files)
			cg := detectCgroup(r, readMountInfo(r))
			if cg.Mode != tt.mode || cg.V2Mount != tt.v2Mount {
				t.Fatalf("mode %q v2 %q, want %q %q", cg.Mode, cg.V2Mount, tt.mode, tt.v2Mount)
			}
			for _, n := range tt.usable {
				if c, _ := cg.Controller(n); !c.Usable {
					t.Errorf("%s not usable: %+v", n, c)
				}
			}
			for _, n := range tt.notUsable {
				if c, ok := cg.Controller(n); !ok || c.Usable {
					t.Errorf("%s: %+v %v, want known and unusable", n, c, ok)
				}
			}
			for _, n := range tt.absentNames {
				if _, ok := cg.Controller(n); ok {
					t.Errorf("%s listed on v2", n)
				}
			}
		})
	}
}

func TestDetectInit(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		system  string
		running bool
	}{
		{"systemd running", map[string]string{"sbin/init": "->/lib/systemd/systemd", "lib/systemd/systemd": "", "proc/1/comm": "systemd\n"}, "systemd", true},
		{"systemd installed, PID 1 another", map[string]string{"sbin/init": "->/lib/systemd/systemd", "lib/systemd/systemd": "", "proc/1/comm": "process_api\n"}, "systemd", false},
		{"merged usr", map[string]string{"sbin": "->usr/sbin", "usr/sbin/init": "->../lib/systemd/systemd", "usr/lib/systemd/systemd": "", "proc/1/comm": "systemd\n"}, "systemd", true},
		{"upstart", map[string]string{"sbin/init": "", "sbin/initctl": "", "etc/init/ssh.conf": "", "proc/1/comm": "init\n"}, "upstart", true},
		{"sysvinit", map[string]string{"sbin/init": "", "etc/inittab": "id:2:initdefault:\n", "proc/1/comm": "init\n"}, "sysvinit", true},
		{"openrc", map[string]string{"sbin/init": "->/bin/busybox", "bin/busybox": "", "sbin/openrc": "", "run/openrc/softlevel": "", "proc/1/comm": "init\n"}, "openrc", true},
		{"nothing", map[string]string{"etc/hostname": "x\n"}, "unknown", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := detectInit(writeRoot(t, tt.files))
			if in.System != tt.system || in.Running != tt.running {
				t.Errorf("got %+v, want %s running=%v", in, tt.system, tt.running)
			}
		})
	}
}

func TestDetectContainer(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"docker", map[string]string{".dockerenv": "", "proc/self/mountinfo": "600 500 0:50 / / rw - overlay overlay rw,lowerdir=/a\n"}, "docker"},
		{"stale .dockerenv on a VM disk", map[string]string{".dockerenv": "", "proc/self/mountinfo": hybridMountinfo}, ""},
		{"podman", map[string]string{"run/.containerenv": ""}, "podman"},
		{"nspawn", map[string]string{"run/systemd/container": "systemd-nspawn\n"}, "systemd-nspawn"},
		{"kubernetes cgroup", map[string]string{"proc/1/cgroup": "0::/kubepods/besteffort/pod1/abc\n"}, "kubepods"},
		{"host", map[string]string{"proc/1/cgroup": "0::/init.scope\n"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := writeRoot(t, tt.files)
			if got, _ := detectContainer(r, readMountInfo(r)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadRoutesAndOverlap(t *testing.T) {
	r := writeRoot(t, map[string]string{"proc/net/route": "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
		"eth0\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n" +
		"docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n" +
		"wg0\t0000D50A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"})
	routes := readRoutes(r)
	want := []string{"192.168.2.0/24", "172.17.0.0/16", "10.213.0.0/16"}
	if strings.Join(routes, " ") != strings.Join(want, " ") {
		t.Fatalf("routes %v, want %v", routes, want)
	}
	if got := overlapping(DefaultBridgeSubnet, routes); got != "10.213.0.0/16" {
		t.Errorf("overlap %q", got)
	}
	if got := overlapping(DefaultBridgeSubnet, routes[:2]); got != "" {
		t.Errorf("overlap %q with no 10.213 route", got)
	}
	if got := bridgeSubnet(r, "docker0"); got != "172.17.0.0/16" {
		t.Errorf("docker0 subnet %q", got)
	}
}

func TestMountFor(t *testing.T) {
	mounts := []mountInfo{
		{mountPoint: "/", fsType: "ext4"},
		{mountPoint: "/var", fsType: "xfs"},
		{mountPoint: "/var/lib/docker", fsType: "btrfs"},
		{mountPoint: "/mnt/with space", fsType: "tmpfs"},
	}
	for p, want := range map[string]string{
		"/var/lib/berth": "xfs", "/var/lib/docker/x": "btrfs", "/variable": "ext4", "/mnt/with space/a": "tmpfs",
	} {
		if m, _ := mountFor(mounts, p); m.fsType != want {
			t.Errorf("%s on %s, want %s", p, m.fsType, want)
		}
	}
	if got := unescapeMount(`/mnt/with\040space`); got != "/mnt/with space" {
		t.Errorf("unescape: %q", got)
	}
}

func TestRootResolvesSymlinksInside(t *testing.T) {
	r := writeRoot(t, map[string]string{
		"bin":          "->usr/bin",
		"usr/bin/sh":   "->dash",
		"usr/bin/dash": "DASH",
		"etc/escape":   "->../../../../../../etc/passwd",
		"etc/abs":      "->/usr/bin/dash",
		"etc/loop":     "->/etc/loop",
	})
	if got := r.text("/bin/sh"); got != "DASH" {
		t.Errorf("/bin/sh read %q", got)
	}
	if got := r.realpath("/bin/sh"); got != "/usr/bin/dash" {
		t.Errorf("realpath %q", got)
	}
	if got := r.text("/etc/abs"); got != "DASH" {
		t.Errorf("absolute link read %q: it must resolve inside the root", got)
	}
	if r.exists("/etc/escape") {
		t.Error("a link climbing out of the root reached the host's /etc/passwd")
	}
	if _, err := r.resolve("/etc/loop"); !errors.Is(err, errLoop) {
		t.Errorf("loop: %v", err)
	}
}

func TestDetectRootErrors(t *testing.T) {
	for _, root := range []string{"/nonexistent/berth", "/etc/hostname"} {
		if _, err := Detect(context.Background(), root); !errors.Is(err, ErrRoot) {
			t.Errorf("Detect(%s) = %v, want ErrRoot", root, err)
		}
	}
	if _, err := Detect(context.Background(), "/", WithDataRoot("relative")); err == nil {
		t.Error("a relative data root was accepted")
	}
}

// TestDetectThisMachine checks the live report against what the kernel and
// the files say directly.
func TestDetectThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the live test reads a Linux host")
	}
	rep, err := Inspect(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	if want := unix.ByteSliceToString(u.Release[:]); rep.Kernel.Release != want {
		t.Errorf("kernel %q, uname says %q", rep.Kernel.Release, want)
	}
	if want := archFromMachine(unix.ByteSliceToString(u.Machine[:])); rep.Arch != want || rep.ArchInfo.Source != "uname" {
		t.Errorf("arch %q from %s, want %q from uname", rep.Arch, rep.ArchInfo.Source, want)
	}
	if !rep.Live || rep.OS != "linux" {
		t.Errorf("live %v os %q", rep.Live, rep.OS)
	}
	for _, id := range []string{"distro.support", "arch", "kernel.version", "cgroup.mode", "storage.overlay", "network.ip_forward", "env.memory"} {
		if _, ok := checkByID(rep.Checks, id); !ok {
			t.Errorf("no %s check on the live host", id)
		}
	}
	// The machine kind this project runs on, as the issue describes it.
	if v, _ := os.ReadFile("/etc/debian_version"); strings.HasPrefix(string(v), "12.") && strings.Contains(rep.Kernel.Release, "-fc-") {
		if rep.Distro.ID != "debian" || rep.Distro.Version != "12" || rep.Distro.Codename != "bookworm" || rep.Distro.Support != Supported {
			t.Errorf("distro %+v, want Debian 12 bookworm, supported", rep.Distro)
		}
		if rep.Cgroup.Mode != CgroupHybrid {
			t.Errorf("cgroup mode %q, want hybrid", rep.Cgroup.Mode)
		}
		if c, _ := rep.Cgroup.Controller("memory"); c.Hierarchy != "v1" || !c.Usable {
			t.Errorf("memory controller %+v, want usable v1", c)
		}
		if rep.Storage.Overlay != "yes" {
			t.Errorf("overlay %q", rep.Storage.Overlay)
		}
		if rep.Init.System != "systemd" || rep.Init.Running {
			t.Errorf("init %+v, want systemd installed but not PID 1", rep.Init)
		}
		if rep.Environment.Container != "" {
			t.Errorf("container %q: this machine is a VM", rep.Environment.Container)
		}
	}
}
