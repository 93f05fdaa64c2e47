//go:build !linux

package layer

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ExtractOptions are Extract's settings.
type ExtractOptions struct {
	NoOverwriteDirNonDir bool
	Owner                *Owner
	NoXattrs             bool
}

// Owner is a numeric owner.
type Owner struct{ UID, GID int }

// ErrOverwrite is an entry that NoOverwriteDirNonDir refused.
var ErrOverwrite = errors.New("cannot overwrite")

// Validate checks a docker cp archive, on Linux only.
func Validate(ctx context.Context, r io.Reader) error {
	return fmt.Errorf("checking an archive: %w: it needs Linux", errors.ErrUnsupported)
}

// Extract writes a docker cp archive into a directory, on Linux only: it
// resolves every name through directory descriptors.
func Extract(ctx context.Context, r io.Reader, dirfd int, opts ExtractOptions) error {
	return fmt.Errorf("extracting an archive: %w: it needs Linux", errors.ErrUnsupported)
}

// Archive writes a file or tree as a docker cp archive, on Linux only.
func Archive(ctx context.Context, w io.Writer, dirfd int, base, name string) error {
	return fmt.Errorf("archiving %s: %w: it needs Linux", name, errors.ErrUnsupported)
}
