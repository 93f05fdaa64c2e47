package seccomp

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	profile "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Filter is a compiled program.
type Filter struct {
	prog []insn
}

// Len is the number of BPF instructions (for tests and the debug log).
func (f *Filter) Len() int { return len(f.prog) }

// Return values (<linux/seccomp.h>) and the two errnos the compiler itself
// uses, as Linux numbers them on every arch this package supports.
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000

	errnoEPERM  = 1
	errnoENOSYS = 38
)

// Offsets in struct seccomp_data. Arguments are 64-bit; every supported arch
// is little-endian, so an argument's low word comes first.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

type kernelVersion struct{ major, minor uint64 }

// cond is one argument comparison.
type cond struct {
	index         uint32
	op            specs.LinuxSeccompOperator
	value, value2 uint64
}

// rule matches when all its conds do.
type rule struct {
	action uint32
	conds  []cond
}

// leaf is what one syscall does: the first conditional rule that matches
// decides, otherwise fallback.
type leaf struct {
	rules    []rule
	fallback uint32
	is64     bool // the ABI's arguments are 64-bit
}

// span is a run of syscall (or argument) values from lo up to the next
// span's lo, that either returns action or, with a leaf, checks arguments.
type span struct {
	lo     uint64
	action uint32
	leaf   *leaf
}

// compile turns p into a filter for goarch, resolving the profile's
// includes and excludes by arch, by the capabilities in caps and by the
// kernel version as dockerd's setupSeccomp does.
func compile(p *profile.Seccomp, goarch string, caps []string, kernel kernelVersion) (*Filter, error) {
	native, ok := natives[goarch]
	if !ok {
		return nil, fmt.Errorf("seccomp: no filter for architecture %s", goarch)
	}
	if len(p.Architectures) != 0 && len(p.ArchMap) != 0 {
		return nil, fmt.Errorf("seccomp: profile sets both architectures and archMap")
	}
	if len(p.LinuxSeccomp.Syscalls) != 0 {
		return nil, fmt.Errorf("seccomp: profile sets LinuxSeccomp.Syscalls; use Syscalls")
	}

	// The native arch is always in the filter (libseccomp starts from it);
	// the profile adds its sub-architectures.
	archs := []arch{native.arch}
	extra := p.Architectures
	for _, m := range p.ArchMap {
		if m.Arch == arches[native.arch].spec {
			extra = m.SubArches
		}
	}
	for _, s := range extra {
		if a, ok := archBySpec(s); ok && !slices.Contains(archs, a) {
			archs = append(archs, a)
		}
	}

	def, err := retAction(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	keep := make([]string, len(caps))
	for i, c := range caps {
		keep[i] = canonicalCap(c)
	}

	// Each arch's rules, in profile order.
	rules := make([][]entry, numArches)
	for _, a := range archs {
		rules[a] = make([]entry, 0, 512) // Docker's profile names about 400
	}
	for _, sc := range p.Syscalls {
		if !applies(sc, native.name, keep, kernel) {
			continue
		}
		scNames := sc.Names
		if sc.Name != "" {
			if len(sc.Names) != 0 {
				return nil, fmt.Errorf("seccomp: a rule sets both name %q and names", sc.Name)
			}
			scNames = []string{sc.Name}
		}
		act, err := retAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("%w (syscalls %s)", err, strings.Join(scNames, ", "))
		}
		alts, err := conditions(sc.Args)
		if err != nil {
			return nil, fmt.Errorf("%w (syscalls %s)", err, strings.Join(scNames, ", "))
		}
		for _, name := range scNames {
			row, ok := lookup(name)
			if !ok {
				continue // as runc: a name the table lacks is skipped
			}
			for _, a := range archs {
				if row.nr[a] < 0 {
					continue // and so is one this arch lacks
				}
				for _, conds := range alts {
					rules[a] = append(rules[a], entry{nr: uint32(row.nr[a]), name: name, rule: rule{act, conds}})
				}
			}
		}
	}

	// One section per AUDIT_ARCH value; x86_64 and x32 share one, split by
	// the x32 bit of the syscall number.
	var (
		audits   []uint32
		sections [][]span
	)
	for _, a := range archs {
		info := arches[a]
		spans, err := archSpans(rules[a], info, def)
		if err != nil {
			return nil, err
		}
		i := slices.Index(audits, info.audit)
		if i < 0 {
			audits = append(audits, info.audit)
			sections = append(sections, nil)
			i = len(audits) - 1
		}
		sections[i] = append(sections[i], spans...)
	}
	for i, audit := range audits {
		spans := sections[i]
		slices.SortFunc(spans, func(x, y span) int { return cmp.Compare(x.lo, y.lo) })
		// x86_64 without x32, or x32 without x86_64: the other is a
		// foreign arch.
		if spans[0].lo > 0 {
			spans = slices.Insert(spans, 0, span{lo: 0, action: retKillProcess})
		}
		if audit == auditArchX86_64 && spans[len(spans)-1].lo < x32SyscallBit {
			spans = append(spans, span{lo: x32SyscallBit, action: retKillProcess})
		}
		sections[i] = mergeSpans(spans)
	}

	a := asm{ops: make([]op, 0, 1024), labels: make([]int, 0, 512)}
	a.ld(offArch)
	starts := make([]label, len(audits))
	for i, audit := range audits {
		starts[i] = a.newLabel()
		a.jmp(bpfJeqK, audit, starts[i], next)
	}
	a.ret(retKillProcess)
	for i := range audits {
		a.place(starts[i])
		a.ld(offNr)
		tree(&a, sections[i])
	}
	prog, err := a.assemble()
	if err != nil {
		return nil, err
	}
	if len(prog) > maxInsns {
		return nil, fmt.Errorf("seccomp: the filter for %s has %d instructions, more than the kernel's %d", goarch, len(prog), maxInsns)
	}
	return &Filter{prog: prog}, nil
}

