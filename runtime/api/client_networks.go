package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// NetworkList is GET /networks.
func (c *Client) NetworkList(ctx context.Context, filters map[string][]string) ([]NetworkResource, error) {
	q := url.Values{}
	if f := EncodeFilters(filters); f != "" {
		q.Set("filters", f)
	}
	var out []NetworkResource
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: "/networks", query: q}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// NetworkInspectWithRaw is GET /networks/{id}, with the JSON as sent.
func (c *Client) NetworkInspectWithRaw(ctx context.Context, ref string) (*NetworkResource, []byte, error) {
	raw, err := c.raw(ctx, request{method: http.MethodGet, path: "/networks/" + url.PathEscape(ref)})
	if err != nil {
		return nil, nil, err
	}
	var out NetworkResource
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nil, fmt.Errorf("inspecting network %s: decoding the engine's answer: %w", ref, err)
	}
	return &out, raw, nil
}
