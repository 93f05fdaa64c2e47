package caps

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// Default is Docker's default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD
// NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL
// AUDIT_WRITE (as "CAP_..." names).
var Default = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// names holds each capability's name at its number (<linux/capability.h>),
// up to the kernel's last, CAP_CHECKPOINT_RESTORE.
var names = [...]string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// known is the mask of every capability in names.
const known = 1<<len(names) - 1

var (
	// ErrUnknown is wrapped by the error for a name that is no capability.
	ErrUnknown = errors.New("unknown capability")
	// ErrNotGranted is wrapped by the error for a --cap-add of a
	// capability the host's bounding set lacks, which no container here
	// can be given.
	ErrNotGranted = errors.New("not in the host's capability bounding set")
)

// Mask returns the bit mask of names (CapEff of the default set is
// 0x00000000a80425fb). Names are as Resolve takes them, "ALL" excepted.
func Mask(names []string) (uint64, error) {
	m, all, unknown := parse(names)
	if all {
		unknown = append(unknown, "ALL")
	}
	if len(unknown) > 0 {
		return 0, unknownError(unknown)
	}
	return m, nil
}

// namesOf returns the names of the capabilities in m, lowest number first.
func namesOf(m uint64) []string {
	m &= known
	out := make([]string, 0, bits.OnesCount64(m))
	for c := range names {
		if m&(1<<c) != 0 {
			out = append(out, names[c])
		}
	}
	return out
}

// resolve is Resolve with the host's bounding set given. What the user did
// not name (the default set, "ALL", --privileged) is bounded by the host;
// a --cap-add the host cannot grant is an error.
func resolve(add, drop []string, privileged bool, host uint64) ([]string, error) {
	host &= known
	addMask, addAll, unknownAdd := parse(add)
	dropMask, dropAll, unknownDrop := parse(drop)
	if unknown := append(unknownAdd, unknownDrop...); len(unknown) > 0 {
		return nil, unknownError(unknown)
	}
	def, _ := Mask(Default)
	var keep uint64
	switch {
	case privileged:
		// As docker: every capability, whatever --cap-add/--cap-drop say.
		return namesOf(host), nil
	case addAll:
		keep = host &^ dropMask
	case dropAll:
		keep = addMask
	default:
		keep = def&host&^dropMask | addMask
	}
	if missing := keep &^ host; missing != 0 {
		return nil, fmt.Errorf("cannot add %s: %w", strings.Join(namesOf(missing), ", "), ErrNotGranted)
	}
	return namesOf(keep), nil
}

// parse reads names as docker does: case-insensitive, with or without
// "CAP_", and "ALL".
func parse(list []string) (mask uint64, all bool, unknown []string) {
	for _, name := range list {
		c := strings.ToUpper(strings.TrimSpace(name))
		if c == "ALL" {
			all = true
			continue
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		n := number(c)
		if n < 0 {
			unknown = append(unknown, name)
			continue
		}
		mask |= 1 << n
	}
	return mask, all, unknown
}

func number(name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

func unknownError(unknown []string) error {
	q := make([]string, len(unknown))
	for i, u := range unknown {
		q[i] = fmt.Sprintf("%q", u)
	}
	return fmt.Errorf("%w: %s", ErrUnknown, strings.Join(q, ", "))
}
