package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Apply reads the uncompressed layer tar r to its end and writes its entries into dir,
// an empty directory that becomes this layer's overlayfs directory. lowers are the
// unpacked directories of the layers below, nearest first (lowers[0] is the parent).
//
// Apply does not undo its work: when it returns an error, dir holds part of the
// layer and the caller removes it. It does not sync either; the caller calls Sync
// at its commit point.
//
// Entry rules, Docker's unless noted:
//   - A name is taken relative to dir ("/etc/x" is "etc/x"); a name or hard link
//     target that climbs out with ".." is refused, and so is an entry whose parent
//     is a symlink in the merged view (this layer, then lowers[0], lowers[1], …,
//     honouring whiteouts and opaque directories). No symlink is ever followed.
//   - A missing parent directory is created 0755 and root-owned; where a lower
//     layer has that directory, its mode, owner, xattrs and times are copied
//     instead, as overlayfs's copy-up would, so a layer that omits /tmp does not
//     change the mode of /tmp (Docker's unpacker writes 0755 there).
//   - A hard link to a file of this layer is a hard link. A hard link to a file
//     only a lower layer has copies that file up to its own path in this layer
//     (content, mode, owner, xattrs, times) and links to the copy, so both names
//     are one inode in the merged view, as after `ln` in a container. A hard
//     link's own header metadata is not applied: it describes the same inode.
//   - ".wh.NAME" becomes a whiteout (character device 0/0) for NAME, replacing
//     whatever this layer had there; ".wh..wh..opq" sets trusted.overlay.opaque=y
//     on its directory. A directory that replaces a whiteout of this layer is made
//     opaque, so that the lower directory it deleted stays deleted.
//   - Xattrs named trusted.overlay.* or user.overlay.* are refused.
//   - GNU sparse files are refused: their holes would be written out as zeros.
func Apply(ctx context.Context, r io.Reader, dir string, lowers []string) (Stats, error) {
	a, err := newApplier(dir, lowers)
	if err != nil {
		return Stats{}, err
	}
	defer a.close()
	bufp := buffers.Get().(*[]byte)
	defer buffers.Put(bufp)
	a.buf = *bufp
	if fileWorkers > 0 {
		a.pool = newPool(fileWorkers)
	}
	if err := a.entries(ctx, r); err != nil {
		return a.stats, err
	}
	// The caller hashes the whole stream for the DiffID: read the padding that
	// follows the end-of-archive blocks too.
	for {
		_, err := r.Read(a.buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return a.stats, fmt.Errorf("reading layer tar: %w", err)
		}
	}
	if err := a.setDirTimes(); err != nil {
		return a.stats, err
	}
	return a.stats, nil
}

// entries applies the entries of the tar r, and waits for the workers: its
// error is the one of the earliest entry that failed, in the main loop or in
// a worker.
func (a *applier) entries(ctx context.Context, r io.Reader) error {
	err := a.readEntries(ctx, r)
	if a.pool == nil {
		return err
	}
	werr, widx := a.pool.stop()
	a.pool = nil
	if werr != nil && (err == nil || widx <= a.stats.Entries) {
		return werr
	}
	return err
}

func (a *applier) readEntries(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if a.pool != nil && a.pool.hasFailed() {
			return nil // the pool has the error
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading layer tar: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if err := a.entry(hdr, tr); err != nil {
			return &EntryError{Name: hdr.Name, Err: err}
		}
		a.stats.Entries++
	}
	return nil
}

// buffers holds the copy buffers, one per Apply in flight.
var buffers = sync.Pool{New: func() any {
	b := make([]byte, 1<<20)
	return &b
}}

// level is one directory of the path being resolved: this layer's directory and
// the same directory in the lower layers that merge into it.
type level struct {
	name  string
	fd    int   // this layer's directory; -1 when only lower layers have it
	lower []int // nearest first; cut after an opaque directory or a non-directory
}

type dirTime struct {
	name string // cleaned, "." for the root
	ts   [2]unix.Timespec
}

type applier struct {
	root       int     // dir
	lowerRoots []int   // lowers
	stack      []level // the parents of the last entry; stack[0] is the root
	dirs       []dirTime
	comps      []string // scratch: the components of the current name
	buf        []byte
	pool       *pool // nil without workers
	stats      Stats
}

