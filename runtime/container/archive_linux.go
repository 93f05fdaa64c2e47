package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container/cgroup"
	"github.com/berthhq/berth/runtime/image/layer"
)

// docker cp works on a container's filesystem as the container sees it,
// from the daemon, which runs as root on the host: a path is only ever
// resolved component by component below a descriptor of the container's
// root (walkIn), and the tar streams in and out are read and written
// relative to descriptors too (layer.Extract, layer.Archive), so no symlink
// of the container, however it changes during the copy, can make the
// daemon touch a file of the host (CVE-2018-15664).
//
// A running container's root is its init's (/proc/<pid>/root), which shows
// its volumes, binds and tmpfs mounts. A stopped container's overlay and
// binds are mounted in a mount namespace of one locked thread of the
// daemon (privateRootfs), which no other process sees and which the kernel
// takes down with the thread, were the daemon killed mid-copy. Either way
// the copy holds the container's lifecycle lock: it cannot start, stop or
// go while its filesystem is open.

// containerFS is a container's filesystem opened for a copy.
type containerFS struct {
	c    *Container
	root int // O_PATH descriptor of the container's "/"
	end  func()
}

func (cfs *containerFS) close() { cfs.end() }

// openFS opens the container's filesystem and holds its lifecycle lock
// until close.
func (e *Engine) openFS(idOrName string) (*containerFS, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	en.op.Lock()
	ok := false
	defer func() {
		if !ok {
			en.op.Unlock()
		}
	}()
	select {
	case <-en.removed:
		return nil, notFound(idOrName)
	default:
	}
	c := en.snapshot()
	if c.State.Status == StatusRemoving {
		return nil, conflictf("container %s is being removed", shortID(c.ID))
	}
	var root int
	var end func()
	if c.State.Running() {
		root, err = e.liveRoot(c)
		end = func() { unix.Close(root) }
	} else {
		root, end, err = e.mountStopped(c)
	}
	if err != nil {
		return nil, err
	}
	ok = true
	return &containerFS{c: c, root: root, end: func() { end(); en.op.Unlock() }}, nil
}

// liveRoot opens the root of a running container: its init's. The PID in
// the state could have been reused by another process since the container
// stopped, so the process is pinned (pidfd) and checked to be in the
// container's cgroup before its root is opened, and to be alive still
// after, which makes the root the container's.
func (e *Engine) liveRoot(c *Container) (int, error) {
	pid := c.State.Pid
	notRunning := conflictf("Container %s is not running", c.ID)
	if pid <= 0 {
		return -1, notRunning
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return -1, notRunning
	}
	if err != nil {
		return -1, fmt.Errorf("opening the process of container %s: %w", shortID(c.ID), err)
	}
	defer unix.Close(pidfd)
	m, err := cgroup.New(e.o.cgroupRoot, e.cgMode, c.ID, cgroup.Parent(e.o.cgroupParent))
	if err != nil {
		return -1, err
	}
	pids, err := m.Procs()
	if err != nil || !slices.Contains(pids, pid) {
		return -1, notRunning
	}
	root, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, notRunning
	}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		unix.Close(root)
		return -1, notRunning
	}
	return root, nil
}

// mountStopped mounts a stopped container's rootfs as its start would
// (plan), with its binds and volumes, in a private mount namespace, and
// returns its root and what ends it.
func (e *Engine) mountStopped(c *Container) (int, func(), error) {
	img, err := e.images.Get(c.Image)
	if err != nil {
		return -1, nil, kindf(ErrNotFound, "the image of container %s is gone: %v", shortID(c.ID), err)
	}
	l, err := plan(c, img, planEnv{ImageRoot: e.images.Root(), CgroupRoot: e.o.cgroupRoot, CgroupMode: e.cgMode, CgroupParent: e.o.cgroupParent})
	if err != nil {
		return -1, nil, err
	}
	type opened struct {
		root int
		err  error
	}
	ready := make(chan opened, 1)
	release := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		// Never unlocked: the thread exits with this goroutine, and the
		// mount namespace, which nothing else holds, goes with it.
		runtime.LockOSThread()
		root, err := privateRootfs(&l.Init)
		ready <- opened{root, err}
		if err != nil {
			return
		}
		<-release
		// Every descriptor is closed by now: the overlay goes here, before
		// the lock is released and a start mounts the same upper dir.
		unix.Unmount(l.Init.Merged, unix.MNT_DETACH)
	}()
	o := <-ready
	if o.err != nil {
		<-finished
		return -1, nil, fmt.Errorf("mounting the filesystem of container %s: %w", shortID(c.ID), o.err)
	}
	return o.root, func() {
		unix.Close(o.root)
		close(release)
		<-finished
	}, nil
}

