package seccomp

import (
	"slices"
	"testing"

	profile "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container/caps"
)

var (
	testKernel = kernelVersion{6, 18}
	goarches   = []string{"amd64", "arm64", "arm"}
	withAdmin  = append(slices.Clone(caps.Default), "CAP_SYS_ADMIN")
)

func allCaps(t testing.TB) []string {
	all, err := caps.Resolve([]string{"ALL"}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestFilterSize: Docker's profile, compiled for each supported arch and
// for the default, the SYS_ADMIN and the full capability set, fits the
// kernel's limit of 4096 instructions with room to spare.
func TestFilterSize(t *testing.T) {
	for _, goarch := range goarches {
		for name, keep := range map[string][]string{"default": caps.Default, "+SYS_ADMIN": withAdmin, "all": allCaps(t)} {
			f, err := compile(profile.DefaultProfile(), goarch, keep, testKernel)
			if err != nil {
				t.Fatalf("%s %s: %v", goarch, name, err)
			}
			t.Logf("%s, %s capabilities: %d instructions", goarch, name, f.Len())
			// A linear filter (one jeq per syscall and ABI) would be ~1100 on amd64.
			if f.Len() > maxInsns/4 {
				t.Errorf("%s %s: %d instructions; the search should keep it under %d", goarch, name, f.Len(), maxInsns/4)
			}
			if err := check(f.prog); err != nil {
				t.Errorf("%s %s: the kernel would refuse the program: %v", goarch, name, err)
			}
		}
	}
}

func nr(t testing.TB, name string, a arch) uint32 {
	n, ok := syscallNumber(name, a)
	if !ok {
		t.Fatalf("%s has no %s", arches[a].spec, name)
	}
	return n
}

// TestDecisions spot-checks what a container's process sees, independently
// of the reference evaluator below.
func TestDecisions(t *testing.T) {
	const (
		allow  = retAllow
		eperm  = retErrno | errnoEPERM
		enosys = retErrno | errnoENOSYS
		kill   = retKillProcess
	)
	nsFlags := uint64(unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP)
	threadFlags := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM)
	type call struct {
		name string
		a    arch
		sys  string
		args [6]uint64
		want uint32
	}
	def := []call{
		{"read", archX86_64, "read", [6]uint64{}, allow},
		{"mount", archX86_64, "mount", [6]uint64{}, eperm},
		{"unshare", archX86_64, "unshare", [6]uint64{unix.CLONE_NEWUSER}, eperm},
		{"setns", archX86_64, "setns", [6]uint64{}, eperm},
		{"pivot_root", archX86_64, "pivot_root", [6]uint64{}, eperm},
		{"clone3 falls back", archX86_64, "clone3", [6]uint64{}, enosys},
		{"clone a thread", archX86_64, "clone", [6]uint64{threadFlags}, allow},
		{"clone a user namespace", archX86_64, "clone", [6]uint64{unix.CLONE_NEWUSER}, eperm},
		{"clone flags' high word is not masked", archX86_64, "clone", [6]uint64{1<<32 | uint64(unix.SIGCHLD)}, allow},
		{"personality query", archX86_64, "personality", [6]uint64{0xffffffff}, allow},
		{"personality linux32", archX86_64, "personality", [6]uint64{8}, allow},
		{"personality other", archX86_64, "personality", [6]uint64{1}, eperm},
		{"personality high word", archX86_64, "personality", [6]uint64{1 << 32}, eperm},
		{"socket unspec", archX86_64, "socket", [6]uint64{unix.AF_UNSPEC}, allow},
		{"socket inet", archX86_64, "socket", [6]uint64{unix.AF_INET}, allow},
		{"socket netlink", archX86_64, "socket", [6]uint64{unix.AF_NETLINK}, allow},
		{"socket mctp", archX86_64, "socket", [6]uint64{unix.AF_MCTP}, allow},
		{"socket vsock", archX86_64, "socket", [6]uint64{unix.AF_VSOCK}, eperm},
		{"socket alg", archX86_64, "socket", [6]uint64{unix.AF_ALG}, eperm},
		{"socket decnet", archX86_64, "socket", [6]uint64{unix.AF_DECnet}, eperm},
		{"socket inet, high word set", archX86_64, "socket", [6]uint64{1<<32 | unix.AF_INET}, eperm},
		{"arch_prctl", archX86_64, "arch_prctl", [6]uint64{}, allow},
		{"ptrace (kernel 4.8+)", archX86_64, "ptrace", [6]uint64{}, allow},
		{"reboot", archX86_64, "reboot", [6]uint64{}, eperm},
		{"chroot with SYS_CHROOT", archX86_64, "chroot", [6]uint64{}, allow},
		{"open_by_handle_at", archX86_64, "open_by_handle_at", [6]uint64{}, eperm},
		{"x32 read", archX32, "read", [6]uint64{}, allow},
		{"x32 rt_sigaction", archX32, "rt_sigaction", [6]uint64{}, allow},
		{"x32 mount", archX32, "mount", [6]uint64{}, eperm},
		{"x86 socketcall", archX86, "socketcall", [6]uint64{}, allow},
		{"x86 socket vsock", archX86, "socket", [6]uint64{unix.AF_VSOCK}, eperm},
		{"x86 personality compares the low word", archX86, "personality", [6]uint64{1<<32 | 8}, allow},
		{"x86 modify_ldt", archX86, "modify_ldt", [6]uint64{}, allow},
		{"x86 clone a user namespace", archX86, "clone", [6]uint64{unix.CLONE_NEWUSER}, eperm},
	}
	check := func(t *testing.T, goarch string, keep []string, calls []call) {
		f, err := compile(profile.DefaultProfile(), goarch, keep, testKernel)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range calls {
			got, err := run(f.prog, seccompData{nr: nr(t, c.sys, c.a), arch: arches[c.a].audit, args: c.args})
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s: %#x, want %#x", c.name, got, c.want)
			}
		}
	}
	t.Run("amd64 default", func(t *testing.T) { check(t, "amd64", caps.Default, def) })
	t.Run("amd64 SYS_ADMIN", func(t *testing.T) {
		check(t, "amd64", withAdmin, []call{
			{"mount", archX86_64, "mount", [6]uint64{}, allow},
			{"unshare", archX86_64, "unshare", [6]uint64{unix.CLONE_NEWUSER}, allow},
			{"clone a namespace", archX86_64, "clone", [6]uint64{nsFlags}, allow},
			{"clone3", archX86_64, "clone3", [6]uint64{}, allow},
			{"x86 mount", archX86, "mount", [6]uint64{}, allow},
			{"reboot", archX86_64, "reboot", [6]uint64{}, eperm},
		})
	})
	t.Run("arm64 default", func(t *testing.T) {
		check(t, "arm64", caps.Default, []call{
			{"read", archAARCH64, "read", [6]uint64{}, allow},
			{"mount", archAARCH64, "mount", [6]uint64{}, eperm},
			{"clone a user namespace", archAARCH64, "clone", [6]uint64{unix.CLONE_NEWUSER}, eperm},
			{"socket vsock", archAARCH64, "socket", [6]uint64{unix.AF_VSOCK}, eperm},
			{"arm set_tls", archARM, "set_tls", [6]uint64{}, allow},
			{"arm cacheflush", archARM, "cacheflush", [6]uint64{}, allow},
			{"arm arm_fadvise64_64", archARM, "arm_fadvise64_64", [6]uint64{}, allow},
			{"arm mount", archARM, "mount", [6]uint64{}, eperm},
		})
	})
	t.Run("arm default", func(t *testing.T) {
		check(t, "arm", caps.Default, []call{
			{"read", archARM, "read", [6]uint64{}, allow},
			{"set_tls", archARM, "set_tls", [6]uint64{}, allow},
			{"unshare", archARM, "unshare", [6]uint64{}, eperm},
		})
	})
	t.Run("foreign arches", func(t *testing.T) {
		for _, tc := range []struct {
			goarch string
			audit  uint32
		}{
			{"amd64", auditArchAARCH64}, {"amd64", auditArchARM},
			{"arm64", auditArchX86_64}, {"arm64", auditArchI386},
			{"arm", auditArchAARCH64}, {"arm", auditArchX86_64},
		} {
			f, err := compile(profile.DefaultProfile(), tc.goarch, caps.Default, testKernel)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := run(f.prog, seccompData{nr: 0, arch: tc.audit}); got != kill {
				t.Errorf("%s filter, arch %#x: %#x, want kill", tc.goarch, tc.audit, got)
			}
		}
	})
	t.Run("beyond the profile", func(t *testing.T) {
		f, err := compile(profile.DefaultProfile(), "amd64", caps.Default, testKernel)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []uint32{471 /* rseq_slice_yield, newer than the profile */, 1000, x32SyscallBit - 1} {
			if got, _ := run(f.prog, seccompData{nr: n, arch: auditArchX86_64}); got != enosys {
				t.Errorf("x86_64 %d: %#x, want ENOSYS", n, got)
			}
		}
		if got, _ := run(f.prog, seccompData{nr: 0xffffffff, arch: auditArchI386}); got != enosys {
			t.Errorf("x86 -1: %#x, want ENOSYS", got)
		}
	})
	t.Run("old kernel", func(t *testing.T) {
		f, err := compile(profile.DefaultProfile(), "amd64", caps.Default, kernelVersion{4, 4})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := run(f.prog, seccompData{nr: nr(t, "ptrace", archX86_64), arch: auditArchX86_64}); got != eperm {
			t.Errorf("ptrace before 4.8: %#x, want EPERM", got)
		}
	})
}

