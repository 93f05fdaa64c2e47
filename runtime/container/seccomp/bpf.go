package seccomp

import "fmt"

// Classic BPF opcodes (<linux/filter.h>), the subset a seccomp filter uses.
const (
	bpfLdWAbs = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfAndK   = 0x54 // BPF_ALU | BPF_AND | BPF_K
	bpfJa     = 0x05 // BPF_JMP | BPF_JA
	bpfJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgtK   = 0x25 // BPF_JMP | BPF_JGT | BPF_K
	bpfJgeK   = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfRetK   = 0x06 // BPF_RET | BPF_K

	// maxInsns is BPF_MAXINSNS, the kernel's limit on a filter's length.
	maxInsns = 4096
)

// insn is struct sock_filter.
type insn struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// label names an instruction a jump goes to. next is the instruction after
// the jump, which needs no label.
type label int

const next label = -1

// asm collects instructions whose jumps name labels, then lays them out.
// Jumps only go forward, as classic BPF requires; a conditional jump farther
// than its 8-bit offsets reach is rewritten into a short one over two
// unconditional jumps.
type asm struct {
	ops    []op
	labels []int // label → index in ops, -1 until placed
}

type op struct {
	code   uint16
	k      uint32
	jt, jf label // conditional jumps; ja's target is jt
}

func (a *asm) newLabel() label {
	a.labels = append(a.labels, -1)
	return label(len(a.labels) - 1)
}

func (a *asm) place(l label) { a.labels[l] = len(a.ops) }

func (a *asm) ld(off uint32) { a.ops = append(a.ops, op{code: bpfLdWAbs, k: off}) }
func (a *asm) and(k uint32)  { a.ops = append(a.ops, op{code: bpfAndK, k: k}) }
func (a *asm) ret(k uint32)  { a.ops = append(a.ops, op{code: bpfRetK, k: k}) }
func (a *asm) ja(to label)   { a.ops = append(a.ops, op{code: bpfJa, jt: to}) }
func (a *asm) jmp(code uint16, k uint32, jt, jf label) {
	if jt == jf {
		if jt != next {
			a.ja(jt)
		}
		return
	}
	a.ops = append(a.ops, op{code: code, k: k, jt: jt, jf: jf})
}

// assemble resolves the labels. Far conditional jumps grow to three
// instructions; growing one can push another out of reach, so it repeats
// until nothing changes.
func (a *asm) assemble() ([]insn, error) {
	far := make([]bool, len(a.ops))
	pos := make([]int, len(a.ops)+1)
	target := func(i int, l label) (int, error) {
		if l == next {
			return i + 1, nil
		}
		t := a.labels[l]
		if t < 0 {
			return 0, fmt.Errorf("seccomp: internal error: label %d never placed", l)
		}
		if t <= i {
			return 0, fmt.Errorf("seccomp: internal error: backward jump from %d to %d", i, t)
		}
		return t, nil
	}
	for {
		for i := range a.ops {
			w := 1
			if far[i] {
				w = 3
			}
			pos[i+1] = pos[i] + w
		}
		grew := false
		for i, o := range a.ops {
			if o.code&0x07 != 0x05 || o.code == bpfJa || far[i] {
				continue
			}
			for _, l := range []label{o.jt, o.jf} {
				t, err := target(i, l)
				if err != nil {
					return nil, err
				}
				if pos[t]-pos[i]-1 > 255 {
					far[i], grew = true, true
					break
				}
			}
		}
		if !grew {
			break
		}
	}
	out := make([]insn, 0, pos[len(a.ops)])
	for i, o := range a.ops {
		switch {
		case o.code == bpfJa:
			t, err := target(i, o.jt)
			if err != nil {
				return nil, err
			}
			out = append(out, insn{Code: bpfJa, K: uint32(pos[t] - pos[i] - 1)})
		case o.code&0x07 == 0x05:
			jt, err := target(i, o.jt)
			if err != nil {
				return nil, err
			}
			jf, err := target(i, o.jf)
			if err != nil {
				return nil, err
			}
			if far[i] {
				out = append(out,
					insn{Code: o.code, K: o.k, Jt: 0, Jf: 1},
					insn{Code: bpfJa, K: uint32(pos[jt] - pos[i] - 2)},
					insn{Code: bpfJa, K: uint32(pos[jf] - pos[i] - 3)})
				continue
			}
			out = append(out, insn{Code: o.code, K: o.k, Jt: uint8(pos[jt] - pos[i] - 1), Jf: uint8(pos[jf] - pos[i] - 1)})
		default:
			out = append(out, insn{Code: o.code, K: o.k})
		}
	}
	return out, nil
}