func newApplier(dir string, lowers []string) (*applier, error) {
	a := &applier{}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening layer directory %s: %w", dir, err)
	}
	a.root = fd
	a.stack = []level{{name: ".", fd: a.root}}
	for _, l := range lowers {
		fd, err := unix.Open(l, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("opening lower layer %s: %w", l, err)
		}
		a.lowerRoots = append(a.lowerRoots, fd)
	}
	a.stack[0].lower = a.lowerRoots
	return a, nil
}

func (a *applier) close() {
	if a.pool != nil {
		a.pool.stop()
		a.pool = nil
	}
	a.invalidate()
	unix.Close(a.root)
	for _, fd := range a.lowerRoots {
		unix.Close(fd)
	}
}

// invalidate forgets the resolved parents, after a change to this layer that
// makes them stale: a directory made opaque hides the lower directories under it.
func (a *applier) invalidate() { a.truncate(1) }

func (a *applier) truncate(n int) {
	for i := n; i < len(a.stack); i++ {
		closeLevel(a.stack[i])
	}
	a.stack = a.stack[:n]
}

func closeLevel(l level) {
	if l.fd >= 0 {
		unix.Close(l.fd)
	}
	for _, fd := range l.lower {
		unix.Close(fd)
	}
}

// entry applies one tar entry.
func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if err := checkHeader(hdr); err != nil {
		return err
	}
	a.comps = splitName(a.comps[:0], name)
	comps := a.comps
	if len(comps) == 0 {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: only a directory may replace the layer root", ErrInvalidEntry)
		}
		a.barrier()
		return a.dir(a.root, ".", name, hdr, true)
	}
	// AUFS's metadata directories (and a root-level opaque marker) are skipped,
	// as Docker skips them.
	if strings.HasPrefix(comps[0], whiteoutMetaPrefix) {
		return nil
	}
	parent, base := comps[:len(comps)-1], comps[len(comps)-1]

	if strings.HasPrefix(base, whiteoutPrefix) {
		a.barrier()
		return a.whiteout(parent, base, hdr)
	}
	if hdr.Typeflag == tar.TypeLink {
		a.barrier()
		return a.link(name, parent, base, hdr)
	}
	if a.pool != nil && a.pool.conflicts(name) {
		a.pool.barrier()
	}
	pfd, err := a.resolveParent(parent)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return a.dir(pfd, base, name, hdr, false)
	case tar.TypeReg:
		if a.pool != nil && hdr.Size >= 0 && hdr.Size <= smallFile {
			return a.queueFile(pfd, base, name, hdr, r)
		}
		return a.file(pfd, base, hdr, r)
	case tar.TypeSymlink:
		if err := a.create(pfd, base, func() error { return unix.Symlinkat(hdr.Linkname, pfd, base) }); err != nil {
			return fmt.Errorf("creating symlink: %w", err)
		}
		a.stats.Size += int64(len(hdr.Linkname))
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		// As Docker: the devices cgroup keeps them inert. A 0/0 character
		// device reads as a whiteout, which a ".wh." entry could say anyway.
		if _, err := a.mknod(pfd, base, hdr); err != nil {
			return err
		}
	}
	return a.setMetadataAt(pfd, base, hdr)
}

// mknod makes the device node or FIFO hdr describes and returns its type.
func (a *applier) mknod(pfd int, base string, hdr *tar.Header) (uint32, error) {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	if err := a.create(pfd, base, func() error { return unix.Mknodat(pfd, base, mode|perm(hdr), dev) }); err != nil {
		return 0, fmt.Errorf("creating device node: %w", err)
	}
	return mode, nil
}