// reference decides a call straight from the profile's rules, the way the
// compiled program must: the first conditional rule that matches, else an
// unconditional one, else ENOSYS above the profile's highest syscall, else
// the default.
type reference struct {
	archs []arch
	rules []refRule
	def   uint32
	max   [numArches]int64
}

type refRule struct {
	action uint32
	alts   [][]cond
	nrs    [numArches][]uint32
}

func newReference(t *testing.T, p *profile.Seccomp, goarch string, keep []string, kernel kernelVersion) *reference {
	native := natives[goarch]
	r := &reference{archs: []arch{native.arch}}
	for _, m := range p.ArchMap {
		if m.Arch == arches[native.arch].spec {
			for _, s := range m.SubArches {
				if a, ok := archBySpec(s); ok {
					r.archs = append(r.archs, a)
				}
			}
		}
	}
	var err error
	if r.def, err = retAction(p.DefaultAction, p.DefaultErrnoRet); err != nil {
		t.Fatal(err)
	}
	for i := range r.max {
		r.max[i] = -1
	}
	for _, sc := range p.Syscalls {
		if !applies(sc, native.name, keep, kernel) {
			continue
		}
		rr := refRule{}
		if rr.action, err = retAction(sc.Action, sc.ErrnoRet); err != nil {
			t.Fatal(err)
		}
		if rr.alts, err = conditions(sc.Args); err != nil {
			t.Fatal(err)
		}
		for _, a := range r.archs {
			for _, name := range sc.Names {
				if n, ok := syscallNumber(name, a); ok {
					rr.nrs[a] = append(rr.nrs[a], n)
					r.max[a] = max(r.max[a], int64(n))
				}
			}
		}
		r.rules = append(r.rules, rr)
	}
	return r
}