// privateRootfs moves the calling (locked) thread into a mount namespace
// of its own, mounts the rootfs and the bind mounts of p there, and
// returns an O_PATH descriptor of the rootfs. tmpfs and the kernel's
// filesystems are left out: a stopped container has none.
func privateRootfs(p *initPlan) (int, error) {
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
		return -1, fmt.Errorf("unsharing the mount namespace: %w", err)
	}
	// Private: nothing mounted here may propagate to the host's namespace.
	if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return -1, fmt.Errorf("making / private: %w", err)
	}
	if err := mountOverlay(p); err != nil {
		return -1, err
	}
	root, err := unix.Open(p.Merged, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening the rootfs: %w", err)
	}
	for _, m := range p.Mounts {
		if m.Type != "bind" {
			continue
		}
		if err := mountOne(root, m, p); err != nil {
			unix.Close(root)
			return -1, fmt.Errorf("mounting %s on %s: %w", m.Source, m.Destination, err)
		}
	}
	return root, nil
}

// maxSymlinks is the kernel's limit of symlinks in one resolution.
const maxSymlinks = 40

// resolved is a path of a container that walkIn found.
type resolved struct {
	parent int    // O_PATH descriptor of the directory that holds it
	base   string // its name in parent; "." for the root
	fd     int    // O_PATH descriptor of it
	path   string // its path in the container, every symlink resolved
}

func (r *resolved) close() {
	unix.Close(r.parent)
	unix.Close(r.fd)
}

// walkError is a resolution that failed at path (the part resolved, the
// component that failed and what was left, for a broken link's target).
type walkError struct {
	path string
	err  error
}

func (e *walkError) Error() string { return e.path + ": " + e.err.Error() }
func (e *walkError) Unwrap() error { return e.err }

// walkIn resolves p, a path in the container, below root: each component
// is opened relative to the one before it with O_NOFOLLOW, ".." never goes
// above root, and a symlink's target is resolved the same way (an absolute
// one from root), so nothing outside the container's tree is ever reached,
// however its symlinks change meanwhile. A symlink that is the last
// component is followed when followLast is set or p ends in "/" or "/.".
func walkIn(root int, p string, followLast bool) (*resolved, error) {
	type step struct {
		fd   int
		name string
	}
	stack := []step{{fd: root}}
	defer func() {
		for _, s := range stack[1:] {
			unix.Close(s.fd)
		}
	}()
	names := func() []string {
		var out []string
		for _, s := range stack[1:] {
			out = append(out, s.name)
		}
		return out
	}
	fail := func(c string, rest []string, err error) error {
		return &walkError{path: "/" + strings.TrimPrefix(strings.Join(append(append(names(), c), rest...), "/"), "/"), err: err}
	}
	todo := strings.Split(p, "/")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				unix.Close(stack[len(stack)-1].fd)
				stack = stack[:len(stack)-1]
			}
			continue
		}
		fd, err := unix.Openat(stack[len(stack)-1].fd, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fail(c, todo, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, fail(c, todo, err)
		}
		typ := st.Mode & unix.S_IFMT
		// Anything after a symlink, even a trailing slash, uses it as a
		// directory: it is followed.
		if typ == unix.S_IFLNK && (len(todo) > 0 || followLast) {
			links++
			target, err := readlinkFd(fd)
			unix.Close(fd)
			if err == nil && links > maxSymlinks {
				err = unix.ELOOP
			}
			if err != nil {
				return nil, fail(c, todo, err)
			}
			if strings.HasPrefix(target, "/") {
				for _, s := range stack[1:] {
					unix.Close(s.fd)
				}
				stack = stack[:1]
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		if len(todo) > 0 && typ != unix.S_IFDIR {
			unix.Close(fd)
			return nil, fail(c, todo, unix.ENOTDIR)
		}
		stack = append(stack, step{fd: fd, name: c})
	}
	r := &resolved{parent: -1, fd: -1, base: ".", path: "/" + strings.Join(names(), "/")}
	var err error
	top := stack[len(stack)-1]
	if r.fd, err = unix.Dup(top.fd); err != nil {
		return nil, err
	}
	parent := root
	if len(stack) > 1 {
		parent, r.base = stack[len(stack)-2].fd, top.name
	}
	if r.parent, err = unix.Dup(parent); err != nil {
		unix.Close(r.fd)
		return nil, err
	}
	return r, nil
}

func readlinkFd(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// walkErr turns a resolution failure of the container path p into the
// engine's error, with Docker's words where Docker has them.
func walkErr(err error, p, ref string) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fileNotFound(p, ref)
	case errors.Is(err, unix.ENOTDIR):
		return invalidf("lstat %s: not a directory", p)
	case errors.Is(err, unix.ELOOP):
		return invalidf("%s: too many levels of symbolic links", p)
	}
	return fmt.Errorf("resolving %s in container %s: %w", p, ref, err)
}

