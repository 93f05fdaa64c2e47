package container

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"time"
)

// ErrReadOnly: a copy into a container would write to its read-only
// rootfs or a read-only mount (Docker's 403).
var ErrReadOnly = errors.New("read-only")

// PathStat describes a path in a container as docker cp's stat does
// (Docker's ContainerPathStat).
type PathStat struct {
	// Name is the path's last element as given ("/" for the root, "." for
	// a path ending in "/.").
	Name  string
	Size  int64
	Mode  fs.FileMode
	Mtime time.Time
	// LinkTarget is, for a symlink, the path it finally resolves to in the
	// container, every link followed ("" otherwise).
	LinkTarget string
}

// CopyOptions are the settings of a copy into a container (the PUT
// archive parameters).
type CopyOptions struct {
	// NoOverwriteDirNonDir refuses to replace a directory with a
	// non-directory or the reverse (docker cp always asks for it).
	NoOverwriteDirNonDir bool
	// CopyUIDGID gives every file the container's user and its group
	// (docker cp -a); without it, files keep the archive's owners.
	CopyUIDGID bool
}

// containerPath is p as an absolute path in the container, cleaned but
// keeping a trailing "/" or "/." (they assert a directory), as Docker's
// PreserveTrailingDotOrSeparator keeps them.
func containerPath(p string) string {
	clean := path.Clean("/" + p)
	if path.Base(p) == "." && path.Base(clean) != "." {
		if !strings.HasSuffix(clean, "/") {
			clean += "/"
		}
		clean += "."
	}
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(clean, "/") {
		clean += "/"
	}
	return clean
}

// assertsDir reports whether p ends in "/" or "/.".
func assertsDir(p string) bool {
	return strings.HasSuffix(p, "/") || path.Base(p) == "."
}

// entryBase is the name docker cp gives a path's archive entry and stat:
// its last element ("/" for the root, "." for "dir/.").
func entryBase(abs string) string {
	if abs == "/" {
		return "/"
	}
	return path.Base(abs)
}

// mountFor returns the container's mount that holds the container path p
// (the deepest), or nil when p is on the rootfs.
func mountFor(mounts []MountPoint, p string) *MountPoint {
	var found *MountPoint
	for i := range mounts {
		d := mounts[i].Destination
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			if found == nil || len(d) > len(found.Destination) {
				found = &mounts[i]
			}
		}
	}
	return found
}

// checkWritable refuses a copy into the container path dir when its mount
// or the rootfs is read-only, with Docker's messages.
func checkWritable(c *Container, dir string) error {
	if m := mountFor(c.Mounts, dir); m != nil {
		if !m.RW {
			return kindf(ErrReadOnly, "mounted volume is marked read-only")
		}
		return nil
	}
	if c.HostConfig.ReadonlyRootfs {
		return kindf(ErrReadOnly, "container rootfs is marked read-only")
	}
	return nil
}

// fileNotFound is Docker's answer for a path that does not exist.
func fileNotFound(p, ref string) error {
	return kindf(ErrNotFound, "Could not find the file %s in container %s", p, ref)
}
