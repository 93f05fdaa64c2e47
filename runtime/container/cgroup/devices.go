package cgroup

import (
	"fmt"

	"github.com/cilium/ebpf/asm"
)

// Access bits, as both the v1 controller and struct bpf_cgroup_dev_ctx
// (BPF_DEVCG_ACC_*) number them.
const (
	accMknod uint32 = 1
	accRead  uint32 = 2
	accWrite uint32 = 4
	accAll          = accMknod | accRead | accWrite
)

// Device types as struct bpf_cgroup_dev_ctx numbers them (BPF_DEVCG_DEV_*).
const (
	bpfDevBlock = 1
	bpfDevChar  = 2
)

func parseAccess(s string) (uint32, error) {
	var a uint32
	for _, c := range s {
		switch c {
		case 'r':
			a |= accRead
		case 'w':
			a |= accWrite
		case 'm':
			a |= accMknod
		default:
			return 0, fmt.Errorf("invalid device access %q: use letters of \"rwm\"", s)
		}
	}
	if a == 0 {
		return 0, fmt.Errorf("empty device access: use letters of \"rwm\"")
	}
	return a, nil
}

func accessString(a uint32) string {
	s := ""
	if a&accRead != 0 {
		s += "r"
	}
	if a&accWrite != 0 {
		s += "w"
	}
	if a&accMknod != 0 {
		s += "m"
	}
	return s
}

// exception is one entry of the kernel's exception list.
type exception struct {
	typ          byte // 'c' or 'b'
	major, minor int64
	access       uint32
}

// deviceSet is the state the v1 devices controller keeps for a cgroup (see
// security/device_cgroup.c): a default behaviour and a list of exceptions to
// it. The rules of a Resources are reduced to this once; v1 writes it back
// as lines, v2 compiles it into a program, so both modes decide the same.
type deviceSet struct {
	defaultAllow bool
	exceptions   []exception
}

// compileDevices applies rules, in order, to a fresh cgroup (allow all), as
// devcgroup_update_access does: 'a' resets the behaviour and clears the
// exceptions; a rule that goes against the behaviour adds an exception (or
// widens the one for the same type and numbers); a rule that agrees with it
// takes access away from the exception with exactly the same type and
// numbers, and never from a wildcard one.
func compileDevices(rules []DeviceRule) (*deviceSet, error) {
	s := &deviceSet{defaultAllow: true}
	for _, r := range rules {
		if r.Type == 'a' {
			s.defaultAllow = r.Allow
			s.exceptions = nil
			continue
		}
		if r.Type != 'c' && r.Type != 'b' {
			return nil, fmt.Errorf("invalid device rule %q: type must be a, c or b", r.String())
		}
		if r.Major < -1 || r.Minor < -1 || r.Major > 1<<31-1 || r.Minor > 1<<31-1 {
			return nil, fmt.Errorf("invalid device rule %q: numbers must be -1 (any) or 0 to 2147483647", r.String())
		}
		acc, err := parseAccess(r.Access)
		if err != nil {
			return nil, fmt.Errorf("device rule %q: %w", r.String(), err)
		}
		i := s.find(r.Type, r.Major, r.Minor)
		switch {
		case r.Allow != s.defaultAllow && i >= 0:
			s.exceptions[i].access |= acc
		case r.Allow != s.defaultAllow:
			s.exceptions = append(s.exceptions, exception{typ: r.Type, major: r.Major, minor: r.Minor, access: acc})
		case i >= 0:
			s.exceptions[i].access &^= acc
			if s.exceptions[i].access == 0 {
				s.exceptions = append(s.exceptions[:i], s.exceptions[i+1:]...)
			}
		}
	}
	return s, nil
}

func (s *deviceSet) find(typ byte, major, minor int64) int {
	for i, e := range s.exceptions {
		if e.typ == typ && e.major == major && e.minor == minor {
			return i
		}
	}
	return -1
}

func (e exception) covers(typ byte, major, minor uint32) bool {
	return e.typ == typ && (e.major < 0 || uint32(e.major) == major) && (e.minor < 0 || uint32(e.minor) == minor)
}

