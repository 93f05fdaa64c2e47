package api

import (
	"errors"
	"net/http"
	"strings"
	"sync"
)

// Filters each image route implements. "label!" is prune's negation
// (docker image prune --filter label!=k).
var (
	listFilters  = []string{"dangling", "label", "before", "since", "reference"}
	pruneFilters = []string{"dangling", "label", "label!", "until"}
)

// BuildUnsupported is the whole answer to POST /build.
const BuildUnsupported = "Berth runs images and does not build them: build with BuildKit (buildctl build), podman build or docker buildx on another machine, then bring the image here with `berth load` (or push it to a registry and pull it)"

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := ParseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	if err := checkFilters(f, listFilters); err != nil {
		return err
	}
	list, err := s.images.List(r.Context(), ImageListOptions{All: boolValue(q, "all"), Digests: boolValue(q, "digests"), Filters: f})
	if err != nil {
		return err
	}
	if list == nil {
		list = []ImageSummary{}
	}
	return writeJSON(w, http.StatusOK, list)
}

// createImage is POST /images/create: pull (fromImage). Import (fromSrc) is
// not something Berth does.
func (s *Server) createImage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Has("fromSrc") {
		return InvalidParameterf("import is not supported (fromSrc): Berth pulls images and loads archives (berth load)")
	}
	for _, k := range []string{"repo", "message", "changes"} {
		if q.Has(k) {
			return InvalidParameterf("%s is a parameter of import, which Berth does not support", k)
		}
	}
	image, tag := q.Get("fromImage"), q.Get("tag")
	if image == "" {
		return InvalidParameterf("fromImage is required")
	}
	ref, err := pullReference(image, tag)
	if err != nil {
		return err
	}
	auth, err := DecodeAuthHeader(r.Header.Get(AuthHeader))
	if err != nil {
		return err
	}
	pw := NewProgressWriter(w)
	if err := s.images.Pull(r.Context(), ref, q.Get("platform"), auth, pw.Func()); err != nil {
		if !pw.Started() {
			return err
		}
		s.log.Info("pull failed", "ref", ref, "err", err)
		_ = pw.WriteError(err)
	}
	return nil
}

// pullReference joins fromImage and tag as the docker CLI splits them: the
// tag may be a digest ("sha256:...").
func pullReference(image, tag string) (string, error) {
	if tag == "" {
		if !hasTagOrDigest(image) {
			return "", InvalidParameterf("pulling every tag of %s (docker pull --all-tags) is not supported; name a tag", image)
		}
		return image, nil
	}
	if hasTagOrDigest(image) {
		return "", InvalidParameterf("fromImage %q already has a tag or digest, and tag %q was given too", image, tag)
	}
	if strings.Contains(tag, ":") {
		return image + "@" + tag, nil
	}
	return image + ":" + tag, nil
}

func hasTagOrDigest(image string) bool {
	if strings.Contains(image, "@") {
		return true
	}
	last := image[strings.LastIndex(image, "/")+1:]
	return strings.Contains(last, ":")
}

// imageByName serves the routes with a name in the path, which may contain
// slashes: GET {name}/json, {name}/history, {name}/get, POST {name}/tag,
// DELETE {name}.
func (s *Server) imageByName(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/images/")
	type sub struct {
		method, suffix string
		query          []string
		h              func(w http.ResponseWriter, r *http.Request, name string) error
	}
	subs := []sub{
		{http.MethodGet, "/json", nil, s.inspectImage},
		{http.MethodGet, "/history", nil, s.imageHistory},
		{http.MethodGet, "/get", nil, s.saveImage},
		{http.MethodPost, "/tag", []string{"repo", "tag"}, s.tagImage},
		{http.MethodDelete, "", []string{"force", "noprune"}, s.removeImage},
	}
	for _, sr := range subs {
		if r.Method != sr.method && !(sr.method == http.MethodGet && r.Method == http.MethodHead) {
			continue
		}
		name, ok := strings.CutSuffix(rest, sr.suffix)
		if !ok || name == "" {
			continue
		}
		route := sr.method + " /images/{name}" + sr.suffix
		if err := checkQuery(r.URL.Query(), route, sr.query); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := sr.h(w, r, name); err != nil {
			s.writeError(w, r, err)
		}
		return
	}
	s.writeError(w, r, NotFound(errors.New("page not found")))
}

