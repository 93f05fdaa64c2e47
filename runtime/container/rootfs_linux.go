package container

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// setupRootfs mounts the overlay and everything in it, then pivots into
// it. It runs in the container's fresh mount namespace, where every mount
// stays: nothing of the container is ever mounted in the host's
// namespace, and the kernel takes it all down when the last process of
// the container exits.
func setupRootfs(p *initPlan) error {
	// Slave: the host's later mounts still reach us, ours never reach it.
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	if err := mountOverlay(p); err != nil {
		return err
	}
	root, err := unix.Open(p.Merged, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the rootfs: %w", err)
	}
	defer unix.Close(root)
	devTmpfs := false
	for _, m := range p.Mounts {
		if err := mountOne(root, m, p); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.Type, m.Destination, err)
		}
		if m.Destination == "/dev" && m.Type == "tmpfs" {
			devTmpfs = true
		}
	}
	if devTmpfs {
		if err := makeDevices(root, p.Privileged); err != nil {
			return err
		}
	}
	for _, m := range p.MaskedPaths {
		if err := maskPath(root, m); err != nil {
			return fmt.Errorf("masking %s: %w", m, err)
		}
	}
	for _, r := range p.ReadonlyPaths {
		if err := readonlyPath(root, r); err != nil {
			return fmt.Errorf("making %s read-only: %w", r, err)
		}
	}
	if err := pivot(root); err != nil {
		return err
	}
	if p.ReadonlyRootfs {
		if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("making the rootfs read-only: %w", err)
		}
	}
	return nil
}

// mountOverlay mounts the image's layers with the container's upper dir.
// Lower dirs are named by their short links relative to the image store,
// as Docker's overlay2 does, so deep images fit the one page of mount data.
func mountOverlay(p *initPlan) error {
	if err := unix.Chdir(p.ImageRoot); err != nil {
		return fmt.Errorf("the image store: %w", err)
	}
	base := "lowerdir=" + strings.Join(p.Lowers, ":") + ",upperdir=" + p.Upper + ",workdir=" + p.Work
	// No redirects and no metacopy: the upper dir stays a faithful diff
	// (commit, diff); no index: layers are shared by many overlays.
	for _, extra := range []string{",redirect_dir=off,metacopy=off,index=off", ",redirect_dir=off,index=off", ",redirect_dir=off", ""} {
		data := base + extra
		if len(data) >= unix.Getpagesize() {
			return fmt.Errorf("the image has too many layers (%d) for one overlay mount", len(p.Lowers))
		}
		err := unix.Mount("overlay", p.Merged, "overlay", 0, data)
		if err == nil {
			return nil
		}
		if err != unix.EINVAL {
			return fmt.Errorf("mounting the rootfs overlay: %w", err)
		}
	}
	return fmt.Errorf("mounting the rootfs overlay: the kernel refused its options")
}

