package cgroup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// Manager is one container's cgroup. See the package comment.
type Manager struct {
	mode   Mode
	id     string
	root   string
	parent string
	// v1 and hybrid: one leaf per v1 hierarchy.
	v1 []hierarchy
	// v2: the leaf. hybrid: the leaf in the cgroup2 mount (membership only),
	// "" when none is mounted.
	unified string
	// hybrid: that cgroup2 mount.
	unifiedMount string

	// Seams for tests on a fake cgroupfs.
	write  func(path, value string) error
	attach func(dir string, program asm.Instructions) error
}

type hierarchy struct {
	mount       string
	controllers []string
	dir         string
}

// DetectMode reads /proc/self/mountinfo and tells the host's layout.
func DetectMode() (Mode, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("detecting the cgroup mode: %w", err)
	}
	return ModeFromMountInfo(b)
}

// New prepares the cgroup "<parent>/<id>" under root (normally
// /sys/fs/cgroup; for v2, the cgroup2 mount point) without touching the
// filesystem. v1 and hybrid find their hierarchies in the mount table.
func New(root string, mode Mode, id string, opts ...Option) (*Manager, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	m := &Manager{mode: mode, id: id, root: filepath.Clean(root), parent: o.parent, write: writeFile, attach: attachDeviceProgram}
	switch mode {
	case ModeV2:
		m.unified = filepath.Join(m.root, o.parent, id)
	case ModeV1, ModeHybrid:
		mi := o.mountinfo
		if mi == nil {
			if mi, err = os.ReadFile("/proc/self/mountinfo"); err != nil {
				return nil, fmt.Errorf("finding cgroup hierarchies: %w", err)
			}
		}
		mounts, err := parseMountInfo(mi)
		if err != nil {
			return nil, err
		}
		v1, unified := hierarchies(mounts, m.root)
		if len(v1) == 0 {
			return nil, fmt.Errorf("no cgroup v1 hierarchy is mounted under %s (mode %s): %w", m.root, mode, ErrNotSupported)
		}
		for _, h := range v1 {
			m.v1 = append(m.v1, hierarchy{mount: h.point, controllers: h.controllers, dir: filepath.Join(h.point, o.parent, id)})
		}
		if mode == ModeHybrid && unified != "" {
			m.unified, m.unifiedMount = filepath.Join(unified, o.parent, id), unified
		}
	default:
		return nil, fmt.Errorf("unknown cgroup mode %q: want %s, %s or %s", mode, ModeV1, ModeHybrid, ModeV2)
	}
	return m, nil
}

// Mode is the layout the manager works in.
func (m *Manager) Mode() Mode { return m.mode }

// Path is the cgroup's path relative to each hierarchy's root ("berth/<id>").
func (m *Manager) Path() string { return filepath.Join(m.parent, m.id) }

// dir is the leaf of the v1 hierarchy holding controller, "" when none does.
func (m *Manager) dir(controller string) string {
	for _, h := range m.v1 {
		if slices.Contains(h.controllers, controller) {
			return h.dir
		}
	}
	return ""
}

// leaves are every directory the cgroup has.
func (m *Manager) leaves() []string {
	var out []string
	for _, h := range m.v1 {
		out = append(out, h.dir)
	}
	if m.unified != "" {
		out = append(out, m.unified)
	}
	return out
}

// primary is the directory whose cgroup.procs lists the processes.
func (m *Manager) primary() string {
	if m.mode == ModeV2 {
		return m.unified
	}
	for _, c := range []string{"freezer", "pids", "memory", "cpu", "cpuacct", "devices"} {
		if d := m.dir(c); d != "" {
			return d
		}
	}
	return m.v1[0].dir
}

func (m *Manager) exists() error {
	if _, err := os.Stat(m.primary()); err != nil {
		return fmt.Errorf("cgroup %s: %w", m.Path(), err)
	}
	return nil
}