func (s *Server) inspectImage(w http.ResponseWriter, r *http.Request, name string) error {
	img, err := s.images.Inspect(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, img)
}

func (s *Server) imageHistory(w http.ResponseWriter, r *http.Request, name string) error {
	h, err := s.images.History(r.Context(), name)
	if err != nil {
		return err
	}
	if h == nil {
		h = []HistoryResponseItem{}
	}
	return writeJSON(w, http.StatusOK, h)
}

func (s *Server) tagImage(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	repo := q.Get("repo")
	if repo == "" {
		return InvalidParameterf("repo is required")
	}
	if err := s.images.Tag(r.Context(), name, repo, q.Get("tag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) removeImage(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	out, err := s.images.Remove(r.Context(), name, boolValue(q, "force"), boolValue(q, "noprune"))
	if err != nil {
		return err
	}
	if out == nil {
		out = []DeleteResponse{}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) pruneImages(w http.ResponseWriter, r *http.Request) error {
	f, err := ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := checkFilters(f, pruneFilters); err != nil {
		return err
	}
	rep, err := s.images.Prune(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (s *Server) saveImages(w http.ResponseWriter, r *http.Request) error {
	names := r.URL.Query()["names"]
	if len(names) == 0 {
		return InvalidParameterf("names is required: the images to save")
	}
	return s.save(w, r, names)
}

func (s *Server) saveImage(w http.ResponseWriter, r *http.Request, name string) error {
	return s.save(w, r, []string{name})
}

// save streams the archive. An error before the first byte is a normal
// error response; after it, the connection is cut so the client cannot
// mistake a truncated archive for a whole one.
func (s *Server) save(w http.ResponseWriter, r *http.Request, names []string) error {
	lw := &lazyWriter{w: w, contentType: "application/x-tar"}
	err := s.images.Save(r.Context(), names, lw)
	if err == nil {
		if !lw.started {
			lw.start()
		}
		return nil
	}
	if !lw.started {
		return err
	}
	s.log.Error("save failed after the archive began", "names", names, "err", err)
	panic(http.ErrAbortHandler)
}

// lazyWriter sends the response header with the first byte.
type lazyWriter struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (l *lazyWriter) start() {
	l.w.Header().Set("Content-Type", l.contentType)
	l.w.WriteHeader(http.StatusOK)
	l.started = true
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.start()
	}
	return l.w.Write(p)
}

// loadImages is POST /images/load. quiet drops the progress but keeps the
// stream lines ("Loaded image", a tag taken from another image), as
// dockerd does. The "Loaded image" lines the backend did not stream are
// written at the end.
func (s *Server) loadImages(w http.ResponseWriter, r *http.Request) error {
	quiet := boolValue(r.URL.Query(), "quiet")
	pw := NewProgressWriter(w)
	var mu sync.Mutex
	streamed := map[string]bool{}
	progress := func(m JSONMessage) {
		if m.Stream == "" && quiet {
			return
		}
		if m.Stream != "" {
			mu.Lock()
			streamed[m.Stream] = true
			mu.Unlock()
		}
		_ = pw.Write(m)
	}
	loaded, err := s.images.Load(r.Context(), r.Body, progress)
	if err != nil {
		if !pw.Started() {
			return err
		}
		_ = pw.WriteError(err)
		return nil
	}
	for _, name := range loaded {
		line := "Loaded image: " + name + "\n"
		if strings.HasPrefix(name, "sha256:") {
			line = "Loaded image ID: " + name + "\n"
		}
		mu.Lock()
		done := streamed[line]
		mu.Unlock()
		if done {
			continue
		}
		if err := pw.Write(JSONMessage{Stream: line}); err != nil {
			return nil
		}
	}
	if !pw.Started() {
		// An archive with no images: still a (empty) JSON stream.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// build answers every build request with what to do instead; the context
// it was sent is not read.
func (s *Server) build(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, InvalidParameter(errors.New(BuildUnsupported)))
}
