package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Export writes dir, the upper directory of an overlayfs mount, to w as a
// layer tar: the inverse of Apply, what a commit makes of a container's
// changes.
//
//   - A whiteout (a character device 0/0, or an empty file marked
//     trusted.overlay.whiteout, as overlayfs writes them where it cannot
//     mknod) becomes a ".wh.NAME" entry, mode 0600 and owned as it was.
//   - An opaque directory (trusted.overlay.opaque=y, or user.overlay.opaque=y
//     from a userxattr mount) is followed by a ".wh..wh..opq" entry.
//   - Xattrs overlayfs reserves (trusted.overlay.*, user.overlay.*) are left
//     out; every other xattr (security.capability...) is kept as a PAX record.
//   - Regular files hard-linked to each other within dir are one file and tar
//     hard links to it. (Whiteouts share one inode on recent kernels: they are
//     never links.)
//   - Entries come depth first, a directory before its content, names in
//     byte order, with PAX headers, times in whole seconds and no user or
//     group names, so the same dir always makes the same tar. dir itself is
//     not an entry, as in Docker's layers.
//   - No symlink is ever followed: every name is opened or stat'ed relative to
//     its parent directory's descriptor without following. Sockets are
//     skipped, as Docker skips them.
//
// Export reads what is there while it runs: the caller freezes the writers
// (a paused container) when it wants one moment's state. A file that
// shrinks while it is read is an error; one that vanishes is left out.
func Export(ctx context.Context, w io.Writer, dir string) error {
	root, err := openDirAt(unix.AT_FDCWD, dir)
	if err != nil {
		return fmt.Errorf("exporting %s: %w", dir, err)
	}
	defer unix.Close(root)
	e := &exporter{tw: tar.NewWriter(w), links: map[inode]string{}, buf: make([]byte, 1<<20)}
	if err := e.dir(ctx, root, ""); err != nil {
		return fmt.Errorf("exporting %s: %w", dir, err)
	}
	if err := e.tw.Close(); err != nil {
		return fmt.Errorf("exporting %s: %w", dir, err)
	}
	return nil
}

type inode struct{ dev, ino uint64 }

type exporter struct {
	tw *tar.Writer
	// links maps a multiply-linked regular file to the name it was first
	// written under.
	links map[inode]string
	buf   []byte
}

// Overlayfs's xattrs that Export turns into tar entries or drops.
const (
	opaqueUserXattr   = "user.overlay.opaque"
	whiteoutXattr     = "trusted.overlay.whiteout"
	whiteoutUserXattr = "user.overlay.whiteout"
)

// Go's archive/tar before 1.10 set these type bits in the mode; Docker still
// writes them, and so does Export, for readers that expect them.
const (
	modeDir  = 0o40000
	modeFIFO = 0o10000
	modeReg  = 0o100000
	modeLink = 0o120000
	modeBlk  = 0o60000
	modeChr  = 0o20000
)

// dir writes the entries of the directory fd, whose name in the tar is
// prefix ("" for the root, else ending in "/").
func (e *exporter) dir(ctx context.Context, fd int, prefix string) error {
	names, err := SortedNames(fd)
	if err != nil {
		return fmt.Errorf("reading %q: %w", "/"+prefix, err)
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := e.entry(ctx, fd, prefix, name); err != nil {
			return err
		}
	}
	return nil
}

