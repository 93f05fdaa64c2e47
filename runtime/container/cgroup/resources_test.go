package cgroup

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	const mi = 1 << 20
	for _, tc := range []struct {
		name string
		r    Resources
		err  string // "" for valid
	}{
		{"nothing", Resources{}, ""},
		{"memory and swap", Resources{MemoryBytes: 32 * mi, MemorySwapBytes: 64 * mi}, ""},
		{"no swap at all", Resources{MemoryBytes: 32 * mi, MemorySwapBytes: 32 * mi}, ""},
		{"unlimited swap", Resources{MemoryBytes: 32 * mi, MemorySwapBytes: -1}, ""},
		{"swap without memory", Resources{MemorySwapBytes: 64 * mi}, "needs a memory limit"},
		{"swap below memory", Resources{MemoryBytes: 64 * mi, MemorySwapBytes: 32 * mi}, "at least --memory"},
		{"negative memory", Resources{MemoryBytes: -1}, "invalid memory limit"},
		{"0.01 CPU", Resources{NanoCPUs: 1e7}, ""},
		{"too few CPUs", Resources{NanoCPUs: 1e6}, "below the kernel's minimum"},
		{"blkio weight", Resources{BlkioWeight: 5}, "10 to 1000"},
		{"bad device", Resources{Devices: []DeviceRule{{Type: 'c', Access: "x"}}}, "rwm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Validate() = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestConversions(t *testing.T) {
	for shares, weight := range map[int64]int64{0: 100, 2: 1, 1: 1, 1024: 39, 512: 20, 262144: 10000, 1 << 30: 10000} {
		if got := sharesToWeight(shares); got != weight {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, weight)
		}
	}
	for w, want := range map[uint16]int64{10: 1, 500: 4950, 1000: 10000} {
		if got := blkioToIOWeight(w); got != want {
			t.Errorf("blkioToIOWeight(%d) = %d, want %d", w, got, want)
		}
	}
	if q := (Resources{NanoCPUs: 1.5e9}).cpuQuota(); q != 150000 {
		t.Errorf("1.5 CPUs = quota %d", q)
	}
	for _, tc := range []struct {
		memory, swap int64
		want         string
	}{{0, 0, "max"}, {100, -1, "max"}, {100, 100, "0"}, {100, 250, "150"}} {
		if got := (Resources{MemoryBytes: tc.memory, MemorySwapBytes: tc.swap}).v2Swap(); got != tc.want {
			t.Errorf("v2Swap(%d, %d) = %s, want %s", tc.memory, tc.swap, got, tc.want)
		}
	}
}
