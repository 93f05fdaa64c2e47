package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
)

// Client talks to the engine on its unix socket. The API version is
// negotiated with the first request (through _ping) and kept. Errors are
// the server's messages as *Error, matching ErrNotFound and the other
// kinds with errors.Is; an engine that does not answer is ErrUnavailable.
type Client struct {
	socket string
	hc     *http.Client

	mu      sync.Mutex
	version string
}

// NewClient returns a client for the engine listening on socketPath.
func NewClient(socketPath string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		MaxIdleConns: 4,
	}
	return &Client{socket: socketPath, hc: &http.Client{Transport: tr}}
}

// Socket is the path the client dials.
func (c *Client) Socket() string { return c.socket }

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// unavailableError is a dial failure, said as what the user should do.
type unavailableError struct {
	socket string
	err    error
}

func (e *unavailableError) Error() string {
	if errors.Is(e.err, fs.ErrPermission) {
		return fmt.Sprintf("permission denied on the Berth engine's socket %s: join its group (usermod -aG berth $USER, then log in again) or use sudo", e.socket)
	}
	return fmt.Sprintf("cannot reach the Berth engine at %s: is the daemon running? (berth daemon, or systemctl start berth)", e.socket)
}

func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// PingResponse is what _ping's headers say.
type PingResponse struct {
	APIVersion     string
	OSType         string
	Experimental   bool
	BuilderVersion string
}

// Ping asks the engine's _ping endpoint.
func (c *Client) Ping(ctx context.Context) (*PingResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://berth/_ping", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return &PingResponse{
		APIVersion:     resp.Header.Get("Api-Version"),
		OSType:         resp.Header.Get("Ostype"),
		Experimental:   resp.Header.Get("Docker-Experimental") == "true",
		BuilderVersion: resp.Header.Get("Builder-Version"),
	}, nil
}

// APIVersion negotiates (once) and returns the API version the client
// uses: the lower of the server's and this package's Version.
func (c *Client) APIVersion(ctx context.Context) (string, error) {
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v != "" {
		return v, nil
	}
	p, err := c.Ping(ctx)
	if err != nil {
		return "", err
	}
	v = Version
	switch {
	case p.APIVersion == "":
		// An engine that does not say speaks the oldest version.
		v = MinVersion
	case compareVersions(p.APIVersion, Version) < 0:
		v = p.APIVersion
	}
	c.mu.Lock()
	c.version = v
	c.mu.Unlock()
	return v, nil
}

// send does req and turns dial failures and error statuses into errors.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &unavailableError{socket: c.socket, err: err}
		}
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("the Berth engine at %s closed the connection: %w", c.socket, err)
		}
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e errorResponse
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		if msg == "" {
			msg = resp.Status
		}
		return nil, &Error{StatusCode: resp.StatusCode, Message: msg}
	}
	return resp, nil
}

// request is one API call.
type request struct {
	method string
	path   string
	query  url.Values
	body   io.Reader
	header http.Header
}

// do sends r under the negotiated version prefix.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	v, err := c.APIVersion(ctx)
	if err != nil {
		return nil, err
	}
	u := "http://berth/v" + v + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, r.body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	return c.send(req)
}

// doJSON sends r and decodes the JSON answer into out (when not nil).
func (c *Client) doJSON(ctx context.Context, r request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding the engine's answer: %w", r.method, r.path, err)
	}
	return nil
}

// jsonBody is v as a request body.
func jsonBody(v any) (io.Reader, http.Header, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, nil, err
	}
	return bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}, nil
}

// Version is GET /version.
func (c *Client) Version(ctx context.Context) (*VersionResponse, error) {
	var v VersionResponse
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: "/version"}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Info is GET /info.
func (c *Client) Info(ctx context.Context) (*InfoResponse, error) {
	var v InfoResponse
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: "/info"}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Login is POST /auth: the engine checks a against the registry.
func (c *Client) Login(ctx context.Context, a AuthConfig) (*AuthResponse, error) {
	body, h, err := jsonBody(a)
	if err != nil {
		return nil, err
	}
	var v AuthResponse
	if err := c.doJSON(ctx, request{method: http.MethodPost, path: "/auth", body: body, header: h}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// MessageStream is a progress stream from the engine (pull, load).
type MessageStream struct {
	body io.ReadCloser
	dec  *json.Decoder
}

func newMessageStream(body io.ReadCloser) *MessageStream {
	return &MessageStream{body: body, dec: json.NewDecoder(body)}
}

// Next returns the next message, or io.EOF after the last. A message that
// carries an error is returned as a message; see JSONMessage.Err.
func (s *MessageStream) Next() (JSONMessage, error) {
	var m JSONMessage
	if err := s.dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return m, io.EOF
		}
		return m, fmt.Errorf("reading the engine's progress: %w", err)
	}
	return m, nil
}

// Wait reads the stream to its end, giving each message to each (when not
// nil), and returns the error the stream ended with, if any.
func (s *MessageStream) Wait(each func(JSONMessage)) error {
	defer s.Close()
	for {
		m, err := s.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if e := m.Err(); e != nil {
			return e
		}
		if each != nil {
			each(m)
		}
	}
}

// Close ends the stream.
func (s *MessageStream) Close() error { return s.body.Close() }