func (e *exporter) entry(ctx context.Context, pfd int, prefix, name string) error {
	rel := prefix + name
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil // removed while we read
		}
		return fmt.Errorf("stat %q: %w", rel, err)
	}
	xattrs, err := listXattrs(procPath(pfd, name))
	if err != nil {
		return fmt.Errorf("reading the xattrs of %q: %w", rel, err)
	}
	hdr := &tar.Header{
		Name: rel, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(int64(st.Mtim.Sec), 0), Format: tar.FormatPAX,
	}
	for k, v := range xattrs {
		if !reservedXattr(k) {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords[paxXattrPrefix+k] = v
		}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		fd, err := openDirAt(pfd, name)
		if err == unix.ENOENT {
			return nil
		}
		if err != nil {
			return fmt.Errorf("opening %q: %w", rel, err)
		}
		defer unix.Close(fd)
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, rel+"/", hdr.Mode|modeDir
		if err := e.tw.WriteHeader(hdr); err != nil {
			return err
		}
		if xattrs[opaqueXattr] == "y" || xattrs[opaqueUserXattr] == "y" {
			wo := &tar.Header{
				Typeflag: tar.TypeReg, Name: rel + "/" + opaqueMarker, Mode: int64(st.Mode & 0o777),
				Uid: hdr.Uid, Gid: hdr.Gid, ModTime: hdr.ModTime, Format: tar.FormatPAX,
			}
			if err := e.tw.WriteHeader(wo); err != nil {
				return err
			}
		}
		return e.dir(ctx, fd, rel+"/")
	case unix.S_IFREG:
		if _, ok := xattrs[whiteoutXattr]; ok && st.Size == 0 {
			return e.whiteout(prefix, name, hdr)
		}
		if _, ok := xattrs[whiteoutUserXattr]; ok && st.Size == 0 {
			return e.whiteout(prefix, name, hdr)
		}
		return e.file(pfd, name, hdr, &st)
	case unix.S_IFLNK:
		target, err := readlinkAt(pfd, name)
		if err != nil {
			return fmt.Errorf("reading link %q: %w", rel, err)
		}
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, hdr.Mode|modeLink
	case unix.S_IFCHR:
		if st.Rdev == 0 {
			return e.whiteout(prefix, name, hdr)
		}
		hdr.Typeflag, hdr.Mode = tar.TypeChar, hdr.Mode|modeChr
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev)))
	case unix.S_IFBLK:
		hdr.Typeflag, hdr.Mode = tar.TypeBlock, hdr.Mode|modeBlk
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev)))
	case unix.S_IFIFO:
		hdr.Typeflag, hdr.Mode = tar.TypeFifo, hdr.Mode|modeFIFO
	default:
		return nil // a socket: tar has no type for it
	}
	return e.tw.WriteHeader(hdr)
}

// whiteout writes ".wh.NAME" for the whiteout NAME, as Docker converts
// overlayfs's whiteouts.
func (e *exporter) whiteout(prefix, name string, hdr *tar.Header) error {
	return e.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: prefix + whiteoutPrefix + name, Mode: 0o600,
		Uid: hdr.Uid, Gid: hdr.Gid, ModTime: hdr.ModTime, Format: tar.FormatPAX,
	})
}

// file writes the regular file name of pfd, or a hard link to the name its
// inode was first written under.
func (e *exporter) file(pfd int, name string, hdr *tar.Header, st *unix.Stat_t) error {
	key := inode{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	if st.Nlink > 1 {
		if first, ok := e.links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeLink, first, hdr.Mode|modeReg
			return e.tw.WriteHeader(hdr)
		}
	}
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening %q: %w", hdr.Name, err)
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil {
		return fmt.Errorf("stat %q: %w", hdr.Name, err)
	}
	if now.Ino != st.Ino || now.Dev != st.Dev {
		return fmt.Errorf("%q was replaced while it was read", hdr.Name)
	}
	hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, now.Size, hdr.Mode|modeReg
	if err := e.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.CopyBuffer(e.tw, io.LimitReader(f, now.Size), e.buf)
	if err != nil {
		return fmt.Errorf("reading %q: %w", hdr.Name, err)
	}
	if n != now.Size {
		return fmt.Errorf("%q shrank while it was read (%d of %d bytes)", hdr.Name, n, now.Size)
	}
	if st.Nlink > 1 {
		e.links[key] = hdr.Name
	}
	return nil
}

// SortedNames lists the directory fd in byte order.
func SortedNames(fd int) ([]string, error) {
	dup, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), ".")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// readlinkAt reads the symlink name of the directory fd, whatever its
// length.
func readlinkAt(fd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		b := make([]byte, size)
		n, err := unix.Readlinkat(fd, name, b)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(b[:n]), nil
		}
	}
}

// listXattrs reads every xattr of path, not following a symlink there. A
// filesystem without xattrs has none.
func listXattrs(path string) (map[string]string, error) {
	buf := make([]byte, 1024)
	var n int
	for {
		var err error
		n, err = unix.Llistxattr(path, buf)
		if err == unix.ERANGE {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if err == unix.ENOTSUP || err == unix.ENOENT {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if n == 0 {
		return nil, nil
	}
	out := map[string]string{}
	val := make([]byte, 256)
	for _, name := range splitNul(buf[:n]) {
		for {
			vn, err := unix.Lgetxattr(path, name, val)
			if err == unix.ERANGE {
				val = make([]byte, 2*len(val))
				continue
			}
			if errors.Is(err, unix.ENODATA) {
				break // removed meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = string(val[:vn])
			break
		}
	}
	return out, nil
}
