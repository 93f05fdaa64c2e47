package mirror

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server is a loopback registry stand-in that counts requests and new
// connections.
type server struct {
	*httptest.Server
	requests atomic.Int32
	conns    atomic.Int32
}

func newServer(t *testing.T, tlsOn bool, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h(w, r)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshake errors are expected
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if tlsOn {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintln(w, "{}")
	}
}

// writeCA writes the TLS server's certificate as a PEM file.
func writeCA(t *testing.T, s *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// get fetches a manifest of o/r from ep through the session, as a pull would.
func get(s *Session, ep Endpoint, scheme string) (int, error) {
	u := scheme + "://" + ep.Host + "/v2/" + ep.Repository("o/r") + "/manifests/latest"
	resp, err := (&http.Client{Transport: s.Transport(ep)}).Get(u)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestTransportClassifies(t *testing.T) {
	tlsSrv := newServer(t, true, status(200))
	ca := writeCA(t, tlsSrv.Server)
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")

	tests := []struct {
		name       string
		url        string // endpoint URL; "" means url of the server
		ca         string
		handler    http.HandlerFunc
		wantStatus int
		wantReason string // "" means not failed
	}{
		{name: "200", handler: status(200), wantStatus: 200},
		{name: "401 is the token flow", handler: status(401, "WWW-Authenticate", `Bearer realm="x"`), wantStatus: 401},
		{name: "404 is the caller's", handler: status(404), wantStatus: 404},
		{name: "503", handler: status(503), wantStatus: 503, wantReason: "503 Service Unavailable"},
		{name: "502", handler: status(502), wantStatus: 502, wantReason: "502 Bad Gateway"},
		{name: "403", handler: status(403), wantStatus: 403, wantReason: "403 Forbidden, not in the mirror's allowlist?"},
		{name: "429", handler: status(429, "Retry-After", "30"), wantStatus: 429, wantReason: "429 Too Many Requests, retry after 30s"},
		{name: "429 without Retry-After", handler: status(429), wantStatus: 429, wantReason: "429 Too Many Requests"},
		{name: "refused", url: "https://" + closedAddr(t), wantReason: "connection refused"},
		{name: "TLS without CA", url: tlsSrv.URL + "/a", wantReason: "TLS: certificate signed by unknown authority"},
		{name: "TLS with CA", url: tlsSrv.URL + "/b", ca: ca, wantStatus: 200},
		{name: "CA file missing", url: "https://" + tlsHost + "/c", ca: "/nonexistent/ca.pem", wantReason: "CA file /nonexistent/ca.pem: no such file or directory"},
	}

	var eps []EndpointConfig
	for i := range tests {
		tt := &tests[i]
		if tt.url == "" {
			tt.url = newServer(t, false, tt.handler).URL
		}
		eps = append(eps, EndpointConfig{URL: tt.url, CA: tt.ca})
	}
	c, err := NewConfig(nil, nil, map[string]RegistryConfig{"ghcr.io": {Endpoints: eps, Fallback: ptr(false)}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.NewSession("ghcr.io", nil)
	all := c.Endpoints("ghcr.io")
	if len(all) != len(tests) {
		t.Fatalf("%d endpoints for %d tests", len(all), len(tests))
	}

	var healthy []Endpoint
	for i, tt := range tests {
		ep := all[i]
		t.Run(tt.name, func(t *testing.T) {
			code, err := get(s, ep, ep.Scheme)
			if tt.wantStatus != 0 && (err != nil || code != tt.wantStatus) {
				t.Errorf("got %d, %v; want %d", code, err, tt.wantStatus)
			}
			if got := s.Failed(ep); got != (tt.wantReason != "") {
				t.Fatalf("Failed = %v, want %v", got, tt.wantReason != "")
			}
			if tt.wantReason == "" {
				healthy = append(healthy, ep)
				return
			}
			if f := s.Failures(); f[len(f)-1].Endpoint != ep || f[len(f)-1].Reason != tt.wantReason {
				t.Errorf("last failure = %+v, want reason %q", f[len(f)-1], tt.wantReason)
			}
			// Not asked again.
			_, err = get(s, ep, ep.Scheme)
			var fe *FailedError
			if !errors.As(err, &fe) || fe.Endpoint != ep {
				t.Errorf("second request: %v, want a *FailedError", err)
			}
		})
	}

	if got := s.Candidates(); fmt.Sprint(got) != fmt.Sprint(healthy) {
		t.Errorf("Candidates() = %v, want %v", got, healthy)
	}
	if f := s.Failures(); f[0].RetryAfter != 0 || f[3].RetryAfter != 30*time.Second {
		t.Errorf("RetryAfter: %v", f)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err() = %v with candidates left", err)
	}

	for _, ep := range healthy {
		s.Fail(ep, "digest mismatch:\nsha256:abc")
	}
	if len(s.Candidates()) != 0 {
		t.Fatalf("Candidates() = %v after failing all", s.Candidates())
	}
	var afe *AllFailedError
	if err := s.Err(); !errors.As(err, &afe) {
		t.Fatalf("Err() = %v, want *AllFailedError", err)
	}
	msg := afe.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("Err() is not one line: %q", msg)
	}
	if !strings.HasPrefix(msg, "every endpoint for ghcr.io failed: "+all[0].URL+" (digest mismatch: sha256:abc); ") {
		t.Errorf("Err() = %q", msg)
	}
	if !strings.HasSuffix(msg, "; https://ghcr.io (fallback disabled)") {
		t.Errorf("Err() does not say fallback is disabled: %q", msg)
	}
	for i, ep := range all {
		if !strings.Contains(msg, ep.URL+" (") {
			t.Errorf("Err() does not name %s", ep)
		}
		if r := tests[i].wantReason; r != "" && !strings.Contains(msg, ep.URL+" ("+r+")") {
			t.Errorf("Err() does not give %s's reason %q: %q", ep, r, msg)
		}
	}
}

func TestTransportOtherHostsAndSchemes(t *testing.T) {
	realm := newServer(t, false, status(503))
	mirror := newServer(t, true, status(200))
	ca := writeCA(t, mirror.Server)
	c, err := NewConfig(nil, nil, map[string]RegistryConfig{"ghcr.io": {Endpoints: []EndpointConfig{
		{URL: mirror.URL, CA: ca},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.NewSession("ghcr.io", nil)
	ep := s.Candidates()[0]
	client := &http.Client{Transport: s.Transport(ep)}

	// A token realm on another host answering 503 is not the mirror failing.
	resp, err := client.Get(realm.URL + "/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || s.Failed(ep) {
		t.Errorf("realm request: %d, mirror failed = %v", resp.StatusCode, s.Failed(ep))
	}

	// No plain http to an https endpoint that is not insecure.
	_, err = client.Get("http://" + ep.Host + "/v2/")
	if err == nil || !strings.Contains(err.Error(), "refusing a http request") {
		t.Errorf("downgrade: %v", err)
	}
	if mirror.requests.Load() != 0 || s.Failed(ep) {
		t.Errorf("downgrade reached the server (%d requests) or failed the endpoint", mirror.requests.Load())
	}
}

// TestTransportInsecureSchemes: go-containerregistry tries https before http
// on insecure endpoints; the scheme that does not work is not a failure.
func TestTransportInsecureSchemes(t *testing.T) {
	srv := newServer(t, false, status(200))
	dead := closedAddr(t)
	c, err := NewConfig([]string{srv.URL, "http://" + dead}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.NewSession("docker.io", nil)
	live, down := s.Candidates()[0], s.Candidates()[1]

	if _, err := get(s, live, "https"); err == nil {
		t.Fatal("https to a plain-http server succeeded")
	}
	if s.Failed(live) {
		t.Fatalf("failed by the https attempt: %v", s.Failures())
	}
	if code, err := get(s, live, "http"); err != nil || code != 200 {
		t.Fatalf("http: %d, %v", code, err)
	}
	srv.Close()
	if _, err := get(s, live, "http"); err == nil {
		t.Fatal("request to a closed server succeeded")
	}
	if f := s.Failures(); len(f) != 1 || f[0].Endpoint != live || f[0].Reason != "connection refused" {
		t.Errorf("after the working scheme stopped: %+v", f)
	}

	get(s, down, "http")
	if s.Failed(down) {
		t.Fatal("failed after one scheme; https was not tried yet")
	}
	get(s, down, "https")
	if !s.Failed(down) {
		t.Fatal("not failed after both schemes were refused")
	}
}

func TestTransportTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := newServer(t, false, func(http.ResponseWriter, *http.Request) { <-block })
	defer close(block)
	c, err := NewConfig([]string{srv.URL}, []string{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.ResponseHeaderTimeout = 50 * time.Millisecond
	s := c.NewSession("docker.io", base)
	ep := s.Candidates()[0]
	get(s, ep, "https") // refused: the endpoint is plain http
	get(s, ep, "http")
	if f := s.Failures(); len(f) != 1 || f[0].Reason != "timed out" {
		t.Errorf("Failures() = %+v", f)
	}
}

func TestTransportReuse(t *testing.T) {
	plain := newServer(t, false, status(200))
	secure := newServer(t, true, status(200))
	ca := writeCA(t, secure.Server)
	c, err := NewConfig(nil, nil, map[string]RegistryConfig{"ghcr.io": {Endpoints: []EndpointConfig{
		{URL: plain.URL}, {URL: secure.URL, CA: ca}, {URL: secure.URL + "/ghcr.io", CA: ca},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.NewSession("ghcr.io", nil)
	eps := s.Candidates()
	for _, ep := range eps[:3] {
		if s.Transport(ep) != s.Transport(ep) {
			t.Errorf("%s: Transport returns a new RoundTripper per call", ep)
		}
		for range 5 {
			if code, err := get(s, ep, ep.Scheme); err != nil || code != 200 {
				t.Fatalf("%s: %d, %v", ep, code, err)
			}
		}
	}
	// Ten requests to the TLS server over two endpoints with the same CA.
	if n := plain.conns.Load(); n != 1 {
		t.Errorf("plain server saw %d connections for 5 requests, want 1", n)
	}
	if n := secure.conns.Load(); n != 1 {
		t.Errorf("TLS server saw %d connections for 10 requests, want 1", n)
	}
	// The registry itself uses the shared default transport: a second
	// session reuses it.
	origin := eps[3]
	t1 := s.Transport(origin).(*endpointTransport).next
	t2 := c.NewSession("ghcr.io", nil).Transport(origin).(*endpointTransport).next
	if t1 != t2 {
		t.Error("sessions with a nil base do not share the default transport")
	}
}

func TestSessionConcurrent(t *testing.T) {
	srv := newServer(t, false, status(200))
	c, err := NewConfig([]string{srv.URL + "/a", srv.URL + "/b"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.NewSession("docker.io", nil)
	eps := s.Candidates()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			ep := eps[i%len(eps)]
			get(s, ep, "http")
			digest := fmt.Sprintf("sha256:%d", i)
			s.Served(digest, ep)
			if got, ok := s.ServedBy(digest); !ok || got != ep {
				t.Errorf("ServedBy(%s) = %v, %v", digest, got, ok)
			}
			if i == 7 {
				s.Fail(eps[1], "stalled below 10 kB/s")
			}
			s.Candidates()
			s.Err()
		})
	}
	wg.Wait()
	if got := s.Candidates(); len(got) != 2 || got[0] != eps[0] || got[1] != eps[2] {
		t.Errorf("Candidates() = %v", got)
	}
	if _, ok := s.ServedBy("sha256:none"); ok {
		t.Error("ServedBy reports a digest never served")
	}
}

type fakeNetError struct{}

func (fakeNetError) Error() string   { return "i/o timeout" }
func (fakeNetError) Timeout() bool   { return true }
func (fakeNetError) Temporary() bool { return true }

func TestDescribe(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Get", URL: "https://m.example/v2/", Err: err} }
	tests := []struct {
		err  error
		want string
	}{
		{wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Name: "m.example", Err: "no such host", IsNotFound: true}}), "DNS: no such host m.example"},
		{wrap(&net.OpError{Op: "dial", Err: fakeNetError{}}), "timed out"},
		{wrap(io.ErrUnexpectedEOF), "connection closed by the server"},
		{wrap(errors.New("http: server gave HTTP response to HTTPS client")), "TLS: the server speaks plain http; write an http:// URL"},
		{wrap(errors.New("something odd")), "something odd"},
	}
	for _, tt := range tests {
		if got := describe(tt.err); got != tt.want {
			t.Errorf("describe(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"30":                            30 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Thu, 02 Jan 2025 03:06:05 GMT": 2 * time.Minute,
		"Thu, 02 Jan 2025 03:00:00 GMT": 0,
	}
	for v, want := range tests {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
