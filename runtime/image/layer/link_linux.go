package layer

import (
	"archive/tar"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// link applies a hard link entry. Its target must be a non-directory of the
// merged view reached without a symlink; one that only a lower layer has is
// copied up to the same path in this layer first.
func (a *applier) link(name string, parent []string, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if target == "." || target == name {
		return fmt.Errorf("%w: hard link to %q", ErrInvalidEntry, hdr.Linkname)
	}
	tcomps := splitName(nil, target)
	tparent, tbase := tcomps[:len(tcomps)-1], tcomps[len(tcomps)-1]

	lv, owned, dfd, st, err := a.lookup(tcomps)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if dfd != lv.fd {
		err = a.copyUp(dfd, &st, tcomps)
	}
	if owned {
		closeLevel(lv)
	}
	if err != nil {
		return fmt.Errorf("copying up hard link target %q: %w", hdr.Linkname, err)
	}

	pfd, err := a.resolveParent(parent)
	if err != nil {
		return err
	}
	tpfd, err := a.openLayerDir(tparent)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	defer unix.Close(tpfd)
	if err := a.create(pfd, base, func() error { return unix.Linkat(tpfd, tbase, pfd, base, 0) }); err != nil {
		return fmt.Errorf("creating hard link: %w", err)
	}
	return nil
}

// lookup finds comps in the merged view, refusing a symlinked parent. It returns
// the parent level (to close when owned), the directory that holds the
// non-directory found (lv.fd when it is this layer's) and its stat.
func (a *applier) lookup(comps []string) (lv level, owned bool, dfd int, st unix.Stat_t, err error) {
	lv = a.stack[0]
	for i := 0; i < len(comps)-1; i++ {
		next, err := a.descend(&lv, comps, i, false)
		if owned {
			closeLevel(lv)
		}
		if err != nil {
			return level{}, false, -1, st, err
		}
		lv, owned = next, true
		if lv.fd < 0 && len(lv.lower) == 0 {
			closeLevel(lv)
			return level{}, false, -1, st, errTargetNotFound
		}
	}
	base := comps[len(comps)-1]
	dirs := lv.lower
	if lv.fd >= 0 {
		dirs = append([]int{lv.fd}, lv.lower...)
	}
	for _, fd := range dirs {
		err := unix.Fstatat(fd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.ENOENT {
			continue
		}
		switch {
		case err != nil:
			err = fmt.Errorf("stat: %w", err)
		case isWhiteout(&st):
			err = errTargetNotFound
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			err = fmt.Errorf("%w: hard link to a directory", ErrInvalidEntry)
		default:
			return lv, owned, fd, st, nil
		}
		if owned {
			closeLevel(lv)
		}
		return level{}, false, -1, st, err
	}
	if owned {
		closeLevel(lv)
	}
	return level{}, false, -1, st, errTargetNotFound
}

// copyUp copies the lower layer's non-directory comps, found in the directory
// sfd with stat st, to the same path in this layer: content, mode, owner,
// xattrs and times.
func (a *applier) copyUp(sfd int, st *unix.Stat_t, comps []string) error {
	base := comps[len(comps)-1]
	pfd, err := a.resolveParent(comps[:len(comps)-1])
	if err != nil {
		return err
	}
	uid, gid := int(st.Uid), int(st.Gid)
	mode := uint32(st.Mode)
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		src, err := unix.Openat(sfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(src)
		dst, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return err
		}
		defer unix.Close(dst)
		n, err := a.copyTo(dst, fdReader(src))
		a.stats.Size += n
		if err != nil {
			return err
		}
		if _, err := copyMetadata(src, dst); err != nil {
			return err
		}
	case unix.S_IFLNK:
		n, err := unix.Readlinkat(sfd, base, a.buf)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(string(a.buf[:n]), pfd, base); err != nil {
			return err
		}
		a.stats.Size += int64(n)
	default:
		if err := unix.Mknodat(pfd, base, mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	if mode&unix.S_IFMT != unix.S_IFREG {
		if err := unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if mode&unix.S_IFMT != unix.S_IFLNK {
			if err := unix.Fchmodat(pfd, base, mode&0o7777, 0); err != nil {
				return err
			}
		}
		err := copyXattrs(
			func(b []byte) (int, error) { return unix.Llistxattr(procPath(sfd, base), b) },
			func(n string, b []byte) (int, error) { return unix.Lgetxattr(procPath(sfd, base), n, b) },
			func(n string, v []byte) error {
				return ignoreUnsupported(unix.Lsetxattr(procPath(pfd, base), n, v, 0), true)
			})
		if err != nil {
			return err
		}
	}
	ts := [2]unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW)
}

// copyMetadata gives the file or directory dst the owner, mode and xattrs of
// src, and returns src's times.
func copyMetadata(src, dst int) ([2]unix.Timespec, error) {
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return [2]unix.Timespec{}, err
	}
	if err := unix.Fchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return [2]unix.Timespec{}, err
	}
	if err := unix.Fchmod(dst, uint32(st.Mode)&0o7777); err != nil {
		return [2]unix.Timespec{}, err
	}
	err := copyXattrs(
		func(b []byte) (int, error) { return unix.Flistxattr(src, b) },
		func(n string, b []byte) (int, error) { return unix.Fgetxattr(src, n, b) },
		func(n string, v []byte) error { return ignoreUnsupported(unix.Fsetxattr(dst, n, v, 0), false) })
	return [2]unix.Timespec{st.Atim, st.Mtim}, err
}

// copyXattrs copies every xattr but overlayfs's own.
func copyXattrs(list func([]byte) (int, error), get func(string, []byte) (int, error), set func(string, []byte) error) error {
	n, err := list(nil)
	if err == unix.ENOTSUP || (err == nil && n == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing xattrs: %w", err)
	}
	names := make([]byte, n)
	if n, err = list(names); err != nil {
		return fmt.Errorf("listing xattrs: %w", err)
	}
	value := make([]byte, 64<<10) // XATTR_SIZE_MAX
	for _, name := range splitNul(names[:n]) {
		if reservedXattr(name) {
			continue
		}
		vn, err := get(name, value)
		if err != nil {
			return fmt.Errorf("reading xattr %q: %w", name, err)
		}
		if err := set(name, value[:vn]); err != nil {
			return fmt.Errorf("setting xattr %q: %w", name, err)
		}
	}
	return nil
}

func splitNul(b []byte) []string {
	var names []string
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		if i > 0 {
			names = append(names, string(b[:i]))
		}
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return names
}

// fdReader reads a file descriptor.
type fdReader int

func (fd fdReader) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(b) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}