// Create makes the cgroup and applies r, devices included. It may be called
// again on an existing cgroup. On failure it removes the directories it made.
func (m *Manager) Create(r Resources) (err error) {
	if err := r.Validate(); err != nil {
		return err
	}
	devs, err := compileDevices(r.devices())
	if err != nil {
		return err
	}
	var made []string
	defer func() {
		if err != nil {
			for _, d := range slices.Backward(made) {
				_ = unix.Rmdir(d) // an intermediate dir another container uses stays
			}
			err = fmt.Errorf("creating cgroup %s: %w", m.Path(), err)
		}
	}()
	if m.mode == ModeV2 {
		if made, err = m.mkdirV2(); err != nil {
			return err
		}
		if err = m.setV2(r, m.fresh(made)); err != nil {
			return err
		}
		if err = m.attach(m.unified, devs.program()); err != nil {
			return fmt.Errorf("devices: %w", err)
		}
		return nil
	}
	if made, err = m.mkdirV1(); err != nil {
		return err
	}
	if err = m.setV1(r, m.fresh(made)); err != nil {
		return err
	}
	return m.devicesV1(devs)
}

// fresh says whether Create just made every leaf, so that the limits not
// asked for are at the kernel's defaults and need no write.
func (m *Manager) fresh(made []string) bool {
	for _, d := range m.leaves() {
		if !slices.Contains(made, d) {
			return false
		}
	}
	return true
}

// Adopt makes the cgroup out of one created ahead under the same parent
// (named spare, with default resources), on v1 and hybrid hosts: each v1
// directory is renamed, which the kernel does at once, the unified one
// (membership only, and cgroup2 does not rename) is made afresh, then r
// is applied as Create applies it. A start that adopts a spare does not
// wait for the cgroup's creation. On failure nothing of the spare's is
// left in place of the cgroup: the caller falls back to Create.
func (m *Manager) Adopt(spare string, r Resources) (err error) {
	if m.mode == ModeV2 {
		return fmt.Errorf("adopting cgroup %s: cgroup v2 does not rename: %w", spare, ErrNotSupported)
	}
	if err := checkID(spare); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	devs, err := compileDevices(r.devices())
	if err != nil {
		return err
	}
	var renamed []hierarchy
	defer func() {
		if err != nil {
			for _, h := range renamed {
				os.Rename(h.dir, filepath.Join(filepath.Dir(h.dir), spare))
			}
			err = fmt.Errorf("adopting cgroup %s as %s: %w", spare, m.Path(), err)
		}
	}()
	for _, h := range m.v1 {
		if err := os.Rename(filepath.Join(filepath.Dir(h.dir), spare), h.dir); err != nil {
			return err
		}
		renamed = append(renamed, h)
	}
	if m.unified != "" {
		if _, err := mkdirs(m.unifiedMount, m.Path(), nil); err != nil {
			return err
		}
		unix.Rmdir(filepath.Join(filepath.Dir(m.unified), spare))
	}
	if err := m.setV1(r, true); err != nil {
		return err
	}
	return m.devicesV1(devs)
}

// Update applies r to an existing cgroup, devices aside.
func (m *Manager) Update(r Resources) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := m.exists(); err != nil {
		return err
	}
	var err error
	if m.mode == ModeV2 {
		err = m.setV2(r, false)
	} else {
		err = m.setV1(r, false)
	}
	if err != nil {
		return fmt.Errorf("updating cgroup %s: %w", m.Path(), err)
	}
	return nil
}

// mkdirs makes base/rel level by level, calling each(dir) on every level
// before going down into it (base included), and returns what it made. A
// level removed under it meanwhile (an empty berth/ going away while the
// daemon's Cleanup runs, say) makes it start over.
func mkdirs(base, rel string, each func(dir string) error) ([]string, error) {
	var made []string
	for attempt := 0; ; attempt++ {
		gone, err := func() (bool, error) {
			cur := base
			for _, c := range strings.Split(rel, "/") {
				if each != nil {
					if err := each(cur); err != nil {
						return false, err
					}
				}
				cur = filepath.Join(cur, c)
				err := os.Mkdir(cur, 0o755)
				switch {
				case err == nil && !slices.Contains(made, cur):
					made = append(made, cur)
				case err == nil:
				case errors.Is(err, fs.ErrNotExist):
					return cur != filepath.Join(base, c), err
				case !errors.Is(err, fs.ErrExist):
					return false, err
				}
			}
			return false, nil
		}()
		if !gone || attempt == 2 {
			return made, err
		}
	}
}

