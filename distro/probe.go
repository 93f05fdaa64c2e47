package distro

import "errors"

// ErrNotSupported is returned by a probe that has no answer on this OS.
var ErrNotSupported = errors.New("not supported on this system")

// Probe answers the questions no file under the root can: they need a system
// call on the running machine. Detect uses Uname only for the live root; the
// others take host paths (already joined with the root). Tests use a Probe
// that answers from a fixture's probe.json.
type Probe interface {
	// Uname returns the running kernel's release and machine (x86_64, ...).
	Uname() (release, machine string, err error)
	// Statfs describes the filesystem holding path.
	Statfs(path string) (FSInfo, error)
	// DType reports whether the filesystem holding dir returns file types
	// in directory entries (overlay needs it; xfs has it only with ftype=1).
	DType(dir string) (bool, error)
	// Sysctl reads a macOS sysctl by name (hw.memsize, kern.hv_support).
	Sysctl(name string) (string, error)
}

// FSInfo is what statfs says about a filesystem.
type FSInfo struct {
	Type      string `json:"type"`
	SizeBytes uint64 `json:"sizeBytes"`
	FreeBytes uint64 `json:"freeBytes"`
}
