package api

import (
	"context"
	"net/http"
	"net/url"
)

// ContainerDiff is GET /containers/{id}/changes.
func (c *Client) ContainerDiff(ctx context.Context, ref string) ([]ContainerChange, error) {
	var out []ContainerChange
	err := c.doJSON(ctx, request{method: http.MethodGet, path: containerPath(ref, "/changes")}, &out)
	return out, err
}

// ContainerCommit is POST /commit: opts.Ref ("repo:tag", or "") is sent as
// repo and tag, and pause only when false, as the docker CLI sends them.
func (c *Client) ContainerCommit(ctx context.Context, opts CommitOptions) (string, error) {
	q := url.Values{"container": {opts.Container}}
	if opts.Ref != "" {
		repo, tag := opts.Ref, ""
		if i := lastColon(repo); i >= 0 {
			repo, tag = repo[:i], repo[i+1:]
		}
		q.Set("repo", repo)
		q.Set("tag", tag)
	}
	if opts.Comment != "" {
		q.Set("comment", opts.Comment)
	}
	if opts.Author != "" {
		q.Set("author", opts.Author)
	}
	for _, ch := range opts.Changes {
		q.Add("changes", ch)
	}
	if !opts.Pause {
		q.Set("pause", "0")
	}
	r := request{method: http.MethodPost, path: "/commit", query: q}
	if opts.Config != nil {
		body, h, err := jsonBody(opts.Config)
		if err != nil {
			return "", err
		}
		r.body, r.header = body, h
	}
	var out IDResponse
	if err := c.doJSON(ctx, r, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// lastColon is where a tag starts in a reference: the last colon after
// the last slash (a registry's port is before it), or -1.
func lastColon(ref string) int {
	for i := len(ref) - 1; i >= 0; i-- {
		switch ref[i] {
		case ':':
			return i
		case '/':
			return -1
		}
	}
	return -1
}
