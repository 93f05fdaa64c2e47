package seccomp

import (
	"slices"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

//go:generate go run mksyscalls.go

// arch is one ABI a filter dispatches on; the values index syscallRow.nr.
type arch int

const (
	archX86_64 arch = iota
	archX86
	archX32
	archAARCH64
	archARM
	numArches
)

// AUDIT_ARCH_* from <linux/audit.h>; x32 shares x86_64's and sets bit 30 of
// the syscall number instead (__X32_SYSCALL_BIT).
const (
	auditArchX86_64  = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAARCH64 = 0xc00000b7
	auditArchARM     = 0x40000028
	x32SyscallBit    = 0x40000000
)

type archInfo struct {
	spec  specs.Arch
	audit uint32
	// is64 says whether arguments are compared as 64-bit values; for 32-bit
	// ABIs only the low word is compared, as libseccomp does.
	is64 bool
	// The syscall numbers of this ABI lie in [base, limit).
	base, limit uint64
}

var arches = [numArches]archInfo{
	archX86_64:  {specs.ArchX86_64, auditArchX86_64, true, 0, x32SyscallBit},
	archX86:     {specs.ArchX86, auditArchI386, false, 0, 1 << 32},
	archX32:     {specs.ArchX32, auditArchX86_64, false, x32SyscallBit, 1 << 32},
	archAARCH64: {specs.ArchAARCH64, auditArchAARCH64, true, 0, 1 << 32},
	archARM:     {specs.ArchARM, auditArchARM, false, 0, 1 << 32},
}

// natives maps GOARCH to the native arch and the name the profile's
// includes/excludes use for it (moby's goToNative).
var natives = map[string]struct {
	arch arch
	name string
}{
	"amd64": {archX86_64, "amd64"},
	"arm64": {archAARCH64, "arm64"},
	"arm":   {archARM, "arm"},
}

func archBySpec(s specs.Arch) (arch, bool) {
	for a, info := range arches {
		if info.spec == s {
			return arch(a), true
		}
	}
	return 0, false
}

type syscallRow struct {
	name string
	nr   [numArches]int32
}

// lookup returns name's row of the table.
func lookup(name string) (*syscallRow, bool) {
	i, ok := slices.BinarySearchFunc(syscalls[:], name, func(r syscallRow, name string) int { return strings.Compare(r.name, name) })
	if !ok {
		return nil, false
	}
	return &syscalls[i], true
}

// syscallNumber returns the number of name on a, if a has that call.
func syscallNumber(name string, a arch) (uint32, bool) {
	row, ok := lookup(name)
	if !ok || row.nr[a] < 0 {
		return 0, false
	}
	return uint32(row.nr[a]), true
}