func (r *reference) decide(d seccompData) uint32 {
	a := arch(-1)
	for _, c := range r.archs {
		if arches[c].audit == d.arch && uint64(d.nr) >= arches[c].base && uint64(d.nr) < arches[c].limit {
			a = c
		}
	}
	if a < 0 {
		return retKillProcess
	}
	var uncond *uint32
	for i, rr := range r.rules {
		if !slices.Contains(rr.nrs[a], d.nr) {
			continue
		}
		for _, alt := range rr.alts {
			if len(alt) == 0 {
				if uncond == nil {
					uncond = &r.rules[i].action
				}
				continue
			}
			if all(alt, d.args, arches[a].is64) {
				return rr.action
			}
		}
	}
	if uncond != nil {
		return *uncond
	}
	if int64(d.nr) > r.max[a] && r.max[a] >= 0 {
		return retErrno | errnoENOSYS
	}
	return r.def
}

func all(conds []cond, args [6]uint64, is64 bool) bool {
	for _, c := range conds {
		x, v, w := args[c.index], c.value, c.value2
		if !is64 {
			x, v, w = x&0xffffffff, v&0xffffffff, w&0xffffffff
		}
		var ok bool
		switch c.op {
		case specs.OpEqualTo:
			ok = x == v
		case specs.OpNotEqual:
			ok = x != v
		case specs.OpGreaterThan:
			ok = x > v
		case specs.OpGreaterEqual:
			ok = x >= v
		case specs.OpLessThan:
			ok = x < v
		case specs.OpLessEqual:
			ok = x <= v
		case specs.OpMaskedEqual:
			ok = x&v == w
		}
		if !ok {
			return false
		}
	}
	return true
}

