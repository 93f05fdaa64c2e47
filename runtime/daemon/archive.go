package daemon

import (
	"context"
	"errors"
	"io"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/container"
)

// archiveError is containerError with the read-only refusal (403) that
// only the archive endpoints answer.
func archiveError(err error) error {
	if errors.Is(err, container.ErrReadOnly) {
		return api.Forbidden(err)
	}
	return containerError(err)
}

func pathStat(st *container.PathStat) *api.ContainerPathStat {
	return &api.ContainerPathStat{Name: st.Name, Size: st.Size, Mode: st.Mode, Mtime: st.Mtime, LinkTarget: st.LinkTarget}
}

// ContainerStatPath serves HEAD /containers/{id}/archive.
func (b *ContainerBackend) ContainerStatPath(ctx context.Context, ref, path string) (*api.ContainerPathStat, error) {
	st, err := b.Engine.StatPath(ctx, ref, path)
	if err != nil {
		return nil, archiveError(err)
	}
	return pathStat(st), nil
}

// ContainerArchivePath serves GET /containers/{id}/archive.
func (b *ContainerBackend) ContainerArchivePath(ctx context.Context, ref, path string) (io.ReadCloser, *api.ContainerPathStat, error) {
	rc, st, err := b.Engine.ArchivePath(ctx, ref, path)
	if err != nil {
		return nil, nil, archiveError(err)
	}
	return rc, pathStat(st), nil
}

// ContainerExtractToDir serves PUT /containers/{id}/archive.
func (b *ContainerBackend) ContainerExtractToDir(ctx context.Context, ref, path string, content io.Reader, opts api.CopyToContainerOptions) error {
	err := b.Engine.ExtractToDir(ctx, ref, path, content, container.CopyOptions{NoOverwriteDirNonDir: opts.NoOverwriteDirNonDir, CopyUIDGID: opts.CopyUIDGID})
	return archiveError(err)
}
