package distro

import (
	"fmt"
	"strconv"
	"strings"
)

// MinKernel is the oldest kernel Berth runs containers on, as Docker's.
var MinKernel = KernelVersion{3, 10, 0}

// KernelVersion is the numeric part of a kernel release.
type KernelVersion struct{ Major, Minor, Patch int }

func (v KernelVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less reports whether v is older than w.
func (v KernelVersion) Less(w KernelVersion) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

// AtLeast reports whether v is major.minor or newer.
func (v KernelVersion) AtLeast(major, minor int) bool {
	return !v.Less(KernelVersion{major, minor, 0})
}

// ParseKernelRelease takes the numeric X.Y.Z from a release string such as
// "3.10.0-1160.el7.x86_64", "5.15.0-91-generic", "4.19.97-v7+" or
// "5.15.133.1-microsoft-standard-WSL2". A missing patch level is 0.
func ParseKernelRelease(release string) (KernelVersion, error) {
	var nums [3]int
	rest := strings.TrimSpace(release)
	for i := 0; i < 3; i++ {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 {
			if i < 2 {
				return KernelVersion{}, fmt.Errorf("kernel release %q: no version number", release)
			}
			break
		}
		v, err := strconv.Atoi(rest[:n])
		if err != nil {
			return KernelVersion{}, fmt.Errorf("kernel release %q: %w", release, err)
		}
		nums[i] = v
		rest = rest[n:]
		if i < 2 {
			if !strings.HasPrefix(rest, ".") {
				if i == 0 {
					return KernelVersion{}, fmt.Errorf("kernel release %q: no minor version", release)
				}
				break
			}
			rest = rest[1:]
		}
	}
	return KernelVersion{nums[0], nums[1], nums[2]}, nil
}

// Parsed returns the numeric version of the kernel, zero when unknown.
func (k Kernel) Parsed() KernelVersion {
	v, _ := ParseKernelRelease(k.Version)
	return v
}

// Known reports whether the kernel release was found and parsed.
func (k Kernel) Known() bool { return k.Version != "" }

func newKernel(release, source string) Kernel {
	k := Kernel{Release: release, Source: source}
	if v, err := ParseKernelRelease(release); err == nil {
		k.Version = v.String()
	}
	return k
}
