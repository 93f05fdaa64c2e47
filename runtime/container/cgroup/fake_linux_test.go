package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf/asm"
)

// Tests on a fake cgroupfs: a directory tree holding the files the kernel
// would, so that what Create and friends write can be read back. The fake
// cannot refuse a value, so these pin file names, values and order; the
// root tests in real_linux_test.go check that the kernel takes them.

// writeTree makes files (and their directories) under root; a name ending
// in "/" is just a directory.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readTree(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// record makes m log every successful write as "path-under-base value".
func record(m *Manager, base string) *[]string {
	var log []string
	m.write = func(p, v string) error {
		if err := writeFile(p, v); err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		log = append(log, rel+" "+strings.TrimSuffix(v, "\n"))
		if filepath.Base(p) == "cgroup.freeze" {
			// What the kernel does once every task has stopped.
			return writeFile(filepath.Join(filepath.Dir(p), "cgroup.events"), "populated 1\nfrozen "+v+"\n")
		}
		return nil
	}
	return &log
}

func checkLog(t *testing.T, what string, got *[]string, want []string) {
	t.Helper()
	if !slices.Equal(*got, want) {
		t.Errorf("%s wrote:\n\t%s\nwant:\n\t%s", what, strings.Join(*got, "\n\t"), strings.Join(want, "\n\t"))
	}
	*got = nil
}

func v2Leaf(dir string) map[string]string {
	files := map[string]string{}
	for _, f := range []string{"memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "cpuset.cpus", "cpuset.mems",
		"pids.max", "io.weight", "cgroup.procs", "cgroup.freeze", "cgroup.kill"} {
		files[dir+"/"+f] = ""
	}
	files[dir+"/cgroup.events"] = "populated 0\nfrozen 0\n"
	return files
}

func fakeV2(t *testing.T) string {
	root := t.TempDir()
	files := v2Leaf("berth/c1")
	files["cgroup.controllers"] = "cpuset cpu io memory hugetlb pids rdma misc\n"
	files["cgroup.subtree_control"] = "memory\n"
	files["berth/cgroup.controllers"] = "cpuset cpu io memory pids\n"
	files["berth/cgroup.subtree_control"] = ""
	writeTree(t, root, files)
	return root
}

func TestV2Fake(t *testing.T) {
	root := fakeV2(t)
	m, err := New(root, ModeV2, "c1")
	if err != nil {
		t.Fatal(err)
	}
	log := record(m, root)
	var attachedTo string
	var program asm.Instructions
	m.attach = func(dir string, p asm.Instructions) error {
		attachedTo, program = dir, p
		return nil
	}

	const mi = 1 << 20
	err = m.Create(Resources{MemoryBytes: 64 * mi, MemorySwapBytes: 96 * mi, NanoCPUs: 1.5e9, CPUShares: 512,
		CPUSetCPUs: "0-1", CPUSetMems: "0", PidsLimit: 100, BlkioWeight: 500})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, "Create", log, []string{
		"cgroup.subtree_control +cpuset +cpu +io +pids", // memory was on; hugetlb, rdma, misc are not berth's
		"berth/cgroup.subtree_control +cpuset +cpu +io +memory +pids",
		"berth/c1/memory.max 67108864",
		"berth/c1/memory.swap.max 33554432",
		"berth/c1/cpu.max 150000 100000",
		"berth/c1/cpu.weight 20",
		"berth/c1/cpuset.cpus 0-1",
		"berth/c1/cpuset.mems 0",
		"berth/c1/pids.max 100",
		"berth/c1/io.weight 4950",
	})
	want, _ := compileDevices(DefaultDevices())
	if attachedTo != filepath.Join(root, "berth/c1") || fmt.Sprint(program) != fmt.Sprint(want.program()) {
		t.Errorf("device program attached to %q:\n%v", attachedTo, program)
	}

	if err := m.Update(Resources{}); err != nil {
		t.Fatal(err)
	}
	checkLog(t, "Update to no limits", log, []string{
		"berth/c1/memory.max max",
		"berth/c1/memory.swap.max max",
		"berth/c1/cpu.max max 100000",
		"berth/c1/cpu.weight 100",
		"berth/c1/cpuset.cpus ",
		"berth/c1/cpuset.mems ",
		"berth/c1/pids.max max",
	})

	if err := m.AddProc(4242); err != nil {
		t.Fatal(err)
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if err := m.Kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	checkLog(t, "AddProc, Freeze, Thaw, Kill", log, []string{
		"berth/c1/cgroup.procs 4242",
		"berth/c1/cgroup.freeze 1",
		"berth/c1/cgroup.freeze 0",
		"berth/c1/cgroup.kill 1",
	})
	if pids, err := m.Procs(); err != nil || !slices.Equal(pids, []int{4242}) {
		t.Errorf("Procs = %v, %v", pids, err)
	}
	fd, err := m.DirFD()
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd)

	writeTree(t, root, map[string]string{
		"berth/c1/memory.current": "1048576\n",
		"berth/c1/memory.stat":    "anon 524288\nfile 4096\n",
		"berth/c1/cpu.stat":       "usage_usec 10\nuser_usec 6\nsystem_usec 4\n",
		"berth/c1/pids.current":   "2\n",
		"berth/c1/pids.max":       "100\n",
		"berth/c1/memory.events":  "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
	})
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Memory.Usage != 1<<20 || st.Memory.RSS != 512<<10 || st.CPU.TotalNanos != 10000 || st.Pids.Current != 2 || st.Pids.Limit != 100 {
		t.Errorf("Stats = %+v", st)
	}
	if oom, err := m.OOMKilled(); !oom || err != nil {
		t.Errorf("OOMKilled = %v, %v", oom, err)
	}
}

