package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Stats is what `docker stats` and the API's stats need from a cgroup. A
// figure whose controller is absent stays zero.
type Stats struct {
	CPU    CPUStats
	Memory MemoryStats
	Pids   PidsStats
	// IO has one entry per block device the cgroup did I/O on.
	IO []IOStats
}

// CPUStats are cumulative CPU figures, in nanoseconds.
type CPUStats struct {
	TotalNanos uint64
	// PerCPUNanos is per CPU, v1 only (cpuacct.usage_percpu); nil on v2.
	PerCPUNanos []uint64
	UserNanos   uint64
	SystemNanos uint64
	// CFS throttling: periods with a quota, periods that hit it, time spent
	// throttled.
	Periods, ThrottledPeriods, ThrottledNanos uint64
}

// MemoryStats are in bytes.
type MemoryStats struct {
	// Usage is memory.usage_in_bytes (v1) or memory.current (v2).
	Usage uint64
	// MaxUsage is the high-water mark: memory.max_usage_in_bytes (v1) or
	// memory.peak (v2, kernel 5.19+).
	MaxUsage uint64
	// Limit is 0 when there is none; the daemon reports the host's memory then.
	Limit uint64
	// Cache is page cache (v1 total_cache, v2 file); RSS is anonymous memory
	// (v1 total_rss, v2 anon).
	Cache, RSS uint64
	// Failcnt is how often the limit was hit (v1 only).
	Failcnt uint64
	// Stat is memory.stat as the kernel gives it: the API's memory_stats.stats,
	// from which docker's CLI subtracts inactive file pages.
	Stat map[string]uint64
}

// PidsStats counts processes and threads.
type PidsStats struct {
	Current uint64
	// Limit is 0 when there is none.
	Limit uint64
}

// IOStats are one device's cumulative I/O.
type IOStats struct {
	Major, Minor          uint64
	ReadBytes, WriteBytes uint64
	ReadOps, WriteOps     uint64
}

// readFunc reads a cgroup file of a controller ("memory", "cpuacct", ...;
// "" on v2) by name.
type readFunc func(controller, name string) ([]byte, error)

// v1 reports a "no limit" as the largest page-aligned counter value.
const v1Unlimited = 1 << 62

// statsV1 gathers Stats from the v1 files.
func statsV1(read readFunc) (*Stats, error) {
	var st Stats
	p := parser{read: read}

	st.CPU.TotalNanos = p.uint("cpuacct", "cpuacct.usage")
	st.CPU.PerCPUNanos = p.uints("cpuacct", "cpuacct.usage_percpu")
	if b := p.file("cpuacct", "cpuacct.usage_user"); b != nil {
		st.CPU.UserNanos = p.parseUint("cpuacct.usage_user", b)
		st.CPU.SystemNanos = p.uint("cpuacct", "cpuacct.usage_sys")
	} else {
		// cpuacct.stat is in USER_HZ ticks, which is 100 on every
		// architecture Linux exports to user space.
		kv := p.keyed("cpuacct", "cpuacct.stat")
		st.CPU.UserNanos = kv["user"] * 1e7
		st.CPU.SystemNanos = kv["system"] * 1e7
	}
	cpu := p.keyed("cpu", "cpu.stat")
	st.CPU.Periods, st.CPU.ThrottledPeriods, st.CPU.ThrottledNanos = cpu["nr_periods"], cpu["nr_throttled"], cpu["throttled_time"]

	st.Memory.Usage = p.uint("memory", "memory.usage_in_bytes")
	st.Memory.MaxUsage = p.uint("memory", "memory.max_usage_in_bytes")
	if l := p.uint("memory", "memory.limit_in_bytes"); l < v1Unlimited {
		st.Memory.Limit = l
	}
	st.Memory.Failcnt = p.uint("memory", "memory.failcnt")
	st.Memory.Stat = p.keyed("memory", "memory.stat")
	st.Memory.Cache = firstKey(st.Memory.Stat, "total_cache", "cache")
	st.Memory.RSS = firstKey(st.Memory.Stat, "total_rss", "rss")

	st.Pids.Current = p.uint("pids", "pids.current")
	st.Pids.Limit = p.maxUint("pids", "pids.max")

	// Which blkio files count depends on the I/O scheduler; the throttle
	// layer sees all I/O and is the fallback (runc's order).
	for _, f := range []string{"blkio.bfq.io_service", "blkio.io_service", "blkio.throttle.io_service"} {
		b, ops := p.file("blkio", f+"_bytes_recursive"), p.file("blkio", f+"d_recursive")
		if st.IO = blkioV1(&p, f, b, ops); len(st.IO) > 0 {
			break
		}
	}
	return &st, p.err
}

// statsV2 gathers Stats from the v2 files.
func statsV2(read readFunc) (*Stats, error) {
	var st Stats
	p := parser{read: read}

	cpu := p.keyed("", "cpu.stat")
	st.CPU.TotalNanos = cpu["usage_usec"] * 1000
	st.CPU.UserNanos = cpu["user_usec"] * 1000
	st.CPU.SystemNanos = cpu["system_usec"] * 1000
	st.CPU.Periods, st.CPU.ThrottledPeriods, st.CPU.ThrottledNanos = cpu["nr_periods"], cpu["nr_throttled"], cpu["throttled_usec"]*1000

	st.Memory.Usage = p.uint("", "memory.current")
	st.Memory.MaxUsage = p.uint("", "memory.peak")
	st.Memory.Limit = p.maxUint("", "memory.max")
	st.Memory.Stat = p.keyed("", "memory.stat")
	st.Memory.Cache = st.Memory.Stat["file"]
	st.Memory.RSS = st.Memory.Stat["anon"]

	st.Pids.Current = p.uint("", "pids.current")
	st.Pids.Limit = p.maxUint("", "pids.max")

	st.IO = ioStatV2(&p, p.file("", "io.stat"))
	return &st, p.err
}