// allows is the kernel's decision (devcgroup_legacy_check_permission) for
// access to a device of type 'c' or 'b': with default allow, any exception
// that shares an access bit denies; with default deny, an exception that
// holds every requested bit allows.
func (s *deviceSet) allows(typ byte, major, minor, access uint32) bool {
	for _, e := range s.exceptions {
		if !e.covers(typ, major, minor) {
			continue
		}
		if s.defaultAllow && access&e.access != 0 {
			return false
		}
		if !s.defaultAllow && access&^e.access == 0 {
			return true
		}
	}
	return s.defaultAllow
}

// v1Write is one write to a devices.allow or devices.deny file.
type v1Write struct{ file, line string }

// v1Writes restate the set to the v1 controller: the reset, then the
// exceptions in the file that goes against the default.
func (s *deviceSet) v1Writes() []v1Write {
	reset, except := "devices.deny", "devices.allow"
	if s.defaultAllow {
		reset, except = except, reset
	}
	w := []v1Write{{reset, "a"}}
	for _, e := range s.exceptions {
		r := DeviceRule{Type: e.typ, Major: e.major, Minor: e.minor, Access: accessString(e.access)}
		w = append(w, v1Write{except, r.String()})
	}
	return w
}

// program compiles the set into a BPF_PROG_TYPE_CGROUP_DEVICE program: it
// returns 1 to allow and 0 to deny. Each exception is one block that falls
// through to the next one unless the device and the access match, in which
// case it returns the opposite of the default; after the last block the
// default is returned. The blocks test exactly what allows tests.
//
//	r2 = type, r3 = access, r4 = major, r5 = minor (from struct bpf_cgroup_dev_ctx)
//	block: if r2 != type goto next; [if r4 != major goto next;] [if r5 != minor goto next;]
//	       r1 = r3 & access (default allow: if r1 == 0 goto next)
//	       r1 = r3 & ^access (default deny: if r1 != 0 goto next)
//	       r0 = verdict; exit
func (s *deviceSet) program() asm.Instructions {
	insns := asm.Instructions{
		// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
		// access_type is (access << 16) | type.
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word),
		asm.And.Imm32(asm.R2, 0xffff),
		asm.LoadMem(asm.R3, asm.R1, 0, asm.Word),
		asm.RSh.Imm32(asm.R3, 16),
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word),
		asm.LoadMem(asm.R5, asm.R1, 8, asm.Word),
	}
	verdict, fallback := int32(1), int32(0)
	if s.defaultAllow {
		verdict, fallback = 0, 1
	}
	label := func(i int) string {
		if i == len(s.exceptions) {
			return "default"
		}
		return fmt.Sprintf("exception%d", i)
	}
	for i, e := range s.exceptions {
		next := label(i + 1)
		typ := int32(bpfDevChar)
		if e.typ == 'b' {
			typ = bpfDevBlock
		}
		block := asm.Instructions{asm.JNE.Imm(asm.R2, typ, next).WithSymbol(label(i))}
		if e.major >= 0 {
			block = append(block, asm.JNE.Imm(asm.R4, int32(e.major), next))
		}
		if e.minor >= 0 {
			block = append(block, asm.JNE.Imm(asm.R5, int32(e.minor), next))
		}
		block = append(block, asm.Mov.Reg32(asm.R1, asm.R3))
		if s.defaultAllow {
			block = append(block,
				asm.And.Imm32(asm.R1, int32(e.access)),
				asm.JEq.Imm(asm.R1, 0, next))
		} else {
			block = append(block,
				asm.And.Imm32(asm.R1, int32(^e.access)),
				asm.JNE.Imm(asm.R1, 0, next))
		}
		block = append(block, asm.Mov.Imm(asm.R0, verdict), asm.Return())
		insns = append(insns, block...)
	}
	return append(insns,
		asm.Mov.Imm(asm.R0, fallback).WithSymbol("default"),
		asm.Return())
}