// applies evaluates a rule's includes and excludes as moby's setupSeccomp.
func applies(sc *profile.Syscall, native string, caps []string, kernel kernelVersion) bool {
	if ex := sc.Excludes; ex != nil {
		if slices.Contains(ex.Arches, native) {
			return false
		}
		for _, c := range ex.Caps {
			if slices.Contains(caps, c) {
				return false
			}
		}
		if ex.MinKernel != nil && kernel.atLeast(*ex.MinKernel) {
			return false
		}
	}
	if in := sc.Includes; in != nil {
		if len(in.Arches) > 0 && !slices.Contains(in.Arches, native) {
			return false
		}
		for _, c := range in.Caps {
			if !slices.Contains(caps, c) {
				return false
			}
		}
		if in.MinKernel != nil && !kernel.atLeast(*in.MinKernel) {
			return false
		}
	}
	return true
}

func (k kernelVersion) atLeast(v profile.KernelVersion) bool {
	return k.major > v.Kernel || k.major == v.Kernel && k.minor >= v.Major
}

func canonicalCap(c string) string {
	c = strings.ToUpper(c)
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

// conditions returns the alternatives a rule's arguments stand for: one
// conjunction, or, when an argument is compared more than once, each
// comparison on its own, as runc adds them (opencontainers/runc#2735).
func conditions(args []specs.LinuxSeccompArg) ([][]cond, error) {
	if len(args) == 0 {
		return [][]cond{nil}, nil
	}
	conds := make([]cond, len(args))
	var seen [6]bool
	repeated := false
	for i, arg := range args {
		if arg.Index > 5 {
			return nil, fmt.Errorf("seccomp: argument index %d out of range", arg.Index)
		}
		switch arg.Op {
		case specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
			specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual:
		default:
			return nil, fmt.Errorf("seccomp: unknown comparison %q", arg.Op)
		}
		repeated = repeated || seen[arg.Index]
		seen[arg.Index] = true
		conds[i] = cond{index: uint32(arg.Index), op: arg.Op, value: arg.Value, value2: arg.ValueTwo}
	}
	if !repeated {
		return [][]cond{conds}, nil
	}
	alts := make([][]cond, len(conds))
	for i := range conds {
		alts[i] = conds[i : i+1]
	}
	return alts, nil
}

func retAction(act specs.LinuxSeccompAction, errno *uint) (uint32, error) {
	data := uint32(errnoEPERM)
	if errno != nil {
		if *errno > 0xffff {
			return 0, fmt.Errorf("seccomp: errno %d out of range", *errno)
		}
		data = uint32(*errno)
	}
	switch act {
	case specs.ActAllow:
		return retAllow, nil
	case specs.ActErrno:
		return retErrno | data, nil
	case specs.ActKill, specs.ActKillThread:
		return retKillThread, nil
	case specs.ActKillProcess:
		return retKillProcess, nil
	case specs.ActTrap:
		return retTrap, nil
	case specs.ActTrace:
		return retTrace | data, nil
	case specs.ActLog:
		return retLog, nil
	}
	return 0, fmt.Errorf("seccomp: action %q is not supported", act)
}

// entry is one rule for one syscall of one arch.
type entry struct {
	nr   uint32
	name string
	rule rule
}

// archSpans covers info's syscall numbers: the profile's syscalls, the
// default action between them, and ENOSYS above the highest, as runc's
// patched filters answer calls newer than the profile.
func archSpans(entries []entry, info archInfo, def uint32) ([]span, error) {
	// Sort by number, then profile order, without moving the entries.
	keys := make([]uint64, len(entries))
	for i, e := range entries {
		keys[i] = uint64(e.nr)<<32 | uint64(i)
	}
	slices.Sort(keys)
	spans := make([]span, 0, 2*len(entries)+2)
	var group []rule
	cur := info.base
	for i := 0; i < len(keys); {
		nr := uint32(keys[i] >> 32)
		name := entries[uint32(keys[i])].name
		group = group[:0]
		for ; i < len(keys) && uint32(keys[i]>>32) == nr; i++ {
			group = append(group, entries[uint32(keys[i])].rule)
		}
		if uint64(nr) < info.base || uint64(nr) >= info.limit {
			return nil, fmt.Errorf("seccomp: internal error: %s is %#x, outside %s's numbers", name, nr, info.spec)
		}
		if uint64(nr) > cur {
			spans = append(spans, span{lo: cur, action: def})
		}
		s, err := syscallSpan(group, def)
		if err != nil {
			return nil, fmt.Errorf("%w: %s on %s", err, name, info.spec)
		}
		s.lo = uint64(nr)
		if s.leaf != nil {
			s.leaf.is64 = info.is64
		}
		spans = append(spans, s)
		cur = uint64(nr) + 1
	}
	if cur < info.limit {
		end := uint32(retErrno | errnoENOSYS)
		if len(entries) == 0 {
			end = def
		}
		spans = append(spans, span{lo: cur, action: end})
	}
	return spans, nil
}

// syscallSpan decides one syscall. An unconditional rule sets what happens
// when no conditional rule matches; conditional rules that could only
// repeat that are dropped.
func syscallSpan(rules []rule, def uint32) (span, error) {
	fallback, uncond := def, false
	for _, r := range rules {
		if len(r.conds) == 0 {
			if uncond && r.action != fallback {
				return span{}, fmt.Errorf("seccomp: unconditional rules with different actions")
			}
			fallback, uncond = r.action, true
		}
	}
	var conditional []rule
	for _, r := range rules {
		if len(r.conds) > 0 {
			conditional = append(conditional, r)
		}
	}
	for len(conditional) > 0 && conditional[len(conditional)-1].action == fallback {
		conditional = conditional[:len(conditional)-1]
	}
	if len(conditional) == 0 {
		return span{action: fallback}, nil
	}
	return span{leaf: &leaf{rules: conditional, fallback: fallback}}, nil
}

// mergeSpans joins neighbours that return the same action.
func mergeSpans(spans []span) []span {
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && s.leaf == nil && out[n-1].leaf == nil && out[n-1].action == s.action {
			continue
		}
		out = append(out, s)
	}
	return out
}