// stat is StatPath on an open filesystem; it returns the resolved path
// too (the caller closes it).
func (cfs *containerFS) stat(ref, p string) (*PathStat, *resolved, error) {
	abs := containerPath(p)
	r, err := walkIn(cfs.root, abs, false)
	if err != nil {
		return nil, nil, walkErr(err, p, ref)
	}
	var st unix.Stat_t
	if err := unix.Fstat(r.fd, &st); err != nil {
		r.close()
		return nil, nil, fmt.Errorf("stat %s in container %s: %w", p, ref, err)
	}
	ps := &PathStat{
		Name:  entryBase(abs),
		Size:  st.Size,
		Mode:  fileMode(st.Mode),
		Mtime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)),
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		// The link's final target in the container, as far as it resolves
		// (Docker's FollowSymlinkInScope).
		t, err := walkIn(cfs.root, abs, true)
		var we *walkError
		switch {
		case err == nil:
			ps.LinkTarget = t.path
			t.close()
		case errors.As(err, &we) && errors.Is(err, unix.ENOENT):
			ps.LinkTarget = we.path
		default:
			r.close()
			return nil, nil, walkErr(err, p, ref)
		}
	}
	return ps, r, nil
}

// fileMode is st_mode as Go's fs.FileMode, which Docker's stat header
// carries.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// StatPath describes the path p of a container, running or not, as
// docker cp's stat does: the path itself when it is a symlink (with the
// target it resolves to), unless p ends in "/" or "/.".
func (e *Engine) StatPath(ctx context.Context, idOrName, p string) (*PathStat, error) {
	cfs, err := e.openFS(idOrName)
	if err != nil {
		return nil, err
	}
	defer cfs.close()
	ps, r, err := cfs.stat(idOrName, p)
	if err != nil {
		return nil, err
	}
	r.close()
	return ps, nil
}

// ArchivePath returns the path p of a container as a tar stream, as
// docker cp reads it (the entry named after p's last element, a
// directory's content below it; see layer.Archive), and its stat. The
// container is locked until the stream is closed; ctx ends the stream.
func (e *Engine) ArchivePath(ctx context.Context, idOrName, p string) (io.ReadCloser, *PathStat, error) {
	cfs, err := e.openFS(idOrName)
	if err != nil {
		return nil, nil, err
	}
	ps, r, err := cfs.stat(idOrName, p)
	if err != nil {
		cfs.close()
		return nil, nil, err
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := layer.Archive(ctx, pw, r.parent, r.base, entryBase(containerPath(p)))
		r.close()
		cfs.close()
		pw.CloseWithError(err)
	}()
	return &archiveReader{PipeReader: pr, done: done}, ps, nil
}

// archiveReader is ArchivePath's stream; Close waits until the container
// is released.
type archiveReader struct {
	*io.PipeReader
	done chan struct{}
}

func (a *archiveReader) Close() error {
	a.PipeReader.CloseWithError(errors.New("the archive's reader went away"))
	<-a.done
	return nil
}

