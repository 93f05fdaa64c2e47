package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// containerPath is /containers/<ref><suffix>, the reference escaped.
func containerPath(ref, suffix string) string {
	return "/containers/" + url.PathEscape(ref) + suffix
}

// ContainerCreate is POST /containers/create. name and platform may be "".
func (c *Client) ContainerCreate(ctx context.Context, name, platform string, req *ContainerCreateRequest) (*ContainerCreateResponse, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	if platform != "" {
		q.Set("platform", platform)
	}
	body, h, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out ContainerCreateResponse
	if err := c.doJSON(ctx, request{method: http.MethodPost, path: "/containers/create", query: q, body: body, header: h}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ContainerStart is POST /containers/{id}/start; starting a running
// container is not an error (the engine answers 304).
func (c *Client) ContainerStart(ctx context.Context, ref string) error {
	return c.doJSON(ctx, request{method: http.MethodPost, path: containerPath(ref, "/start")}, nil)
}

func stopQuery(o StopOptions) url.Values {
	q := url.Values{}
	if o.Signal != "" {
		q.Set("signal", o.Signal)
	}
	if o.Timeout != nil {
		q.Set("t", strconv.Itoa(*o.Timeout))
	}
	return q
}

// ContainerStop is POST /containers/{id}/stop.
func (c *Client) ContainerStop(ctx context.Context, ref string, o StopOptions) error {
	return c.doJSON(ctx, request{method: http.MethodPost, path: containerPath(ref, "/stop"), query: stopQuery(o)}, nil)
}

// ContainerRestart is POST /containers/{id}/restart.
func (c *Client) ContainerRestart(ctx context.Context, ref string, o StopOptions) error {
	return c.doJSON(ctx, request{method: http.MethodPost, path: containerPath(ref, "/restart"), query: stopQuery(o)}, nil)
}

// ContainerKill is POST /containers/{id}/kill; signal "" is SIGKILL.
func (c *Client) ContainerKill(ctx context.Context, ref, signal string) error {
	q := url.Values{}
	if signal != "" {
		q.Set("signal", signal)
	}
	return c.doJSON(ctx, request{method: http.MethodPost, path: containerPath(ref, "/kill"), query: q}, nil)
}

// ContainerPause is POST /containers/{id}/pause.
func (c *Client) ContainerPause(ctx context.Context, ref string) error {
	return c.doJSON(ctx, request{method: http.MethodPost, path: containerPath(ref, "/pause")}, nil)
}

// ContainerUnpause is POST /containers/{id}/unpause.
func (c *Client) ContainerUnpause(ctx context.Context, ref string) error {
	return c.doJSON(ctx, request{method: http.MethodPost, path: containerPath(ref, "/unpause")}, nil)
}

// ContainerRemove is DELETE /containers/{id}.
func (c *Client) ContainerRemove(ctx context.Context, ref string, o RemoveOptions) error {
	q := url.Values{}
	if o.Force {
		q.Set("force", "1")
	}
	if o.Volumes {
		q.Set("v", "1")
	}
	return c.doJSON(ctx, request{method: http.MethodDelete, path: containerPath(ref, ""), query: q}, nil)
}

// WaitResult is the outcome of a wait: the engine's answer, or why it
// did not come.
type WaitResult struct {
	Response ContainerWaitResponse
	Err      error
}

// ContainerWait is POST /containers/{id}/wait. It returns once the engine
// has registered the wait (so a start that follows cannot be missed); the
// channel then delivers the result. condition "" is not-running.
func (c *Client) ContainerWait(ctx context.Context, ref string, condition WaitCondition) (<-chan WaitResult, error) {
	q := url.Values{}
	if condition != "" {
		q.Set("condition", string(condition))
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: containerPath(ref, "/wait"), query: q})
	if err != nil {
		return nil, err
	}
	ch := make(chan WaitResult, 1)
	go func() {
		defer resp.Body.Close()
		var r WaitResult
		if err := json.NewDecoder(resp.Body).Decode(&r.Response); err != nil {
			r.Err = fmt.Errorf("waiting for %s: %w", ref, err)
			if ctx.Err() != nil {
				r.Err = ctx.Err()
			}
		}
		ch <- r
		close(ch)
	}()
	return ch, nil
}

// ContainerInspect is GET /containers/{id}/json.
func (c *Client) ContainerInspect(ctx context.Context, ref string, size bool) (*ContainerJSON, error) {
	out, _, err := c.ContainerInspectWithRaw(ctx, ref, size)
	return out, err
}

// ContainerInspectWithRaw is ContainerInspect with the engine's JSON as
// sent, which docker inspect prints.
func (c *Client) ContainerInspectWithRaw(ctx context.Context, ref string, size bool) (*ContainerJSON, []byte, error) {
	q := url.Values{}
	if size {
		q.Set("size", "1")
	}
	raw, err := c.raw(ctx, request{method: http.MethodGet, path: containerPath(ref, "/json"), query: q})
	if err != nil {
		return nil, nil, err
	}
	var out ContainerJSON
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nil, fmt.Errorf("inspecting %s: decoding the engine's answer: %w", ref, err)
	}
	return &out, raw, nil
}