// checkHeader refuses what Apply will not write, before anything is written.
func checkHeader(hdr *tar.Header) error {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	case tar.TypeGNUSparse:
		return fmt.Errorf("%w: GNU sparse file", ErrUnsupported)
	default:
		return fmt.Errorf("%w: type %q", ErrUnsupported, hdr.Typeflag)
	}
	if hdr.Uid < 0 || int64(hdr.Uid) >= math.MaxUint32 || hdr.Gid < 0 || int64(hdr.Gid) >= math.MaxUint32 {
		return fmt.Errorf("%w: owner %d:%d", ErrInvalidEntry, hdr.Uid, hdr.Gid)
	}
	if hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock {
		// Linux device numbers: 12-bit major, 20-bit minor.
		if hdr.Devmajor < 0 || hdr.Devmajor >= 1<<12 || hdr.Devminor < 0 || hdr.Devminor >= 1<<20 {
			return fmt.Errorf("%w: device %d:%d", ErrInvalidEntry, hdr.Devmajor, hdr.Devminor)
		}
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxSparsePrefix) {
			return fmt.Errorf("%w: GNU sparse file", ErrUnsupported)
		}
		if x, ok := strings.CutPrefix(k, paxXattrPrefix); ok && reservedXattr(x) {
			return fmt.Errorf("xattr %q: %w", x, ErrReservedXattr)
		}
	}
	return nil
}

func perm(hdr *tar.Header) uint32 { return uint32(hdr.Mode) & 0o7777 }

// barrier waits for the files the workers have pending.
func (a *applier) barrier() {
	if a.pool != nil {
		a.pool.barrier()
	}
}

// create runs mk, and when something already has the name, removes it (a
// non-directory replaces whatever was there) and runs mk again.
func (a *applier) create(pfd int, base string, mk func() error) error {
	return createAt(pfd, base, mk)
}

func createAt(pfd int, base string, mk func() error) error {
	err := mk()
	if err != unix.EEXIST {
		return err
	}
	if err := removeAll(pfd, base); err != nil {
		return err
	}
	return mk()
}

// file writes a regular file.
func (a *applier) file(pfd int, base string, hdr *tar.Header, r io.Reader) error {
	var fd int
	err := a.create(pfd, base, func() (err error) {
		fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return fmt.Errorf("creating file: %w", err)
	}
	defer unix.Close(fd)
	n, err := a.copyTo(fd, r)
	a.stats.Size += n
	if err != nil {
		return err
	}
	m := metaOf(hdr)
	return setFileMeta(fd, pfd, base, &m)
}

// copyTo copies r to the file fd through the applier's pooled buffer. Not
// io.CopyBuffer into an *os.File: its ReadFrom would copy through a buffer of
// its own for every file.
func (a *applier) copyTo(fd int, r io.Reader) (int64, error) {
	var total int64
	for {
		n, rerr := r.Read(a.buf)
		for off := 0; off < n; {
			m, err := unix.Write(fd, a.buf[off:n])
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return total, fmt.Errorf("writing file: %w", err)
			}
			off += m
			total += int64(m)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, fmt.Errorf("reading content: %w", rerr)
		}
	}
}

// dir creates or updates a directory. Its times are set after all its
// children are written.
func (a *applier) dir(pfd int, base, name string, hdr *tar.Header, isRoot bool) error {
	fd := a.root
	if !isRoot {
		var err error
		if fd, err = a.mkdir(pfd, base); err != nil {
			return err
		}
		defer unix.Close(fd)
	}
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, perm(hdr)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for k, v := range hdr.PAXRecords {
		if x, ok := strings.CutPrefix(k, paxXattrPrefix); ok {
			if err := ignoreUnsupported(unix.Fsetxattr(fd, x, []byte(v), 0), false); err != nil {
				return fmt.Errorf("setting xattr %q: %w", x, err)
			}
		}
	}
	a.dirs = append(a.dirs, dirTime{name: name, ts: times(hdr)})
	return nil
}

// mkdir makes directory base in pfd, or keeps the directory there, and opens it.
// A directory replacing a whiteout of this layer is made opaque.
func (a *applier) mkdir(pfd int, base string) (int, error) {
	err := unix.Mkdirat(pfd, base, 0o700)
	if err == unix.EEXIST {
		var st unix.Stat_t
		if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return -1, fmt.Errorf("stat: %w", err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err := unix.Unlinkat(pfd, base, 0); err != nil {
				return -1, fmt.Errorf("removing the non-directory it replaces: %w", err)
			}
			if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
				return -1, fmt.Errorf("creating directory: %w", err)
			}
			if isWhiteout(&st) {
				return a.openOpaque(pfd, base)
			}
		}
	} else if err != nil {
		return -1, fmt.Errorf("creating directory: %w", err)
	}
	fd, err := openDirAt(pfd, base)
	if err != nil {
		return -1, fmt.Errorf("opening directory: %w", err)
	}
	return fd, nil
}