// blockSpans bounds the spans one block of a search covers, so that the
// jumps inside it to its shared returns stay within the 255 instructions a
// conditional jump reaches.
const blockSpans = 64

// tree emits a binary search over spans on the accumulator's value: a tree
// of comparisons whose leaves jump to one return per action, shared within a
// block, and to the argument checks of leaves that have them.
func tree(a *asm, spans []span) {
	if len(spans) == 1 {
		emitSpan(a, spans[0])
		return
	}
	if len(spans) > blockSpans {
		mid := len(spans) / 2
		right := a.newLabel()
		a.jmp(bpfJgeK, uint32(spans[mid].lo), right, next)
		tree(a, spans[:mid])
		a.place(right)
		tree(a, spans[mid:])
		return
	}
	var (
		rets    = map[uint32]label{}
		actions []uint32
		leaves  []span
		at      []label
	)
	// target is where a comparison goes for sub: its own comparison, its
	// action's shared return, or its argument checks.
	target := func(sub []span) label {
		if s := sub[0]; len(sub) == 1 && s.leaf == nil {
			if r, ok := rets[s.action]; ok {
				return r
			}
			r := a.newLabel()
			rets[s.action] = r
			actions = append(actions, s.action)
			return r
		}
		l := a.newLabel()
		if len(sub) == 1 {
			leaves, at = append(leaves, sub[0]), append(at, l)
		}
		return l
	}
	var node func(spans []span)
	node = func(spans []span) {
		mid := len(spans) / 2
		lt, rt := target(spans[:mid]), target(spans[mid:])
		a.jmp(bpfJgeK, uint32(spans[mid].lo), rt, lt)
		if mid > 1 {
			a.place(lt)
			node(spans[:mid])
		}
		if len(spans)-mid > 1 {
			a.place(rt)
			node(spans[mid:])
		}
	}
	node(spans)
	for _, act := range actions {
		a.place(rets[act])
		a.ret(act)
	}
	for i, s := range leaves {
		a.place(at[i])
		emitSpan(a, s)
	}
}

