package api_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

var (
	t0       = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	busybox  = apitest.NewImage("busybox", 4_300_000, t0, "busybox:latest")
	ghcrApp  = apitest.NewImage("app", 10_000_000, t0.Add(time.Hour), "ghcr.io/owner/app:1.0")
	twoTags  = apitest.NewImage("nginx", 70_000_000, t0.Add(-time.Hour), "nginx:1.22", "nginx:stable")
	dangling = apitest.NewImage("old", 1000, t0.Add(-2*time.Hour))
)

func newServer(t *testing.T, images ...apitest.Image) (*api.Server, *apitest.Backend) {
	t.Helper()
	b := apitest.NewBackend(images...)
	sys := &apitest.System{
		VersionAnswer: api.VersionResponse{Version: "test", GitCommit: "abc1234", GoVersion: "go1.26", KernelVersion: "6.1.0"},
		InfoAnswer:    api.InfoResponse{ServerVersion: "test", OSType: "linux", Driver: "overlay2"},
	}
	s, err := api.NewServer(b, sys, api.WithEngineVersion("test"))
	if err != nil {
		t.Fatal(err)
	}
	return s, b
}

// do serves one request and returns the recorder.
func do(t *testing.T, h http.Handler, method, target string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func errorMessage(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	var e struct {
		Message string `json:"message"`
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q is not Docker's {\"message\"}: %v", rec.Body.String(), err)
	}
	return e.Message
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name, method, target string
		wantStatus           int
		wantCall             string
		wantMessage          string
	}{
		{"list", "GET", "/images/json", 200, "List(all=false, digests=false, filters={})", ""},
		{"list with prefix and flags", "GET", "/v1.43/images/json?all=1&digests=true", 200, "List(all=true, digests=true, filters={})", ""},
		{"old prefix", "GET", "/v1.24/images/json?all=0", 200, "List(all=false, digests=false, filters={})", ""},
		{"inspect", "GET", "/v1.43/images/busybox/json", 200, "Inspect(busybox)", ""},
		{"inspect name with slashes", "GET", "/v1.43/images/ghcr.io/owner/app:1.0/json", 200, "Inspect(ghcr.io/owner/app:1.0)", ""},
		{"inspect library name", "GET", "/images/docker.io/library/busybox:latest/json", 200, "Inspect(docker.io/library/busybox:latest)", ""},
		{"inspect an image called json", "GET", "/images/json/json", 404, "Inspect(json)", "No such image: json"},
		{"history", "GET", "/v1.43/images/ghcr.io/owner/app:1.0/history", 200, "History(ghcr.io/owner/app:1.0)", ""},
		{"tag", "POST", "/v1.43/images/busybox/tag?repo=docker.io%2Ffoo%2Fbar&tag=1", 201, "Tag(busybox, docker.io/foo/bar, 1)", ""},
		{"tag needs repo", "POST", "/images/busybox/tag", 400, "", "repo is required"},
		{"untag", "DELETE", "/v1.43/images/nginx:1.22", 200, "Remove(nginx:1.22, force=false, noPrune=false)", ""},
		{"remove with slashes and flags", "DELETE", "/v1.43/images/ghcr.io/owner/app:1.0?force=1&noprune=1", 200, "Remove(ghcr.io/owner/app:1.0, force=true, noPrune=true)", ""},
		{"remove missing", "DELETE", "/images/nope", 404, "Remove(nope, force=false, noPrune=false)", "No such image: nope"},
		{"remove in several repositories", "DELETE", "/images/" + strings.TrimPrefix(twoTags.ID, "sha256:")[:12], 409, "Remove(" + strings.TrimPrefix(twoTags.ID, "sha256:")[:12] + ", force=false, noPrune=false)", "must be forced"},
		{"inspect missing", "GET", "/images/library/nope:1/json", 404, "Inspect(library/nope:1)", "No such image: library/nope:1"},
		{"version too new", "GET", "/v1.50/version", 400, "", "client version 1.50 is too new. Maximum supported API version is 1.43"},
		{"version too old", "GET", "/v1.12/images/json", 400, "", "client version 1.12 is too old. Minimum supported API version is 1.24"},
		{"unknown route", "GET", "/v1.43/swarm", 404, "", "page not found"},
		{"networks without a container runtime", "GET", "/v1.43/networks", 501, "", "without a container runtime"},
		{"unknown image sub-route", "POST", "/images/busybox/push", 404, "", "page not found"},
		{"build", "POST", "/v1.43/build?dockerfile=Dockerfile&t=x&version=1", 400, "", "Berth runs images and does not build them"},
		{"import", "POST", "/images/create?fromSrc=-&repo=x", 400, "", "import is not supported"},
		{"all tags", "POST", "/images/create?fromImage=busybox", 400, "", "--all-tags) is not supported"},
		{"unknown list parameter", "GET", "/v1.43/images/json?shared-size=1", 400, "", `query parameter "shared-size" is not supported`},
		{"unknown inspect parameter", "GET", "/images/busybox/json?manifests=1", 400, "", `GET /images/{name}/json: query parameter "manifests" is not supported`},
		{"unknown delete parameter", "DELETE", "/images/busybox?platforms=linux%2Famd64", 400, "", `query parameter "platforms"`},
		{"unknown load parameter", "POST", "/images/load?platform=linux%2Farm64", 400, "", `query parameter "platform"`},
		{"unknown ping parameter", "GET", "/_ping?x=1", 400, "", `query parameter "x"`},
		{"unknown list filter", "GET", `/images/json?filters={"until":["1h"]}`, 400, "", "invalid filter 'until'"},
		{"bad dangling value", "POST", `/images/prune?filters={"dangling":{"maybe":true}}`, 400, "", "invalid filter 'dangling=[maybe]'"},
		{"malformed filters", "GET", `/images/json?filters={"dangling":`, 400, "", "invalid filters"},
		{"save needs names", "GET", "/images/get", 400, "", "names is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b := newServer(t, busybox, ghcrApp, twoTags)
			target := tt.target
			if i := strings.Index(target, "filters="); i >= 0 {
				target = target[:i] + "filters=" + url.QueryEscape(target[i+len("filters="):])
			}
			rec := do(t, s, tt.method, target, nil)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body.String())
			}
			if got := rec.Header().Get("Api-Version"); got != "1.43" {
				t.Errorf("Api-Version %q, want 1.43", got)
			}
			if got := rec.Header().Get("Server"); got != "Berth/test" {
				t.Errorf("Server %q, want Berth/test", got)
			}
			calls := b.Calls()
			switch {
			case tt.wantCall == "" && len(calls) != 0:
				t.Errorf("backend called %q, want no call", calls)
			case tt.wantCall != "" && !slices.Equal(calls, []string{tt.wantCall}):
				t.Errorf("backend calls %q, want [%q]", calls, tt.wantCall)
			}
			if tt.wantMessage != "" {
				if msg := errorMessage(t, rec); !strings.Contains(msg, tt.wantMessage) {
					t.Errorf("message %q, want it to contain %q", msg, tt.wantMessage)
				}
			}
		})
	}
}

