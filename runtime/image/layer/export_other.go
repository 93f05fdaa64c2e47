//go:build !linux

package layer

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Export writes an overlayfs upper directory as a layer tar, on Linux only.
func Export(ctx context.Context, w io.Writer, dir string) error {
	return fmt.Errorf("exporting %s: %w: it needs Linux", dir, errors.ErrUnsupported)
}
