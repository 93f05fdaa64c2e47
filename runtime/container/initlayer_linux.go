package container

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// initLayerEntries are the paths the engine mounts on or bind-mounts to in
// every container, made ahead in its init layer where the image lacks them,
// as moby's initlayer does (without its .dockerenv): kind 'd' a directory,
// 'f' an empty file, 'l' a symlink to target.
var initLayerEntries = []struct {
	path   string
	kind   byte
	target string
}{
	{"dev", 'd', ""}, {"dev/pts", 'd', ""}, {"dev/shm", 'd', ""}, {"proc", 'd', ""}, {"sys", 'd', ""},
	{"etc/resolv.conf", 'f', ""}, {"etc/hosts", 'f', ""}, {"etc/hostname", 'f', ""}, {"dev/console", 'f', ""},
	{"etc/mtab", 'l', "/proc/mounts"},
}

// makeInitLayer makes dir, the container's init layer: the topmost lower
// of its overlay, holding the mount targets its image (lowers, topmost
// first) lacks, so that mounting never writes them into the upper dir and
// diff and commit show only what the container's processes did. A parent
// directory the image has is made with the image's owner, mode and times,
// as overlayfs's copy-up would make it, so the container sees the image's.
// An entry under a parent that the image has as anything but a directory
// (a symlink) is left to the mount code, which resolves it inside the
// rootfs. It costs a few system calls per entry: it runs at every create.
func makeInitLayer(dir string, lowers []string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("creating the init layer: %w", err)
	}
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("creating the init layer: %w", err)
	}
	defer unix.Close(root)
	view, err := openLowerView(lowers)
	if err != nil {
		return fmt.Errorf("creating the init layer: the image's layers: %w", err)
	}
	defer view.close()
	b := &initLayer{root: root, view: view}
	for _, ent := range initLayerEntries {
		if err := b.add(ent.path, ent.kind, ent.target); err != nil {
			return fmt.Errorf("creating the init layer: %s: %w", ent.path, err)
		}
	}
	// The copied directories' times, now that nothing more is made in them.
	for _, d := range b.copied {
		ts := []unix.Timespec{d.st.Atim, d.st.Mtim}
		if err := unix.UtimesNanoAt(root, d.path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("creating the init layer: %s: %w", d.path, err)
		}
	}
	return nil
}

type initLayer struct {
	root   int
	view   lowerView
	copied []struct {
		path string
		st   unix.Stat_t
	}
}

func (b *initLayer) add(path string, kind byte, target string) error {
	comps := strings.Split(path, "/")
	view, pfd := b.view, b.root
	var opened []lowerView
	defer func() {
		for _, v := range opened {
			v.close()
		}
		if pfd != b.root {
			unix.Close(pfd)
		}
	}()
	for i, name := range comps {
		st, sub, found, err := view.lookup(name)
		if err != nil {
			return err
		}
		opened = append(opened, sub)
		if i == len(comps)-1 {
			if found {
				return nil // the image has it
			}
			return makeEntry(pfd, name, kind, target)
		}
		if found && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil
		}
		err = unix.Mkdirat(pfd, name, 0o755)
		switch {
		case err == nil && found:
			if err := unix.Fchownat(pfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return err
			}
			if err := unix.Fchmodat(pfd, name, st.Mode&0o7777, 0); err != nil {
				return err
			}
			b.copied = append(b.copied, struct {
				path string
				st   unix.Stat_t
			}{strings.Join(comps[:i+1], "/"), st})
		case err == nil:
			if err := unix.Fchmodat(pfd, name, 0o755, 0); err != nil {
				return err
			}
		case err != unix.EEXIST:
			return err
		}
		fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if pfd != b.root {
			unix.Close(pfd)
		}
		pfd, view = fd, sub
	}
	return nil
}

// makeEntry makes name in the directory pfd, root-owned: a directory or an
// empty file (0755, 0644), or a symlink to target. One an earlier entry
// made (dev before dev/pts) is left.
func makeEntry(pfd int, name string, kind byte, target string) error {
	var err error
	switch kind {
	case 'd':
		if err = unix.Mkdirat(pfd, name, 0o755); err == nil {
			err = unix.Fchmodat(pfd, name, 0o755, 0)
		}
	case 'f':
		var fd int
		if fd, err = unix.Openat(pfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644); err == nil {
			err = unix.Fchmod(fd, 0o644)
			unix.Close(fd)
		}
	case 'l':
		err = unix.Symlinkat(target, pfd, name)
	}
	if err == unix.EEXIST {
		return nil
	}
	return err
}
