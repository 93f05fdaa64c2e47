//go:build !linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
)

// errLocalCopy: the local end of a copy reads and writes files through
// Linux's descriptor-relative calls only, for now.
var errLocalCopy = fmt.Errorf("copying local files needs Linux (this is %s): use - to stream a tar archive instead: %w", runtime.GOOS, errors.ErrUnsupported)

func localArchive(ctx context.Context, src copyInfo) (io.ReadCloser, error) { return nil, errLocalCopy }

func extractLocal(ctx context.Context, content io.Reader, src copyInfo, dstPath string) error {
	return errLocalCopy
}
