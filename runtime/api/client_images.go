package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ImagePull is POST /images/create?fromImage=: it returns the progress
// stream; read it to the end (MessageStream.Wait) to know the outcome. A
// ref without tag or digest means :latest, as with docker pull. auth may
// be nil.
func (c *Client) ImagePull(ctx context.Context, ref, platform string, auth *AuthConfig) (*MessageStream, error) {
	if !hasTagOrDigest(ref) {
		ref += ":latest"
	}
	q := url.Values{"fromImage": {ref}}
	if platform != "" {
		q.Set("platform", platform)
	}
	h := http.Header{}
	if auth != nil {
		v, err := EncodeAuthHeader(auth)
		if err != nil {
			return nil, err
		}
		h.Set(AuthHeader, v)
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/images/create", query: q, header: h})
	if err != nil {
		return nil, err
	}
	return newMessageStream(resp.Body), nil
}

// ImageList is GET /images/json.
func (c *Client) ImageList(ctx context.Context, opts ImageListOptions) ([]ImageSummary, error) {
	q := url.Values{}
	if opts.All {
		q.Set("all", "1")
	}
	if opts.Digests {
		q.Set("digests", "1")
	}
	if f := EncodeFilters(opts.Filters); f != "" {
		q.Set("filters", f)
	}
	var out []ImageSummary
	err := c.doJSON(ctx, request{method: http.MethodGet, path: "/images/json", query: q}, &out)
	return out, err
}

// imagePath is /images/<name><suffix>; the name goes in as is, slashes and
// all, as the docker CLI sends it.
func imagePath(name, suffix string) string {
	return "/images/" + strings.TrimPrefix(name, "/") + suffix
}

// ImageInspect is GET /images/{name}/json.
func (c *Client) ImageInspect(ctx context.Context, name string) (*ImageInspect, error) {
	var out ImageInspect
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: imagePath(name, "/json")}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImageHistory is GET /images/{name}/history.
func (c *Client) ImageHistory(ctx context.Context, name string) ([]HistoryResponseItem, error) {
	var out []HistoryResponseItem
	err := c.doJSON(ctx, request{method: http.MethodGet, path: imagePath(name, "/history")}, &out)
	return out, err
}

// ImageTag is POST /images/{name}/tag.
func (c *Client) ImageTag(ctx context.Context, source, repo, tag string) error {
	q := url.Values{"repo": {repo}}
	if tag != "" {
		q.Set("tag", tag)
	}
	return c.doJSON(ctx, request{method: http.MethodPost, path: imagePath(source, "/tag"), query: q}, nil)
}

// ImageRemove is DELETE /images/{name}.
func (c *Client) ImageRemove(ctx context.Context, name string, force, noPrune bool) ([]DeleteResponse, error) {
	q := url.Values{}
	if force {
		q.Set("force", "1")
	}
	if noPrune {
		q.Set("noprune", "1")
	}
	var out []DeleteResponse
	err := c.doJSON(ctx, request{method: http.MethodDelete, path: imagePath(name, ""), query: q}, &out)
	return out, err
}

// ImagesPrune is POST /images/prune.
func (c *Client) ImagesPrune(ctx context.Context, filters map[string][]string) (*ImagesPruneReport, error) {
	q := url.Values{}
	if f := EncodeFilters(filters); f != "" {
		q.Set("filters", f)
	}
	var out ImagesPruneReport
	if err := c.doJSON(ctx, request{method: http.MethodPost, path: "/images/prune", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImageSave is GET /images/get: the archive of names, to be closed by the
// caller.
func (c *Client) ImageSave(ctx context.Context, names []string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/images/get", query: url.Values{"names": names}})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ImageLoad is POST /images/load with the archive r.
func (c *Client) ImageLoad(ctx context.Context, r io.Reader, quiet bool) (*MessageStream, error) {
	q := url.Values{}
	if quiet {
		q.Set("quiet", "1")
	}
	h := http.Header{"Content-Type": {"application/x-tar"}}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "/images/load", query: q, body: r, header: h})
	if err != nil {
		return nil, err
	}
	return newMessageStream(resp.Body), nil
}
