package api_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/api"
)

func tarOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := 0; i+1 < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	return b.Bytes()
}

// TestArchiveRoutes: the three archive endpoints, their stat header, and
// Docker's status codes.
func TestArchiveRoutes(t *testing.T) {
	s, ctrs := newContainerServer(t)
	id := mustCreate(t, s, "cp", false, "true")

	rec := do(t, s, "HEAD", "/v1.43/containers/cp/archive?path=/etc/hostname", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: %d %q", rec.Code, rec.Body.String())
	}
	b, err := base64.StdEncoding.DecodeString(rec.Header().Get("X-Docker-Container-Path-Stat"))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "size", "mode", "mtime", "linkTarget"} {
		if _, ok := st[k]; !ok {
			t.Errorf("the stat header lacks %q: %s", k, b)
		}
	}
	if st["name"] != "hostname" || st["size"] != float64(13) {
		t.Errorf("stat: %s", b)
	}

	put := func(path string, body []byte, query string) int {
		rec := do(t, s, "PUT", "/v1.43/containers/cp/archive?path="+path+query, bytes.NewReader(body))
		return rec.Code
	}
	if code := put("/tmp", tarOf(t, "a", "plain"), "&noOverwriteDirNonDir=1"); code != http.StatusOK {
		t.Errorf("PUT plain: %d", code)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarOf(t, "b", "gzipped"))
	zw.Close()
	if code := put("/tmp", gz.Bytes(), ""); code != http.StatusOK {
		t.Errorf("PUT gzip: %d", code)
	}
	if code := put("/tmp", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2}, ""); code != http.StatusBadRequest {
		t.Errorf("PUT xz: %d, want 400", code)
	}
	rec = do(t, s, "GET", "/v1.43/containers/cp/archive?path=/tmp", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-tar" || rec.Header().Get("X-Docker-Container-Path-Stat") == "" {
		t.Fatalf("GET: %d %v", rec.Code, rec.Header())
	}
	got := map[string]string{}
	tr := tar.NewReader(rec.Body)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		body, _ := io.ReadAll(tr)
		got[hdr.Name] = string(body)
	}
	if got["tmp/a"] != "plain" || got["tmp/b"] != "gzipped" {
		t.Errorf("GET /tmp: %q", got)
	}

	for _, c := range []struct {
		method, target string
		code           int
		msg            string
	}{
		{"GET", "/v1.43/containers/cp/archive", 400, "path cannot be empty"},
		{"GET", "/v1.43/containers/cp/archive?path=/nope", 404, "Could not find the file /nope in container cp"},
		{"GET", "/v1.43/containers/nosuch/archive?path=/", 404, "No such container: nosuch"},
		{"PUT", "/v1.43/containers/cp/archive?path=/etc/hostname", 400, "extraction point is not a directory"},
		{"PUT", "/v1.43/containers/cp/archive?path=/tmp&chown=1", 400, "chown"},
		{"GET", "/v1.43/containers/cp/archive?path=/&follow=1", 400, "follow"},
	} {
		rec := do(t, s, c.method, c.target, bytes.NewReader(tarOf(t, "x", "x")))
		if rec.Code != c.code || !strings.Contains(errorMessage(t, rec), c.msg) {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.target, rec.Code, rec.Body.String(), c.code, c.msg)
		}
	}
	if rec := do(t, s, "HEAD", "/v1.43/containers/cp/archive?path=/nope", nil); rec.Code != http.StatusNotFound {
		t.Errorf("HEAD of a missing path: %d", rec.Code)
	}
	calls := strings.Join(ctrs.Calls(), "\n")
	if !strings.Contains(calls, "ContainerExtractToDir(cp, /tmp, noOverwriteDirNonDir=true, copyUIDGID=false)") {
		t.Errorf("the backend's calls:\n%s", calls)
	}
	_ = id
}

// TestArchiveForbidden: a read-only rootfs answers 403, which the client
// reports with the engine's message.
func TestArchiveForbidden(t *testing.T) {
	s, _ := newContainerServer(t)
	req := api.ContainerCreateRequest{ContainerConfig: api.ContainerConfig{Image: "busybox", Cmd: []string{"true"}}, HostConfig: &api.HostConfig{ReadonlyRootfs: true}}
	if rec := do(t, s, "POST", "/v1.43/containers/create?name=ro", createBody(t, req), "Content-Type", "application/json"); rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	rec := do(t, s, "PUT", "/v1.43/containers/ro/archive?path=/tmp", bytes.NewReader(tarOf(t, "x", "x")))
	if rec.Code != http.StatusForbidden || errorMessage(t, rec) != "container rootfs is marked read-only" {
		t.Errorf("PUT into a read-only rootfs: %d %q", rec.Code, rec.Body.String())
	}
	c := api.NewClient(serve(t, s))
	defer c.Close()
	err := c.CopyToContainer(context.Background(), "ro", "/tmp", bytes.NewReader(tarOf(t, "x", "x")), api.CopyToContainerOptions{})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden || ae.Message != "container rootfs is marked read-only" {
		t.Errorf("client: %v", err)
	}
}

// TestArchiveClient drives the endpoints through the client.
func TestArchiveClient(t *testing.T) {
	s, _ := newContainerServer(t)
	mustCreate(t, s, "cc", false, "true")
	c := api.NewClient(serve(t, s))
	defer c.Close()
	ctx := context.Background()
	if err := c.CopyToContainer(ctx, "cc", "/tmp", bytes.NewReader(tarOf(t, "f", "hello")), api.CopyToContainerOptions{NoOverwriteDirNonDir: true}); err != nil {
		t.Fatal(err)
	}
	st, err := c.ContainerStatPath(ctx, "cc", "/tmp/f")
	if err != nil || st.Name != "f" || st.Size != 5 || st.Mode.Type() != 0 {
		t.Fatalf("stat: %+v %v", st, err)
	}
	st, err = c.ContainerStatPath(ctx, "cc", "/tmp")
	if err != nil || st.Mode&fs.ModeDir == 0 {
		t.Fatalf("stat of a directory: %+v %v", st, err)
	}
	if _, err := c.ContainerStatPath(ctx, "cc", "/nope"); !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), "Could not find the file /nope") {
		t.Errorf("stat of a missing path: %v", err)
	}
	rc, st, err := c.CopyFromContainer(ctx, "cc", "/tmp/f")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	body, _ := io.ReadAll(tr)
	if err != nil || hdr.Name != "f" || string(body) != "hello" || st.Size != 5 {
		t.Errorf("copy out: %v %+v %q", err, hdr, body)
	}
	if _, _, err := c.CopyFromContainer(ctx, "cc", "/nope"); !errors.Is(err, api.ErrNotFound) || err.Error() != "Could not find the file /nope in container cc" {
		t.Errorf("copy out of a missing path: %v", err)
	}
}