func (m *Manager) mkdirV1() ([]string, error) {
	var made []string
	for _, h := range m.v1 {
		var each func(string) error
		if slices.Contains(h.controllers, "cpuset") {
			// A new v1 cpuset is empty and takes no task: fill every level
			// in between from its parent (the leaf gets its values in setV1).
			each = func(dir string) error {
				if dir == h.mount {
					return nil
				}
				return m.fillCpuset(dir)
			}
		}
		more, err := mkdirs(h.mount, m.Path(), each)
		made = append(made, more...)
		if err != nil {
			return made, err
		}
	}
	if m.unified != "" {
		more, err := mkdirs(m.unifiedMount, m.Path(), nil)
		made = append(made, more...)
		if err != nil {
			return made, err
		}
	}
	return made, nil
}

// fillCpuset copies the parent's cpus and mems into dir where dir has none.
func (m *Manager) fillCpuset(dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(b)) != "" {
			continue
		}
		p, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f))
		if err != nil {
			return err
		}
		if err := m.write(filepath.Join(dir, f), strings.TrimSpace(string(p))); err != nil {
			return err
		}
	}
	return nil
}

// v2Controllers are the controllers enabled for the cgroups, where offered.
var v2Controllers = []string{"cpuset", "cpu", "io", "memory", "pids"}

func (m *Manager) mkdirV2() ([]string, error) {
	return mkdirs(m.root, m.Path(), m.enableControllers)
}

