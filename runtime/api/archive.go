package api

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ArchiveBackend is what the server needs for docker cp: a container's
// paths stat-ed, read as a tar stream, and a tar stream written into a
// directory, for running and stopped containers alike. Paths are the
// client's, in the container; a missing one is NotFound ("Could not find
// the file /x in container c"), a container that does not exist NotFound
// too; a write to a read-only rootfs or mount is Forbidden.
type ArchiveBackend interface {
	// ContainerStatPath describes path; a symlink is described itself,
	// with the target it resolves to, unless path ends in "/" or "/.".
	ContainerStatPath(ctx context.Context, ref, path string) (*ContainerPathStat, error)
	// ContainerArchivePath returns path as a tar stream (its entry named
	// after path's last element, a directory's content below it) and its
	// stat. The caller closes the stream; ctx ends it.
	ContainerArchivePath(ctx context.Context, ref, path string) (io.ReadCloser, *ContainerPathStat, error)
	// ContainerExtractToDir writes the uncompressed tar stream content into
	// the directory path (every symlink followed in the container):
	// NotFound when it is missing, InvalidParameter when it is not a
	// directory or the archive is refused.
	ContainerExtractToDir(ctx context.Context, ref, path string, content io.Reader, opts CopyToContainerOptions) error
}

// ContainerPathStat is the X-Docker-Container-Path-Stat header of the
// archive endpoints, base64-encoded JSON.
type ContainerPathStat struct {
	Name       string      `json:"name"`
	Size       int64       `json:"size"`
	Mode       os.FileMode `json:"mode"`
	Mtime      time.Time   `json:"mtime"`
	LinkTarget string      `json:"linkTarget"`
}

// CopyToContainerOptions are the parameters of PUT /containers/{id}/archive.
type CopyToContainerOptions struct {
	// NoOverwriteDirNonDir refuses to replace a directory with a
	// non-directory or the reverse (docker cp always sets it).
	NoOverwriteDirNonDir bool
	// CopyUIDGID gives the files the container user's owner (docker cp -a).
	CopyUIDGID bool
}

// PathStatHeader is the header that carries a ContainerPathStat.
const PathStatHeader = "X-Docker-Container-Path-Stat"

// ErrForbidden is a write the container does not allow: its rootfs or
// the mount is read-only (403).
var ErrForbidden = errors.New("forbidden")

// Forbidden marks err as a write to something read-only (403).
func Forbidden(err error) error { return mark(ErrForbidden, err) }

// archiveRoutes serves docker cp's endpoints.
func (s *Server) archiveRoutes() {
	c := func(h handlerFunc) handlerFunc {
		if s.containers == nil {
			return func(http.ResponseWriter, *http.Request) error { return errNoContainers }
		}
		return func(w http.ResponseWriter, r *http.Request) error {
			err := h(w, r)
			if errors.Is(err, ErrForbidden) {
				// The status mapping does not know 403, which only these
				// routes answer.
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_ = json.NewEncoder(w).Encode(errorResponse{Message: err.Error()})
				return nil
			}
			return err
		}
	}
	s.route("HEAD /containers/{id}/archive", []string{"path"}, c(s.statContainerPath))
	s.route("GET /containers/{id}/archive", []string{"path"}, c(s.getContainerArchive))
	s.route("PUT /containers/{id}/archive", []string{"path", "noOverwriteDirNonDir", "copyUIDGID"}, c(s.putContainerArchive))
}

// archivePath is the path parameter, which Docker requires.
func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", InvalidParameterf("path cannot be empty")
	}
	return p, nil
}

func setPathStat(h http.Header, st *ContainerPathStat) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding the path's stat: %w", err)
	}
	h.Set(PathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}

func (s *Server) statContainerPath(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	st, err := s.containers.ContainerStatPath(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	if err := setPathStat(w.Header(), st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	content, st, err := s.containers.ContainerArchivePath(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	defer content.Close()
	if err := setPathStat(w.Header(), st); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, content); err != nil {
		// The status is sent: only a cut connection tells the client that
		// the archive is incomplete (a tar cut between two entries would
		// read as a shorter, complete one).
		s.log.Warn("archiving a container path", "container", r.PathValue("id"), "path", p, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *Server) putContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	body, err := decompress(r.Body)
	if err != nil {
		return err
	}
	defer body.Close()
	opts := CopyToContainerOptions{NoOverwriteDirNonDir: boolValue(q, "noOverwriteDirNonDir"), CopyUIDGID: boolValue(q, "copyUIDGID")}
	if err := s.containers.ContainerExtractToDir(r.Context(), r.PathValue("id"), p, body, opts); err != nil {
		// A client still sending would see its write fail rather than the
		// answer: read what it sends first.
		_, _ = io.Copy(io.Discard, r.Body)
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// decompress reads a body that may be compressed, as Docker's archive
// endpoint takes it: plain tar, gzip, bzip2 or zstd (xz, which Go does not
// read, is refused with a 400).
func decompress(body io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReader(body)
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, InvalidParameterf("reading the gzip-compressed archive: %v", err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return io.NopCloser(bzip2.NewReader(br)), nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, InvalidParameterf("reading the zstd-compressed archive: %v", err)
		}
		return zr.IOReadCloser(), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return nil, InvalidParameterf("xz-compressed archives are not supported: send the tar uncompressed, or gzip-, bzip2- or zstd-compressed")
	}
	return io.NopCloser(br), nil
}