// openOpaque opens the new directory base and marks it opaque.
func (a *applier) openOpaque(pfd int, base string) (int, error) {
	fd, err := openDirAt(pfd, base)
	if err != nil {
		return -1, fmt.Errorf("opening directory: %w", err)
	}
	if err := unix.Fsetxattr(fd, opaqueXattr, []byte("y"), 0); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("marking directory opaque: %w", err)
	}
	return fd, nil
}

// whiteout applies ".wh.NAME" and ".wh..wh..opq" entries.
func (a *applier) whiteout(parent []string, base string, hdr *tar.Header) error {
	pfd, err := a.resolveParent(parent)
	if err != nil {
		return err
	}
	if base == opaqueMarker {
		if err := unix.Fsetxattr(pfd, opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("marking directory opaque: %w", err)
		}
		// The lower directories resolved under it are hidden now.
		a.invalidate()
		return nil
	}
	target, err := whiteoutTarget(base)
	if err != nil {
		return err
	}
	if err := removeAll(pfd, target); err != nil {
		return err
	}
	if err := unix.Mknodat(pfd, target, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("creating whiteout: %w", err)
	}
	if err := unix.Fchownat(pfd, target, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

// setMetadataAt sets the owner, mode, xattrs and times of the symlink, device
// node or FIFO base in pfd.
func (a *applier) setMetadataAt(pfd int, base string, hdr *tar.Header) error {
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	symlink := hdr.Typeflag == tar.TypeSymlink
	if !symlink {
		// base is the node just made, not a symlink, so fchmodat cannot follow one.
		if err := unix.Fchmodat(pfd, base, perm(hdr), 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	for k, v := range hdr.PAXRecords {
		if x, ok := strings.CutPrefix(k, paxXattrPrefix); ok {
			if err := ignoreUnsupported(unix.Lsetxattr(procPath(pfd, base), x, []byte(v), 0), true); err != nil {
				return fmt.Errorf("setting xattr %q: %w", x, err)
			}
		}
	}
	ts := times(hdr)
	if err := unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// ignoreUnsupported drops the errors Docker drops when setting xattrs: a
// filesystem without xattrs, and user.* on a symlink or device, which the kernel
// never allows.
func ignoreUnsupported(err error, special bool) error {
	if err == unix.ENOTSUP || (special && err == unix.EPERM) {
		return nil
	}
	return err
}

// procPath names base in the directory pfd without resolving any symlink
// above it, for the calls that have no *at form (lsetxattr).
func procPath(pfd int, base string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base)
}

// setDirTimes sets the times of the directories the layer wrote, now that
// their contents are final. A directory that a later entry replaced is skipped.
func (a *applier) setDirTimes() error {
	var comps []string
	for _, d := range a.dirs {
		fd := a.root
		if d.name != "." {
			comps = splitName(comps[:0], d.name)
			var err error
			fd, err = a.openLayerDir(comps)
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
				continue
			}
			if err != nil {
				return &EntryError{Name: d.name, Err: err}
			}
		}
		// "." names the directory fd itself and is never a symlink.
		err := unix.UtimesNanoAt(fd, ".", d.ts[:], 0)
		if fd != a.root {
			unix.Close(fd)
		}
		if err != nil {
			return &EntryError{Name: d.name, Err: fmt.Errorf("setting times: %w", err)}
		}
	}
	return nil
}

// times returns the access and modification times for utimensat. Like Docker,
// the access time is never before the modification time; a time the tar lacks or
// the platform cannot hold is left alone.
func times(hdr *tar.Header) [2]unix.Timespec {
	atime := hdr.AccessTime
	if atime.Before(hdr.ModTime) {
		atime = hdr.ModTime
	}
	return [2]unix.Timespec{timespec(atime), timespec(hdr.ModTime)}
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	ts, err := unix.TimeToTimespec(t)
	if err != nil {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return ts
}

func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// Sync flushes the filesystem that holds dir (syncfs(2)), once for all the files
// Apply wrote there.
func Sync(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