// conditional reports whether any rule compares the arguments of syscall
// n of the ABI audit stands for.
func (r *reference) conditional(audit, n uint32) bool {
	for _, a := range r.archs {
		if arches[a].audit != audit {
			continue
		}
		for _, rr := range r.rules {
			if slices.Contains(rr.nrs[a], n) && len(rr.alts[0]) > 0 {
				return true
			}
		}
	}
	return false
}

// samples are the syscall numbers and argument values worth trying: every
// number the arches have, the edges of their ranges, and every value a rule
// compares with, its neighbours and its high-word variants.
func (r *reference) samples() (nrs map[uint32][]uint32, vals []uint64) {
	nrs = map[uint32][]uint32{}
	for _, a := range r.archs {
		info := arches[a]
		for _, row := range syscalls {
			if n := row.nr[a]; n >= 0 {
				nrs[info.audit] = append(nrs[info.audit], uint32(n))
			}
		}
		nrs[info.audit] = append(nrs[info.audit], uint32(info.base), uint32(info.limit-1), uint32(r.max[a]+1), uint32(r.max[a]+2))
	}
	set := map[uint64]bool{0: true, 1: true, 1 << 32: true, 1<<64 - 1: true, 0xffffffff: true}
	for _, rr := range r.rules {
		for _, alt := range rr.alts {
			for _, c := range alt {
				for _, v := range []uint64{c.value, c.value2, c.value &^ 1} {
					for _, x := range []uint64{v, v - 1, v + 1, v | 1<<32, v << 32, ^v, v | 0x10, v &^ 0x20000} {
						set[x] = true
					}
				}
			}
		}
	}
	for v := range set {
		vals = append(vals, v)
	}
	slices.Sort(vals)
	return nrs, vals
}

// compare runs every sample through the compiled program and the
// reference.
func compare(t *testing.T, p *profile.Seccomp, goarch string, keep []string) {
	t.Helper()
	f, err := compile(p, goarch, keep, testKernel)
	if err != nil {
		t.Fatal(err)
	}
	ref := newReference(t, p, goarch, keep, testKernel)
	nrs, vals := ref.samples()
	audits := []uint32{auditArchX86_64, auditArchI386, auditArchAARCH64, auditArchARM}
	tried, failed := 0, 0
	for _, audit := range audits {
		for _, n := range nrs[audit] {
			vals := vals
			if !ref.conditional(audit, n) {
				vals = vals[:1] // arguments cannot matter
			}
			for idx := range 3 {
				for _, v := range vals {
					d := seccompData{nr: n, arch: audit}
					d.args[idx] = v
					got, err := run(f.prog, d)
					if err != nil {
						t.Fatal(err)
					}
					tried++
					if want := ref.decide(d); got != want {
						if failed++; failed <= 20 {
							t.Errorf("arch %#x nr %#x arg%d=%#x: %#x, want %#x", audit, n, idx, v, got, want)
						}
					}
				}
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d calls decided differently", failed, tried)
		return
	}
	t.Logf("%s: %d calls agree with the profile (%d instructions)", goarch, tried, f.Len())
}

// TestMatchesProfile: for every syscall of every ABI in the filter and for
// argument values at every boundary the profile draws, the program decides
// as the profile's rules say.
func TestMatchesProfile(t *testing.T) {
	for _, goarch := range goarches {
		for name, keep := range map[string][]string{"default": caps.Default, "+SYS_ADMIN": withAdmin, "all": allCaps(t)} {
			t.Run(goarch+" "+name, func(t *testing.T) {
				compare(t, profile.DefaultProfile(), goarch, keep)
			})
		}
	}
}

// testProfile uses every comparison, 64-bit values, rules that differ by
// action on one syscall, repeated arguments (split as runc splits them) and
// a syscall whose checks are long enough to need far jumps.
func testProfile() *profile.Seccomp {
	errno := func(e uint) *uint { return &e }
	rule := func(names []string, act specs.LinuxSeccompAction, errnoRet *uint, args ...specs.LinuxSeccompArg) *profile.Syscall {
		return &profile.Syscall{LinuxSyscall: specs.LinuxSyscall{Names: names, Action: act, ErrnoRet: errnoRet, Args: args}}
	}
	arg := func(i uint, op specs.LinuxSeccompOperator, v, w uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: i, Op: op, Value: v, ValueTwo: w}
	}
	p := &profile.Seccomp{
		LinuxSeccomp: specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: errno(13)},
		ArchMap: []profile.Architecture{
			{Arch: specs.ArchX86_64, SubArches: []specs.Arch{specs.ArchX86, specs.ArchX32}},
			{Arch: specs.ArchAARCH64, SubArches: []specs.Arch{specs.ArchARM}},
		},
		Syscalls: []*profile.Syscall{
			rule([]string{"read", "exit_group", "getpid"}, specs.ActAllow, nil),
			rule([]string{"write"}, specs.ActAllow, nil, arg(0, specs.OpNotEqual, 5, 0)),
			rule([]string{"openat"}, specs.ActAllow, nil, arg(2, specs.OpGreaterThan, 1<<32|7, 0)),
			rule([]string{"close"}, specs.ActAllow, nil, arg(0, specs.OpGreaterEqual, 3, 0), arg(1, specs.OpLessEqual, 1<<33, 0)),
			rule([]string{"lseek"}, specs.ActErrno, errno(22), arg(2, specs.OpEqualTo, 7, 0)),
			rule([]string{"lseek"}, specs.ActAllow, nil, arg(2, specs.OpLessThan, 3, 0)),
			rule([]string{"mmap", "mmap2"}, specs.ActAllow, nil, arg(0, specs.OpEqualTo, 1<<40, 0)),
			rule([]string{"dup3"}, specs.ActAllow, nil, arg(0, specs.OpEqualTo, 1, 0), arg(0, specs.OpEqualTo, 2, 0)),
			rule([]string{"fstat"}, specs.ActTrace, errno(3), arg(0, specs.OpEqualTo, 9, 0)),
			rule([]string{"fstat"}, specs.ActAllow, nil),
			rule([]string{"getppid"}, specs.ActLog, nil),
			rule([]string{"getuid"}, specs.ActTrap, nil),
			rule([]string{"kill"}, specs.ActKillThread, nil),
			rule([]string{"personality"}, specs.ActAllow, nil, arg(0, specs.OpGreaterEqual, 0xfffffff0, 0)),
			rule([]string{"personality"}, specs.ActAllow, nil, arg(0, specs.OpLessEqual, 2, 0)),
			rule([]string{"fcntl"}, specs.ActAllow, nil, arg(1, specs.OpMaskedEqual, 0xffff0000_0000ffff, 0x00010000_00000004)),
		},
	}
	// Two syscalls with 120 rules each: their checks are far longer than a
	// conditional jump reaches.
	for _, name := range []string{"ioctl", "prctl"} {
		for i := range uint64(120) {
			p.Syscalls = append(p.Syscalls, rule([]string{name}, specs.ActAllow, nil, arg(1, specs.OpMaskedEqual, 0xff0f, i<<8|i&0xf)))
		}
	}
	return p
}