func TestFilterForms(t *testing.T) {
	tests := []struct{ name, filters, want string }{
		{"list form", `{"dangling":["true"]}`, `List(all=false, digests=false, filters={"dangling":["true"]})`},
		{"map form (docker CLI)", `{"dangling":{"true":true}}`, `List(all=false, digests=false, filters={"dangling":["true"]})`},
		{"several", `{"label":{"a=b":true,"c":true},"reference":["nginx"]}`, `List(all=false, digests=false, filters={"label":["a=b","c"],"reference":["nginx"]})`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b := newServer(t, busybox, dangling)
			rec := do(t, s, "GET", "/v1.43/images/json?filters="+url.QueryEscape(tt.filters), nil)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			if calls := b.Calls(); !slices.Equal(calls, []string{tt.want}) {
				t.Errorf("calls %q, want %q", calls, tt.want)
			}
		})
	}
	// The filter reaches the backend with its meaning intact.
	s, _ := newServer(t, busybox, dangling)
	rec := do(t, s, "GET", "/images/json?filters="+url.QueryEscape(`{"dangling":{"true":true}}`), nil)
	var list []api.ImageSummary
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 || list[0].ID != dangling.ID {
		t.Errorf("dangling list = %+v, %v; want only %s", list, err, dangling.ID)
	}
}

