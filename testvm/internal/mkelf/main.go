// Command mkelf writes a minimal, valid ELF executable for one architecture.
//
// The host fixtures under testvm/fixtures need real ELF headers (Berth reads the
// architecture of an offline root from its /bin/sh or /usr/bin/env), but real
// binaries are far too large to keep in the repository. The files mkelf writes
// are a few hundred bytes: an ELF header, one PT_LOAD program header, a tiny
// entry point that calls exit(0), and a section header table holding .shstrtab
// (and, for 32-bit ARM, an .ARM.attributes section), so that file(1), readelf
// and Go's debug/elf read them like the real thing.
//
// Usage:
//
//	go run ./testvm/internal/mkelf -arch amd64 -o testvm/fixtures/debian-12/usr/bin/dash
//	go run ./testvm/internal/mkelf -arch arm64 -o .../usr/bin/dash
//	go run ./testvm/internal/mkelf -arch 386 -o .../usr/bin/dash
//	go run ./testvm/internal/mkelf -arch arm -cpu-name 6 -cpu-arch 6 -o .../bin/dash
//
// For -arch arm the file is an EABI5 hard-float (armhf) executable whose
// .ARM.attributes "aeabi" subsection carries Tag_CPU_name and Tag_CPU_arch as
// given. Tag_CPU_arch values (ARM IHI 0045, "Addenda to the ARM ABI"):
// 6 = ARM v6 (what Raspbian builds for), 7 = v6KZ, 8 = v6T2, 9 = v6K,
// 10 = v7, 14 = v8. A Debian armhf binary says Tag_CPU_name "7-A", arch 10.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// ELF constants used below (see elf(5)).
const (
	etExec = 2

	emX86_64  = 62
	emAArch64 = 183
	em386     = 3
	emARM     = 40

	ptLoad = 1
	pfX    = 1
	pfR    = 4

	shtProgbits     = 1
	shtStrtab       = 3
	shtARMAttribute = 0x70000003

	efARMEABIVer5       = 0x05000000
	efARMABIFloatHard   = 0x00000400
	efARMABIFloatSoft   = 0x00000200
	armTagFile          = 1
	armTagCPUName       = 5
	armTagCPUArch       = 6
	armTagCPUProfile    = 7
	armTagARMISAUse     = 8
	armTagTHUMBISAUse   = 9
	armTagFPArch        = 10
	armTagABIVFPArgs    = 28
	loadBase64          = 0x400000
	loadBase32          = 0x10000
	elfHeaderSize64     = 64
	elfHeaderSize32     = 52
	progHeaderSize64    = 56
	progHeaderSize32    = 32
	sectionHeaderSize64 = 64
	sectionHeaderSize32 = 40
)

// target describes one architecture.
type target struct {
	class   byte // 1 = ELFCLASS32, 2 = ELFCLASS64
	machine uint16
	flags   uint32
	// exit is machine code for exit(0), little-endian.
	exit []byte
}

var targets = map[string]target{
	// mov eax, 60; xor edi, edi; syscall
	"amd64": {2, emX86_64, 0, []byte{0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05}},
	// mov x8, #93; mov x0, #0; svc #0
	"arm64": {2, emAArch64, 0, le32(0xd2800ba8, 0xd2800000, 0xd4000001)},
	// mov eax, 1; xor ebx, ebx; int 0x80
	"386": {1, em386, 0, []byte{0xb8, 1, 0, 0, 0, 0x31, 0xdb, 0xcd, 0x80}},
	// mov r7, #1; mov r0, #0; svc #0
	"arm": {1, emARM, efARMEABIVer5 | efARMABIFloatHard, le32(0xe3a07001, 0xe3a00000, 0xef000000)},
}

