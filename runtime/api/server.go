package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Server is the Docker Engine API over an ImageBackend, a SystemBackend
// and (WithContainers) a ContainerBackend. It is an http.Handler; serve it
// on the socket from Listen.
type Server struct {
	images        ImageBackend
	system        SystemBackend
	containers    ContainerBackend
	networks      NetworkBackend
	auth          AuthBackend
	log           *slog.Logger
	engineVersion string
	mux           *http.ServeMux
}

// ServerOption configures NewServer.
type ServerOption func(*serverOptions) error

type serverOptions struct {
	auth          AuthBackend
	containers    ContainerBackend
	networks      NetworkBackend
	log           *slog.Logger
	engineVersion string
}

// WithAuth sets what checks docker login's credentials; the default is a
// RegistryAuth with no insecure registries.
func WithAuth(a AuthBackend) ServerOption {
	return func(o *serverOptions) error {
		if a == nil {
			return errors.New("api: WithAuth(nil)")
		}
		o.auth = a
		return nil
	}
}

// WithContainers serves the container and volume routes over b; without
// it they answer 501.
func WithContainers(b ContainerBackend) ServerOption {
	return func(o *serverOptions) error {
		if b == nil {
			return errors.New("api: WithContainers(nil)")
		}
		o.containers = b
		return nil
	}
}

// WithNetworks serves the network routes over b; without it they answer
// 501.
func WithNetworks(b NetworkBackend) ServerOption {
	return func(o *serverOptions) error {
		if b == nil {
			return errors.New("api: WithNetworks(nil)")
		}
		o.networks = b
		return nil
	}
}

// WithLogger sets where requests and failures are logged.
func WithLogger(l *slog.Logger) ServerOption {
	return func(o *serverOptions) error {
		if l == nil {
			return errors.New("api: WithLogger(nil)")
		}
		o.log = l
		return nil
	}
}

// WithEngineVersion sets the Berth version the Server header reports.
func WithEngineVersion(v string) ServerOption {
	return func(o *serverOptions) error {
		o.engineVersion = v
		return nil
	}
}

// NewServer builds the API server.
func NewServer(images ImageBackend, system SystemBackend, opts ...ServerOption) (*Server, error) {
	if images == nil || system == nil {
		return nil, errors.New("api: NewServer needs an image backend and a system backend")
	}
	o := serverOptions{log: slog.New(slog.DiscardHandler), engineVersion: "dev"}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.auth == nil {
		o.auth = &RegistryAuth{}
	}
	s := &Server{images: images, system: system, containers: o.containers, networks: o.networks, auth: o.auth, log: o.log, engineVersion: o.engineVersion, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

// handlerFunc is a route's handler; a returned error becomes Docker's
// error response.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route registers pattern (without the version prefix) with the query
// parameters it accepts.
func (s *Server) route(pattern string, query []string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := checkQuery(r.URL.Query(), r.Method+" "+r.URL.Path, query); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) routes() {
	s.route("GET /_ping", nil, s.ping)
	s.route("HEAD /_ping", nil, s.ping)
	s.route("GET /version", nil, s.version)
	s.route("GET /info", nil, s.info)
	s.route("POST /auth", nil, s.login)

	s.route("GET /images/json", []string{"all", "digests", "filters"}, s.listImages)
	// fromSrc, repo, message and changes are import's: listed here so
	// that createImage can say import is unsupported, not merely unknown.
	s.route("POST /images/create", []string{"fromImage", "tag", "platform", "fromSrc", "repo", "message", "changes"}, s.createImage)
	s.route("POST /images/prune", []string{"filters"}, s.pruneImages)
	s.route("GET /images/get", []string{"names"}, s.saveImages)
	s.route("POST /images/load", []string{"quiet"}, s.loadImages)
	// Every build request gets the same answer, whatever its parameters.
	s.mux.HandleFunc("POST /build", s.build)
	s.mux.HandleFunc("POST /build/prune", s.build)
	// Image names contain slashes (/images/library/nginx:1.22/json), and a
	// {name...} wildcard may only end a pattern: the rest of /images/ is
	// split by hand.
	s.mux.HandleFunc("/images/", s.imageByName)
	s.containerRoutes()
	s.execRoutes()
	s.commitRoutes()
	s.archiveRoutes()
	s.networkRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, NotFound(errors.New("page not found")))
	})
}

var versionPrefix = regexp.MustCompile(`^/v([0-9]+(?:\.[0-9]+)?)(/.*)$`)

// ServeHTTP sets Docker's headers, strips and checks the /v1.xx prefix, and
// routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("Api-Version", Version)
	h.Set("Server", "Berth/"+s.engineVersion)
	h.Set("Ostype", "linux")
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		if err := checkVersion(m[1]); err != nil {
			s.writeError(w, r, err)
			return
		}
		r2 := *r
		u := *r.URL
		u.Path, u.RawPath = m[2], ""
		r2.URL = &u
		r = &r2
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(sw, r)
	s.log.Debug("api", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start))
}

// checkVersion refuses API versions outside [MinVersion, Version] with
// dockerd's messages.
func checkVersion(v string) error {
	switch {
	case compareVersions(v, Version) > 0:
		return InvalidParameterf("client version %s is too new. Maximum supported API version is %s", v, Version)
	case compareVersions(v, MinVersion) < 0:
		return InvalidParameterf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, MinVersion)
	}
	return nil
}

// compareVersions compares dotted API versions numerically.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// statusWriter remembers the status for the request log. It unwraps for
// http.ResponseController, so streaming handlers can flush.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeError answers err in Docker's shape.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := StatusCode(err)
	if code >= 500 {
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == http.StatusNotModified {
		// 304 has no body: docker start of a running container.
		w.WriteHeader(code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(errorResponse{Message: err.Error()})
}

// writeJSON answers v with status code. A failed write means the client
// left; there is no one to tell.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	// As dockerd: "<none>:<none>", not "\u003cnone\u003e:\u003cnone\u003e".
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
	return nil
}