// mountFlags splits OCI mount options into flags, propagation flags and
// filesystem data.
func mountFlags(opts []string) (flags, propagation uintptr, data string) {
	var d []string
	for _, o := range opts {
		switch o {
		case "ro":
			flags |= unix.MS_RDONLY
		case "rw":
			flags &^= unix.MS_RDONLY
		case "suid":
			flags &^= unix.MS_NOSUID
		case "dev":
			flags &^= unix.MS_NODEV
		case "exec":
			flags &^= unix.MS_NOEXEC
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "sync":
			flags |= unix.MS_SYNCHRONOUS
		case "dirsync":
			flags |= unix.MS_DIRSYNC
		case "noatime":
			flags |= unix.MS_NOATIME
		case "nodiratime":
			flags |= unix.MS_NODIRATIME
		case "relatime":
			flags |= unix.MS_RELATIME
		case "strictatime":
			flags |= unix.MS_STRICTATIME
		case "bind":
			flags |= unix.MS_BIND
		case "rbind":
			flags |= unix.MS_BIND | unix.MS_REC
		case "async", "atime", "diratime", "norelatime", "nostrictatime", "defaults":
		case "private":
			propagation = unix.MS_PRIVATE
		case "rprivate":
			propagation = unix.MS_PRIVATE | unix.MS_REC
		case "slave":
			propagation = unix.MS_SLAVE
		case "rslave":
			propagation = unix.MS_SLAVE | unix.MS_REC
		case "shared":
			propagation = unix.MS_SHARED
		case "rshared":
			propagation = unix.MS_SHARED | unix.MS_REC
		case "unbindable":
			propagation = unix.MS_UNBINDABLE
		case "runbindable":
			propagation = unix.MS_UNBINDABLE | unix.MS_REC
		default:
			d = append(d, o)
		}
	}
	return flags, propagation, strings.Join(d, ",")
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

func mountOne(root int, m mountPlan, p *initPlan) error {
	flags, prop, data := mountFlags(m.Options)
	switch m.Type {
	case "bind":
		var st unix.Stat_t
		if err := unix.Stat(m.Source, &st); err != nil {
			return err
		}
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		fd, err := resolveIn(root, m.Destination, true, !isDir)
		if err != nil {
			return err
		}
		if m.CopyUp && isDir {
			if err := copyUp(fdPath(fd), m.Source); err != nil {
				unix.Close(fd)
				return fmt.Errorf("copying the image's content into the volume: %w", err)
			}
		}
		err = unix.Mount(m.Source, fdPath(fd), "", unix.MS_BIND|unix.MS_REC, "")
		unix.Close(fd)
		if err != nil {
			return err
		}
		return remount(root, m.Destination, flags, prop)
	case "cgroup":
		return mountCgroups(root, m, p)
	}
	fd, err := resolveIn(root, m.Destination, true, false)
	if err != nil {
		return err
	}
	err = unix.Mount(m.Source, fdPath(fd), m.Type, flags, data)
	unix.Close(fd)
	if err != nil {
		return err
	}
	if prop != 0 {
		return remount(root, m.Destination, 0, prop)
	}
	return nil
}

// remount applies read-only and the other flags to a bind mount just made
// (a bind takes them only on a remount), and its propagation.
func remount(root int, dest string, flags, prop uintptr) error {
	if flags&^unix.MS_REC == 0 && prop == 0 {
		return nil
	}
	fd, err := resolveIn(root, dest, false, false)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if prop != 0 {
		if err := unix.Mount("", fdPath(fd), "", prop, ""); err != nil {
			return fmt.Errorf("setting propagation: %w", err)
		}
	}
	if f := flags &^ (unix.MS_BIND | unix.MS_REC); f != 0 {
		var sfs unix.Statfs_t
		if err := unix.Fstatfs(fd, &sfs); err == nil {
			f |= lockedFlags(int64(sfs.Flags)) // int32 on 32-bit ARM
		}
		if err := unix.Mount("", fdPath(fd), "", unix.MS_BIND|unix.MS_REMOUNT|f, ""); err != nil {
			return fmt.Errorf("remounting: %w", err)
		}
	}
	return nil
}

// lockedFlags are the flags of an existing mount that a bind remount must
// repeat (the kernel refuses to clear them in some namespaces).
func lockedFlags(f int64) uintptr {
	var out uintptr
	for _, x := range []struct {
		st  int64
		mnt uintptr
	}{{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_RDONLY, unix.MS_RDONLY}} {
		if f&x.st != 0 {
			out |= x.mnt
		}
	}
	return out
}

// resolveIn opens dest inside the rootfs (O_PATH), resolving symlinks as
// if the rootfs were /, so that a mount never lands outside it whatever
// the image's symlinks say. With create, missing directories are made,
// and a missing last component is made a file when file is set.
func resolveIn(root int, dest string, create, file bool) (int, error) {
	rel := strings.TrimPrefix(path.Clean("/"+dest), "/")
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	if rel == "" {
		return unix.Openat2(root, ".", how)
	}
	fd, err := unix.Openat2(root, rel, how)
	if err == nil || !create || err != unix.ENOENT {
		return fd, err
	}
	comps := strings.Split(rel, "/")
	for i := range comps {
		sub := strings.Join(comps[:i+1], "/")
		fd, err := unix.Openat2(root, sub, how)
		if err == nil {
			if i == len(comps)-1 {
				return fd, nil
			}
			unix.Close(fd)
			continue
		}
		if err != unix.ENOENT {
			return -1, err
		}
		parent := "."
		if i > 0 {
			parent = strings.Join(comps[:i], "/")
		}
		pfd, err := unix.Openat2(root, parent, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: how.Resolve})
		if err != nil {
			return -1, err
		}
		if i == len(comps)-1 && file {
			var f int
			f, err = unix.Openat(pfd, comps[i], unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
			if err == nil {
				unix.Close(f)
			}
		} else {
			err = unix.Mkdirat(pfd, comps[i], 0o755)
		}
		unix.Close(pfd)
		if err != nil && err != unix.EEXIST {
			return -1, err
		}
		if fd, err = unix.Openat2(root, sub, how); err != nil {
			return -1, err
		}
		if i == len(comps)-1 {
			return fd, nil
		}
		unix.Close(fd)
	}
	return -1, unix.ENOENT
}

// mountCgroups gives the container its cgroups read-only at
// /sys/fs/cgroup: on v2 a cgroup2 mount of its own namespace; on v1 and
// hybrid a tmpfs with a bind of the container's cgroup of each hierarchy,
// as runc lays it out.
func mountCgroups(root int, m mountPlan, p *initPlan) error {
	flags, _, _ := mountFlags(m.Options)
	if p.CgroupNS {
		fd, err := resolveIn(root, m.Destination, true, false)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Mount("cgroup", fdPath(fd), "cgroup2", flags, "")
	}
	fd, err := resolveIn(root, m.Destination, true, false)
	if err != nil {
		return err
	}
	err = unix.Mount("tmpfs", fdPath(fd), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755")
	unix.Close(fd)
	if err != nil {
		return err
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(mi))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, t := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(t) < 1 || t[0] != "cgroup" && t[0] != "cgroup2" {
			continue
		}
		point := f[4]
		if filepath.Dir(point) != "/sys/fs/cgroup" {
			continue
		}
		src := filepath.Join(point, p.CgroupPath)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		dst := path.Join(m.Destination, filepath.Base(point))
		sub, err := resolveIn(root, dst, true, false)
		if err != nil {
			return err
		}
		err = unix.Mount(src, fdPath(sub), "", unix.MS_BIND|unix.MS_REC, "")
		unix.Close(sub)
		if err != nil {
			return err
		}
		if err := remount(root, dst, flags|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, 0); err != nil {
			return err
		}
	}
	// The host's names for co-mounted hierarchies (cpu -> cpu,cpuacct).
	if ents, err := os.ReadDir("/sys/fs/cgroup"); err == nil {
		dfd, err := resolveIn(root, m.Destination, false, false)
		if err == nil {
			for _, e := range ents {
				if e.Type()&os.ModeSymlink != 0 {
					if target, err := os.Readlink(filepath.Join("/sys/fs/cgroup", e.Name())); err == nil {
						unix.Symlinkat(target, dfd, e.Name())
					}
				}
			}
			unix.Close(dfd)
		}
	}
	if flags&unix.MS_RDONLY != 0 {
		return remount(root, m.Destination, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, 0)
	}
	return nil
}

// devices are the nodes runc makes in every container's /dev.
var devices = []struct {
	name         string
	major, minor uint32
}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}

