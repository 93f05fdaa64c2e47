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
func detectStorage(r rootFS, f *Facts, mods moduleIndex, mounts []mountInfo, p Probe, dataRoot string) Storage {
	s := Storage{DataRoot: dataRoot, Overlay: "unknown", DType: "unknown"}
	s.Overlay, s.OverlaySource = detectOverlay(r, f, mods)

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

// detectOverlay says whether the kernel has an overlayfs the engine can use
// ("yes", "no", "unknown") and on what evidence.
func detectOverlay(r rootFS, f *Facts, mods moduleIndex) (string, string) {
	release := f.Kernel.Release
	el7 := strings.Contains(release, ".el7")
	if f.Kernel.Known() && !el7 && !f.Kernel.Parsed().AtLeast(4, 0) {
		// Before 4.0 overlayfs takes a single lower directory, and an
		// image of several layers needs many (Docker's overlay2 needs
		// 4.0 too). Only RHEL 7 backported multiple lower layers.
		if f.Kernel.Parsed().AtLeast(3, 18) {
			return "no", "overlayfs before Linux 4.0 takes one lower layer; images need many"
		}
		return "no", "overlayfs entered Linux in 3.18 and takes many lower layers from 4.0; " + release + " is older"
	}
	if el7 && el7Build(release) < 693 {
		return "no", "RHEL 7 kernels before 3.10.0-693 (7.4) lack a usable overlay"
	}
	if hasFilesystem(r, "overlay") {
		return "yes", "/proc/filesystems"
	}
	if ev := moduleEvidence(mods, "overlay"); ev != "" {
		return "yes", ev
	}
	if v, ok := f.KernelConfig.Options["CONFIG_OVERLAY_FS"]; ok {
		if v == "y" || v == "m" {
			return "yes", "CONFIG_OVERLAY_FS=" + v
		}
		return "no", "CONFIG_OVERLAY_FS is not set"
	}
	return "unknown", ""
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
