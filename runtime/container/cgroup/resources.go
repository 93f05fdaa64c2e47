package cgroup

import (
	"fmt"
	"strconv"
)

// Resources are a container's limits, in docker's units. Zero means no limit.
type Resources struct {
	// MemoryBytes is --memory; 0 for none.
	MemoryBytes int64
	// MemorySwapBytes is --memory-swap: memory plus swap. 0 or -1 for no
	// swap limit; otherwise at least MemoryBytes (equal: no swap at all).
	MemorySwapBytes int64
	// NanoCPUs is --cpus × 1e9, applied as a CFS quota over a 100 ms period.
	NanoCPUs int64
	// CPUShares is --cpu-shares (v1 shares, 2..262144; v2 converted to a weight).
	CPUShares int64
	// CPUSetCPUs and CPUSetMems are --cpuset-cpus and --cpuset-mems.
	CPUSetCPUs, CPUSetMems string
	// PidsLimit is --pids-limit; 0 or negative for none.
	PidsLimit int64
	// BlkioWeight is --blkio-weight, 10..1000; 0 for the default.
	BlkioWeight uint16
	// Devices are applied in order on top of "allow everything", as the v1
	// kernel applies them; nil means DefaultDevices. Only Create applies them.
	Devices []DeviceRule
}

// DeviceRule is one line of the v1 devices controller ("c 1:3 rwm").
type DeviceRule struct {
	// Type is 'a' (all: resets to allow-all or deny-all, the rest of the
	// rule is ignored, as in the kernel), 'c' or 'b'.
	Type byte
	// Major and Minor are the device numbers, -1 for any.
	Major, Minor int64
	// Access is a non-empty subset of "rwm".
	Access string
	// Allow is true for devices.allow, false for devices.deny.
	Allow bool
}

func (r DeviceRule) String() string {
	if r.Type == 'a' {
		return "a"
	}
	return fmt.Sprintf("%c %s:%s %s", r.Type, devNum(r.Major), devNum(r.Minor), r.Access)
}

func devNum(n int64) string {
	if n < 0 {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// DefaultDevices is Docker's device list for an unprivileged container
// (moby's default spec plus runc's allowed devices): nothing, except creating
// any device node, and using null, zero, full, random, urandom, tty,
// console, ptmx, the pts slaves and tun.
func DefaultDevices() []DeviceRule {
	c := func(major, minor int64, access string) DeviceRule {
		return DeviceRule{Type: 'c', Major: major, Minor: minor, Access: access, Allow: true}
	}
	return []DeviceRule{
		{Type: 'a', Major: -1, Minor: -1, Access: "rwm", Allow: false},
		c(-1, -1, "m"),
		{Type: 'b', Major: -1, Minor: -1, Access: "m", Allow: true},
		c(1, 3, "rwm"),    // null
		c(1, 5, "rwm"),    // zero
		c(1, 7, "rwm"),    // full
		c(1, 8, "rwm"),    // random
		c(1, 9, "rwm"),    // urandom
		c(5, 0, "rwm"),    // tty
		c(5, 1, "rwm"),    // console
		c(5, 2, "rwm"),    // ptmx
		c(136, -1, "rwm"), // pts/*
		c(10, 200, "rwm"), // net/tun
	}
}

// AllowAllDevices is what --privileged gets.
func AllowAllDevices() []DeviceRule {
	return []DeviceRule{{Type: 'a', Major: -1, Minor: -1, Access: "rwm", Allow: true}}
}

// cfsPeriod is the CFS period, in microseconds, that --cpus is expressed over
// (Docker's).
const cfsPeriod = 100000

// Validate reports the first value no kernel would take, in docker's terms.
func (r Resources) Validate() error {
	switch {
	case r.MemoryBytes < 0:
		return fmt.Errorf("invalid memory limit %d: must be 0 (none) or positive", r.MemoryBytes)
	case r.MemorySwapBytes < -1:
		return fmt.Errorf("invalid memory+swap limit %d: must be -1 (unlimited), 0 or positive", r.MemorySwapBytes)
	case r.MemorySwapBytes > 0 && r.MemoryBytes == 0:
		return fmt.Errorf("a memory+swap limit needs a memory limit: set --memory too")
	case r.MemorySwapBytes > 0 && r.MemorySwapBytes < r.MemoryBytes:
		return fmt.Errorf("memory+swap limit %d is below the memory limit %d: --memory-swap must be at least --memory", r.MemorySwapBytes, r.MemoryBytes)
	case r.NanoCPUs < 0:
		return fmt.Errorf("invalid CPU count %d nano-CPUs: must be positive", r.NanoCPUs)
	case r.NanoCPUs > 0 && r.cpuQuota() < 1000:
		return fmt.Errorf("CPU count %.3f is below the kernel's minimum of 0.01", float64(r.NanoCPUs)/1e9)
	case r.CPUShares < 0:
		return fmt.Errorf("invalid CPU shares %d: must be positive", r.CPUShares)
	case r.BlkioWeight != 0 && (r.BlkioWeight < 10 || r.BlkioWeight > 1000):
		return fmt.Errorf("invalid blkio weight %d: must be 10 to 1000", r.BlkioWeight)
	}
	if r.Devices != nil {
		if _, err := compileDevices(r.Devices); err != nil {
			return err
		}
	}
	return nil
}

// cpuQuota is the CFS quota in microseconds per cfsPeriod, 0 for none.
func (r Resources) cpuQuota() int64 {
	return r.NanoCPUs * cfsPeriod / 1e9
}

// devices is the rule list Create applies.
func (r Resources) devices() []DeviceRule {
	if r.Devices == nil {
		return DefaultDevices()
	}
	return r.Devices
}

// clampShares is what the v1 kernel does to a cpu.shares value.
func clampShares(shares int64) int64 {
	return min(max(shares, 2), 262144)
}

// sharesToWeight converts v1 shares to a v2 cpu.weight with runc's linear
// formula, mapping [2, 262144] onto [1, 10000]; 0 (unset) is the default 100.
func sharesToWeight(shares int64) int64 {
	if shares == 0 {
		return 100
	}
	return 1 + ((clampShares(shares)-2)*9999)/262142
}

// blkioToIOWeight converts a v1 blkio weight [10, 1000] onto io.weight's
// [1, 10000], as runc does.
func blkioToIOWeight(w uint16) int64 {
	return 1 + (int64(w)-10)*9999/990
}

// v2Swap is memory.swap.max: v2 limits swap alone, v1 and docker limit
// memory plus swap.
func (r Resources) v2Swap() string {
	if r.MemorySwapBytes <= 0 {
		return "max"
	}
	return strconv.FormatInt(r.MemorySwapBytes-r.MemoryBytes, 10)
}

func maxOr(v int64) string {
	if v <= 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

func minusOneOr(v int64) string {
	if v <= 0 {
		return "-1"
	}
	return strconv.FormatInt(v, 10)
}