func TestParseFilters(t *testing.T) {
	got, err := api.ParseFilters(`{"label":{"b":true,"a":false},"dangling":["false"]}`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"label": {"a", "b"}, "dangling": {"false"}}
	if len(got) != 2 || !slices.Equal(got["label"], want["label"]) || !slices.Equal(got["dangling"], want["dangling"]) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{`[]`, `{"a":"b"}`, `{"a":[1]}`, `{"a":{"b":"c"}}`} {
		if _, err := api.ParseFilters(bad); !errors.Is(err, api.ErrInvalidParameter) {
			t.Errorf("ParseFilters(%s) = %v, want an invalid-parameter error", bad, err)
		}
	}
	round, err := api.ParseFilters(api.EncodeFilters(want))
	if err != nil || !slices.Equal(round["label"], want["label"]) {
		t.Errorf("round trip: %v, %v", round, err)
	}
}

func TestListImagesShape(t *testing.T) {
	s, _ := newServer(t)
	rec := do(t, s, "GET", "/images/json", nil)
	if strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("empty list = %q, want []", rec.Body.String())
	}
	s, _ = newServer(t, busybox)
	rec = do(t, s, "GET", "/images/json", nil)
	var raw []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil || len(raw) != 1 {
		t.Fatalf("%q: %v", rec.Body.String(), err)
	}
	for _, k := range []string{"Containers", "Created", "Id", "Labels", "ParentId", "RepoDigests", "RepoTags", "SharedSize", "Size", "VirtualSize"} {
		if _, ok := raw[0][k]; !ok {
			t.Errorf("ImageSummary lacks %q: %v", k, raw[0])
		}
	}
}

func TestPing(t *testing.T) {
	s, _ := newServer(t)
	for _, method := range []string{"GET", "HEAD"} {
		for _, path := range []string{"/_ping", "/v1.43/_ping"} {
			rec := do(t, s, method, path, nil)
			want := map[string]string{
				"Api-Version": "1.43", "Ostype": "linux", "Docker-Experimental": "false",
				"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache", "Server": "Berth/test",
			}
			for k, v := range want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s %s: %s = %q, want %q", method, path, k, got, v)
				}
			}
			if _, ok := rec.Header()["Builder-Version"]; !ok {
				t.Errorf("%s %s: no Builder-Version header", method, path)
			}
			wantBody := "OK"
			if method == "HEAD" {
				wantBody = ""
			}
			if rec.Code != 200 || rec.Body.String() != wantBody {
				t.Errorf("%s %s: %d %q", method, path, rec.Code, rec.Body.String())
			}
		}
	}
}

func TestVersionAndInfo(t *testing.T) {
	s, _ := newServer(t)
	rec := do(t, s, "GET", "/v1.43/version", nil)
	var v api.VersionResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.APIVersion != "1.43" || v.MinAPIVersion != "1.24" || v.Platform.Name != "Berth" || v.Version != "test" {
		t.Errorf("version %+v", v)
	}
	if len(v.Components) != 1 || v.Components[0].Name != "Engine" || v.Components[0].Details["ApiVersion"] != "1.43" || v.Components[0].Details["MinAPIVersion"] != "1.24" {
		t.Errorf("components %+v", v.Components)
	}
	rec = do(t, s, "GET", "/v1.43/info", nil)
	var info api.InfoResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if info.Swarm.LocalNodeState != "inactive" || info.Driver != "overlay2" {
		t.Errorf("info %+v", info)
	}
}

