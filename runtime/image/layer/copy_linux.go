package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// docker cp moves tar streams in and out of a container's filesystem, which
// the container's processes change at will. Extract and Archive do it with
// Apply's rules and primitives (every component opened relative to its parent
// with O_NOFOLLOW, no symlink ever followed, no ".."), so that neither a
// hostile archive nor a directory swapped for a symlink mid-copy reaches
// anything but the tree below the descriptor they were given
// (CVE-2018-15664). Unlike Apply they know no layers: ".wh." names are
// ordinary files, as docker cp copies them.

// ExtractOptions are Extract's settings, those of Docker's extraction for cp.
type ExtractOptions struct {
	// NoOverwriteDirNonDir refuses an entry that would replace a directory
	// with a non-directory or a non-directory with a directory (ErrOverwrite).
	NoOverwriteDirNonDir bool
	// Owner, when set, owns every entry instead of its header's uid and gid.
	Owner *Owner
	// NoXattrs drops the entries' xattrs (an unprivileged extraction could
	// not set security.* ones).
	NoXattrs bool
}

// Owner is a numeric owner.
type Owner struct{ UID, GID int }

// ErrOverwrite is an entry that NoOverwriteDirNonDir refused.
var ErrOverwrite = errors.New("cannot overwrite")

// Validate reads the tar r to its end and checks every entry as Extract
// would before writing it: names inside the destination, supported types,
// no xattr reserved for overlayfs, a complete archive. Callers that must not
// leave a half-extracted archive validate a spooled copy first.
func Validate(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := cleanName(hdr.Name)
		if err == nil {
			err = checkHeader(hdr)
		}
		if err == nil && name == "." && hdr.Typeflag != tar.TypeDir {
			err = fmt.Errorf("%w: only a directory may name the destination itself", ErrInvalidEntry)
		}
		if err == nil && hdr.Typeflag == tar.TypeLink {
			var target string
			if target, err = cleanName(hdr.Linkname); err == nil && (target == "." || target == name) {
				err = fmt.Errorf("%w: hard link to %q", ErrInvalidEntry, hdr.Linkname)
			}
		}
		if err != nil {
			return &EntryError{Name: hdr.Name, Err: err}
		}
		// Reading the content proves it is all there.
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
	}
}

// Extract writes the entries of the tar r into the directory dirfd (any
// descriptor of it, O_PATH included), as docker cp extracts an archive
// into a container: a name is taken relative to the directory ("/x" and
// "./x" are "x") and one that climbs out is refused, and so is an entry
// whose parent is a symlink or not a directory; no symlink is ever followed.
// An entry replaces what has its name, a directory recursively, unless
// NoOverwriteDirNonDir refuses it; an existing directory is kept for a
// directory entry, which gives it its metadata.
// The entry "." (the directory itself) is skipped. Ownership, modes, xattrs
// and times are kept (ownership per Owner).
//
// Extract does not undo its work: on error, the entries before the failing
// one are written (see Validate).
func Extract(ctx context.Context, r io.Reader, dirfd int, opts ExtractOptions) error {
	root, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the destination directory: %w", err)
	}
	a := &applier{root: root, stack: []level{{name: ".", fd: root}}}
	defer a.close()
	bufp := buffers.Get().(*[]byte)
	defer buffers.Put(bufp)
	a.buf = *bufp
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if err := a.copyEntry(hdr, tr, &opts); err != nil {
			return &EntryError{Name: hdr.Name, Err: err}
		}
		a.stats.Entries++
	}
	return a.setDirTimes()
}

// copyEntry writes one entry of a docker cp archive: Apply's entry, without
// whiteouts and with Docker's overwrite rule.
func (a *applier) copyEntry(hdr *tar.Header, r io.Reader, o *ExtractOptions) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if o.Owner != nil {
		hdr.Uid, hdr.Gid = o.Owner.UID, o.Owner.GID
	}
	if o.NoXattrs {
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, paxXattrPrefix) {
				delete(hdr.PAXRecords, k)
			}
		}
	}
	if err := checkHeader(hdr); err != nil {
		return err
	}
	a.comps = splitName(a.comps[:0], name)
	comps := a.comps
	if len(comps) == 0 {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: only a directory may name the destination itself", ErrInvalidEntry)
		}
		return nil
	}
	parent, base := comps[:len(comps)-1], comps[len(comps)-1]
	pfd, err := a.resolveParent(parent)
	if err != nil {
		return err
	}
	if o.NoOverwriteDirNonDir {
		if err := checkOverwrite(pfd, base, name, hdr.Typeflag == tar.TypeDir); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeLink:
		return a.link(name, parent, base, hdr)
	case tar.TypeDir:
		return a.dir(pfd, base, name, hdr, false)
	case tar.TypeReg:
		return a.file(pfd, base, hdr, r)
	case tar.TypeSymlink:
		if err := a.create(pfd, base, func() error { return unix.Symlinkat(hdr.Linkname, pfd, base) }); err != nil {
			return fmt.Errorf("creating symlink: %w", err)
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode, err := a.mknod(pfd, base, hdr)
		if err != nil {
			return err
		}
		return setNodeMetadata(pfd, base, mode, hdr)
	}
	return a.setMetadataAt(pfd, base, hdr)
}

