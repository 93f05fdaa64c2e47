package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// execPath is /exec/<id><suffix>, the ID escaped.
func execPath(id, suffix string) string {
	return "/exec/" + url.PathEscape(id) + suffix
}

// ExecCreate is POST /containers/{id}/exec; it returns the exec's ID.
func (c *Client) ExecCreate(ctx context.Context, ref string, req *ExecCreateRequest) (string, error) {
	body, h, err := jsonBody(req)
	if err != nil {
		return "", err
	}
	var out IDResponse
	if err := c.doJSON(ctx, request{method: http.MethodPost, path: containerPath(ref, "/exec"), body: body, header: h}, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("creating an exec in %s: the engine answered no exec ID", ref)
	}
	return out.ID, nil
}

// ExecStart is POST /exec/{id}/start. With Detach it is a plain request
// that returns once the process has started, and the response is nil.
// Otherwise the connection is upgraded, as docker exec does, and carries
// the process's streams until it exits: raw with a TTY, multiplexed
// without (see HijackedResponse). Ending ctx closes the connection.
func (c *Client) ExecStart(ctx context.Context, id string, req ExecStartRequest) (*HijackedResponse, error) {
	body, h, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	if req.Detach {
		return nil, c.doJSON(ctx, request{method: http.MethodPost, path: execPath(id, "/start"), body: body, header: h}, nil)
	}
	return c.hijack(ctx, "starting exec "+id, execPath(id, "/start"), nil, body, h)
}

// ExecInspect is GET /exec/{id}/json.
func (c *Client) ExecInspect(ctx context.Context, id string) (*ExecInspect, error) {
	var out ExecInspect
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: execPath(id, "/json")}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// resizeQuery is the h and w parameters of the resize endpoints.
func resizeQuery(height, width uint) url.Values {
	return url.Values{"h": {strconv.FormatUint(uint64(height), 10)}, "w": {strconv.FormatUint(uint64(width), 10)}}
}

// ExecResize is POST /exec/{id}/resize: the exec's terminal takes height
// rows and width columns.
func (c *Client) ExecResize(ctx context.Context, id string, height, width uint) error {
	return c.doJSON(ctx, request{method: http.MethodPost, path: execPath(id, "/resize"), query: resizeQuery(height, width)}, nil)
}

// ContainerResize is POST /containers/{id}/resize: the container's
// terminal takes height rows and width columns.
func (c *Client) ContainerResize(ctx context.Context, ref string, height, width uint) error {
	return c.doJSON(ctx, request{method: http.MethodPost, path: containerPath(ref, "/resize"), query: resizeQuery(height, width)}, nil)
}

// CloseWrite half-closes the connection once the input is done, so the
// engine sees the end of stdin while the output goes on.
func (h *HijackedResponse) CloseWrite() error {
	if cw, ok := h.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// hijack sends a POST asking for the connection to be upgraded (Docker's
// Connection: Upgrade, Upgrade: tcp) and returns the connection once the
// engine has answered 101 (or 200, as older engines do). op names the
// request in errors.
func (c *Client) hijack(ctx context.Context, op, path string, q url.Values, body io.Reader, header http.Header) (*HijackedResponse, error) {
	v, err := c.APIVersion(ctx)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, &unavailableError{socket: c.socket, err: err}
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*HijackedResponse, error) {
		stop()
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	u := "http://berth/v" + v + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodPost, u, body)
	if err != nil {
		return fail(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	if err := req.Write(conn); err != nil {
		return fail(fmt.Errorf("%s: %w", op, err))
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", op, err))
	}
	switch {
	case resp.StatusCode >= 400:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e errorResponse
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		if msg == "" {
			msg = resp.Status
		}
		return fail(&Error{StatusCode: resp.StatusCode, Message: msg})
	case resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != http.StatusOK:
		return fail(fmt.Errorf("%s: the engine answered %s", op, resp.Status))
	}
	return &HijackedResponse{Conn: conn, Reader: br, Multiplexed: resp.Header.Get("Content-Type") != MediaTypeRawStream, stop: stop}, nil
}
