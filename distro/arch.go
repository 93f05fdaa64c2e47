package distro

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// judgeArch says which platforms Berth's engine is built for, and why the
// others are refused.
func judgeArch(a *Arch) {
	switch a.Name {
	case "amd64", "arm64", "arm/v7":
		a.Supported = true
	case "386":
		a.Reason = "32-bit x86 is not supported: container images and Berth are built for 64-bit x86 (amd64)"
	case "arm/v6":
		a.Reason = "ARMv6 (Raspberry Pi 1 and Zero) is not supported: images for arm/v7 use instructions this CPU lacks"
	case "arm":
		a.Reason = "32-bit ARM of unknown revision: Berth runs on ARMv7 and newer"
	default:
		a.Reason = fmt.Sprintf("%s is not an architecture Berth is built for (amd64, arm64, arm/v7)", a.Name)
	}
}

// archFromMachine normalises a uname machine name.
func archFromMachine(m string) string {
	switch m {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64", "aarch64_be":
		return "arm64"
	case "armv7l", "armv7", "armv8l", "armhf":
		// armv8l is a 64-bit CPU in 32-bit mode: it runs arm/v7 images.
		return "arm/v7"
	case "armv6l", "armv6":
		return "arm/v6"
	case "i386", "i486", "i586", "i686", "x86":
		return "386"
	case "ppc64le", "s390x", "riscv64", "mips64", "loongarch64":
		return m
	}
	if strings.HasPrefix(m, "armv5") || strings.HasPrefix(m, "armv4") {
		return "arm/v5"
	}
	return m
}

// archFromELF reads the architecture of the ELF binary in rd. For 32-bit ARM
// the .ARM.attributes section's Tag_CPU_arch tells v6 from v7; without it the
// answer is plain "arm".
func archFromELF(rd io.ReaderAt) (name, machine string, err error) {
	f, err := elf.NewFile(rd)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	machine = f.Machine.String()
	switch f.Machine {
	case elf.EM_X86_64:
		if f.Class == elf.ELFCLASS32 {
			return "amd64p32", machine, nil
		}
		return "amd64", machine, nil
	case elf.EM_AARCH64:
		return "arm64", machine, nil
	case elf.EM_386:
		return "386", machine, nil
	case elf.EM_PPC64:
		if f.Data == elf.ELFDATA2LSB {
			return "ppc64le", machine, nil
		}
		return "ppc64", machine, nil
	case elf.EM_S390:
		return "s390x", machine, nil
	case elf.EM_RISCV:
		return "riscv64", machine, nil
	case elf.EM_ARM:
		sec := f.Section(".ARM.attributes")
		if sec == nil {
			return "arm", machine, nil
		}
		data, err := sec.Data()
		if err != nil {
			return "arm", machine, nil
		}
		cpuArch, ok := armCPUArch(data)
		if !ok {
			return "arm", machine, nil
		}
		machine += fmt.Sprintf(" Tag_CPU_arch=%d", cpuArch)
		switch {
		case cpuArch == 10 || cpuArch == 14 || cpuArch >= 15 && cpuArch != 16 && cpuArch != 17:
			// v7, v8-A, v8-R and later application profiles run v7 code.
			return "arm/v7", machine, nil
		case cpuArch >= 6 && cpuArch <= 9:
			return "arm/v6", machine, nil
		case cpuArch < 6:
			return "arm/v5", machine, nil
		}
		// M profiles (v6-M, v7E-M, v8-M) are microcontrollers.
		return "arm", machine, nil
	}
	return strings.ToLower(strings.TrimPrefix(machine, "EM_")), machine, nil
}

// Tags of the ARM EABI attributes section (ARM IHI 0045).
const (
	armTagFile    = 1
	armTagCPUArch = 6
)

var errAttrs = errors.New("malformed .ARM.attributes")