func emitSpan(a *asm, s span) {
	if s.leaf == nil {
		a.ret(s.action)
		return
	}
	emitLeaf(a, s.leaf)
}

// emitLeaf checks a syscall's arguments. Rules that only admit values of
// one argument (socket's families, personality's personas) become a
// binary search over those values; anything else is tested rule by rule.
func emitLeaf(a *asm, l *leaf) {
	is64 := l.is64
	if spans, index, ok := valueSet(l); ok {
		lo := offArgs + 8*index
		fallback := a.newLabel()
		if is64 {
			a.ld(lo + 4)
			a.jmp(bpfJeqK, 0, next, fallback)
		}
		a.ld(lo)
		tree(a, spans)
		if is64 {
			a.place(fallback)
			a.ret(l.fallback)
		}
		return
	}
	for _, r := range l.rules {
		fail := a.newLabel()
		for _, c := range r.conds {
			emitCond(a, c, is64, fail)
		}
		a.ret(r.action)
		a.place(fail)
	}
	a.ret(l.fallback)
}

// valueSet returns l as spans over the low word of one argument, when its
// rules are single comparisons of that argument with one action and (for a
// 64-bit ABI) admit only values whose high word is zero.
func valueSet(l *leaf) ([]span, uint32, bool) {
	type interval struct{ lo, hi uint64 }
	var (
		set    []interval
		index  = l.rules[0].conds[0].index
		action = l.rules[0].action
	)
	const max32 = 1<<32 - 1
	for _, r := range l.rules {
		if len(r.conds) != 1 || r.conds[0].index != index || r.action != action {
			return nil, 0, false
		}
		v, hi := r.conds[0].value, uint64(1<<64-1)
		if !l.is64 {
			v, hi = v&max32, max32
		}
		var in interval
		switch r.conds[0].op {
		case specs.OpEqualTo:
			in = interval{v, v}
		case specs.OpLessThan:
			if v == 0 {
				continue
			}
			in = interval{0, v - 1}
		case specs.OpLessEqual:
			in = interval{0, v}
		case specs.OpGreaterThan:
			if v == hi {
				continue
			}
			in = interval{v + 1, hi}
		case specs.OpGreaterEqual:
			in = interval{v, hi}
		default:
			return nil, 0, false
		}
		if in.hi > max32 {
			return nil, 0, false
		}
		set = append(set, in)
	}
	slices.SortFunc(set, func(x, y interval) int { return cmp.Compare(x.lo, y.lo) })
	var merged []interval
	for _, in := range set {
		if n := len(merged); n > 0 && in.lo <= merged[n-1].hi+1 {
			merged[n-1].hi = max(merged[n-1].hi, in.hi)
			continue
		}
		merged = append(merged, in)
	}
	var spans []span
	cur := uint64(0)
	for _, in := range merged {
		if in.lo > cur {
			spans = append(spans, span{lo: cur, action: l.fallback})
		}
		spans = append(spans, span{lo: in.lo, action: action})
		cur = in.hi + 1
	}
	if cur <= max32 {
		spans = append(spans, span{lo: cur, action: l.fallback})
	}
	return spans, index, true
}

