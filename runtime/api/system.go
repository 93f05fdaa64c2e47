package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
)

// ping answers _ping with the headers the docker CLI negotiates from.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Builder-Version", "")
	h.Set("Docker-Experimental", "false")
	h.Set("Swarm", "inactive")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, "OK")
	}
	return nil
}

// version answers /version; the API versions and the Engine component are
// the server's to state.
func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	v, err := s.system.Version(r.Context())
	if err != nil {
		return err
	}
	v.APIVersion, v.MinAPIVersion = Version, MinVersion
	if v.Platform.Name == "" {
		v.Platform.Name = "Berth"
	}
	if v.Os == "" {
		v.Os = runtime.GOOS
	}
	if v.Arch == "" {
		v.Arch = runtime.GOARCH
	}
	if len(v.Components) == 0 {
		exp := "false"
		if v.Experimental {
			exp = "true"
		}
		details := map[string]string{
			"ApiVersion": v.APIVersion, "MinAPIVersion": v.MinAPIVersion,
			"GitCommit": v.GitCommit, "GoVersion": v.GoVersion,
			"Os": v.Os, "Arch": v.Arch, "Experimental": exp,
		}
		if v.KernelVersion != "" {
			details["KernelVersion"] = v.KernelVersion
		}
		if v.BuildTime != "" {
			details["BuildTime"] = v.BuildTime
		}
		v.Components = []ComponentVersion{{Name: "Engine", Version: v.Version, Details: details}}
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	info, err := s.system.Info(r.Context())
	if err != nil {
		return err
	}
	if info.Swarm.LocalNodeState == "" {
		info.Swarm.LocalNodeState = "inactive"
	}
	return writeJSON(w, http.StatusOK, info)
}

// login is POST /auth: docker login's check of credentials.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var a AuthConfig
	if err := decodeBody(r, &a); err != nil {
		return err
	}
	resp, err := s.auth.Login(r.Context(), &a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

// decodeBody decodes a JSON request body strictly: a field Berth does not
// know is a 400 naming it.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return InvalidParameterf("%s %s: the request has no body", r.Method, r.URL.Path)
		}
		return InvalidParameterf("%s %s: %v", r.Method, r.URL.Path, jsonFieldError(err))
	}
	return nil
}
