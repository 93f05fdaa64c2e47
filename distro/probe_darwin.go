package distro

import (
	"strconv"

	"golang.org/x/sys/unix"
)

type hostProbe struct{}

// HostProbe returns the probes of the machine Berth runs on.
func HostProbe() Probe { return hostProbe{} }

func (hostProbe) Uname() (string, string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", err
	}
	return unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Machine[:]), nil
}

func (hostProbe) Statfs(path string) (FSInfo, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return FSInfo{}, err
	}
	return FSInfo{
		Type:      unix.ByteSliceToString(st.Fstypename[:]),
		SizeBytes: st.Blocks * uint64(st.Bsize),
		FreeBytes: st.Bavail * uint64(st.Bsize),
	}, nil
}

// DType is always true on macOS: APFS and HFS+ report entry types.
func (hostProbe) DType(string) (bool, error) { return true, nil }

// numericSysctls are read as integers; the rest are strings.
var numericSysctls = map[string]bool{
	"hw.memsize": true, "hw.optional.arm64": true, "kern.hv_support": true,
	"sysctl.proc_translated": true, "kern.hv_vmm_present": true,
}

func (hostProbe) Sysctl(name string) (string, error) {
	if !numericSysctls[name] {
		return unix.Sysctl(name)
	}
	raw, err := unix.SysctlRaw(name)
	if err != nil {
		return "", err
	}
	var v uint64
	for i := len(raw) - 1; i >= 0; i-- {
		v = v<<8 | uint64(raw[i])
	}
	return strconv.FormatUint(v, 10), nil
}
