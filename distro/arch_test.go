package distro

import (
	"encoding/binary"
	"os"
	"runtime"
	"testing"
)

func TestArchFromMachine(t *testing.T) {
	for in, want := range map[string]string{
		"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm/v7", "armv8l": "arm/v7",
		"armv6l": "arm/v6", "i686": "386", "i386": "386", "ppc64le": "ppc64le", "armv5tel": "arm/v5",
	} {
		if got := archFromMachine(in); got != want {
			t.Errorf("archFromMachine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJudgeArch(t *testing.T) {
	for name, supported := range map[string]bool{
		"amd64": true, "arm64": true, "arm/v7": true, "386": false, "arm/v6": false, "arm": false, "s390x": false,
	} {
		a := Arch{Name: name}
		judgeArch(&a)
		if a.Supported != supported || (!supported && a.Reason == "") {
			t.Errorf("%s: supported %v reason %q", name, a.Supported, a.Reason)
		}
	}
}

// armAttributes builds an .ARM.attributes section as GCC writes it: the
// "aeabi" subsection with a File tag holding Tag_CPU_name and Tag_CPU_arch.
func armAttributes(cpuName string, cpuArch byte) []byte {
	attrs := append([]byte{5}, append([]byte(cpuName), 0)...) // Tag_CPU_name
	attrs = append(attrs, 6, cpuArch)                         // Tag_CPU_arch
	attrs = append(attrs, 8, 1, 9, 2)                         // Tag_ARM_ISA_use, Tag_THUMB_ISA_use
	file := make([]byte, 5)
	file[0] = 1 // Tag_File
	binary.LittleEndian.PutUint32(file[1:], uint32(5+len(attrs)))
	file = append(file, attrs...)
	vendor := append([]byte("aeabi"), 0)
	sub := make([]byte, 4)
	binary.LittleEndian.PutUint32(sub, uint32(4+len(vendor)+len(file)))
	sub = append(append(sub, vendor...), file...)
	return append([]byte{'A'}, sub...)
}

func TestARMCPUArch(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want int
		ok   bool
	}{
		{"raspbian armv6", armAttributes("6", 6), 6, true},
		{"debian armhf v7", armAttributes("7-A", 10), 10, true},
		{"not attributes", []byte("Bxxxx"), 0, false},
		{"truncated", armAttributes("7-A", 10)[:12], 0, false},
		{"empty", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := armCPUArch(tt.data)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %d %v, want %d %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestArchFromELFOnThisMachine reads this machine's real /bin/sh.
func TestArchFromELFOnThisMachine(t *testing.T) {
	f, err := os.Open("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh:", err)
	}
	defer f.Close()
	name, machine, err := archFromELF(f)
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.GOARCH
	if want == "arm" {
		want = "arm/v7"
	}
	if name != want {
		t.Errorf("/bin/sh is %s (%s), this test binary is %s", name, machine, runtime.GOARCH)
	}
}

func TestArchFromELFRejectsNonELF(t *testing.T) {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if _, _, err := archFromELF(f); err == nil {
		t.Error("a text file was read as ELF")
	}
}