// enableControllers turns on, in dir's cgroup.subtree_control, those of
// v2Controllers that dir offers and has not enabled. A controller the kernel
// refuses (cpuset next to a realtime task, ...) does not cost the others; a
// limit that needs it then fails on its missing file.
func (m *Manager) enableControllers(dir string) error {
	avail, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return err
	}
	on, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return err
	}
	enabled := strings.Fields(strings.ReplaceAll(string(on), "+", ""))
	var want []string
	for _, c := range v2Controllers {
		if slices.Contains(strings.Fields(string(avail)), c) && !slices.Contains(enabled, c) {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	file := filepath.Join(dir, "cgroup.subtree_control")
	if err := m.write(file, strings.Join(want, " ")); err != nil {
		for _, c := range want {
			_ = m.write(file, c)
		}
	}
	return nil
}

// set writes value to a controller's file. A missing controller or file is
// fine for a value the caller did not ask for, and ErrNotSupported otherwise.
func (m *Manager) set(dir, controller, file, value string, asked bool, what string) error {
	if dir == "" {
		if asked {
			return fmt.Errorf("%s: no %s cgroup hierarchy is mounted: %w", what, controller, ErrNotSupported)
		}
		return nil
	}
	path := filepath.Join(dir, file)
	err := m.write(path, value)
	if errors.Is(err, fs.ErrNotExist) {
		if !asked {
			return nil
		}
		return fmt.Errorf("%s: this kernel has no %s (the %s controller is missing or off): %w", what, file, controller, ErrNotSupported)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// setter is set, except that on a cgroup Create has just made (fresh) it
// writes only the values asked for: the others are the kernel's defaults
// already, and a container start is cheaper for each write saved.
func (m *Manager) setter(fresh bool) func(dir, controller, file, value string, asked bool, what string) error {
	return func(dir, controller, file, value string, asked bool, what string) error {
		if fresh && !asked {
			return nil
		}
		return m.set(dir, controller, file, value, asked, what)
	}
}

func (m *Manager) setV1(r Resources, fresh bool) error {
	set := m.setter(fresh)
	if err := m.memoryV1(r, fresh); err != nil {
		return err
	}
	cpu := m.dir("cpu")
	if err := set(cpu, "cpu", "cpu.cfs_period_us", strconv.Itoa(cfsPeriod), r.NanoCPUs > 0, "--cpus"); err != nil {
		return err
	}
	if err := set(cpu, "cpu", "cpu.cfs_quota_us", minusOneOr(r.cpuQuota()), r.NanoCPUs > 0, "--cpus"); err != nil {
		return err
	}
	shares := int64(1024)
	if r.CPUShares > 0 {
		shares = clampShares(r.CPUShares)
	}
	if err := set(cpu, "cpu", "cpu.shares", strconv.FormatInt(shares, 10), r.CPUShares > 0, "--cpu-shares"); err != nil {
		return err
	}
	if cs := m.dir("cpuset"); cs != "" || r.CPUSetCPUs != "" || r.CPUSetMems != "" {
		for _, f := range []struct{ file, value, flag string }{
			{"cpuset.cpus", r.CPUSetCPUs, "--cpuset-cpus"},
			{"cpuset.mems", r.CPUSetMems, "--cpuset-mems"},
		} {
			v := f.value
			if v == "" && cs != "" {
				// Unset is the parent's set (an empty v1 cpuset runs nothing).
				b, err := os.ReadFile(filepath.Join(filepath.Dir(cs), f.file))
				if err != nil {
					return fmt.Errorf("%s: %w", f.flag, err)
				}
				v = strings.TrimSpace(string(b))
			}
			if err := m.set(cs, "cpuset", f.file, v, f.value != "", f.flag); err != nil {
				return err
			}
		}
	}
	if err := set(m.dir("pids"), "pids", "pids.max", maxOr(r.PidsLimit), r.PidsLimit > 0, "--pids-limit"); err != nil {
		return err
	}
	if r.BlkioWeight > 0 {
		blkio := m.dir("blkio")
		w := strconv.Itoa(int(r.BlkioWeight))
		err := set(blkio, "blkio", "blkio.weight", w, true, "--blkio-weight")
		if errors.Is(err, ErrNotSupported) && blkio != "" {
			// CFQ is gone since Linux 5.0; BFQ has its own file.
			err = set(blkio, "blkio", "blkio.bfq.weight", w, true, "--blkio-weight")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// memoryV1 writes the memory and memory+swap limits in the order that keeps
// limit_in_bytes <= memsw.limit_in_bytes at every step, which v1 insists on.
func (m *Manager) memoryV1(r Resources, fresh bool) error {
	set := m.setter(fresh)
	if fresh && r.MemoryBytes == 0 && r.MemorySwapBytes <= 0 {
		return nil
	}
	dir := m.dir("memory")
	mem := func() error {
		return set(dir, "memory", "memory.limit_in_bytes", minusOneOr(r.MemoryBytes), r.MemoryBytes > 0, "--memory")
	}
	if dir == "" {
		return mem()
	}
	if _, err := os.Stat(filepath.Join(dir, "memory.memsw.limit_in_bytes")); err != nil {
		if r.MemorySwapBytes > 0 {
			return fmt.Errorf("--memory-swap: this kernel does not account swap (no memory.memsw.limit_in_bytes; boot with swapaccount=1, or leave --memory-swap unset): %w", ErrNotSupported)
		}
		return mem()
	}
	swap := func() error {
		return set(dir, "memory", "memory.memsw.limit_in_bytes", minusOneOr(r.MemorySwapBytes), r.MemorySwapBytes > 0, "--memory-swap")
	}
	cur, err := readUint(filepath.Join(dir, "memory.limit_in_bytes"))
	if err != nil {
		return fmt.Errorf("--memory: %w", err)
	}
	if r.MemorySwapBytes <= 0 || cur <= uint64(r.MemorySwapBytes) {
		if err := swap(); err != nil {
			return err
		}
		return mem()
	}
	if err := mem(); err != nil {
		return err
	}
	return swap()
}

func (m *Manager) devicesV1(devs *deviceSet) error {
	dir := m.dir("devices")
	if dir == "" {
		if devs.defaultAllow && len(devs.exceptions) == 0 {
			return nil
		}
		return fmt.Errorf("devices: no devices cgroup hierarchy is mounted to enforce the device rules: %w", ErrNotSupported)
	}
	for _, w := range devs.v1Writes() {
		if err := m.write(filepath.Join(dir, w.file), w.line); err != nil {
			return fmt.Errorf("devices: %w", err)
		}
	}
	return nil
}

func (m *Manager) setV2(r Resources, fresh bool) error {
	set := m.setter(fresh)
	d := m.unified
	if err := set(d, "memory", "memory.max", maxOr(r.MemoryBytes), r.MemoryBytes > 0, "--memory"); err != nil {
		return err
	}
	if err := set(d, "memory", "memory.swap.max", r.v2Swap(), r.MemorySwapBytes > 0, "--memory-swap"); err != nil {
		return err
	}
	quota := "max"
	if q := r.cpuQuota(); q > 0 {
		quota = strconv.FormatInt(q, 10)
	}
	if err := set(d, "cpu", "cpu.max", fmt.Sprintf("%s %d", quota, cfsPeriod), r.NanoCPUs > 0, "--cpus"); err != nil {
		return err
	}
	if err := set(d, "cpu", "cpu.weight", strconv.FormatInt(sharesToWeight(r.CPUShares), 10), r.CPUShares > 0, "--cpu-shares"); err != nil {
		return err
	}
	// An empty v2 cpuset is the parent's.
	if err := set(d, "cpuset", "cpuset.cpus", r.CPUSetCPUs+"\n", r.CPUSetCPUs != "", "--cpuset-cpus"); err != nil {
		return err
	}
	if err := set(d, "cpuset", "cpuset.mems", r.CPUSetMems+"\n", r.CPUSetMems != "", "--cpuset-mems"); err != nil {
		return err
	}
	if err := set(d, "pids", "pids.max", maxOr(r.PidsLimit), r.PidsLimit > 0, "--pids-limit"); err != nil {
		return err
	}
	if r.BlkioWeight > 0 {
		err := set(d, "io", "io.bfq.weight", strconv.Itoa(int(r.BlkioWeight)), true, "--blkio-weight")
		if errors.Is(err, ErrNotSupported) {
			err = set(d, "io", "io.weight", strconv.FormatInt(blkioToIOWeight(r.BlkioWeight), 10), true, "--blkio-weight")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// AddProc moves pid into the cgroup in every hierarchy (v1 and hybrid: the
// runtime's handshake, before the child may run the container's process).
func (m *Manager) AddProc(pid int) error {
	if pid <= 0 {
		// The kernel reads 0 as "the writer itself": never what is meant here.
		return fmt.Errorf("adding process %d to cgroup %s: invalid pid", pid, m.Path())
	}
	for _, d := range m.leaves() {
		if err := m.write(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("adding process %d to cgroup %s: %w", pid, m.Path(), err)
		}
	}
	return nil
}

// JoinThread moves the calling thread (its goroutine locked to it) into
// the cgroup, on v1 and hybrid hosts: what it forks is born in the
// cgroup, and the rest of its process stays where it is. A thread that
// moves itself spares the kernel's global threadgroup lock, whose first
// writer after a quiet moment waits for an RCU grace period (5 to 15 ms
// here): an exec pays no such wait. The v2 hierarchy moves processes
// only; there, clone into the cgroup instead (DirFD), and a hybrid host's
// unified hierarchy is left as it is.
func (m *Manager) JoinThread() error {
	if m.mode == ModeV2 {
		return fmt.Errorf("moving a thread into cgroup %s: cgroup v2 moves whole processes: %w", m.Path(), ErrNotSupported)
	}
	for _, h := range m.v1 {
		// "0" is the writer itself: the calling thread.
		if err := m.write(filepath.Join(h.dir, "tasks"), "0"); err != nil {
			return fmt.Errorf("moving a thread into cgroup %s: %w", m.Path(), err)
		}
	}
	return nil
}

// DirFD opens the v2 cgroup for clone3's CLONE_INTO_CGROUP
// (SysProcAttr.UseCgroupFD and CgroupFD); the caller closes it. v1 and
// hybrid have no such thing: use AddProc.
func (m *Manager) DirFD() (int, error) {
	if m.mode != ModeV2 {
		return -1, fmt.Errorf("cgroup directory fd: CLONE_INTO_CGROUP needs cgroup v2, this host is %s: %w", m.mode, ErrNotSupported)
	}
	fd, err := unix.Open(m.unified, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening cgroup %s: %w", m.unified, err)
	}
	return fd, nil
}

// Procs lists the processes in the cgroup.
func (m *Manager) Procs() ([]int, error) {
	path := filepath.Join(m.primary(), "cgroup.procs")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("listing processes of cgroup %s: %w", m.Path(), err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %q: %w", path, f, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// freezeTimeout bounds how long Freeze and Thaw wait for the kernel.
const freezeTimeout = 5 * time.Second

// Freeze stops every process in the cgroup and returns once all are stopped
// (docker pause).
func (m *Manager) Freeze() error {
	if err := m.freeze(true); err != nil {
		return fmt.Errorf("freezing cgroup %s: %w", m.Path(), err)
	}
	return nil
}

// Thaw lets them run again (docker unpause).
func (m *Manager) Thaw() error {
	if err := m.freeze(false); err != nil {
		return fmt.Errorf("thawing cgroup %s: %w", m.Path(), err)
	}
	return nil
}

func (m *Manager) freeze(on bool) error {
	if m.mode == ModeV2 {
		return m.freezeV2(on)
	}
	dir := m.dir("freezer")
	if dir == "" {
		return fmt.Errorf("no freezer cgroup hierarchy is mounted: %w", ErrNotSupported)
	}
	want := "THAWED"
	if on {
		want = "FROZEN"
	}
	file := filepath.Join(dir, "freezer.state")
	deadline := time.Now().Add(freezeTimeout)
	for i := 0; ; i++ {
		// The v1 freezer can stay FREEZING while a task sits in a
		// non-freezable sleep (vfork, some fuse waits); a new FROZEN write
		// retries it, and runc's trick of thawing now and then unsticks it.
		if on && i%50 == 49 {
			_ = m.write(file, "THAWED")
			time.Sleep(time.Millisecond)
		}
		if err := m.write(file, want); err != nil {
			return err
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		state := strings.TrimSpace(string(b))
		if state == want {
			return nil
		}
		if time.Now().After(deadline) {
			if on {
				_ = m.write(file, "THAWED")
			}
			return fmt.Errorf("%s still %s after %s", file, state, freezeTimeout)
		}
		time.Sleep(time.Duration(min(i+1, 10)) * time.Millisecond)
	}
}

func (m *Manager) freezeV2(on bool) error {
	want := "0"
	if on {
		want = "1"
	}
	if err := m.write(filepath.Join(m.unified, "cgroup.freeze"), want); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no cgroup.freeze (kernel before 5.2): %w", ErrNotSupported)
		}
		return err
	}
	// cgroup.events says "frozen 1" once every task has stopped.
	events := filepath.Join(m.unified, "cgroup.events")
	deadline := time.Now().Add(freezeTimeout)
	for i := 0; ; i++ {
		b, err := os.ReadFile(events)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) == "frozen "+want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if on {
				_ = m.write(filepath.Join(m.unified, "cgroup.freeze"), "0")
			}
			return fmt.Errorf("%s does not say frozen %s after %s", events, want, freezeTimeout)
		}
		time.Sleep(time.Duration(min(i+1, 10)) * time.Millisecond)
	}
}

// Stats reads the cgroup's usage figures.
func (m *Manager) Stats() (*Stats, error) {
	if err := m.exists(); err != nil {
		return nil, err
	}
	var st *Stats
	var err error
	if m.mode == ModeV2 {
		st, err = statsV2(m.read)
	} else {
		st, err = statsV1(m.read)
	}
	if err != nil {
		return nil, fmt.Errorf("stats of cgroup %s: %w", m.Path(), err)
	}
	return st, nil
}

// OOMKilled says whether the kernel's OOM killer killed a process of the
// cgroup. Ask before Destroy.
func (m *Manager) OOMKilled() (bool, error) {
	if err := m.exists(); err != nil {
		return false, err
	}
	var oom bool
	var err error
	if m.mode == ModeV2 {
		oom, err = oomKilledV2(m.read)
	} else {
		oom, err = oomKilledV1(m.read)
	}
	if err != nil {
		return false, fmt.Errorf("OOM state of cgroup %s: %w", m.Path(), err)
	}
	return oom, nil
}

func (m *Manager) read(controller, name string) ([]byte, error) {
	dir := m.unified
	if m.mode != ModeV2 {
		if dir = m.dir(controller); dir == "" {
			return nil, fs.ErrNotExist
		}
	}
	return os.ReadFile(filepath.Join(dir, name))
}

// Kill sends sig to every process in the cgroup. The cgroup is frozen while
// the processes are listed and signalled, so none escapes by forking; with
// no freezer it signals in rounds until no new process shows up.
func (m *Manager) Kill(sig syscall.Signal) error {
	if m.mode == ModeV2 && sig == unix.SIGKILL {
		err := m.write(filepath.Join(m.unified, "cgroup.kill"), "1") // Linux 5.14+
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("killing cgroup %s: %w", m.Path(), err)
		}
	}
	frozen := m.Freeze() == nil
	signalled := map[int]bool{}
	var errs []error
	for round := 0; round < 10; round++ {
		pids, err := m.Procs()
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			errs = append(errs, err)
			break
		}
		news := 0
		for _, pid := range pids {
			if signalled[pid] {
				continue
			}
			signalled[pid] = true
			news++
			if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
				errs = append(errs, fmt.Errorf("signalling process %d: %w", pid, err))
			}
		}
		if frozen || news == 0 {
			break
		}
	}
	if frozen {
		// A frozen v1 task acts on SIGKILL only once thawed.
		if err := m.Thaw(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("killing cgroup %s: %w", m.Path(), err)
	}
	return nil
}

// Destroy removes the cgroup everywhere once its processes are gone,
// retrying for a moment while the kernel still counts an exiting task.
func (m *Manager) Destroy() error {
	var errs []error
	for _, d := range m.leaves() {
		if err := removeTree(d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing cgroup %s: %w", m.Path(), err)
	}
	return nil
}

// removeTree removes dir and the cgroups below it (a container may make its
// own), deepest first; cgroupfs files go with their directory. A cgroup
// with children or tasks is EBUSY: the children are removed, and exiting
// tasks waited for, for a moment.
func removeTree(dir string) error {
	delay := time.Millisecond
	for waited := time.Duration(0); ; waited += delay {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY || waited > time.Second {
			return &fs.PathError{Op: "rmdir", Path: dir, Err: err}
		}
		entries, rerr := os.ReadDir(dir)
		if rerr != nil {
			return rerr
		}
		children := false
		for _, e := range entries {
			if e.IsDir() {
				children = true
				if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
					return err
				}
			}
		}
		if !children {
			time.Sleep(delay)
			delay = min(delay*2, 100*time.Millisecond)
		}
	}
}

// Cleanup removes every cgroup under the parent (berth) that keep does not
// claim, killing what still runs in it, and returns the ids it removed. The
// daemon calls it at start with keep answering "is this a container whose
// monitor is alive".
func Cleanup(root string, mode Mode, keep func(id string) bool, opts ...Option) ([]string, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	var parents []string
	switch mode {
	case ModeV2:
		parents = []string{filepath.Join(root, o.parent)}
	case ModeV1, ModeHybrid:
		if o.mountinfo == nil {
			if o.mountinfo, err = os.ReadFile("/proc/self/mountinfo"); err != nil {
				return nil, fmt.Errorf("finding cgroup hierarchies: %w", err)
			}
			opts = append(opts, MountInfo(o.mountinfo))
		}
		mounts, err := parseMountInfo(o.mountinfo)
		if err != nil {
			return nil, err
		}
		v1, unified := hierarchies(mounts, root)
		for _, h := range v1 {
			parents = append(parents, filepath.Join(h.point, o.parent))
		}
		if mode == ModeHybrid && unified != "" {
			parents = append(parents, filepath.Join(unified, o.parent))
		}
	default:
		return nil, fmt.Errorf("unknown cgroup mode %q", mode)
	}
	ids := map[string]bool{}
	for _, p := range parents {
		entries, err := os.ReadDir(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing cgroups: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				ids[e.Name()] = true
			}
		}
	}
	var removed []string
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if keep(id) {
			continue
		}
		m, err := New(root, mode, id, opts...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if pids, err := m.Procs(); err == nil && len(pids) > 0 {
			if err := m.Kill(unix.SIGKILL); err != nil {
				errs = append(errs, err)
			}
		}
		if err := m.Destroy(); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, id)
	}
	return removed, errors.Join(errs...)
}

// writeFile writes a cgroup file: no O_CREAT (a file the kernel did not make
// means a missing controller), one write, as the kernel takes it. Raw
// syscalls: os.File would register every cgroupfs file with the poller.
func writeFile(path, value string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, []byte(value))
	for err == unix.EINTR {
		n, err = unix.Write(fd, []byte(value))
	}
	if err == nil && n != len(value) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	return nil
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return n, nil
}