func makeDevices(root int, privileged bool) error {
	dev, err := resolveIn(root, "/dev", false, false)
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	// mknodat needs a real directory descriptor.
	dfd, err := unix.Openat(dev, ".", unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	for _, d := range devices {
		if err := unix.Mknodat(dfd, d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil && err != unix.EEXIST {
			return fmt.Errorf("creating /dev/%s: %w", d.name, err)
		}
	}
	for _, l := range [][2]string{
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
	} {
		if err := unix.Symlinkat(l[0], dfd, l[1]); err != nil && err != unix.EEXIST {
			return fmt.Errorf("creating /dev/%s: %w", l[1], err)
		}
	}
	if privileged {
		copyHostDevices(dfd)
	}
	return nil
}

// copyHostDevices gives a privileged container the host's device nodes,
// as Docker's --privileged does.
func copyHostDevices(dfd int) {
	filepath.WalkDir("/dev", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel := strings.TrimPrefix(p, "/dev/")
		if d.IsDir() {
			switch rel {
			case "/dev":
				return nil
			case "pts", "shm", "mqueue":
				return filepath.SkipDir
			}
			unix.Mkdirat(dfd, rel, 0o755)
			return nil
		}
		if d.Type()&(os.ModeDevice|os.ModeCharDevice) == 0 {
			return nil
		}
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil {
			unix.Mknodat(dfd, rel, st.Mode, int(st.Rdev))
		}
		return nil
	})
}

// maskPath hides a file under /dev/null and a directory under an empty
// read-only tmpfs (Docker's masked paths).
func maskPath(root int, p string) error {
	fd, err := resolveIn(root, p, false, false)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.Mount("tmpfs", fdPath(fd), "tmpfs", unix.MS_RDONLY, "")
	}
	return unix.Mount("/dev/null", fdPath(fd), "", unix.MS_BIND, "")
}

// readonlyPath bind-mounts a path onto itself read-only.
func readonlyPath(root int, p string) error {
	fd, err := resolveIn(root, p, false, false)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return err
	}
	err = unix.Mount(fdPath(fd), fdPath(fd), "", unix.MS_BIND|unix.MS_REC, "")
	unix.Close(fd)
	if err != nil {
		return err
	}
	return remount(root, p, unix.MS_RDONLY, 0)
}

// pivot makes the rootfs the root and detaches the old one (pivot_root,
// never chroot: the old root must be unreachable, not just out of sight).
func pivot(root int) error {
	if err := unix.Fchdir(root); err != nil {
		return fmt.Errorf("entering the rootfs: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	// The old root is now stacked on "." — detach it without letting the
	// unmount propagate anywhere.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making the old root a slave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	return unix.Chdir("/")
}

// copyUp fills an empty volume with the image's content at its mount
// point, as Docker does the first time a volume is mounted.
func copyUp(from, to string) error {
	if ents, err := os.ReadDir(to); err != nil || len(ents) > 0 {
		return err
	}
	ents, err := os.ReadDir(from)
	if err != nil || len(ents) == 0 {
		return nil
	}
	var st unix.Stat_t
	if unix.Stat(from, &st) == nil {
		os.Chmod(to, os.FileMode(st.Mode&0o7777))
		os.Lchown(to, int(st.Uid), int(st.Gid))
	}
	return filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if rel == "." {
			return nil
		}
		dst := filepath.Join(to, rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := os.Mkdir(dst, 0o700); err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := copyFile(p, dst); err != nil {
				return err
			}
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		default:
			return nil
		}
		unix.Lchown(dst, int(st.Uid), int(st.Gid))
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			unix.Chmod(dst, st.Mode&0o7777)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
