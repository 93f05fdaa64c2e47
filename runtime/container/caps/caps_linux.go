package caps

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Resolve applies docker's --cap-add/--cap-drop/--privileged semantics:
// names with or without "CAP_", case-insensitive, "ALL"; privileged means
// every capability the host's bounding set has (CapBnd of /proc/self/status)
// — bounded by what the host grants, as are the default set and "ALL"; a
// --cap-add the host cannot grant is an error wrapping ErrNotGranted, and
// unknown names are an error wrapping ErrUnknown that names them. The result
// is ordered by capability number.
func Resolve(add, drop []string, privileged bool) ([]string, error) {
	host, err := hostBounding()
	if err != nil {
		return nil, err
	}
	return resolve(add, drop, privileged, host)
}

// Apply, on the calling OS thread (the caller has runtime.LockOSThread'ed
// and will execve from it): drops every capability outside keep from the
// bounding set (PR_CAPBSET_DROP), clears ambient, and sets permitted and
// effective to keep (capset v3). Capabilities the kernel lacks
// (above /proc/sys/kernel/cap_last_cap) are skipped.
//
// The inheritable set is emptied, not set to keep: Docker has started
// containers so since 20.10.14 (CVE-2022-24769), because an inheritable set
// lets a non-root process gain capabilities by executing a program with
// inheritable file capabilities.
//
// For a non-root uid the order, all on this thread, is: prctl(PR_SET_KEEPCAPS,
// 1), so that the uid change keeps the permitted set; setgroups, setgid,
// setuid; then Apply, which raises the effective set from the permitted one
// for as long as it needs CAP_SETPCAP to shrink the bounding set. As in
// Docker, the non-root program then starts with empty effective and
// permitted sets (nothing is ambient) under a bounding set of keep. Calling
// Apply before the uid change does not work when keep lacks CAP_SETUID or
// CAP_SETGID.
//
// Without no_new_privs, install the seccomp filter first, while the thread
// still has CAP_SYS_ADMIN in its effective set: before the uid change and
// before Apply. Docker's profile admits prctl, setuid, setgid, setgroups,
// capset and execve, so the rest still works under it.
func Apply(keep []string) error {
	want, err := Mask(keep)
	if err != nil {
		return err
	}
	last := lastCap()
	want &= 1<<(last+1) - 1

	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("caps: capget: %w", err)
	}
	permitted := uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	effective := uint64(data[0].Effective) | uint64(data[1].Effective)<<32
	if missing := want &^ permitted; missing != 0 {
		return fmt.Errorf("caps: the calling thread does not hold %s", strings.Join(namesOf(missing), ", "))
	}
	if effective != permitted {
		// After a PR_SET_KEEPCAPS uid change the effective set is empty, and
		// PR_CAPBSET_DROP needs CAP_SETPCAP in it.
		if err := capset(&hdr, permitted, permitted, inheritable(data)); err != nil {
			return fmt.Errorf("caps: raising the effective set: %w", err)
		}
	}
	for c := 0; c <= last; c++ {
		if want&(1<<c) != 0 {
			continue
		}
		in, err := boundingHas(c)
		if err != nil {
			return fmt.Errorf("caps: reading the bounding set: %w", err)
		}
		if !in {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("caps: dropping %s from the bounding set: %w", capName(c), err)
		}
	}
	// EINVAL: a kernel before 4.3, which has no ambient set to clear.
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("caps: clearing the ambient set: %w", err)
	}
	if err := capset(&hdr, want, want, 0); err != nil {
		return fmt.Errorf("caps: capset: %w", err)
	}
	return nil
}

func capset(hdr *unix.CapUserHeader, effective, permitted, inheritable uint64) error {
	data := [2]unix.CapUserData{
		{Effective: uint32(effective), Permitted: uint32(permitted), Inheritable: uint32(inheritable)},
		{Effective: uint32(effective >> 32), Permitted: uint32(permitted >> 32), Inheritable: uint32(inheritable >> 32)},
	}
	return unix.Capset(hdr, &data[0])
}

func inheritable(data [2]unix.CapUserData) uint64 {
	return uint64(data[0].Inheritable) | uint64(data[1].Inheritable)<<32
}

func capName(c int) string {
	if c < len(names) {
		return names[c]
	}
	return "capability " + strconv.Itoa(c)
}

// boundingHas reports whether capability c is in the calling thread's
// bounding set.
func boundingHas(c int) (bool, error) {
	r, _, errno := unix.Syscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0, 0)
	if errno != 0 {
		return false, errno
	}
	return r == 1, nil
}

// lastCap is the kernel's highest capability number, from
// /proc/sys/kernel/cap_last_cap or, where /proc is not there yet (inside a
// container being set up), by asking PR_CAPBSET_READ until it fails.
func lastCap() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 && n < 64 {
			return n
		}
	}
	return probeLastCap()
}

func probeLastCap() int {
	c := 0
	for c < 63 {
		if _, err := boundingHas(c + 1); err != nil {
			break
		}
		c++
	}
	return c
}

// hostBounding is the CapBnd line of /proc/self/status.
func hostBounding() (uint64, error) {
	const path = "/proc/self/status"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("caps: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("caps: parsing CapBnd in %s: %w", path, err)
			}
			return m, nil
		}
	}
	return 0, fmt.Errorf("caps: no CapBnd line in %s", path)
}