// setNodeMetadata sets the owner, mode, xattrs and times of the device
// node or FIFO just made as base in pfd. Apply's setMetadataAt may chmod by
// name, as no one else writes a layer being unpacked; a running container
// could swap the node for a symlink meanwhile, so here every call goes
// through a descriptor of the node itself, checked to be what was made.
func setNodeMetadata(pfd int, base string, typ uint32, hdr *tar.Header) error {
	fd, err := open(pfd, base, unix.O_PATH)
	if err != nil {
		return fmt.Errorf("opening the node: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT != typ {
		return fmt.Errorf("the node %w", errChanged)
	}
	p := fdPath(fd)
	if err := unix.Fchownat(fd, "", hdr.Uid, hdr.Gid, unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Chmod(p, perm(hdr)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for k, v := range hdr.PAXRecords {
		if x, ok := strings.CutPrefix(k, paxXattrPrefix); ok {
			if err := ignoreUnsupported(unix.Setxattr(p, x, []byte(v), 0), true); err != nil {
				return fmt.Errorf("setting xattr %q: %w", x, err)
			}
		}
	}
	ts := times(hdr)
	if err := unix.UtimesNano(p, ts[:]); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// checkOverwrite applies NoOverwriteDirNonDir to the entry base of pfd.
func checkOverwrite(pfd int, base, name string, isDir bool) error {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	switch existing := st.Mode&unix.S_IFMT == unix.S_IFDIR; {
	case existing && !isDir:
		return fmt.Errorf("%w directory %q with non-directory", ErrOverwrite, name)
	case !existing && isDir:
		return fmt.Errorf("%w non-directory %q with directory", ErrOverwrite, name)
	}
	return nil
}

// Archive writes the file or tree named base in the directory dirfd ("."
// for dirfd itself) to w as a tar stream, as docker cp archives a path of a
// container: the entry is named name ("dir/" for a directory), and what a
// directory holds follows as name/..., sorted. name "/" gives "/" and
// "/sub". Nothing is followed: symlinks are archived as symlinks, every
// entry is opened relative to its directory with O_NOFOLLOW and described
// by what was opened (one that changes type meanwhile is looked at again),
// a regular file is read only once checked to be one, and a pseudo
// filesystem found below the top
// (proc, sysfs, cgroup, devpts, mqueue) is archived as an empty directory.
// Sockets are skipped, as Docker skips them; a file that grows or shrinks
// during the copy fails it. Hard links within the tree are archived as such;
// security.capability is kept, as Docker keeps it.
func Archive(ctx context.Context, w io.Writer, dirfd int, base, name string) error {
	bufp := buffers.Get().(*[]byte)
	defer buffers.Put(bufp)
	ar := &archiver{ctx: ctx, tw: tar.NewWriter(w), buf: *bufp, links: map[fileID]string{}}
	prefix := strings.TrimSuffix(name, "/")
	if err := ar.add(dirfd, base, prefix, true); err != nil {
		return err
	}
	return ar.tw.Close()
}

type fileID struct{ dev, ino uint64 }

type archiver struct {
	ctx   context.Context
	tw    *tar.Writer
	buf   []byte
	links map[fileID]string
}

// changeRetries bounds how often an entry that changes type between its
// stat and its open is looked at again.
const changeRetries = 3

// add archives base of dirfd as name (a directory's name without its
// trailing slash; "" for the root "/").
func (ar *archiver) add(dirfd int, base, name string, top bool) error {
	if err := ar.ctx.Err(); err != nil {
		return err
	}
	for try := 0; ; try++ {
		err := ar.addOnce(dirfd, base, name, top)
		if errors.Is(err, errChanged) && try == changeRetries {
			return fmt.Errorf("archiving %s: %w", entryName(name), err)
		}
		if !errors.Is(err, errChanged) {
			return err
		}
	}
}

// errChanged: the entry changed type between its stat and its open.
var errChanged = errors.New("changed during the copy")

func (ar *archiver) addOnce(dirfd int, base, name string, top bool) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT && !top {
			return nil // removed since its directory was read, as tar skips it
		}
		return fmt.Errorf("archiving %s: %w", entryName(name), err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		return nil
	case unix.S_IFDIR:
		return ar.dir(dirfd, base, name, top)
	case unix.S_IFREG:
		return ar.file(dirfd, base, name, top)
	}
	hdr := tarHeader(name, &st)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		n, err := unix.Readlinkat(dirfd, base, ar.buf)
		if err == unix.EINVAL {
			return errChanged
		}
		if err != nil {
			return fmt.Errorf("archiving %s: %w", entryName(name), err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(ar.buf[:n])
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev)))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil
	}
	return ar.write(hdr)
}

func entryName(name string) string {
	if name == "" {
		return "/"
	}
	return name
}

// tarHeader is the header Docker writes for st: permissions and the
// set-id and sticky bits, numeric owner, mtime in whole seconds.
func tarHeader(name string, st *unix.Stat_t) *tar.Header {
	return &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(int64(st.Mtim.Sec), 0), // int32 fields on 32-bit ARM
		Format:  tar.FormatPAX,
	}
}

