package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// ContainerStatPath is HEAD /containers/{id}/archive. A HEAD answer has
// no body, so an error says only what its status code means.
func (c *Client) ContainerStatPath(ctx context.Context, ref, path string) (*ContainerPathStat, error) {
	resp, err := c.do(ctx, request{method: http.MethodHead, path: containerPath(ref, "/archive"), query: url.Values{"path": {path}}})
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
			ae.Message = fmt.Sprintf("Could not find the file %s in container %s", path, ref)
		}
		return nil, err
	}
	resp.Body.Close()
	return decodePathStat(resp.Header)
}

// CopyFromContainer is GET /containers/{id}/archive: path as a tar stream,
// which the caller closes, and its stat.
func (c *Client) CopyFromContainer(ctx context.Context, ref, path string) (io.ReadCloser, *ContainerPathStat, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: containerPath(ref, "/archive"), query: url.Values{"path": {path}}})
	if err != nil {
		return nil, nil, err
	}
	st, err := decodePathStat(resp.Header)
	if err != nil {
		resp.Body.Close()
		return nil, nil, err
	}
	return resp.Body, st, nil
}

// CopyToContainer is PUT /containers/{id}/archive: content, a tar stream,
// extracted into the directory path of the container.
func (c *Client) CopyToContainer(ctx context.Context, ref, path string, content io.Reader, o CopyToContainerOptions) error {
	q := url.Values{"path": {path}}
	if o.NoOverwriteDirNonDir {
		q.Set("noOverwriteDirNonDir", "true")
	}
	if o.CopyUIDGID {
		q.Set("copyUIDGID", "true")
	}
	h := http.Header{"Content-Type": {"application/x-tar"}}
	return c.doJSON(ctx, request{method: http.MethodPut, path: containerPath(ref, "/archive"), query: q, body: content, header: h}, nil)
}

func decodePathStat(h http.Header) (*ContainerPathStat, error) {
	v := h.Get(PathStatHeader)
	if v == "" {
		return nil, fmt.Errorf("the engine's answer lacks the %s header", PathStatHeader)
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("decoding the %s header: %w", PathStatHeader, err)
	}
	var st ContainerPathStat
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decoding the %s header: %w", PathStatHeader, err)
	}
	return &st, nil
}
