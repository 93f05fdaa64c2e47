package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
)

// CommitBackend is what the server needs for docker diff and docker
// commit. Both take a container reference as the other container methods
// do (NotFound "No such container: x").
type CommitBackend interface {
	// Changes lists the paths the container's processes added, modified
	// or deleted, in the order docker diff prints them; nil when none (the
	// server answers null then, as dockerd does).
	Changes(ctx context.Context, ref string) ([]ContainerChange, error)
	// Commit makes an image of the container and returns its ID
	// ("sha256:..."). A bad change or image name is InvalidParameter.
	Commit(ctx context.Context, opts CommitOptions) (string, error)
}

// ContainerChange is one path of GET /containers/{id}/changes.
type ContainerChange struct {
	Path string `json:"Path"`
	// Kind is ChangeModify, ChangeAdd or ChangeDelete.
	Kind int `json:"Kind"`
}

// The kinds of ContainerChange, as the Engine API numbers them.
const (
	ChangeModify = 0
	ChangeAdd    = 1
	ChangeDelete = 2
)

// ChangeKindString is the letter docker diff prints for a kind.
func ChangeKindString(kind int) string {
	switch kind {
	case ChangeModify:
		return "C"
	case ChangeAdd:
		return "A"
	case ChangeDelete:
		return "D"
	}
	return "?"
}

// CommitOptions are the parameters of POST /commit.
type CommitOptions struct {
	// Container is the reference to commit.
	Container string
	// Ref is the new image's name (repo:tag, the tag "latest" when the
	// request gives none); "" leaves the image untagged.
	Ref string
	// Comment and Author are recorded in the image (docker commit -m, -a).
	Comment, Author string
	// Pause freezes a running container while it is read (default true).
	Pause bool
	// Changes are Dockerfile instructions for the configuration (-c).
	Changes []string
	// Config, from the request's body, replaces the container's
	// configuration as the base of the image's; nil when there is none.
	Config *ContainerConfig
}

func (s *Server) commitRoutes() {
	c := func(h handlerFunc) handlerFunc {
		if s.containers == nil {
			return func(http.ResponseWriter, *http.Request) error { return errNoContainers }
		}
		return h
	}
	s.route("GET /containers/{id}/changes", nil, c(s.containerChanges))
	s.route("POST /commit", []string{"container", "repo", "tag", "comment", "author", "pause", "changes"}, c(s.commit))
}

func (s *Server) containerChanges(w http.ResponseWriter, r *http.Request) error {
	changes, err := s.containers.Changes(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		changes = nil // dockerd answers null
	}
	return writeJSON(w, http.StatusOK, changes)
}

func (s *Server) commit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	opts := CommitOptions{
		Container: q.Get("container"), Comment: q.Get("comment"), Author: q.Get("author"),
		Changes: q["changes"], Pause: true,
	}
	if opts.Container == "" {
		return InvalidParameterf("commit needs the container (the container parameter)")
	}
	if q.Has("pause") && strings.TrimSpace(q.Get("pause")) != "" {
		opts.Pause = boolValue(q, "pause")
	}
	ref, err := commitReference(q.Get("repo"), q.Get("tag"))
	if err != nil {
		return err
	}
	opts.Ref = ref
	cfg, err := commitConfig(r)
	if err != nil {
		return err
	}
	opts.Config = cfg
	id, err := s.containers.Commit(r.Context(), opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, IDResponse{ID: id})
}

// commitReference joins repo and tag as dockerd does: no repo, no name (a
// tag alone is ignored); a tag replaces one written in repo; no tag at all
// is "latest". The name is checked by the backend.
func commitReference(repo, tag string) (string, error) {
	if repo == "" {
		return "", nil
	}
	if strings.Contains(repo, "@") {
		return "", InvalidParameterf("refusing to create a tag with a digest reference")
	}
	if i := lastColon(repo); i >= 0 {
		if tag == "" {
			return repo, nil
		}
		repo = repo[:i]
	}
	if tag == "" {
		tag = "latest"
	}
	return repo + ":" + tag, nil
}

// commitConfig decodes the optional body: a container configuration, or
// nothing (an empty body or JSON null, which is what the docker CLI sends).
func commitConfig(r *http.Request) (*ContainerConfig, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, InvalidParameterf("%s %s: reading the body: %v", r.Method, r.URL.Path, err)
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	var cfg ContainerConfig
	r2 := *r
	r2.Body = io.NopCloser(bytes.NewReader(data))
	if err := decodeStrict(&r2, &cfg); err != nil {
		return nil, err
	}
	return &cfg, nil
}
