package distro

import (
	"path"
	"strings"
)

// DefaultDataRoot is where the engine keeps images and containers.
const DefaultDataRoot = "/var/lib/berth"

// detectStorage answers whether the overlay driver can work: overlayfs in
// the kernel, and a data root on a filesystem overlay accepts as its upper
// layer (d_type, not overlay itself).
func detectStorage(r rootFS, f *Facts, mounts []mountInfo, p Probe, dataRoot string) Storage {
	s := Storage{DataRoot: dataRoot, Overlay: "unknown", DType: "unknown"}
	release := f.Kernel.Release
	switch {
	case hasFilesystem(r, "overlay"):
		s.Overlay, s.OverlaySource = "yes", "/proc/filesystems"
	default:
		if st := moduleState(r, release, "overlay"); st != "" {
			s.Overlay, s.OverlaySource = "yes", "module overlay ("+st+")"
		} else if v, ok := f.KernelConfig.Options["CONFIG_OVERLAY_FS"]; ok {
			if v == "y" || v == "m" {
				s.Overlay, s.OverlaySource = "yes", "CONFIG_OVERLAY_FS="+v
			} else {
				s.Overlay, s.OverlaySource = "no", "CONFIG_OVERLAY_FS is not set"
			}
		} else if f.Kernel.Known() {
			kv := f.Kernel.Parsed()
			switch {
			case kv.AtLeast(3, 18):
				// Mainline since 3.18; a kernel without it says so in
				// its config, which was not readable here.
			case strings.Contains(release, ".el7"):
				// RHEL 7 backported overlay to 3.10 (supported from 7.4,
				// kernel 3.10.0-693).
				if build := el7Build(release); build >= 693 {
					s.Overlay, s.OverlaySource = "yes", "RHEL 7 backport in "+release
				} else {
					s.Overlay, s.OverlaySource = "no", "RHEL 7 kernels before 3.10.0-693 (7.4) lack a usable overlay"
				}
			default:
				s.Overlay, s.OverlaySource = "no", "overlayfs entered Linux in 3.18; "+release+" is older"
			}
		}
	}

	// The data root, or the nearest parent that exists.
	dir := dataRoot
	for dir != "/" && !r.exists(dir) {
		dir = path.Dir(dir)
	}
	if m, ok := mountFor(mounts, r.realpath(dir)); ok {
		s.FSType = m.fsType
	}
	if hp := r.host(dir); hp != "" {
		if fi, err := p.Statfs(hp); err == nil {
			s.SizeBytes, s.FreeBytes = fi.SizeBytes, fi.FreeBytes
			if s.FSType == "" {
				s.FSType = fi.Type
			}
		}
		if ok, err := p.DType(hp); err == nil {
			s.DType = yesNo(ok)
		}
	}
	return s
}

// el7Build returns the build number of a RHEL 7 kernel
// (3.10.0-1160.el7.x86_64 → 1160).
func el7Build(release string) int {
	_, rest, ok := strings.Cut(release, "-")
	if !ok {
		return 0
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// hasFilesystem reports whether /proc/filesystems lists fs.
func hasFilesystem(r rootFS, fs string) bool {
	for _, line := range r.lines("/proc/filesystems") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == fs {
			return true
		}
	}
	return false
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