func (ar *archiver) write(hdr *tar.Header) error {
	if err := ar.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archiving %s: %w", hdr.Name, err)
	}
	return nil
}

// open opens base of dirfd without following it, as a directory or a
// regular file; "." is dirfd itself.
func open(dirfd int, base string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, base, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func (ar *archiver) file(dirfd int, base, name string, top bool) error {
	// O_PATH, then a reopen of what was checked to be a regular file:
	// opening a device node that the container swapped in could act on
	// the device.
	pfd, err := open(dirfd, base, unix.O_PATH)
	if err == unix.ENOENT && !top {
		return nil
	}
	if err != nil {
		return fmt.Errorf("archiving %s: %w", name, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return fmt.Errorf("archiving %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errChanged
	}
	fd, err := unix.Open(fdPath(pfd), unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("archiving %s: %w", name, err)
	}
	defer unix.Close(fd)
	hdr := tarHeader(name, &st)
	if st.Nlink > 1 {
		id := fileID{dev: uint64(st.Dev), ino: st.Ino}
		if first, ok := ar.links[id]; ok {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			return ar.write(hdr)
		}
		ar.links[id] = name
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	if n, err := unix.Fgetxattr(fd, "security.capability", ar.buf); err == nil && n > 0 {
		hdr.PAXRecords = map[string]string{paxXattrPrefix + "security.capability": string(ar.buf[:n])}
	}
	if err := ar.write(hdr); err != nil {
		return err
	}
	n, err := io.CopyBuffer(ar.tw, io.LimitReader(fdReader(fd), st.Size), ar.buf)
	if err != nil {
		return fmt.Errorf("archiving %s: %w", name, err)
	}
	if n < st.Size {
		return fmt.Errorf("archiving %s: the file shrank during the copy (%d of %d bytes)", name, n, st.Size)
	}
	return nil
}

// fdPath names what the descriptor fd refers to, for the calls that have
// no form taking a descriptor of any kind (reopening an O_PATH descriptor,
// chmod of a device node).
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// pseudoFS are the filesystems whose files are views of the kernel, not
// data: reading them can block or never end, and Docker's copy of a
// container's filesystem does not see them either.
var pseudoFS = []int64{unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC, unix.DEVPTS_SUPER_MAGIC, mqueueMagic}

// mqueueMagic is MQUEUE_MAGIC (linux/magic.h), which x/sys/unix lacks.
const mqueueMagic = 0x19800202

func (ar *archiver) dir(dirfd int, base, name string, top bool) error {
	fd, err := open(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == unix.ELOOP || err == unix.ENOTDIR {
		return errChanged
	}
	if err == unix.ENOENT && !top {
		return nil
	}
	if err != nil {
		return fmt.Errorf("archiving %s: %w", entryName(name), err)
	}
	f := os.NewFile(uintptr(fd), entryName(name))
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("archiving %s: %w", entryName(name), err)
	}
	hdr := tarHeader(name+"/", &st)
	hdr.Typeflag = tar.TypeDir
	if err := ar.write(hdr); err != nil {
		return err
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err == nil && !top && slices.Contains(pseudoFS, int64(sfs.Type)) {
		return nil
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("archiving %s: %w", entryName(name), err)
	}
	slices.Sort(names)
	for _, child := range names {
		if err := ar.add(fd, child, name+"/"+child, false); err != nil {
			return err
		}
	}
	return nil
}