func le32(words ...uint32) []byte {
	b := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// armAttributes builds the contents of an .ARM.attributes section: format
// version 'A', then one "aeabi" subsection with a Tag_File attribute list.
func armAttributes(cpuName string, cpuArch, profile, thumb, fpArch int, hardFloat bool) []byte {
	var attrs bytes.Buffer
	if cpuName != "" {
		attrs.Write(uleb(armTagCPUName))
		attrs.WriteString(cpuName)
		attrs.WriteByte(0)
	}
	attrs.Write(uleb(armTagCPUArch))
	attrs.Write(uleb(uint64(cpuArch)))
	if profile != 0 {
		attrs.Write(uleb(armTagCPUProfile))
		attrs.Write(uleb(uint64(profile)))
	}
	attrs.Write(uleb(armTagARMISAUse))
	attrs.Write(uleb(1))
	attrs.Write(uleb(armTagTHUMBISAUse))
	attrs.Write(uleb(uint64(thumb)))
	if fpArch != 0 {
		attrs.Write(uleb(armTagFPArch))
		attrs.Write(uleb(uint64(fpArch)))
	}
	if hardFloat {
		attrs.Write(uleb(armTagABIVFPArgs))
		attrs.Write(uleb(1))
	}

	var file bytes.Buffer // Tag_File, uint32 size (tag and size included), attributes
	file.WriteByte(armTagFile)
	binary.Write(&file, binary.LittleEndian, uint32(1+4+attrs.Len()))
	file.Write(attrs.Bytes())

	vendor := "aeabi\x00"
	var out bytes.Buffer
	out.WriteByte('A')
	binary.Write(&out, binary.LittleEndian, uint32(4+len(vendor)+file.Len()))
	out.WriteString(vendor)
	out.Write(file.Bytes())
	return out.Bytes()
}

type section struct {
	name    string
	typ     uint32
	data    []byte
	nameOff uint32
	off     uint64
}

func align(n, a int) int { return (n + a - 1) / a * a }

// build returns the bytes of the ELF file.
func build(t target, attrs []byte) []byte {
	is64 := t.class == 2
	ehSize, phSize, shSize, base := elfHeaderSize32, progHeaderSize32, sectionHeaderSize32, uint64(loadBase32)
	if is64 {
		ehSize, phSize, shSize, base = elfHeaderSize64, progHeaderSize64, sectionHeaderSize64, loadBase64
	}

	var secs []*section
	if attrs != nil {
		secs = append(secs, &section{name: ".ARM.attributes", typ: shtARMAttribute, data: attrs})
	}
	shstr := &section{name: ".shstrtab", typ: shtStrtab}
	secs = append(secs, shstr)
	names := []byte{0}
	for _, s := range secs {
		s.nameOff = uint32(len(names))
		names = append(names, s.name...)
		names = append(names, 0)
	}
	shstr.data = names

	codeOff := ehSize + phSize
	off := align(codeOff+len(t.exit), 4)
	for _, s := range secs {
		s.off = uint64(off)
		off += len(s.data)
	}
	shOff := align(off, 8)
	total := shOff + shSize*(len(secs)+1)

	buf := make([]byte, total)
	le := binary.LittleEndian
	copy(buf, []byte{0x7f, 'E', 'L', 'F', t.class, 1 /* little-endian */, 1 /* EV_CURRENT */, 0 /* SYSV */})
	entry := base + uint64(codeOff)
	shnum := uint16(len(secs) + 1)
	shstrndx := shnum - 1
	if is64 {
		le.PutUint16(buf[16:], etExec)
		le.PutUint16(buf[18:], t.machine)
		le.PutUint32(buf[20:], 1)
		le.PutUint64(buf[24:], entry)
		le.PutUint64(buf[32:], uint64(ehSize)) // e_phoff
		le.PutUint64(buf[40:], uint64(shOff))
		le.PutUint32(buf[48:], t.flags)
		le.PutUint16(buf[52:], uint16(ehSize))
		le.PutUint16(buf[54:], uint16(phSize))
		le.PutUint16(buf[56:], 1)
		le.PutUint16(buf[58:], uint16(shSize))
		le.PutUint16(buf[60:], shnum)
		le.PutUint16(buf[62:], shstrndx)

		ph := buf[ehSize:]
		le.PutUint32(ph[0:], ptLoad)
		le.PutUint32(ph[4:], pfR|pfX)
		le.PutUint64(ph[8:], 0)
		le.PutUint64(ph[16:], base)
		le.PutUint64(ph[24:], base)
		le.PutUint64(ph[32:], uint64(total))
		le.PutUint64(ph[40:], uint64(total))
		le.PutUint64(ph[48:], 0x1000)
	} else {
		le.PutUint16(buf[16:], etExec)
		le.PutUint16(buf[18:], t.machine)
		le.PutUint32(buf[20:], 1)
		le.PutUint32(buf[24:], uint32(entry))
		le.PutUint32(buf[28:], uint32(ehSize))
		le.PutUint32(buf[32:], uint32(shOff))
		le.PutUint32(buf[36:], t.flags)
		le.PutUint16(buf[40:], uint16(ehSize))
		le.PutUint16(buf[42:], uint16(phSize))
		le.PutUint16(buf[44:], 1)
		le.PutUint16(buf[46:], uint16(shSize))
		le.PutUint16(buf[48:], shnum)
		le.PutUint16(buf[50:], shstrndx)

		ph := buf[ehSize:]
		le.PutUint32(ph[0:], ptLoad)
		le.PutUint32(ph[4:], 0)
		le.PutUint32(ph[8:], uint32(base))
		le.PutUint32(ph[12:], uint32(base))
		le.PutUint32(ph[16:], uint32(total))
		le.PutUint32(ph[20:], uint32(total))
		le.PutUint32(ph[24:], pfR|pfX)
		le.PutUint32(ph[28:], 0x1000)
	}
	copy(buf[codeOff:], t.exit)

	for i, s := range secs {
		copy(buf[s.off:], s.data)
		sh := buf[shOff+shSize*(i+1):] // entry 0 stays SHN_UNDEF (all zero)
		if is64 {
			le.PutUint32(sh[0:], s.nameOff)
			le.PutUint32(sh[4:], s.typ)
			le.PutUint64(sh[24:], s.off)
			le.PutUint64(sh[32:], uint64(len(s.data)))
			le.PutUint64(sh[48:], 1) // sh_addralign
		} else {
			le.PutUint32(sh[0:], s.nameOff)
			le.PutUint32(sh[4:], s.typ)
			le.PutUint32(sh[16:], uint32(s.off))
			le.PutUint32(sh[20:], uint32(len(s.data)))
			le.PutUint32(sh[32:], 1)
		}
	}
	return buf
}

func main() {
	arch := flag.String("arch", "", "amd64, arm64, 386 or arm")
	out := flag.String("o", "", "file to write (parent directories are created)")
	cpuName := flag.String("cpu-name", "6", "arm: Tag_CPU_name (\"6\" for Raspbian, \"7-A\" for Debian armhf)")
	cpuArch := flag.Int("cpu-arch", 6, "arm: Tag_CPU_arch (6 = v6, 7 = v6KZ, 10 = v7, 14 = v8)")
	profile := flag.Int("cpu-profile", 0, "arm: Tag_CPU_arch_profile ('A' = 65 for v7-A; 0 = omit)")
	thumb := flag.Int("thumb", 1, "arm: Tag_THUMB_ISA_use (1 = Thumb-1, 2 = Thumb-2)")
	fpArch := flag.Int("fp-arch", 2, "arm: Tag_FP_arch (2 = VFPv2, 4 = VFPv3-D16; 0 = omit)")
	soft := flag.Bool("soft-float", false, "arm: soft-float EABI (armel) instead of hard-float (armhf)")
	flag.Parse()

	t, ok := targets[*arch]
	if !ok || *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: mkelf -arch amd64|arm64|386|arm [arm flags] -o FILE")
		flag.PrintDefaults()
		os.Exit(2)
	}
	var attrs []byte
	if t.machine == emARM {
		if *soft {
			t.flags = efARMEABIVer5 | efARMABIFloatSoft
		}
		attrs = armAttributes(*cpuName, *cpuArch, *profile, *thumb, *fpArch, !*soft)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mkelf:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, build(t, attrs), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mkelf:", err)
		os.Exit(1)
	}
}