// readStream decodes a progress stream line by line, checking the framing:
// one JSON object per line.
func readStream(t *testing.T, body []byte) []api.JSONMessage {
	t.Helper()
	var out []api.JSONMessage
	for _, line := range strings.SplitAfter(string(body), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\n") {
			t.Errorf("message %q is not newline-terminated", line)
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var m api.JSONMessage
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestPullStream(t *testing.T) {
	s, b := newServer(t)
	remote := apitest.NewImage("alpine", 100, t0, "alpine:3.19")
	b.Remote["alpine:3.19"] = remote
	rec := do(t, s, "POST", "/v1.43/images/create?fromImage=docker.io%2Flibrary%2Falpine&tag=3.19", nil, api.AuthHeader, "e30=")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	msgs := readStream(t, rec.Body.Bytes())
	if len(msgs) != 4 {
		t.Fatalf("messages %+v", msgs)
	}
	id := strings.TrimPrefix(remote.Layers[0], "sha256:")[:12]
	// dockerd's encoder escapes '>' too.
	want := `{"status":"Downloading","progressDetail":{"current":50,"total":100},"progress":"[=========================\u003e                         ]      50B/100B","id":"` + id + `"}`
	if line := strings.Split(rec.Body.String(), "\n")[1]; line != want {
		t.Errorf("progress line\n%s\nwant\n%s", line, want)
	}
	if calls := b.Calls(); !slices.Equal(calls, []string{`Pull(docker.io/library/alpine:3.19, platform="", user="")`}) {
		t.Errorf("calls %q", calls)
	}

	// A digest arrives in the tag parameter.
	rec = do(t, s, "POST", "/images/create?fromImage=ghcr.io%2Fx%2Fy&tag=sha256%3Aabc&platform=linux%2Farm64", nil)
	if calls := b.Calls(); !slices.Equal(calls, []string{`Pull(ghcr.io/x/y@sha256:abc, platform="linux/arm64", user="")`}) {
		t.Errorf("calls %q", calls)
	}
	// Failing before any progress: a plain error response.
	if rec.Code != 404 || !strings.Contains(errorMessage(t, rec), "pull access denied for ghcr.io/x/y") {
		t.Errorf("missing image: %d %s", rec.Code, rec.Body.String())
	}

	// Failing after progress began: the stream ends with Docker's error.
	b.PullErr = errors.New("unexpected EOF")
	rec = do(t, s, "POST", "/images/create?fromImage=alpine&tag=3.19", nil)
	msgs = readStream(t, rec.Body.Bytes())
	last := msgs[len(msgs)-1]
	if rec.Code != 200 || last.ErrorDetail == nil || last.ErrorDetail.Message != "unexpected EOF" || last.ErrorMessage != "unexpected EOF" {
		t.Errorf("stream %s", rec.Body.String())
	}
	if !strings.HasSuffix(rec.Body.String(), `{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}`+"\n") {
		t.Errorf("error line: %s", rec.Body.String())
	}
}

// blockingBackend pulls one message, then waits to be released, so a test
// can see that the message was flushed before the pull finished.
type blockingBackend struct {
	*apitest.Backend
	release chan struct{}
}

func (b *blockingBackend) Pull(ctx context.Context, ref, platform string, auth *api.AuthConfig, progress api.ProgressFunc) error {
	progress(api.JSONMessage{Status: "Pulling from library/busybox", ID: "latest"})
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	progress(api.JSONMessage{Status: "Digest: sha256:0"})
	return nil
}

func TestPullFlushesEachMessage(t *testing.T) {
	b := &blockingBackend{Backend: apitest.NewBackend(), release: make(chan struct{})}
	s, err := api.NewServer(b, &apitest.System{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1.43/images/create?fromImage=busybox&tag=latest", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	if err != nil || line != `{"status":"Pulling from library/busybox","id":"latest"}`+"\n" {
		t.Fatalf("first line %q, %v (should arrive while the pull is still running)", line, err)
	}
	close(b.release)
	rest, _ := io.ReadAll(r)
	if string(rest) != `{"status":"Digest: sha256:0"}`+"\n" {
		t.Errorf("rest %q", rest)
	}
}

func TestRegistryAuthHeader(t *testing.T) {
	enc := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, header string
		wantStatus   int
		wantCall     string
		wantMessage  string
	}{
		{"absent", "", 404, `Pull(nope:1, platform="", user="")`, ""},
		{"empty credential", "e30=", 404, `Pull(nope:1, platform="", user="")`, ""},
		{"credential", enc(`{"username":"alice","password":"s3cret","serveraddress":"ghcr.io"}`), 404, `Pull(nope:1, platform="", user="alice")`, ""},
		{"without padding", strings.TrimRight(enc(`{"username":"bob"}`), "="), 404, `Pull(nope:1, platform="", user="bob")`, ""},
		{"url alphabet", enc(`{"username":"~~~>>>???","password":"x"}`), 404, `Pull(nope:1, platform="", user="~~~>>>???")`, ""},
		{"not base64", "%%%", 400, "", "X-Registry-Auth: not base64"},
		{"unknown field", enc(`{"username":"a","secret":"x"}`), 400, "", `field "secret" is not supported by Berth`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b := newServer(t)
			rec := do(t, s, "POST", "/images/create?fromImage=nope&tag=1", nil, api.AuthHeader, tt.header)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body.String())
			}
			calls := b.Calls()
			if (tt.wantCall == "" && len(calls) > 0) || (tt.wantCall != "" && !slices.Equal(calls, []string{tt.wantCall})) {
				t.Errorf("calls %q, want %q", calls, tt.wantCall)
			}
			if tt.wantMessage != "" && !strings.Contains(errorMessage(t, rec), tt.wantMessage) {
				t.Errorf("message %q, want %q", rec.Body.String(), tt.wantMessage)
			}
		})
	}
	// And back: what EncodeAuthHeader writes decodes to the same.
	a := &api.AuthConfig{Username: "u", Password: "p?>~", ServerAddress: "r.example"}
	h, err := api.EncodeAuthHeader(a)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := api.DecodeAuthHeader(h); err != nil || *got != *a {
		t.Errorf("round trip %+v, %v", got, err)
	}
}

