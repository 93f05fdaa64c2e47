package cgroup

import (
	"io/fs"
	"path"
	"reflect"
	"testing"
)

// fakeRead serves files keyed "controller/name" (v2: "/name").
func fakeRead(files map[string]string) readFunc {
	return func(controller, name string) ([]byte, error) {
		b, ok := files[path.Join(controller, name)]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(b), nil
	}
}

func TestStatsV1(t *testing.T) {
	files := map[string]string{
		"cpuacct/cpuacct.usage":                           "3000000000\n",
		"cpuacct/cpuacct.usage_percpu":                    "1000000000 2000000000 \n",
		"cpuacct/cpuacct.usage_user":                      "2500000000\n",
		"cpuacct/cpuacct.usage_sys":                       "500000000\n",
		"cpu/cpu.stat":                                    "nr_periods 10\nnr_throttled 4\nthrottled_time 123456\nnr_bursts 0\nburst_time 0\n",
		"memory/memory.usage_in_bytes":                    "16777216\n",
		"memory/memory.max_usage_in_bytes":                "33554432\n",
		"memory/memory.limit_in_bytes":                    "33554432\n",
		"memory/memory.failcnt":                           "7\n",
		"memory/memory.stat":                              "cache 4096\nrss 8192\ntotal_cache 1048576\ntotal_rss 15728640\ntotal_inactive_file 4096\n",
		"pids/pids.current":                               "3\n",
		"pids/pids.max":                                   "max\n",
		"blkio/blkio.bfq.io_service_bytes_recursive":      "Total 0\n",
		"blkio/blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\n253:1 Read 1\n253:1 Write 2\nTotal 12291\n",
		"blkio/blkio.throttle.io_serviced_recursive":      "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n",
	}
	st, err := statsV1(fakeRead(files))
	if err != nil {
		t.Fatal(err)
	}
	want := &Stats{
		CPU: CPUStats{TotalNanos: 3e9, PerCPUNanos: []uint64{1e9, 2e9}, UserNanos: 2.5e9, SystemNanos: 5e8,
			Periods: 10, ThrottledPeriods: 4, ThrottledNanos: 123456},
		Memory: MemoryStats{Usage: 16 << 20, MaxUsage: 32 << 20, Limit: 32 << 20, Cache: 1 << 20, RSS: 15 << 20, Failcnt: 7,
			Stat: map[string]uint64{"cache": 4096, "rss": 8192, "total_cache": 1 << 20, "total_rss": 15 << 20, "total_inactive_file": 4096}},
		Pids: PidsStats{Current: 3},
		IO: []IOStats{{Major: 8, Minor: 0, ReadBytes: 4096, WriteBytes: 8192, ReadOps: 1, WriteOps: 2},
			{Major: 253, Minor: 1, ReadBytes: 1, WriteBytes: 2}},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("got  %+v\nwant %+v", st, want)
	}

	// Older kernels: user/system only in USER_HZ ticks; an unlimited cgroup.
	files = map[string]string{
		"cpuacct/cpuacct.stat":         "user 150\nsystem 25\n",
		"memory/memory.limit_in_bytes": "9223372036854771712\n",
		"pids/pids.max":                "5\n",
	}
	st, err = statsV1(fakeRead(files))
	if err != nil {
		t.Fatal(err)
	}
	if st.CPU.UserNanos != 1.5e9 || st.CPU.SystemNanos != 2.5e8 || st.Memory.Limit != 0 || st.Pids.Limit != 5 {
		t.Errorf("got %+v", st)
	}

	if _, err := statsV1(fakeRead(map[string]string{"memory/memory.usage_in_bytes": "lots"})); err == nil {
		t.Error("a garbled file gave no error")
	}
}

func TestStatsV2(t *testing.T) {
	files := map[string]string{
		"cpu.stat":       "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 5\nnr_throttled 1\nthrottled_usec 2500\nnr_bursts 0\nburst_usec 0\n",
		"memory.current": "20971520\n",
		"memory.peak":    "41943040\n",
		"memory.max":     "33554432\n",
		"memory.stat":    "anon 10485760\nfile 8388608\nkernel 1048576\ninactive_file 4194304\n",
		"pids.current":   "4\n",
		"pids.max":       "max\n",
		"io.stat":        "8:16 rbytes=1024 wbytes=2048 rios=3 wios=4 dbytes=0 dios=0\n253:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0 cost.usage=7\n",
	}
	st, err := statsV2(fakeRead(files))
	if err != nil {
		t.Fatal(err)
	}
	want := &Stats{
		CPU: CPUStats{TotalNanos: 3e9, UserNanos: 2e9, SystemNanos: 1e9, Periods: 5, ThrottledPeriods: 1, ThrottledNanos: 2500000},
		Memory: MemoryStats{Usage: 20 << 20, MaxUsage: 40 << 20, Limit: 32 << 20, Cache: 8 << 20, RSS: 10 << 20,
			Stat: map[string]uint64{"anon": 10 << 20, "file": 8 << 20, "kernel": 1 << 20, "inactive_file": 4 << 20}},
		Pids: PidsStats{Current: 4},
		IO:   []IOStats{{Major: 8, Minor: 16, ReadBytes: 1024, WriteBytes: 2048, ReadOps: 3, WriteOps: 4}, {Major: 253, ReadBytes: 1, WriteBytes: 2, ReadOps: 1, WriteOps: 1}},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("got  %+v\nwant %+v", st, want)
	}
	// No memory or pids controller: zeros, not an error.
	st, err = statsV2(fakeRead(map[string]string{"cpu.stat": "usage_usec 1\n"}))
	if err != nil || st.CPU.TotalNanos != 1000 || st.Memory.Usage != 0 {
		t.Errorf("got %+v, %v", st, err)
	}
}

func TestOOMKilled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		v2    bool
		files map[string]string
		want  bool
	}{
		{"v1 killed", false, map[string]string{"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"}, true},
		{"v1 not killed despite failcnt", false, map[string]string{"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "memory/memory.failcnt": "3\n"}, false},
		{"v1 before 4.13: failcnt", false, map[string]string{"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n", "memory/memory.failcnt": "3\n"}, true},
		{"v1 before 4.13: memsw failcnt", false, map[string]string{"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n", "memory/memory.failcnt": "0\n", "memory/memory.memsw.failcnt": "2\n"}, true},
		{"v1 before 4.13: never hit", false, map[string]string{"memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n", "memory/memory.failcnt": "0\n"}, false},
		{"v2 killed", true, map[string]string{"memory.events": "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n"}, true},
		{"v2 oom without kill", true, map[string]string{"memory.events": "low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n"}, false},
		{"v2 no memory controller", true, map[string]string{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got bool
			var err error
			if tc.v2 {
				got, err = oomKilledV2(fakeRead(tc.files))
			} else {
				got, err = oomKilledV1(fakeRead(tc.files))
			}
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
