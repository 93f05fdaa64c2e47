package layer

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Paths are resolved one component at a time from directory file descriptors,
// each opened with O_NOFOLLOW|O_DIRECTORY, so the kernel itself refuses to pass
// through a symlink; the merged view of the lower layers is consulted on the way
// so that a symlink an image cannot see in this layer still refuses the entry.

const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

func openDirAt(fd int, name string) (int, error) {
	for {
		nfd, err := unix.Openat(fd, name, dirFlags, 0)
		if err != unix.EINTR {
			return nfd, err
		}
	}
}

// isOpaque reports whether the directory fd carries trusted.overlay.opaque=y.
func isOpaque(fd int) bool {
	var v [1]byte
	n, err := unix.Fgetxattr(fd, opaqueXattr, v[:])
	return err == nil && n == 1 && v[0] == 'y'
}

// resolveParent returns this layer's directory for the parent components,
// creating the missing ones. It refuses a parent that is a symlink or a
// non-directory in the merged view. The result stays valid until the next call.
func (a *applier) resolveParent(comps []string) (int, error) {
	// Reuse the directories of the previous entry: tars list siblings together.
	n := 1
	for n < len(a.stack) && n-1 < len(comps) && a.stack[n].name == comps[n-1] {
		n++
	}
	a.truncate(n)
	for i := n - 1; i < len(comps); i++ {
		next, err := a.descend(&a.stack[len(a.stack)-1], comps, i, true)
		if err != nil {
			return -1, err
		}
		a.stack = append(a.stack, next)
	}
	return a.stack[len(a.stack)-1].fd, nil
}

// descend resolves comps[i] in the directory cur, through this layer and then
// the lower layers that merge into cur. With create, a directory missing from
// this layer is made; without, the result's fd is -1 then, and a result with no
// fd and no lower directories means nothing is visible there.
func (a *applier) descend(cur *level, comps []string, i int, create bool) (level, error) {
	name := comps[i]
	next := level{name: name, fd: -1}
	below := len(cur.lower) > 0 // whether the lower layers still show through here
	replacesWhiteout := false
	if cur.fd >= 0 {
		fd, err := openDirAt(cur.fd, name)
		switch err {
		case nil:
			next.fd = fd
			if below && isOpaque(fd) {
				below = false
			}
		case unix.ENOENT:
		case unix.ELOOP, unix.ENOTDIR:
			var st unix.Stat_t
			if err := unix.Fstatat(cur.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return next, fmt.Errorf("stat %q: %w", prefix(comps, i), err)
			}
			switch {
			case st.Mode&unix.S_IFMT == unix.S_IFLNK:
				return next, fmt.Errorf("%w: %q in this layer", ErrSymlinkParent, prefix(comps, i))
			case isWhiteout(&st):
				// This layer deleted the directory: nothing below shows through.
				below, replacesWhiteout = false, true
			default:
				return next, fmt.Errorf("%w: %q", errNotDirectory, prefix(comps, i))
			}
		default:
			return next, fmt.Errorf("opening %q: %w", prefix(comps, i), err)
		}
	}
	if below {
		for _, lfd := range cur.lower {
			fd, err := openDirAt(lfd, name)
			if err == nil {
				next.lower = append(next.lower, fd)
				if isOpaque(fd) {
					break
				}
				continue
			}
			if err == unix.ENOENT {
				continue
			}
			if err != unix.ELOOP && err != unix.ENOTDIR {
				closeLevel(next)
				return level{}, fmt.Errorf("opening %q in a lower layer: %w", prefix(comps, i), err)
			}
			// A non-directory ends the merge. It is what the merged view shows
			// only when no layer above has a directory here; then a symlink
			// refuses the entry, and anything else is hidden by the directory
			// this layer makes.
			if next.fd < 0 && len(next.lower) == 0 {
				var st unix.Stat_t
				if err := unix.Fstatat(lfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
					return next, fmt.Errorf("stat %q in a lower layer: %w", prefix(comps, i), err)
				}
				if st.Mode&unix.S_IFMT == unix.S_IFLNK {
					return next, fmt.Errorf("%w: %q in a lower layer", ErrSymlinkParent, prefix(comps, i))
				}
			}
			break
		}
	}
	if next.fd >= 0 || !create {
		return next, nil
	}
	fd, err := a.makeParent(cur.fd, comps, i, next.lower, replacesWhiteout)
	if err != nil {
		closeLevel(next)
		return level{}, err
	}
	next.fd = fd
	return next, nil
}

// makeParent creates the directory comps[i], which the tar does not list, in
// pfd. It copies the metadata of the lower directory it covers, if any, and is
// 0755 otherwise; replacing a whiteout, it is opaque.
func (a *applier) makeParent(pfd int, comps []string, i int, lower []int, replacesWhiteout bool) (int, error) {
	name := comps[i]
	if replacesWhiteout {
		if err := unix.Unlinkat(pfd, name, 0); err != nil {
			return -1, fmt.Errorf("removing whiteout %q: %w", prefix(comps, i), err)
		}
	}
	if err := unix.Mkdirat(pfd, name, 0o700); err != nil {
		return -1, fmt.Errorf("creating directory %q: %w", prefix(comps, i), err)
	}
	var fd int
	var err error
	if replacesWhiteout {
		fd, err = a.openOpaque(pfd, name)
	} else {
		fd, err = openDirAt(pfd, name)
	}
	if err != nil {
		return -1, err
	}
	if len(lower) > 0 {
		ts, err := copyMetadata(lower[0], fd)
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("copying up directory %q: %w", prefix(comps, i), err)
		}
		a.dirs = append(a.dirs, dirTime{name: prefix(comps, i), ts: ts})
		return fd, nil
	}
	// Explicitly: mkdir's mode is filtered by the umask.
	if err := unix.Fchmod(fd, 0o755); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("chmod %q: %w", prefix(comps, i), err)
	}
	return fd, nil
}

// prefix joins comps[:i+1], for messages and the deferred directory times.
func prefix(comps []string, i int) string { return strings.Join(comps[:i+1], "/") }

// openLayerDir opens the directory comps of this layer only, following no
// symlink.
func (a *applier) openLayerDir(comps []string) (int, error) {
	fd := a.root
	for _, c := range comps {
		nfd, err := openDirAt(fd, c)
		if fd != a.root {
			unix.Close(fd)
		}
		if err != nil {
			return -1, err
		}
		fd = nfd
	}
	if fd == a.root {
		return unix.Dup(a.root)
	}
	return fd, nil
}

// removeAll removes name from the directory pfd, recursively, following no
// symlink. pfd is the last directory resolveParent returned, so the resolved
// parents, its ancestors, are not among what is removed.
func removeAll(pfd int, name string) error {
	err := unix.Unlinkat(pfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR {
		return fmt.Errorf("removing %q: %w", name, err)
	}
	return removeDir(pfd, name)
}

func removeDir(pfd int, name string) error {
	fd, err := openDirAt(pfd, name)
	if err != nil {
		return fmt.Errorf("removing %q: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	for {
		names, err := f.Readdirnames(1024)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %q: %w", name, err)
		}
		for _, child := range names {
			err := unix.Unlinkat(fd, child, 0)
			if err == unix.EISDIR {
				err = removeDir(fd, child)
			}
			if err != nil && err != unix.ENOENT {
				return fmt.Errorf("removing %q: %w", name+"/"+child, err)
			}
		}
	}
	if err := unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR); err != nil {
		return fmt.Errorf("removing %q: %w", name, err)
	}
	return nil
}
