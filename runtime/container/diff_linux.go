package container

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/runtime/image/layer"
)

// Changes lists what the container's processes changed in its filesystem,
// running or not, as docker diff shows it: compared with its image (and
// the engine's init layer, so mount points do not show), each path added,
// modified or deleted, with every directory that holds a change listed as
// modified before it. It reads only the upper dir and looks the paths up in
// the layers below: a whiteout is a deletion, a directory made again over a
// deleted one (opaque) lists what it no longer holds as deleted, and what
// exists below is modified when its type, mode, owner, size, time or
// capabilities differ. The result equals what dockerd's diff (which
// compares the two merged trees) lists; the order is depth first by name
// where dockerd's is random. No change is nil, as dockerd answers null.
func (e *Engine) Changes(idOrName string) ([]Change, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	c := en.snapshot()
	img, err := e.images.Get(c.Image)
	if errors.Is(err, image.ErrNotFound) {
		return nil, kindf(ErrNotFound, "the image of container %s is gone: %v", shortID(c.ID), err)
	}
	if err != nil {
		return nil, err
	}
	upper := filepath.Join(c.Dir, upperDir)
	out, err := diffUpper(upper, containerLowers(c.Dir, img))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(c.Dir); serr != nil {
			return nil, notFound(idOrName) // removed meanwhile
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the changes of container %s: %w", shortID(c.ID), err)
	}
	return out, nil
}

// diffUpper compares the overlay upper dir with the lowers it covers.
func diffUpper(upper string, lowers []string) ([]Change, error) {
	ufd, err := unix.Open(upper, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: upper, Err: err}
	}
	defer unix.Close(ufd)
	view, err := openLowerView(lowers)
	if err != nil {
		return nil, fmt.Errorf("opening the image's layers: %w", err)
	}
	defer view.close()
	return diffDir(ufd, view, "/", false)
}

// diffDir lists the changes under the upper directory ufd, whose path is
// dir and whose lower counterpart is view. replaced: the directory was
// deleted and made again (it or a parent is opaque), so what view holds
// and ufd does not is deleted.
func diffDir(ufd int, view lowerView, dir string, replaced bool) ([]Change, error) {
	upperNames, err := layer.SortedNames(ufd)
	if err != nil {
		return nil, err
	}
	var lowerNames []string
	if replaced && len(view) > 0 {
		if lowerNames, err = view.names(); err != nil {
			return nil, err
		}
	}
	var out []Change
	i, j := 0, 0
	for i < len(upperNames) || j < len(lowerNames) {
		if i == len(upperNames) || j < len(lowerNames) && lowerNames[j] < upperNames[i] {
			out = append(out, Change{Path: filepath.Join(dir, lowerNames[j]), Kind: ChangeDelete})
			j++
			continue
		}
		name := upperNames[i]
		i++
		if j < len(lowerNames) && lowerNames[j] == name {
			j++
		}
		changes, err := diffEntry(ufd, view, dir, name, replaced)
		if err != nil {
			return nil, err
		}
		out = append(out, changes...)
	}
	return out, nil
}

// diffEntry lists the changes at name in the upper directory ufd: its own,
// then those under it.
func diffEntry(ufd int, view lowerView, dir, name string, replaced bool) ([]Change, error) {
	p := filepath.Join(dir, name)
	var st unix.Stat_t
	if err := unix.Fstatat(ufd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil, nil // removed while we read
		}
		return nil, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	old, sub, found, err := view.lookup(name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	defer sub.close()
	if isUpperWhiteout(ufd, name, &st) {
		if found {
			return []Change{{Path: p, Kind: ChangeDelete}}, nil
		}
		return nil, nil
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		switch {
		case !found:
			return []Change{{Path: p, Kind: ChangeAdd}}, nil
		case statDifferent(&old, &st) || capabilityDifferent(view, ufd, name):
			return []Change{{Path: p, Kind: ChangeModify}}, nil
		}
		return nil, nil
	}
	fd, err := unix.Openat(ufd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOENT {
			return nil, nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	// sub is empty unless the lower entry is a directory too.
	wasDir := found && old.Mode&unix.S_IFMT == unix.S_IFDIR
	inner, err := diffDir(fd, sub, p, wasDir && (replaced || isOpaqueDir(fd)))
	if err != nil {
		return nil, err
	}
	var self []Change
	switch {
	case !found:
		self = []Change{{Path: p, Kind: ChangeAdd}}
	case !wasDir || statDifferent(&old, &st) || len(inner) > 0:
		// A directory that holds a change is listed too, as Docker lists
		// it, so that the permissions on the way to the change are known.
		self = []Change{{Path: p, Kind: ChangeModify}}
	}
	return append(self, inner...), nil
}

// isUpperWhiteout: a character device 0/0, or an empty file marked as a
// whiteout where overlayfs could not make the device.
func isUpperWhiteout(dfd int, name string, st *unix.Stat_t) bool {
	if isOverlayWhiteout(st) {
		return true
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 {
		return false
	}
	for _, x := range []string{"trusted.overlay.whiteout", "user.overlay.whiteout"} {
		if _, err := unix.Lgetxattr(procFdPath(dfd, name), x, nil); err == nil {
			return true
		}
	}
	return false
}

// statDifferent is Docker's test for a modified entry: type, mode, owner
// or device; and, but for directories, whose size and time change with
// what they hold, size and modification time.
func statDifferent(old, new *unix.Stat_t) bool {
	if old.Mode != new.Mode || old.Uid != new.Uid || old.Gid != new.Gid || old.Rdev != new.Rdev {
		return true
	}
	if new.Mode&unix.S_IFMT == unix.S_IFDIR {
		return false
	}
	if old.Size != new.Size {
		return true
	}
	// A time written through a tar has whole seconds: equal seconds with
	// either side lacking nanoseconds is the same time, as Docker takes it.
	return old.Mtim.Sec != new.Mtim.Sec || old.Mtim.Nsec != new.Mtim.Nsec && old.Mtim.Nsec != 0 && new.Mtim.Nsec != 0
}

// capabilityDifferent compares the file capabilities (setcap) of name in
// the upper dir and in the view, which Docker counts as a change.
func capabilityDifferent(view lowerView, ufd int, name string) bool {
	upperCap := getxattr(procFdPath(ufd, name), "security.capability")
	for _, dfd := range view {
		var st unix.Stat_t
		if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return !bytes.Equal(upperCap, getxattr(procFdPath(dfd, name), "security.capability"))
		}
	}
	return false
}

func getxattr(path, name string) []byte {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, name, buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// procFdPath names name in the directory fd without resolving anything
// above it (for the calls that have no *at form).
func procFdPath(fd int, name string) string { return fmt.Sprintf("/proc/self/fd/%d/%s", fd, name) }
