package container

import (
	"os"
	"sort"

	"golang.org/x/sys/unix"
)

// A lowerView is what a stack of overlay lower directories shows at one
// directory, as overlayfs merges them: the directories there, topmost
// first, down to the first opaque one. It answers from the layers' own
// files (whiteouts, opaque markers) without a mount, and follows no
// symlink: every name is opened relative to its parent's descriptor.
type lowerView []int

// openLowerView opens the roots of dirs (topmost first).
func openLowerView(dirs []string) (lowerView, error) {
	var v lowerView
	for _, d := range dirs {
		fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			v.close()
			return nil, err
		}
		v = append(v, fd)
	}
	return v, nil
}

func (v lowerView) close() {
	for _, fd := range v {
		unix.Close(fd)
	}
}

// lookup reports what the view shows at name: its stat, and, for a
// directory, the view one level down (which the caller closes). found is
// false where nothing shows (absent, or deleted by a whiteout).
func (v lowerView) lookup(name string) (st unix.Stat_t, sub lowerView, found bool, err error) {
	for _, dfd := range v {
		var s unix.Stat_t
		err := unix.Fstatat(dfd, name, &s, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.ENOENT || err == unix.ENOTDIR {
			continue
		}
		if err != nil {
			sub.close()
			return st, nil, false, err
		}
		if isOverlayWhiteout(&s) {
			break // deleted here: nothing below shows
		}
		if s.Mode&unix.S_IFMT != unix.S_IFDIR {
			if !found {
				st, found = s, true
			}
			break // a file ends the merge; under a directory it is hidden
		}
		if !found {
			st, found = s, true
		}
		fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			sub.close()
			return st, nil, false, err
		}
		sub = append(sub, fd)
		if isOpaqueDir(fd) {
			break
		}
	}
	return st, sub, found, nil
}

// names lists what the view shows in its directory, in byte order.
func (v lowerView) names() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, dfd := range v {
		dup, err := unix.Openat(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		f := os.NewFile(uintptr(dup), ".")
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if seen[n] {
				continue
			}
			seen[n] = true
			var st unix.Stat_t
			if err := unix.Fstatat(dfd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				continue
			}
			if !isOverlayWhiteout(&st) {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// isOverlayWhiteout: overlayfs's whiteout is a character device 0/0.
func isOverlayWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// isOpaqueDir: trusted.overlay.opaque=y (user.overlay.opaque on a
// userxattr mount) hides the lower directories.
func isOpaqueDir(fd int) bool {
	for _, name := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		var b [1]byte
		if n, err := unix.Fgetxattr(fd, name, b[:]); err == nil && n == 1 && b[0] == 'y' {
			return true
		}
	}
	return false
}
