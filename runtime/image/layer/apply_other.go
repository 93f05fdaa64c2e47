//go:build !linux

package layer

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Apply unpacks a layer on Linux only: the layers are overlayfs directories.
func Apply(ctx context.Context, r io.Reader, dir string, lowers []string) (Stats, error) {
	return Stats{}, fmt.Errorf("unpacking a layer into %s: %w: it needs Linux", dir, errors.ErrUnsupported)
}

// Sync flushes the filesystem that holds dir, on Linux only.
func Sync(dir string) error {
	return fmt.Errorf("syncing %s: %w: it needs Linux", dir, errors.ErrUnsupported)
}
