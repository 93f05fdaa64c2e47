package testvm

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Switch arms fault handlers once the registry's images are pushed (the
// push goes through the same handlers). The zero value is off.
type Switch struct{ on atomic.Bool }

// On arms the faults; Off disarms them.
func (s *Switch) On()  { s.on.Store(true) }
func (s *Switch) Off() { s.on.Store(false) }

func (s *Switch) armed() bool { return s != nil && s.on.Load() }

// Match picks the requests a fault applies to.
type Match func(*http.Request) bool

// Requests to the registry API, by kind.
var (
	AnyRequest Match = func(*http.Request) bool { return true }
	Manifests  Match = func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/manifests/") }
	Blobs      Match = func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
	}
)

// Status answers matching requests with code and headers (a registry
// error body for 4xx, as registries send).
func Status(sw *Switch, match Match, code int, header map[string]string) Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !sw.armed() || !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			for k, v := range header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			switch code {
			case http.StatusForbidden:
				fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"repository not in the allowlist"}]}`)
			case http.StatusTooManyRequests:
				fmt.Fprint(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limit exceeded"}]}`)
			default:
				fmt.Fprint(w, `{}`)
			}
		})
	}
}

// buffered runs next and returns what it wrote.
func buffered(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

func copyHeader(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
}

// Corrupt flips a byte in the middle of matching responses, keeping their
// length: a mirror that serves wrong bytes.
func Corrupt(sw *Switch, match Match) Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !sw.armed() || !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			rec := buffered(next, r)
			b := rec.Body.Bytes()
			if len(b) > 0 {
				b[len(b)/2] ^= 0xff
			}
			copyHeader(w, rec)
			w.WriteHeader(rec.Code)
			w.Write(b)
		})
	}
}

// Trickle sends matching responses chunk bytes at a time, one chunk every
// interval: a mirror that is up but far too slow.
func Trickle(sw *Switch, match Match, chunk int, every time.Duration) Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !sw.armed() || !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			rec := buffered(next, r)
			copyHeader(w, rec)
			w.WriteHeader(rec.Code)
			b := rec.Body.Bytes()
			for len(b) > 0 {
				n := min(chunk, len(b))
				if _, err := w.Write(b[:n]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				b = b[n:]
				select {
				case <-r.Context().Done():
					return
				case <-time.After(every):
				}
			}
		})
	}
}

// StallAfter sends the first n bytes of matching responses, then nothing
// until the client gives up: a mirror that dies in the middle of a layer.
func StallAfter(sw *Switch, match Match, n int) Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !sw.armed() || !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			rec := buffered(next, r)
			copyHeader(w, rec)
			w.WriteHeader(rec.Code)
			b := rec.Body.Bytes()
			w.Write(b[:min(n, len(b))])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		})
	}
}

// Ranges serves blob GETs that carry any Range header (go-containerregistry's
// registry takes only "bytes=first-last") with 206 Partial Content, and
// records in ranges, when not nil, each Range header served.
func Ranges(ranges *RangeLog) Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !Blobs(r) {
				next.ServeHTTP(w, r)
				return
			}
			rg := r.Header.Get("Range")
			if ranges != nil && rg != "" {
				ranges.add(rg)
			}
			full := r.Clone(r.Context())
			full.Header.Del("Range")
			rec := buffered(next, full)
			if rec.Code != http.StatusOK {
				copyHeader(w, rec)
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			for k, v := range rec.Header() {
				if k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(rec.Body.Bytes()))
		})
	}
}

// NoRanges ignores Range headers on blob GETs and serves the whole blob,
// as some mirrors do.
func NoRanges(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Blobs(r) && r.Header.Get("Range") != "" {
			r = r.Clone(r.Context())
			r.Header.Del("Range")
		}
		next.ServeHTTP(w, r)
	})
}

// RangeLog records the Range headers a registry served.
type RangeLog struct {
	mu   sync.Mutex
	list []string
}

func (l *RangeLog) add(s string) {
	l.mu.Lock()
	l.list = append(l.list, s)
	l.mu.Unlock()
}

// List is the Range headers seen, in order.
func (l *RangeLog) List() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.list...)
}

// TokenAuth puts the registry behind Docker's token flow, which
// go-containerregistry's registry lacks: /v2/ and everything under it
// answer 401 with a Bearer challenge whose realm is /token on the same
// server, and take the tokens it issues. With a user, /token wants that
// login (HTTP basic); without, it gives anonymous tokens.
func TokenAuth(sw *Switch, user, password string) Handler {
	var mu sync.Mutex
	tokens := map[string]bool{}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !sw.armed() {
				next.ServeHTTP(w, r)
				return
			}
			if r.URL.Path == "/token" {
				if user != "" {
					if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusUnauthorized)
						fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
						return
					}
				}
				var b [16]byte
				rand.Read(b[:])
				tok := hex.EncodeToString(b[:])
				mu.Lock()
				tokens[tok] = true
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, tok)
				return
			}
			auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			mu.Lock()
			valid := ok && tokens[auth]
			mu.Unlock()
			if !valid {
				scope := ""
				if p := strings.TrimPrefix(r.URL.Path, "/v2/"); p != "" && p != r.URL.Path {
					if i := strings.Index(p, "/manifests/"); i > 0 {
						scope = fmt.Sprintf(`,scope="repository:%s:pull"`, p[:i])
					} else if i := strings.Index(p, "/blobs/"); i > 0 {
						scope = fmt.Sprintf(`,scope="repository:%s:pull"`, p[:i])
					}
				}
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="testvm"%s`, r.Host, scope))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Retag points dst at the manifest src has, on the registry itself: a
// stale mirror whose tag still names another image.
func (r *Registry) Retag(t testing.TB, src, dst string) {
	t.Helper()
	tr := remote.WithTransport(r.Server.Client().Transport)
	ref, err := name.ParseReference(r.Host+"/"+src, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref, tr)
	if err != nil {
		t.Fatalf("retag %s: %v", src, err)
	}
	tag, err := name.NewTag(r.Host+"/"+dst, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(tag, desc, tr); err != nil {
		t.Fatalf("retag %s as %s: %v", src, dst, err)
	}
}

// NewRegistryTLS is NewRegistry over https with httptest's self-signed
// certificate (Server.Certificate() is its CA).
func NewRegistryTLS(t testing.TB, prefix string, wrap ...Handler) *Registry {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(discardLogger()))
	for _, w := range wrap {
		h = w(h)
	}
	// Push over plain http to the same handler, then serve it with TLS.
	plain := httptest.NewServer(h)
	defer plain.Close()
	r := &Registry{Host: strings.TrimPrefix(plain.URL, "http://")}
	for _, archive := range []string{"busybox.oci.tar", "nginx.oci.tar", "layered.oci.tar"} {
		if err := r.push(t, ImageArchive(t, archive), prefix); err != nil {
			t.Fatalf("pushing %s: %v", archive, err)
		}
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = discardLogger() // handshake failures are what tests provoke
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &Registry{Server: srv, Host: strings.TrimPrefix(srv.URL, "https://")}
}