// emitCond falls through when c holds and jumps to fail when it does not.
// A 64-bit ABI compares both words; a 32-bit one only the low word.
func emitCond(a *asm, c cond, is64 bool, fail label) {
	lo := offArgs + 8*c.index
	vlo, wlo := uint32(c.value), uint32(c.value2)
	if !is64 {
		a.ld(lo)
		switch c.op {
		case specs.OpEqualTo:
			a.jmp(bpfJeqK, vlo, next, fail)
		case specs.OpNotEqual:
			a.jmp(bpfJeqK, vlo, fail, next)
		case specs.OpGreaterThan:
			a.jmp(bpfJgtK, vlo, next, fail)
		case specs.OpGreaterEqual:
			a.jmp(bpfJgeK, vlo, next, fail)
		case specs.OpLessThan:
			a.jmp(bpfJgeK, vlo, fail, next)
		case specs.OpLessEqual:
			a.jmp(bpfJgtK, vlo, fail, next)
		case specs.OpMaskedEqual:
			maskedEq(a, vlo, wlo, fail)
		}
		return
	}
	hi := lo + 4
	vhi, whi := uint32(c.value>>32), uint32(c.value2>>32)
	ok := a.newLabel()
	switch c.op {
	case specs.OpEqualTo:
		a.ld(hi)
		a.jmp(bpfJeqK, vhi, next, fail)
		a.ld(lo)
		a.jmp(bpfJeqK, vlo, next, fail)
	case specs.OpNotEqual:
		a.ld(hi)
		a.jmp(bpfJeqK, vhi, next, ok)
		a.ld(lo)
		a.jmp(bpfJeqK, vlo, fail, next)
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		a.ld(hi)
		a.jmp(bpfJgtK, vhi, ok, next)
		a.jmp(bpfJeqK, vhi, next, fail)
		a.ld(lo)
		if c.op == specs.OpGreaterThan {
			a.jmp(bpfJgtK, vlo, next, fail)
		} else {
			a.jmp(bpfJgeK, vlo, next, fail)
		}
	case specs.OpLessThan, specs.OpLessEqual:
		a.ld(hi)
		a.jmp(bpfJgtK, vhi, fail, next)
		a.jmp(bpfJeqK, vhi, next, ok)
		a.ld(lo)
		if c.op == specs.OpLessThan {
			a.jmp(bpfJgeK, vlo, fail, next)
		} else {
			a.jmp(bpfJgtK, vlo, fail, next)
		}
	case specs.OpMaskedEqual:
		if vhi != 0 || whi != 0 {
			a.ld(hi)
			maskedEq(a, vhi, whi, fail)
		}
		a.ld(lo)
		maskedEq(a, vlo, wlo, fail)
	}
	a.place(ok)
}

// maskedEq tests (A & mask) == want, sparing the instructions a mask of
// all ones or of nothing makes pointless.
func maskedEq(a *asm, mask, want uint32, fail label) {
	switch {
	case want&^mask != 0:
		a.ja(fail) // never equal
		return
	case mask == 0:
		return // always equal
	case mask != ^uint32(0):
		a.and(mask)
	}
	a.jmp(bpfJeqK, want, next, fail)
}
