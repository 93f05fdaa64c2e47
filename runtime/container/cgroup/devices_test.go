package cgroup

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cilium/ebpf/asm"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestDefaultDevicesDecisions(t *testing.T) {
	s, err := compileDevices(DefaultDevices())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		typ          byte
		major, minor uint32
		access       string
		want         bool
	}{
		{"read /dev/null", 'c', 1, 3, "rw", true},
		{"open /dev/pts/7", 'c', 136, 7, "rw", true},
		{"open /dev/net/tun", 'c', 10, 200, "rw", true},
		{"mknod any char device", 'c', 1, 1, "m", true},
		{"mknod any block device", 'b', 8, 0, "m", true},
		{"read /dev/mem", 'c', 1, 1, "r", false},
		{"read a disk", 'b', 8, 0, "r", false},
		{"open /dev/fuse (Docker denies it)", 'c', 10, 229, "rw", false},
		{"mknod and read /dev/mem at once", 'c', 1, 1, "rm", false},
		{"block 1:3 is not null", 'b', 1, 3, "r", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc, _ := parseAccess(tc.access)
			if got := s.allows(tc.typ, tc.major, tc.minor, acc); got != tc.want {
				t.Errorf("allows = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCompileDevices follows the kernel's devcgroup_update_access.
func TestCompileDevices(t *testing.T) {
	c := func(major, minor int64, access string, allow bool) DeviceRule {
		return DeviceRule{Type: 'c', Major: major, Minor: minor, Access: access, Allow: allow}
	}
	for _, tc := range []struct {
		name  string
		rules []DeviceRule
		want  []v1Write
	}{
		{"empty is allow-all", nil, []v1Write{{"devices.allow", "a"}}},
		{"privileged", AllowAllDevices(), []v1Write{{"devices.allow", "a"}}},
		{"deny on top of allow-all is an exception",
			[]DeviceRule{c(1, 1, "rw", false)},
			[]v1Write{{"devices.allow", "a"}, {"devices.deny", "c 1:1 rw"}}},
		{"same device merges access",
			[]DeviceRule{{Type: 'a', Access: "rwm"}, c(1, 3, "r", true), c(1, 3, "w", true)},
			[]v1Write{{"devices.deny", "a"}, {"devices.allow", "c 1:3 rw"}}},
		{"agreeing rule takes access from the exact exception",
			[]DeviceRule{{Type: 'a', Access: "rwm"}, c(1, 3, "rwm", true), c(1, 3, "m", false)},
			[]v1Write{{"devices.deny", "a"}, {"devices.allow", "c 1:3 rw"}}},
		{"and removes it when none is left",
			[]DeviceRule{{Type: 'a', Access: "rwm"}, c(1, 3, "rw", true), c(1, 3, "rwm", false)},
			[]v1Write{{"devices.deny", "a"}}},
		{"but never punches a hole in a wildcard",
			[]DeviceRule{{Type: 'a', Access: "rwm"}, c(136, -1, "rwm", true), c(136, 1, "rwm", false)},
			[]v1Write{{"devices.deny", "a"}, {"devices.allow", "c 136:* rwm"}}},
		{"'a' resets whatever came before",
			[]DeviceRule{c(1, 1, "r", false), {Type: 'a', Access: "rwm"}, c(1, 5, "rwm", true)},
			[]v1Write{{"devices.deny", "a"}, {"devices.allow", "c 1:5 rwm"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := compileDevices(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.v1Writes(); !slices.Equal(got, tc.want) {
				t.Errorf("writes = %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range []DeviceRule{
		{Type: 'x', Major: 1, Minor: 1, Access: "r"},
		{Type: 'c', Major: 1, Minor: 1, Access: "rx"},
		{Type: 'c', Major: 1, Minor: 1, Access: ""},
		{Type: 'c', Major: -2, Minor: 1, Access: "r"},
		{Type: 'b', Major: 1, Minor: 1 << 32, Access: "r"},
	} {
		if _, err := compileDevices([]DeviceRule{bad}); err == nil {
			t.Errorf("rule %+v accepted", bad)
		}
	}
}

func TestDefaultDevicesV1Lines(t *testing.T) {
	s, _ := compileDevices(DefaultDevices())
	want := []v1Write{{"devices.deny", "a"},
		{"devices.allow", "c *:* m"}, {"devices.allow", "b *:* m"},
		{"devices.allow", "c 1:3 rwm"}, {"devices.allow", "c 1:5 rwm"}, {"devices.allow", "c 1:7 rwm"},
		{"devices.allow", "c 1:8 rwm"}, {"devices.allow", "c 1:9 rwm"}, {"devices.allow", "c 5:0 rwm"},
		{"devices.allow", "c 5:1 rwm"}, {"devices.allow", "c 5:2 rwm"}, {"devices.allow", "c 136:* rwm"},
		{"devices.allow", "c 10:200 rwm"}}
	if got := s.v1Writes(); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestDeviceProgramMatchesDecision runs the generated program on every
// combination of a grid of devices and accesses, for several rule sets, and
// compares it with the kernel-semantics decision. The program runs in a
// small interpreter of just the instructions the emitter uses (any other
// instruction fails the test), so a wrong jump, register or immediate shows.
func TestDeviceProgramMatchesDecision(t *testing.T) {
	c := func(major, minor int64, access string, allow bool) DeviceRule {
		return DeviceRule{Type: 'c', Major: major, Minor: minor, Access: access, Allow: allow}
	}
	sets := map[string][]DeviceRule{
		"docker default": DefaultDevices(),
		"privileged":     AllowAllDevices(),
		"deny list":      {c(1, 1, "rw", false), {Type: 'b', Major: 8, Minor: -1, Access: "w"}, c(-1, 9, "m", false)},
		"allow list":     {{Type: 'a'}, c(1, -1, "r", true), {Type: 'b', Major: -1, Minor: 0, Access: "rw"}, c(4, 2, "m", true)},
		"deny all":       {{Type: 'a'}},
	}
	types := []byte{'c', 'b'}
	nums := []uint32{0, 1, 2, 3, 5, 8, 9, 136, 200, 229, 1 << 20}
	for name, rules := range sets {
		t.Run(name, func(t *testing.T) {
			s, err := compileDevices(rules)
			if err != nil {
				t.Fatal(err)
			}
			prog := s.program()
			n := 0
			for _, typ := range types {
				for _, major := range nums {
					for _, minor := range nums {
						for acc := uint32(1); acc <= accAll; acc++ {
							want := s.allows(typ, major, minor, acc)
							got := runDeviceProgram(t, prog, typ, major, minor, acc)
							if got != want {
								t.Fatalf("%c %d:%d %s: program says %v, decision %v\n%v", typ, major, minor, accessString(acc), got, want, prog)
							}
							n++
						}
					}
				}
			}
			t.Logf("%d cases agree", n)
		})
	}
}

// runDeviceProgram interprets prog on a struct bpf_cgroup_dev_ctx.
func runDeviceProgram(t *testing.T, prog asm.Instructions, typ byte, major, minor, access uint32) bool {
	t.Helper()
	devType := uint32(bpfDevChar)
	if typ == 'b' {
		devType = bpfDevBlock
	}
	ctx := [3]uint32{access<<16 | devType, major, minor}
	labels, err := prog.SymbolOffsets()
	if err != nil {
		t.Fatal(err)
	}
	var r [11]uint64
	const ctxPtr = 0xc0ffee00
	r[asm.R1] = ctxPtr
	for pc, steps := 0, 0; ; steps++ {
		if pc < 0 || pc >= len(prog) || steps > len(prog) {
			t.Fatalf("pc %d out of the program or a loop", pc)
		}
		ins := prog[pc]
		op := ins.OpCode
		src := uint64(ins.Constant)
		if op.Source() == asm.RegSource {
			src = r[ins.Src]
		}
		switch cls := op.Class(); {
		case cls == asm.LdXClass && op.Mode() == asm.MemMode && op.Size() == asm.Word:
			off := int(ins.Offset)
			if r[ins.Src] != ctxPtr || off%4 != 0 || off/4 >= len(ctx) {
				t.Fatalf("insn %d: load outside the context: %v", pc, ins)
			}
			r[ins.Dst] = uint64(ctx[off/4])
			pc++
		case cls == asm.ALUClass || cls == asm.ALU64Class:
			var v uint64
			switch op.ALUOp() {
			case asm.Mov:
				v = src
			case asm.And:
				v = r[ins.Dst] & src
			case asm.RSh:
				v = r[ins.Dst] >> src
			default:
				t.Fatalf("insn %d: unexpected ALU op %v", pc, ins)
			}
			if cls == asm.ALUClass {
				v = uint64(uint32(v))
			}
			r[ins.Dst] = v
			pc++
		case cls == asm.JumpClass && op.JumpOp() == asm.Exit:
			return r[asm.R0] == 1
		case cls == asm.JumpClass:
			var taken bool
			switch op.JumpOp() {
			case asm.JEq:
				taken = r[ins.Dst] == src
			case asm.JNE:
				taken = r[ins.Dst] != src
			default:
				t.Fatalf("insn %d: unexpected jump %v", pc, ins)
			}
			pc++
			if taken {
				to, ok := labels[ins.Reference()]
				if !ok {
					t.Fatalf("insn %d: jump to unknown label %q", pc-1, ins.Reference())
				}
				if to < pc {
					t.Fatalf("insn %d: backward jump", pc-1)
				}
				pc = to
			}
		default:
			t.Fatalf("insn %d: unexpected instruction %v", pc, ins)
		}
	}
}

// TestDefaultDevicesProgram pins the program for Docker's defaults, for
// review; go test -update rewrites it.
func TestDefaultDevicesProgram(t *testing.T) {
	s, _ := compileDevices(DefaultDevices())
	got := fmt.Sprintf("%v", s.program())
	golden := filepath.Join("testdata", "default_devices.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("program changed (go test -update to accept):\n%s", got)
	}
}
