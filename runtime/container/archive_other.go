//go:build !linux

package container

import (
	"context"
	"io"
)

// StatPath is Linux's; elsewhere it says so.
func (e *Engine) StatPath(ctx context.Context, idOrName, p string) (*PathStat, error) {
	return nil, errPlatform
}

// ArchivePath is Linux's; elsewhere it says so.
func (e *Engine) ArchivePath(ctx context.Context, idOrName, p string) (io.ReadCloser, *PathStat, error) {
	return nil, nil, errPlatform
}

// ExtractToDir is Linux's; elsewhere it says so.
func (e *Engine) ExtractToDir(ctx context.Context, idOrName, p string, r io.Reader, opts CopyOptions) error {
	return errPlatform
}
