package seccomp

import (
	"encoding/binary"
	"fmt"
)

// seccompData is struct seccomp_data.
type seccompData struct {
	nr, arch uint32
	args     [6]uint64
}

// run interprets prog on d as the kernel would, after checking what the
// kernel's loader checks: known opcodes, jumps inside the program, aligned
// loads inside struct seccomp_data, and a return at the end.
func run(prog []insn, d seccompData) (uint32, error) {
	if err := check(prog); err != nil {
		return 0, err
	}
	var buf [64]byte
	binary.LittleEndian.PutUint32(buf[0:], d.nr)
	binary.LittleEndian.PutUint32(buf[4:], d.arch)
	for i, v := range d.args {
		binary.LittleEndian.PutUint64(buf[16+8*i:], v)
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		cond := false
		switch in.Code {
		case bpfLdWAbs:
			acc = binary.LittleEndian.Uint32(buf[in.K:])
			continue
		case bpfAndK:
			acc &= in.K
			continue
		case bpfJa:
			pc += int(in.K)
			continue
		case bpfRetK:
			return in.K, nil
		case bpfJeqK:
			cond = acc == in.K
		case bpfJgtK:
			cond = acc > in.K
		case bpfJgeK:
			cond = acc >= in.K
		}
		if cond {
			pc += int(in.Jt)
		} else {
			pc += int(in.Jf)
		}
	}
	return 0, fmt.Errorf("ran off the end of the program")
}

func check(prog []insn) error {
	if len(prog) == 0 || len(prog) > maxInsns {
		return fmt.Errorf("%d instructions", len(prog))
	}
	if prog[len(prog)-1].Code != bpfRetK {
		return fmt.Errorf("the last instruction is not a return")
	}
	for pc, in := range prog {
		switch in.Code {
		case bpfLdWAbs:
			if in.K%4 != 0 || in.K >= 64 {
				return fmt.Errorf("%d: load at %d", pc, in.K)
			}
		case bpfAndK, bpfRetK:
		case bpfJa:
			if pc+1+int(in.K) >= len(prog) {
				return fmt.Errorf("%d: ja out of the program", pc)
			}
		case bpfJeqK, bpfJgtK, bpfJgeK:
			if pc+1+int(max(in.Jt, in.Jf)) >= len(prog) {
				return fmt.Errorf("%d: jump out of the program", pc)
			}
		default:
			return fmt.Errorf("%d: opcode %#x", pc, in.Code)
		}
	}
	return nil
}