// ExtractToDir writes the tar stream r into the directory p of a
// container, running or not, as docker cp does: p, every symlink followed
// inside the container, must be a directory, and on a writable mount.
// The archive is spooled and checked whole before anything is written,
// so a malformed, hostile or truncated one changes nothing.
func (e *Engine) ExtractToDir(ctx context.Context, idOrName, p string, r io.Reader, opts CopyOptions) error {
	cfs, err := e.openFS(idOrName)
	if err != nil {
		return err
	}
	defer cfs.close()
	dst, err := walkIn(cfs.root, containerPath(p), true)
	if err != nil {
		if errors.Is(err, unix.ENOTDIR) {
			return invalidf("extraction point is not a directory")
		}
		return walkErr(err, p, idOrName)
	}
	defer dst.close()
	var st unix.Stat_t
	if err := unix.Fstat(dst.fd, &st); err != nil {
		return fmt.Errorf("stat %s in container %s: %w", p, idOrName, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return invalidf("extraction point is not a directory")
	}
	if err := checkWritable(cfs.c, dst.path); err != nil {
		return err
	}
	xo := layer.ExtractOptions{NoOverwriteDirNonDir: opts.NoOverwriteDirNonDir}
	if opts.CopyUIDGID && cfs.c.Config.User != "" {
		u, err := containerUser(cfs.root, cfs.c.Config.User)
		if err != nil {
			return invalidf("copying the owner of container %s's user: %v", shortID(cfs.c.ID), err)
		}
		xo.Owner = &layer.Owner{UID: u.Uid, GID: u.Gid}
	}
	spool, err := e.spool(ctx, r)
	if err != nil {
		return err
	}
	defer spool.Close()
	if err := layer.Validate(ctx, spool); err != nil {
		return archiveErr(err, dst.path)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reading the spooled archive: %w", err)
	}
	if err := layer.Extract(ctx, spool, dst.fd, xo); err != nil {
		return archiveErr(err, dst.path)
	}
	return nil
}

// spool copies r to an unnamed file on the data root's filesystem.
func (e *Engine) spool(ctx context.Context, r io.Reader) (*os.File, error) {
	var f *os.File
	fd, err := unix.Open(e.root, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		f = os.NewFile(uintptr(fd), "archive")
	} else {
		if f, err = os.CreateTemp(e.root, ".archive-"); err != nil {
			return nil, fmt.Errorf("spooling the archive: %w", err)
		}
		os.Remove(f.Name())
	}
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, invalidf("reading the archive: %v", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("spooling the archive: %w", err)
	}
	return f, nil
}

// ctxReader ends a read loop when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// archiveErr classifies what Validate or Extract refused: the archive's
// fault (400), a read-only filesystem (403), or the engine's (500).
func archiveErr(err error, dir string) error {
	var errno unix.Errno
	switch {
	case errors.Is(err, unix.EROFS):
		return kindf(ErrReadOnly, "copying into %s: read-only file system", dir)
	case errors.As(err, &errno):
		return fmt.Errorf("copying into %s: %w", dir, err)
	}
	var ee *layer.EntryError
	if errors.As(err, &ee) {
		msg := ee.Err.Error()
		if errors.Is(ee.Err, layer.ErrPathEscape) {
			msg = "the name leaves the destination directory"
		}
		return invalidf("copying into %s: archive entry %q: %s", dir, ee.Name, msg)
	}
	return invalidf("copying into %s: %v", dir, err)
}

// containerUser resolves a container's User in its own /etc/passwd and
// /etc/group.
func containerUser(root int, spec string) (execUser, error) {
	passwd, _ := readContainerFile(root, "/etc/passwd")
	group, _ := readContainerFile(root, "/etc/group")
	return resolveUser(spec, bytes.NewReader(passwd), bytes.NewReader(group))
}

// readContainerFile reads a small regular file of the container. What the
// path resolves to is checked to be a regular file before it is opened:
// opening a device node the container put there could act on the device.
func readContainerFile(root int, p string) ([]byte, error) {
	r, err := walkIn(root, p, true)
	if err != nil {
		return nil, err
	}
	defer r.close()
	var st unix.Stat_t
	if err := unix.Fstat(r.fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	f, err := os.Open(fdPath(r.fd))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
