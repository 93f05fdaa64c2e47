package cgroup

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultParent is where Berth's cgroups live in each hierarchy, as Docker's
// live under "docker".
const DefaultParent = "berth"

// Option changes how New and Cleanup find and name cgroups.
type Option func(*options) error

type options struct {
	parent    string
	mountinfo []byte
}

// Parent puts the cgroups under path (relative to each hierarchy's root)
// instead of "berth": one engine's cgroups apart from another's, as dockerd's
// --cgroup-parent, and tests apart from a running daemon's.
func Parent(path string) Option {
	return func(o *options) error {
		clean := filepath.Clean(path)
		if path == "" || filepath.IsAbs(path) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("invalid cgroup parent %q: must be a relative path such as %q", path, DefaultParent)
		}
		o.parent = clean
		return nil
	}
}

// MountInfo gives the mount table as the text of /proc/self/mountinfo, for a
// caller that has read it already or a test with a fake cgroupfs; the v1
// hierarchies are the cgroup mounts in it under the root given to New.
func MountInfo(text []byte) Option {
	return func(o *options) error {
		o.mountinfo = text
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{parent: DefaultParent}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// checkID refuses a container id that would not be one directory.
func checkID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("invalid cgroup name %q: must be one path element, such as a container id", id)
	}
	return nil
}
