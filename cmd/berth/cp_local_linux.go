package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/image/layer"
)

// localArchive is the tar stream of a local source, read with the same
// descriptor-relative walk the engine uses.
func localArchive(ctx context.Context, src copyInfo) (io.ReadCloser, error) {
	dir, base := splitPathDirEntry(src.Path)
	name := base
	if src.RebaseName != "" {
		name = src.RebaseName
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	pr, pw := io.Pipe()
	go func() {
		err := layer.Archive(ctx, pw, fd, base, name)
		unix.Close(fd)
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// extractLocal extracts the archive of src so that it lands at dstPath,
// as the user running the copy (docker cp does not chown what it writes
// locally).
func extractLocal(ctx context.Context, content io.Reader, src copyInfo, dstPath string) error {
	dst, err := destinationInfo(dstPath)
	if err != nil {
		return err
	}
	dir, archive, err := prepareArchiveCopy(content, src, dst)
	if err != nil {
		return err
	}
	defer archive.Close()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	opts := layer.ExtractOptions{
		NoOverwriteDirNonDir: true,
		Owner:                &layer.Owner{UID: os.Getuid(), GID: os.Getgid()},
		NoXattrs:             os.Getuid() != 0,
	}
	if err := layer.Extract(ctx, archive, fd, opts); err != nil {
		return fmt.Errorf("extracting into %s: %w", dir, err)
	}
	return nil
}