func TestMatchesTestProfile(t *testing.T) {
	for _, goarch := range goarches {
		t.Run(goarch, func(t *testing.T) { compare(t, testProfile(), goarch, nil) })
	}
}

func TestFarJumps(t *testing.T) {
	var a asm
	far := a.newLabel()
	a.ld(offNr)
	a.jmp(bpfJeqK, 1, far, next)
	for range 300 {
		a.ret(retAllow)
	}
	a.place(far)
	a.ret(retKillProcess)
	prog, err := a.assemble()
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[uint32]uint32{0: retAllow, 1: retKillProcess} {
		if got, err := run(prog, seccompData{nr: n}); err != nil || got != want {
			t.Errorf("nr %d: %#x %v, want %#x", n, got, err, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	bad := func(mod func(p *profile.Seccomp)) *profile.Seccomp {
		p := testProfile()
		mod(p)
		return p
	}
	for name, p := range map[string]*profile.Seccomp{
		"notify": bad(func(p *profile.Seccomp) {
			p.Syscalls[0].Action = specs.ActNotify
		}),
		"conflicting unconditional rules": bad(func(p *profile.Seccomp) {
			p.Syscalls = append(p.Syscalls, &profile.Syscall{LinuxSyscall: specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActKillProcess}})
		}),
		"argument index": bad(func(p *profile.Seccomp) {
			p.Syscalls[1].Args[0].Index = 6
		}),
		"both arch lists": bad(func(p *profile.Seccomp) {
			p.Architectures = []specs.Arch{specs.ArchX86}
		}),
	} {
		if _, err := compile(p, "amd64", nil, testKernel); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := compile(testProfile(), "riscv64", nil, testKernel); err == nil {
		t.Error("riscv64: no error")
	}
}

// BenchmarkDefault is the cost a container start pays.
func BenchmarkDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Default(caps.Default); err != nil {
			b.Fatal(err)
		}
	}
}
