package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

// serve runs h on a fresh unix socket and returns its path.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	path := filepath.Join(shortTempDir(t), "b.sock")
	l, err := api.Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return path
}

func TestClientAgainstServer(t *testing.T) {
	s, b := newServer(t, busybox, ghcrApp, twoTags)
	b.Remote["alpine:3.19"] = apitest.NewImage("alpine", 100, t0, "alpine:3.19")
	c := api.NewClient(serve(t, s))
	defer c.Close()
	ctx := context.Background()

	if v, err := c.APIVersion(ctx); err != nil || v != "1.43" {
		t.Fatalf("negotiated %q, %v", v, err)
	}
	v, err := c.Version(ctx)
	if err != nil || v.APIVersion != "1.43" || v.Version != "test" {
		t.Errorf("version %+v, %v", v, err)
	}
	list, err := c.ImageList(ctx, api.ImageListOptions{All: true, Filters: map[string][]string{"reference": {"nginx"}}})
	if err != nil || len(list) != 1 || list[0].ID != twoTags.ID {
		t.Errorf("list %+v, %v", list, err)
	}
	if _, err := c.ImageInspect(ctx, "ghcr.io/owner/app:1.0"); err != nil {
		t.Errorf("inspect: %v", err)
	}
	_, err = c.ImageInspect(ctx, "nope")
	var apiErr *api.Error
	if !errors.Is(err, api.ErrNotFound) || !errors.As(err, &apiErr) || err.Error() != "No such image: nope" {
		t.Errorf("inspect of a missing image: %v", err)
	}
	if h, err := c.ImageHistory(ctx, "busybox"); err != nil || len(h) != 1 {
		t.Errorf("history %+v, %v", h, err)
	}
	if err := c.ImageTag(ctx, "busybox", "ghcr.io/me/bb", "v1"); err != nil {
		t.Errorf("tag: %v", err)
	}
	if _, err := c.ImageRemove(ctx, twoTags.ID[7:19], false, false); !errors.Is(err, api.ErrConflict) {
		t.Errorf("remove of an image in two repositories: %v", err)
	}
	del, err := c.ImageRemove(ctx, "ghcr.io/me/bb:v1", true, true)
	if err != nil || len(del) != 1 || del[0].Untagged != "ghcr.io/me/bb:v1" {
		t.Errorf("remove %+v, %v", del, err)
	}
	if _, err := c.ImagesPrune(ctx, map[string][]string{"dangling": {"true"}}); err != nil {
		t.Errorf("prune: %v", err)
	}

	var statuses []string
	st, err := c.ImagePull(ctx, "alpine:3.19", "", &api.AuthConfig{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Wait(func(m api.JSONMessage) { statuses = append(statuses, m.Status) }); err != nil {
		t.Errorf("pull: %v", err)
	}
	if len(statuses) != 4 || statuses[0] != "Pulling from alpine" {
		t.Errorf("pull statuses %q", statuses)
	}
	b.PullErr = errors.New("layer 2: digest mismatch")
	st, err = c.ImagePull(ctx, "alpine:3.19", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Wait(nil); err == nil || err.Error() != "layer 2: digest mismatch" {
		t.Errorf("pull failing midway: %v", err)
	}
	if _, err := c.ImagePull(ctx, "nope", "", nil); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("pull of a missing image: %v", err)
	}

	rc, err := c.ImageSave(ctx, []string{"busybox"})
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := io.ReadAll(rc)
	rc.Close()
	if _, err := c.ImageSave(ctx, []string{"nope"}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("save of a missing image: %v", err)
	}
	st, err = c.ImageLoad(ctx, bytes.NewReader(archive), true)
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	if err := st.Wait(func(m api.JSONMessage) { loaded = append(loaded, m.Stream) }); err != nil || !slices.Equal(loaded, []string{"Loaded image: busybox:latest\n"}) {
		t.Errorf("load %q, %v", loaded, err)
	}
	calls := b.Calls()
	if !slices.Contains(calls, `Pull(alpine:3.19, platform="", user="u")`) {
		t.Errorf("the credential did not reach the backend: %q", calls)
	}
}

func TestClientNegotiatesDown(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Api-Version", "1.40")
		if r.URL.Path == "/_ping" {
			io.WriteString(w, "OK")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Version":"old","ApiVersion":"1.40"}`)
	})
	c := api.NewClient(serve(t, h))
	ctx := context.Background()
	for range 2 {
		if _, err := c.Version(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"/_ping", "/v1.40/version", "/v1.40/version"}; !slices.Equal(paths, want) {
		t.Errorf("requests %q, want %q (one ping, then the server's version)", paths, want)
	}
}

func TestClientErrors(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_ping" {
			w.Header().Set("Api-Version", "1.43")
			return
		}
		if strings.HasSuffix(r.URL.Path, "/info") {
			http.Error(w, "plain text trouble", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"message":"invalid filter 'x'"}`)
	})
	c := api.NewClient(serve(t, h))
	ctx := context.Background()
	_, err := c.ImageList(ctx, api.ImageListOptions{})
	if !errors.Is(err, api.ErrInvalidParameter) || err.Error() != "invalid filter 'x'" {
		t.Errorf("400: %v", err)
	}
	_, err = c.Info(ctx)
	var e *api.Error
	if !errors.As(err, &e) || e.StatusCode != 500 || e.Message != "plain text trouble" || errors.Is(err, api.ErrNotFound) {
		t.Errorf("500: %#v", err)
	}
}

func TestClientUnavailable(t *testing.T) {
	dir := shortTempDir(t)
	missing := filepath.Join(dir, "none.sock")
	c := api.NewClient(missing)
	_, err := c.Version(context.Background())
	want := "cannot reach the Berth engine at " + missing + ": is the daemon running? (berth daemon, or systemctl start berth)"
	if !errors.Is(err, api.ErrUnavailable) || err.Error() != want {
		t.Errorf("no socket: %v\nwant %s", err, want)
	}

	if os.Geteuid() != 0 {
		// A socket we may not connect to.
		path := serve(t, http.NotFoundHandler())
		os.Chmod(path, 0)
		_, err = api.NewClient(path).Version(context.Background())
		if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("no permission: %v", err)
		}
	}
}