// TestV2FakeFresh: on a cgroup it just made, Create writes only the limits
// asked for (the rest are the kernel's defaults already).
func TestV2FakeFresh(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"cgroup.controllers": "cpu memory pids\n", "cgroup.subtree_control": "",
		"berth/cgroup.controllers": "cpu memory pids\n", "berth/cgroup.subtree_control": "cpu memory pids\n"})
	m, _ := New(root, ModeV2, "c1")
	log := record(m, root)
	attached := false
	m.attach = func(string, asm.Instructions) error { attached = true; return nil }
	if err := m.Create(Resources{}); err != nil {
		t.Fatal(err)
	}
	checkLog(t, "Create", log, []string{"cgroup.subtree_control +cpu +memory +pids"})
	if !attached {
		t.Error("no device program")
	}
}

// TestV2FakeRollback: Create removes what it made when it fails.
func TestV2FakeRollback(t *testing.T) {
	t.Run("parent unreadable", func(t *testing.T) {
		root := t.TempDir()
		writeTree(t, root, map[string]string{"cgroup.controllers": "memory\n", "cgroup.subtree_control": ""})
		m, _ := New(root, ModeV2, "c1")
		m.attach = func(string, asm.Instructions) error { t.Error("attached"); return nil }
		// The fake kernel makes no cgroup.controllers in the new berth/.
		if err := m.Create(Resources{}); err == nil || !strings.Contains(err.Error(), "cgroup.controllers") {
			t.Errorf("Create = %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "berth")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("berth/ left behind: %v", err)
		}
	})
	t.Run("controller missing", func(t *testing.T) {
		root := t.TempDir()
		writeTree(t, root, map[string]string{"cgroup.controllers": "cpu pids\n", "cgroup.subtree_control": "",
			"berth/cgroup.controllers": "cpu pids\n", "berth/cgroup.subtree_control": ""})
		m, _ := New(root, ModeV2, "c1")
		m.attach = func(string, asm.Instructions) error { return nil }
		err := m.Create(Resources{MemoryBytes: 1 << 30})
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "memory.max") {
			t.Errorf("Create = %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "berth/c1")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("berth/c1 left behind: %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "berth")); err != nil {
			t.Errorf("berth/, which Create did not make, is gone: %v", err)
		}
	})
	t.Run("device program refused", func(t *testing.T) {
		root := t.TempDir()
		writeTree(t, root, map[string]string{"cgroup.controllers": "", "cgroup.subtree_control": "",
			"berth/cgroup.controllers": "", "berth/cgroup.subtree_control": ""})
		m, _ := New(root, ModeV2, "c1")
		m.attach = func(string, asm.Instructions) error { return errors.New("no BPF here") }
		if err := m.Create(Resources{}); err == nil || !strings.Contains(err.Error(), "no BPF here") {
			t.Errorf("Create = %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "berth/c1")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("berth/c1 left behind: %v", err)
		}
	})
}

// fakeHybrid lays out the development machine's hierarchies under a temp
// dir, with cpu and cpuacct co-mounted as most v1 distributions do.
func fakeHybrid(t *testing.T) (root string, mountinfo []byte) {
	root = t.TempDir()
	var mi strings.Builder
	for i, h := range []struct{ dir, opts, fstype string }{
		{"cpu,cpuacct", "rw,cpu,cpuacct", "cgroup"},
		{"cpuset", "rw,cpuset", "cgroup"},
		{"memory", "rw,memory", "cgroup"},
		{"devices", "rw,devices", "cgroup"},
		{"freezer", "rw,freezer", "cgroup"},
		{"blkio", "rw,blkio", "cgroup"},
		{"pids", "rw,pids", "cgroup"},
		{"systemd", "rw,xattr,name=systemd", "cgroup"},
		{"unified", "rw,nsdelegate", "cgroup2"},
	} {
		fmt.Fprintf(&mi, "%d 31 0:%d / %s rw,relatime - %s %s %s\n", 40+i, 29+i, filepath.Join(root, h.dir), h.fstype, h.fstype, h.opts)
		writeTree(t, root, map[string]string{h.dir + "/berth/c1/cgroup.procs": ""})
	}
	writeTree(t, root, map[string]string{
		"cpuset/cpuset.cpus": "0-3\n", "cpuset/cpuset.mems": "0\n",
		"cpuset/berth/cpuset.cpus": "\n", "cpuset/berth/cpuset.mems": "\n",
		"cpuset/berth/c1/cpuset.cpus": "", "cpuset/berth/c1/cpuset.mems": "",
		"cpu,cpuacct/berth/c1/cpu.cfs_period_us": "100000\n", "cpu,cpuacct/berth/c1/cpu.cfs_quota_us": "-1\n",
		"cpu,cpuacct/berth/c1/cpu.shares":             "1024\n",
		"memory/berth/c1/memory.limit_in_bytes":       "9223372036854771712\n",
		"memory/berth/c1/memory.memsw.limit_in_bytes": "9223372036854771712\n",
		"pids/berth/c1/pids.max":                      "max\n",
		"blkio/berth/c1/blkio.bfq.weight":             "100\n",
		"devices/berth/c1/devices.allow":              "", "devices/berth/c1/devices.deny": "",
		"freezer/berth/c1/freezer.state": "THAWED\n",
		"unified/cgroup.controllers":     "hugetlb\n", "unified/cgroup.subtree_control": "",
	})
	return root, []byte(mi.String())
}

func TestHybridFake(t *testing.T) {
	root, mi := fakeHybrid(t)
	if mode, err := ModeFromMountInfo(mi); mode != ModeHybrid || err != nil {
		t.Fatalf("mode %q, %v", mode, err)
	}
	m, err := New(root, ModeHybrid, "c1", MountInfo(mi))
	if err != nil {
		t.Fatal(err)
	}
	log := record(m, root)
	const mi64 = 64 << 20
	err = m.Create(Resources{MemoryBytes: mi64, MemorySwapBytes: mi64 + mi64/2, NanoCPUs: 1.5e9, CPUShares: 512,
		CPUSetCPUs: "1", PidsLimit: 100, BlkioWeight: 500})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, "Create", log, []string{
		"cpuset/berth/cpuset.cpus 0-3", // a new v1 cpuset is empty
		"cpuset/berth/cpuset.mems 0",
		"memory/berth/c1/memory.limit_in_bytes 67108864", // memory first: the new memsw is below the old limit
		"memory/berth/c1/memory.memsw.limit_in_bytes 100663296",
		"cpu,cpuacct/berth/c1/cpu.cfs_period_us 100000",
		"cpu,cpuacct/berth/c1/cpu.cfs_quota_us 150000",
		"cpu,cpuacct/berth/c1/cpu.shares 512",
		"cpuset/berth/c1/cpuset.cpus 1",
		"cpuset/berth/c1/cpuset.mems 0",
		"pids/berth/c1/pids.max 100",
		"blkio/berth/c1/blkio.bfq.weight 500", // no CFQ: BFQ's file
		"devices/berth/c1/devices.deny a",
		"devices/berth/c1/devices.allow c *:* m",
		"devices/berth/c1/devices.allow b *:* m",
		"devices/berth/c1/devices.allow c 1:3 rwm",
		"devices/berth/c1/devices.allow c 1:5 rwm",
		"devices/berth/c1/devices.allow c 1:7 rwm",
		"devices/berth/c1/devices.allow c 1:8 rwm",
		"devices/berth/c1/devices.allow c 1:9 rwm",
		"devices/berth/c1/devices.allow c 5:0 rwm",
		"devices/berth/c1/devices.allow c 5:1 rwm",
		"devices/berth/c1/devices.allow c 5:2 rwm",
		"devices/berth/c1/devices.allow c 136:* rwm",
		"devices/berth/c1/devices.allow c 10:200 rwm",
	})

	// Raising: memsw first, as the new memory limit is above the old memsw.
	if err := m.Update(Resources{MemoryBytes: 4 * mi64, MemorySwapBytes: 8 * mi64}); err != nil {
		t.Fatal(err)
	}
	if got := (*log)[:2]; !slices.Equal(got, []string{
		"memory/berth/c1/memory.memsw.limit_in_bytes 536870912",
		"memory/berth/c1/memory.limit_in_bytes 268435456",
	}) {
		t.Errorf("raising the limits wrote %q first", got)
	}
	*log = nil

	if err := m.AddProc(4242); err != nil {
		t.Fatal(err)
	}
	checkLog(t, "AddProc", log, []string{
		"cpu,cpuacct/berth/c1/cgroup.procs 4242", "cpuset/berth/c1/cgroup.procs 4242",
		"memory/berth/c1/cgroup.procs 4242", "devices/berth/c1/cgroup.procs 4242",
		"freezer/berth/c1/cgroup.procs 4242", "blkio/berth/c1/cgroup.procs 4242",
		"pids/berth/c1/cgroup.procs 4242", "systemd/berth/c1/cgroup.procs 4242",
		"unified/berth/c1/cgroup.procs 4242", // membership only: nothing else is written there
	})
	if got := readTree(t, root, "unified/cgroup.subtree_control"); got != "" {
		t.Errorf("the hybrid cgroup2 mount's subtree_control was written: %q", got)
	}
	if _, err := m.DirFD(); !errors.Is(err, ErrNotSupported) {
		t.Errorf("DirFD on hybrid = %v, want ErrNotSupported", err)
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, root, "freezer/berth/c1/freezer.state"); got != "FROZEN" {
		t.Errorf("freezer.state = %q", got)
	}

	// Swap accounting off: asking for swap is an error, not asking is fine.
	if err := os.Remove(filepath.Join(root, "memory/berth/c1/memory.memsw.limit_in_bytes")); err != nil {
		t.Fatal(err)
	}
	err = m.Update(Resources{MemoryBytes: mi64, MemorySwapBytes: 2 * mi64})
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "swapaccount=1") {
		t.Errorf("swap without swap accounting: %v", err)
	}
	if err := m.Update(Resources{MemoryBytes: mi64, MemorySwapBytes: -1}); err != nil {
		t.Errorf("unlimited swap without swap accounting: %v", err)
	}
	// No blkio weight file at all.
	if err := os.Remove(filepath.Join(root, "blkio/berth/c1/blkio.bfq.weight")); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(Resources{BlkioWeight: 300}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("blkio weight with no weight file: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, id := range []string{"", ".", "..", "a/b"} {
		if _, err := New(t.TempDir(), ModeV2, id); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
	if _, err := New(t.TempDir(), "v3", "c1"); err == nil {
		t.Error("mode v3 accepted")
	}
	if _, err := New(t.TempDir(), ModeV2, "c1", Parent("../x")); err == nil {
		t.Error("parent ../x accepted")
	}
	if _, err := New(t.TempDir(), ModeV1, "c1", MountInfo([]byte(mountinfoV2))); !errors.Is(err, ErrNotSupported) {
		t.Errorf("v1 with no v1 hierarchy: %v", err)
	}
}

// TestMkdirsStartsOver: the parent vanishing between its mkdir and the
// leaf's (another process removing an empty berth/) is not an error.
func TestMkdirsStartsOver(t *testing.T) {
	base := t.TempDir()
	removed := false
	made, err := mkdirs(base, "berth/c1", func(dir string) error {
		if dir == filepath.Join(base, "berth") && !removed {
			removed = true
			return os.Remove(dir)
		}
		return nil
	})
	if err != nil || !removed {
		t.Fatalf("mkdirs: %v (removed %v)", err, removed)
	}
	if want := []string{filepath.Join(base, "berth"), filepath.Join(base, "berth/c1")}; !slices.Equal(made, want) {
		t.Errorf("made %q, want %q", made, want)
	}
}