func TestSaveAndLoad(t *testing.T) {
	s, b := newServer(t, busybox, ghcrApp)
	rec := do(t, s, "GET", "/v1.43/images/get?names=busybox&names=ghcr.io%2Fowner%2Fapp%3A1.0", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/x-tar" {
		t.Fatalf("save: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	archive := rec.Body.Bytes()
	if _, err := tar.NewReader(bytes.NewReader(archive)).Next(); err != nil {
		t.Fatalf("save did not answer a tar: %v", err)
	}
	if calls := b.Calls(); !slices.Equal(calls, []string{"Save(busybox, ghcr.io/owner/app:1.0)"}) {
		t.Errorf("calls %q", calls)
	}
	rec = do(t, s, "GET", "/images/ghcr.io/owner/app:1.0/get", nil)
	if rec.Code != 200 || !slices.Equal(b.Calls(), []string{"Save(ghcr.io/owner/app:1.0)"}) {
		t.Errorf("single save: %d", rec.Code)
	}
	rec = do(t, s, "GET", "/images/get?names=busybox&names=nope", nil)
	if rec.Code != 404 || errorMessage(t, rec) != "No such image: nope" {
		t.Errorf("save of a missing image: %d %s", rec.Code, rec.Body.String())
	}

	for _, quiet := range []bool{false, true} {
		s2, b2 := newServer(t)
		target := "/v1.43/images/load"
		if quiet {
			target += "?quiet=1"
		}
		rec = do(t, s2, "POST", target, bytes.NewReader(archive), "Content-Type", "application/x-tar")
		msgs := readStream(t, rec.Body.Bytes())
		var streams []string
		progress := 0
		for _, m := range msgs {
			if m.Stream != "" {
				streams = append(streams, m.Stream)
			}
			if m.ProgressDetail != nil {
				progress++
			}
		}
		if want := []string{"Loaded image: busybox:latest\n", "Loaded image: ghcr.io/owner/app:1.0\n"}; !slices.Equal(streams, want) {
			t.Errorf("quiet=%t: streams %q, want %q", quiet, streams, want)
		}
		if (progress == 0) != quiet {
			t.Errorf("quiet=%t: %d progress messages", quiet, progress)
		}
		if len(b2.Images()) != 2 {
			t.Errorf("loaded %d images", len(b2.Images()))
		}
	}
	s3, _ := newServer(t)
	rec = do(t, s3, "POST", "/images/load", strings.NewReader("not a tar"))
	if rec.Code != 400 || !strings.Contains(errorMessage(t, rec), "reading the archive") {
		t.Errorf("load of junk: %d %s", rec.Code, rec.Body.String())
	}
}

func TestPrune(t *testing.T) {
	s, b := newServer(t, busybox, dangling)
	rec := do(t, s, "POST", "/v1.43/images/prune?filters="+url.QueryEscape(`{"dangling":{"true":true},"until":{"1h":true},"label!":{"keep":true}}`), nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	var rep api.ImagesPruneReport
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || len(rep.ImagesDeleted) != 1 || rep.ImagesDeleted[0].Deleted != dangling.ID || rep.SpaceReclaimed != 1000 {
		t.Errorf("report %+v, %v", rep, err)
	}
	if calls := b.Calls(); !slices.Equal(calls, []string{`Prune({"dangling":["true"],"label!":["keep"],"until":["1h"]})`}) {
		t.Errorf("calls %q", calls)
	}
}

func TestNewServerNeedsBackends(t *testing.T) {
	if _, err := api.NewServer(nil, &apitest.System{}); err == nil {
		t.Error("NewServer without an image backend succeeded")
	}
}