// armCPUArch finds Tag_CPU_arch in the "aeabi" subsection of an
// .ARM.attributes section.
func armCPUArch(b []byte) (int, bool) {
	if len(b) < 1 || b[0] != 'A' {
		return 0, false
	}
	b = b[1:]
	for len(b) >= 4 {
		n := int(binary.LittleEndian.Uint32(b))
		if n < 4 || n > len(b) {
			return 0, false
		}
		sub := b[4:n]
		b = b[n:]
		vendor, rest, ok := bytes.Cut(sub, []byte{0})
		if !ok || string(vendor) != "aeabi" {
			continue
		}
		for len(rest) >= 5 {
			tag := rest[0]
			size := int(binary.LittleEndian.Uint32(rest[1:]))
			if size < 5 || size > len(rest) {
				return 0, false
			}
			if tag == armTagFile {
				if v, err := findULEBTag(rest[5:size], armTagCPUArch); err == nil {
					return v, true
				}
			}
			rest = rest[size:]
		}
	}
	return 0, false
}

// findULEBTag walks attribute (tag, value) pairs; values are ULEB128
// numbers, except for the tags the ABI defines as NUL-terminated strings.
func findULEBTag(b []byte, want int) (int, error) {
	for len(b) > 0 {
		tag, n := uleb(b)
		if n == 0 {
			return 0, errAttrs
		}
		b = b[n:]
		isString := tag == 4 || tag == 5 || tag == 67 || (tag > 32 && tag%2 == 1)
		if tag == 32 { // Tag_compatibility: a number, then a string
			_, n := uleb(b)
			if n == 0 {
				return 0, errAttrs
			}
			b = b[n:]
			isString = true
		}
		if isString {
			i := bytes.IndexByte(b, 0)
			if i < 0 {
				return 0, errAttrs
			}
			b = b[i+1:]
			continue
		}
		v, n := uleb(b)
		if n == 0 {
			return 0, errAttrs
		}
		if int(tag) == want {
			return int(v), nil
		}
		b = b[n:]
	}
	return 0, errAttrs
}

func uleb(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// detectArch finds the architecture: uname for the live host, else the ELF
// header of the root's shell. A 32-bit ARM userland is refined by the CPU the
// root's /proc/cpuinfo describes, since an ARMv7 CPU runs arm/v7 images even
// under Raspbian's ARMv6 userland.
func detectArch(r rootFS, live bool, p Probe) (Arch, []string) {
	var warnings []string
	var a Arch
	if live {
		if _, m, err := p.Uname(); err == nil {
			a = Arch{Name: archFromMachine(m), Machine: m, Source: "uname"}
			judgeArch(&a)
			return a, nil
		}
	}
	for _, bin := range []string{"/bin/sh", "/usr/bin/env", "/bin/busybox"} {
		hp := r.host(bin)
		if hp == "" {
			continue
		}
		f, err := os.Open(hp)
		if err != nil {
			continue
		}
		name, machine, err := archFromELF(f)
		f.Close()
		if err != nil {
			continue
		}
		a = Arch{Name: name, Machine: machine, Source: "ELF " + r.realpath(bin)}
		break
	}
	if a.Name == "" {
		a = Arch{Name: "unknown", Source: "none", Reason: "no readable ELF binary at /bin/sh or /usr/bin/env"}
		return a, nil
	}
	if strings.HasPrefix(a.Name, "arm") && a.Name != "arm64" {
		if cpu := cpuinfoARM(r); cpu != "" && cpu != a.Name {
			a.Machine += ", CPU " + cpu
			a.Name = cpu
			a.Source += " and /proc/cpuinfo"
		}
	}
	if a.Name == "arm" {
		warnings = append(warnings, "32-bit ARM binary without a Tag_CPU_arch attribute: cannot tell ARMv6 from ARMv7")
	}
	judgeArch(&a)
	return a, warnings
}

// cpuinfoARM reads a 32-bit ARM CPU's revision from /proc/cpuinfo. The
// "model name" suffix is used because ARM1176 (ARMv6) kernels print
// "CPU architecture: 7".
func cpuinfoARM(r rootFS) string {
	for _, line := range r.lines("/proc/cpuinfo") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name", "Processor":
			switch {
			case strings.Contains(v, "(v7l)") || strings.Contains(v, "ARMv7"):
				return "arm/v7"
			case strings.Contains(v, "(v8l)") || strings.Contains(v, "ARMv8"):
				return "arm/v7"
			case strings.Contains(v, "(v6l)") || strings.Contains(v, "ARMv6"):
				return "arm/v6"
			}
		}
	}
	return ""
}