// raw sends r and returns the whole answer.
func (c *Client) raw(ctx context.Context, r request) ([]byte, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// ContainerListOptions are the parameters of GET /containers/json.
type ContainerListOptions struct {
	All     bool
	Limit   int
	Size    bool
	Filters map[string][]string
}

// ContainerList is GET /containers/json.
func (c *Client) ContainerList(ctx context.Context, o ContainerListOptions) ([]Container, error) {
	q := url.Values{}
	if o.All {
		q.Set("all", "1")
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Size {
		q.Set("size", "1")
	}
	if f := EncodeFilters(o.Filters); f != "" {
		q.Set("filters", f)
	}
	var out []Container
	err := c.doJSON(ctx, request{method: http.MethodGet, path: "/containers/json", query: q}, &out)
	return out, err
}

// ContainerLogsOptions are the parameters of GET /containers/{id}/logs as
// sent: Since and Until are Unix timestamps ("1700000000.000000000", see
// FormatTimestamp), Tail a count or "all".
type ContainerLogsOptions struct {
	Follow     bool
	Stdout     bool
	Stderr     bool
	Timestamps bool
	Since      string
	Until      string
	Tail       string
}

// FormatTimestamp is t as the logs parameters take it.
func FormatTimestamp(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// ContainerLogs is GET /containers/{id}/logs: the stream, framed unless
// the container has a TTY (demultiplex it with StdCopy).
func (c *Client) ContainerLogs(ctx context.Context, ref string, o ContainerLogsOptions) (io.ReadCloser, error) {
	q := url.Values{}
	for k, v := range map[string]bool{"follow": o.Follow, "stdout": o.Stdout, "stderr": o.Stderr, "timestamps": o.Timestamps} {
		if v {
			q.Set(k, "1")
		}
	}
	for k, v := range map[string]string{"since": o.Since, "until": o.Until, "tail": o.Tail} {
		if v != "" {
			q.Set(k, v)
		}
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: containerPath(ref, "/logs"), query: q})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ContainerTop is GET /containers/{id}/top.
func (c *Client) ContainerTop(ctx context.Context, ref, psArgs string) (*ContainerTopResponse, error) {
	q := url.Values{}
	if psArgs != "" {
		q.Set("ps_args", psArgs)
	}
	var out ContainerTopResponse
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: containerPath(ref, "/top"), query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StatsStream is the answer of GET /containers/{id}/stats.
type StatsStream struct {
	body io.ReadCloser
	dec  *json.Decoder
}

// Next returns the next sample, or io.EOF after the last.
func (s *StatsStream) Next() (StatsJSON, error) {
	var st StatsJSON
	if err := s.dec.Decode(&st); err != nil {
		if errors.Is(err, io.EOF) {
			return st, io.EOF
		}
		return st, fmt.Errorf("reading the engine's stats: %w", err)
	}
	return st, nil
}

// Close ends the stream.
func (s *StatsStream) Close() error { return s.body.Close() }

// ContainerStats is GET /containers/{id}/stats: samples until the
// container stops or the stream is closed, or one sample (with its
// predecessor's CPU use beside it) when stream is false.
func (c *Client) ContainerStats(ctx context.Context, ref string, stream bool) (*StatsStream, error) {
	q := url.Values{"stream": {"0"}}
	if stream {
		q.Set("stream", "1")
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: containerPath(ref, "/stats"), query: q})
	if err != nil {
		return nil, err
	}
	return &StatsStream{body: resp.Body, dec: json.NewDecoder(resp.Body)}, nil
}

// ContainersPrune is POST /containers/prune.
func (c *Client) ContainersPrune(ctx context.Context, filters map[string][]string) (*ContainersPruneReport, error) {
	q := url.Values{}
	if f := EncodeFilters(filters); f != "" {
		q.Set("filters", f)
	}
	var out ContainersPruneReport
	if err := c.doJSON(ctx, request{method: http.MethodPost, path: "/containers/prune", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ContainerAttachOptions are the parameters of POST
// /containers/{id}/attach.
type ContainerAttachOptions struct {
	Stream bool
	Stdin  bool
	Stdout bool
	Stderr bool
	Logs   bool
	// DetachKeys overrides the engine's detach sequence ("ctrl-p,ctrl-q").
	DetachKeys string
}

// HijackedResponse is an attached connection: read the container's
// output from Reader (StdCopy when Multiplexed), Close when done.
type HijackedResponse struct {
	Conn        net.Conn
	Reader      *bufio.Reader
	Multiplexed bool
	stop        func() bool
}

// Close ends the attachment.
func (h *HijackedResponse) Close() error {
	h.stop()
	return h.Conn.Close()
}

// ContainerAttach is POST /containers/{id}/attach with the connection
// upgraded, as docker run does: it returns once the engine has attached
// (output from then on is kept), before the container starts. Ending ctx
// closes the connection.
func (c *Client) ContainerAttach(ctx context.Context, ref string, o ContainerAttachOptions) (*HijackedResponse, error) {
	q := url.Values{}
	for k, on := range map[string]bool{"stream": o.Stream, "stdin": o.Stdin, "stdout": o.Stdout, "stderr": o.Stderr, "logs": o.Logs} {
		if on {
			q.Set(k, "1")
		}
	}
	if o.DetachKeys != "" {
		q.Set("detachKeys", o.DetachKeys)
	}
	return c.hijack(ctx, "attaching to "+ref, containerPath(ref, "/attach"), q, nil, nil)
}

// VolumeCreate is POST /volumes/create.
func (c *Client) VolumeCreate(ctx context.Context, o VolumeCreateOptions) (*Volume, error) {
	body, h, err := jsonBody(o)
	if err != nil {
		return nil, err
	}
	var out Volume
	if err := c.doJSON(ctx, request{method: http.MethodPost, path: "/volumes/create", body: body, header: h}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// VolumeList is GET /volumes.
func (c *Client) VolumeList(ctx context.Context, filters map[string][]string) (*VolumeListResponse, error) {
	q := url.Values{}
	if f := EncodeFilters(filters); f != "" {
		q.Set("filters", f)
	}
	var out VolumeListResponse
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: "/volumes", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// VolumeInspectWithRaw is GET /volumes/{name}, with the JSON as sent.
func (c *Client) VolumeInspectWithRaw(ctx context.Context, name string) (*Volume, []byte, error) {
	raw, err := c.raw(ctx, request{method: http.MethodGet, path: "/volumes/" + url.PathEscape(name)})
	if err != nil {
		return nil, nil, err
	}
	var out Volume
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nil, fmt.Errorf("inspecting volume %s: decoding the engine's answer: %w", name, err)
	}
	return &out, raw, nil
}

// VolumeRemove is DELETE /volumes/{name}.
func (c *Client) VolumeRemove(ctx context.Context, name string, force bool) error {
	q := url.Values{}
	if force {
		q.Set("force", "1")
	}
	return c.doJSON(ctx, request{method: http.MethodDelete, path: "/volumes/" + url.PathEscape(name), query: q}, nil)
}

// VolumesPrune is POST /volumes/prune.
func (c *Client) VolumesPrune(ctx context.Context, filters map[string][]string) (*VolumesPruneReport, error) {
	q := url.Values{}
	if f := EncodeFilters(filters); f != "" {
		q.Set("filters", f)
	}
	var out VolumesPruneReport
	if err := c.doJSON(ctx, request{method: http.MethodPost, path: "/volumes/prune", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImageInspectWithRaw is GET /images/{name}/json, with the JSON as sent
// (docker inspect prints it).
func (c *Client) ImageInspectWithRaw(ctx context.Context, name string) (*ImageInspect, []byte, error) {
	raw, err := c.raw(ctx, request{method: http.MethodGet, path: imagePath(name, "/json")})
	if err != nil {
		return nil, nil, err
	}
	var out ImageInspect
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nil, fmt.Errorf("inspecting image %s: decoding the engine's answer: %w", name, err)
	}
	return &out, raw, nil
}

// IsNoSuchImage says whether a create failed for want of the image,
// which docker run answers by pulling.
func IsNoSuchImage(err error) bool {
	return errors.Is(err, ErrNotFound) && strings.Contains(err.Error(), "No such image")
}