// parser reads and parses cgroup files, keeping the first error. A file that
// does not exist is not an error: its controller is off.
type parser struct {
	read readFunc
	err  error
}

func (p *parser) fail(name string, err error) {
	if p.err == nil {
		p.err = fmt.Errorf("reading %s: %w", name, err)
	}
}

func (p *parser) file(controller, name string) []byte {
	b, err := p.read(controller, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		p.fail(name, err)
		return nil
	}
	return b
}

func (p *parser) parseUint(name string, b []byte) uint64 {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.fail(name, err)
	}
	return n
}

func (p *parser) uint(controller, name string) uint64 {
	if b := p.file(controller, name); b != nil {
		return p.parseUint(name, b)
	}
	return 0
}

// maxUint reads a "max"-or-number file; "max" is 0.
func (p *parser) maxUint(controller, name string) uint64 {
	b := p.file(controller, name)
	if strings.TrimSpace(string(b)) == "max" {
		return 0
	}
	return p.parseUint(name, b)
}

func (p *parser) uints(controller, name string) []uint64 {
	b := p.file(controller, name)
	if b == nil {
		return nil
	}
	var out []uint64
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			p.fail(name, err)
			return nil
		}
		out = append(out, n)
	}
	return out
}

// keyed parses "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
func (p *parser) keyed(controller, name string) map[string]uint64 {
	b := p.file(controller, name)
	if b == nil {
		return nil
	}
	kv := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			p.fail(name, fmt.Errorf("%q: %w", sc.Text(), err))
			continue
		}
		kv[k] = n
	}
	return kv
}

func firstKey(kv map[string]uint64, keys ...string) uint64 {
	for _, k := range keys {
		if v, ok := kv[k]; ok {
			return v
		}
	}
	return 0
}

// devices accumulates I/O keyed by "major:minor", in order of appearance.
type devices struct {
	order []string
	byKey map[string]*IOStats
}

func (d *devices) get(key string) (*IOStats, error) {
	if s, ok := d.byKey[key]; ok {
		return s, nil
	}
	major, minor, ok := strings.Cut(key, ":")
	if !ok {
		return nil, fmt.Errorf("bad device %q", key)
	}
	s := &IOStats{}
	var err1, err2 error
	s.Major, err1 = strconv.ParseUint(major, 10, 64)
	s.Minor, err2 = strconv.ParseUint(minor, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("bad device %q: %w", key, err)
	}
	if d.byKey == nil {
		d.byKey = map[string]*IOStats{}
	}
	d.byKey[key] = s
	d.order = append(d.order, key)
	return s, nil
}

func (d *devices) list() []IOStats {
	var out []IOStats
	for _, k := range d.order {
		out = append(out, *d.byKey[k])
	}
	return out
}

// blkioV1 parses "8:0 Read 4096" lines of a bytes and an ops file.
func blkioV1(p *parser, name string, bytesFile, opsFile []byte) []IOStats {
	var d devices
	for _, f := range []struct {
		b     []byte
		bytes bool
	}{{bytesFile, true}, {opsFile, false}} {
		sc := bufio.NewScanner(bytes.NewReader(f.b))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 3 || (fields[1] != "Read" && fields[1] != "Write") {
				continue // "Total N", Sync, Async, Discard, Total
			}
			n, err := strconv.ParseUint(fields[2], 10, 64)
			if err != nil {
				p.fail(name, fmt.Errorf("%q: %w", sc.Text(), err))
				return nil
			}
			s, err := d.get(fields[0])
			if err != nil {
				p.fail(name, err)
				return nil
			}
			switch {
			case f.bytes && fields[1] == "Read":
				s.ReadBytes += n
			case f.bytes:
				s.WriteBytes += n
			case fields[1] == "Read":
				s.ReadOps += n
			default:
				s.WriteOps += n
			}
		}
	}
	return d.list()
}

// ioStatV2 parses io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0".
func ioStatV2(p *parser, b []byte) []IOStats {
	var d devices
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		s, err := d.get(fields[0])
		if err != nil {
			p.fail("io.stat", err)
			return nil
		}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue // a key this parser does not know may not be a number
			}
			switch k {
			case "rbytes":
				s.ReadBytes += n
			case "wbytes":
				s.WriteBytes += n
			case "rios":
				s.ReadOps += n
			case "wios":
				s.WriteOps += n
			}
		}
	}
	return d.list()
}

// oomKilledV1 reads memory.oom_control's oom_kill counter (kernel 4.13+);
// without it, a failcnt > 0 is the only (weaker) evidence: the limit was hit,
// which with no swap left ends in the OOM killer. With memory+swap limited,
// it is memsw's counter that the kernel bumps.
func oomKilledV1(read readFunc) (bool, error) {
	p := parser{read: read}
	ctl := p.keyed("memory", "memory.oom_control")
	if n, ok := ctl["oom_kill"]; ok {
		return n > 0, p.err
	}
	fail := p.uint("memory", "memory.failcnt") + p.uint("memory", "memory.memsw.failcnt")
	return fail > 0, p.err
}

// oomKilledV2 reads memory.events' oom_kill counter (which counts the
// cgroup's descendants too).
func oomKilledV2(read readFunc) (bool, error) {
	p := parser{read: read}
	ev := p.keyed("", "memory.events")
	return ev["oom_kill"] > 0, p.err
}
