package layer

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Stats counts what Apply wrote.
type Stats struct {
	// Entries is the number of tar entries applied, whiteouts included.
	Entries int
	// Size is the layer's size as Docker reports it (the sum of lstat sizes
	// of what it holds but directories): regular file content, copies of
	// lower-layer files that hard links materialised included, plus each
	// symlink's target length.
	Size int64
}

// Reasons for refusing a layer entry, for callers that tell a hostile or broken
// image from an I/O failure. Apply wraps them in an *EntryError.
var (
	ErrPathEscape     = errors.New("path escapes the layer")
	ErrSymlinkParent  = errors.New("parent directory is a symlink")
	ErrReservedXattr  = errors.New("xattr is reserved for overlayfs")
	ErrUnsupported    = errors.New("unsupported entry")
	ErrInvalidEntry   = errors.New("invalid entry")
	errNotDirectory   = errors.New("parent is not a directory")
	errTargetNotFound = errors.New("hard link target does not exist")
)

// EntryError is the error Apply returns for an entry it refused or could not write.
type EntryError struct {
	Name string // the entry's name as the tar has it
	Err  error
}

func (e *EntryError) Error() string {
	name := e.Name
	if len(name) > 200 {
		name = name[:200] + "..."
	}
	return fmt.Sprintf("layer entry %q: %v", name, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// pathMax bounds a cleaned name as PATH_MAX bounds the paths Docker's unpacker
// passes to the kernel, so that a name cannot nest directories without limit.
const pathMax = 4096

const (
	whiteoutPrefix     = ".wh."
	whiteoutMetaPrefix = ".wh..wh."
	opaqueMarker       = ".wh..wh..opq"
	paxXattrPrefix     = "SCHILY.xattr."
	paxSparsePrefix    = "GNU.sparse."
	opaqueXattr        = "trusted.overlay.opaque"
)

// cleanName turns a tar name into a slash-separated path relative to the layer
// root, "." for the root itself. Like Docker, a leading "/" is dropped; unlike
// Docker, "/../x" is refused rather than quietly read as "x", since only a
// crafted archive says that.
func cleanName(name string) (string, error) {
	name = strings.TrimLeft(name, "/")
	if name == "" {
		return ".", nil
	}
	name = path.Clean(name)
	if name == ".." || strings.HasPrefix(name, "../") {
		return "", ErrPathEscape
	}
	if len(name) >= pathMax {
		return "", fmt.Errorf("%w: name is %d bytes long, the limit is %d", ErrInvalidEntry, len(name), pathMax-1)
	}
	return name, nil
}

// splitName appends the components of a cleaned name to comps; "." has none.
func splitName(comps []string, name string) []string {
	if name == "." {
		return comps
	}
	for {
		i := strings.IndexByte(name, '/')
		if i < 0 {
			return append(comps, name)
		}
		comps = append(comps, name[:i])
		name = name[i+1:]
	}
}

// reservedXattr reports whether overlayfs reads the xattr name: a layer that
// carried one could forge whiteouts, opaque directories or redirects.
// user.overlay.* is what overlayfs reads instead when mounted with userxattr
// (rootless), so it is refused too.
func reservedXattr(name string) bool {
	return strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") ||
		name == "trusted.overlay" || name == "user.overlay"
}

// whiteoutTarget returns NAME for a whiteout ".wh.NAME", and an error when NAME
// could not name a sibling.
func whiteoutTarget(base string) (string, error) {
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." || strings.HasPrefix(target, whiteoutPrefix) {
		return "", fmt.Errorf("%w: whiteout %q names no file", ErrInvalidEntry, base)
	}
	return target, nil
}
