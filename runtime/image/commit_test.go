//go:build linux

package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/testvm"
)

// loadFixture loads one of ../shared/images into s.
func loadFixture(t *testing.T, s *image.Store, archive string) {
	t.Helper()
	f, err := os.Open(testvm.ImageArchive(t, archive))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := s.Load(context.Background(), f, nil); err != nil {
		t.Fatal(err)
	}
}

// layerTar writes entries in order: a name ending in "/" is a directory,
// others files with the given content.
func layerTar(t *testing.T, entries ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1])), ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if strings.HasSuffix(e[0], "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e[1]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCommit(t *testing.T) {
	requireRoot(t)
	s := openStore(t, hubMirrors(t, "http://127.0.0.1:9"))
	loadFixture(t, s, "busybox.oci.tar")
	parent, err := s.Get("busybox:1.35")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tarball := layerTar(t, [2]string{"hello", "hi\n"}, [2]string{"www/", ""}, [2]string{"www/.wh.index.html", ""})
	cfg := parent.Config.Config
	cfg.Cmd = []string{"cat", "/hello"}
	opts := image.CommitOptions{
		Parent: parent.ID, Config: cfg, ContainerConfig: parent.Config.Config, Container: strings.Repeat("c", 64),
		Author: "Tao Wang <twang2218@gmail.com>", Comment: "修改了默认网页", CreatedBy: "sh -c echo hi > /hello", Ref: "mine:v1",
	}
	im, err := s.Commit(ctx, bytes.NewReader(tarball), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get("mine:v1"); err != nil || got.ID != im.ID {
		t.Fatalf("mine:v1 is %v (%v), want the committed image %s", got, err, im.ID)
	}
	if len(im.Layers) != len(parent.Layers)+1 || len(im.Config.RootFS.DiffIDs) != len(im.Layers) {
		t.Fatalf("%d layers, %d diff IDs; want %d", len(im.Layers), len(im.Config.RootFS.DiffIDs), len(parent.Layers)+1)
	}
	for i, l := range parent.Layers {
		if im.Layers[i].ChainID != l.ChainID {
			t.Errorf("layer %d is not the parent's", i)
		}
	}
	top := im.Layers[len(im.Layers)-1]
	if top.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" || top.BlobSize == 0 {
		t.Errorf("top layer kept as %s, %d bytes", top.MediaType, top.BlobSize)
	}
	if b, err := os.ReadFile(filepath.Join(top.Dir, "hello")); err != nil || string(b) != "hi\n" {
		t.Errorf("the layer's /hello: %q %v", b, err)
	}
	if st, err := os.Lstat(filepath.Join(top.Dir, "www", "index.html")); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("/www/index.html is not a whiteout in the unpacked layer: %v", err)
	}
	if im.Config.Author != opts.Author || !slicesEqual(im.Config.Config.Cmd, cfg.Cmd) {
		t.Errorf("config author %q cmd %q", im.Config.Author, im.Config.Config.Cmd)
	}
	h := im.Config.History
	if len(h) != len(parent.Config.History)+1 {
		t.Fatalf("%d history entries, want %d", len(h), len(parent.Config.History)+1)
	}
	last := h[len(h)-1]
	if last.Comment != opts.Comment || last.Author != opts.Author || last.CreatedBy != opts.CreatedBy || last.EmptyLayer || time.Since(last.Created.Time) > time.Minute {
		t.Errorf("history entry %+v", last)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(im.RawConfig, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"author", "container", "container_config", "created", "history", "rootfs", "architecture", "os"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("the config lacks %q: %s", k, im.RawConfig)
		}
	}
	items, err := s.History("mine:v1")
	if err != nil {
		t.Fatal(err)
	}
	if items[0].ID != im.ID || items[0].Comment != opts.Comment || items[0].Size != top.Size || len(items[0].Tags) != 1 || items[0].Tags[0] != "mine:v1" {
		t.Errorf("newest history item %+v", items[0])
	}

	// Saved and loaded into a fresh store, it is the same image.
	var archive bytes.Buffer
	if err := s.Save(ctx, []string{"mine:v1"}, &archive); err != nil {
		t.Fatal(err)
	}
	dst := openStore(t, hubMirrors(t, "http://127.0.0.1:9"))
	loaded, err := dst.Load(ctx, bytes.NewReader(archive.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(loaded, " ") != "mine:v1" {
		t.Errorf("loaded %v", loaded)
	}
	got, err := dst.Get("mine:v1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != im.ID || got.Manifest != im.Manifest || len(got.Layers) != len(im.Layers) {
		t.Fatalf("after save and load: %s (manifest %s, %d layers), want %s (%s, %d)", got.ID, got.Manifest, len(got.Layers), im.ID, im.Manifest, len(im.Layers))
	}
	for i := range im.Layers {
		if got.Layers[i].Blob != im.Layers[i].Blob || got.Layers[i].DiffID != im.Layers[i].DiffID {
			t.Errorf("layer %d changed in the round trip", i)
		}
	}
	if b, err := os.ReadFile(filepath.Join(got.Layers[len(got.Layers)-1].Dir, "hello")); err != nil || string(b) != "hi\n" {
		t.Errorf("loaded layer's /hello: %q %v", b, err)
	}
	if hist, err := dst.History("mine:v1"); err != nil || hist[0].Comment != opts.Comment {
		t.Errorf("loaded history: %+v %v", hist, err)
	}

	// The same change committed again shares the layer.
	again, err := s.Commit(ctx, bytes.NewReader(tarball), image.CommitOptions{Parent: parent.ID, Config: cfg, CreatedBy: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == im.ID || again.Layers[len(again.Layers)-1].ChainID != top.ChainID || len(again.RepoTags) != 0 {
		t.Errorf("second commit: %s, top layer %s, tags %v", again.ID, again.Layers[len(again.Layers)-1].ChainID, again.RepoTags)
	}
}

// TestCommitEmpty: a commit that changed nothing adds a history entry but
// no layer, as Docker's does.
func TestCommitEmpty(t *testing.T) {
	requireRoot(t)
	s := openStore(t, hubMirrors(t, "http://127.0.0.1:9"))
	loadFixture(t, s, "busybox.oci.tar")
	parent, err := s.Get("busybox:1.35")
	if err != nil {
		t.Fatal(err)
	}
	im, err := s.Commit(context.Background(), bytes.NewReader(layerTar(t)), image.CommitOptions{Parent: parent.ID, Config: parent.Config.Config, CreatedBy: "true", Ref: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	if im.ID == parent.ID || len(im.Layers) != len(parent.Layers) || len(im.Config.RootFS.DiffIDs) != len(parent.Layers) {
		t.Errorf("%s with %d layers, want a new image with the parent's %d", im.ID, len(im.Layers), len(parent.Layers))
	}
	h := im.Config.History
	if !h[len(h)-1].EmptyLayer || h[len(h)-1].CreatedBy != "true" {
		t.Errorf("last history entry %+v, want an empty layer", h[len(h)-1])
	}
	items, err := s.History("empty:latest")
	if err != nil || items[0].Size != 0 || items[0].ID != im.ID {
		t.Errorf("history %+v %v", items, err)
	}
}

func TestCommitRefusesBadInput(t *testing.T) {
	requireRoot(t)
	s := openStore(t, hubMirrors(t, "http://127.0.0.1:9"))
	loadFixture(t, s, "busybox.oci.tar")
	parent, err := s.Get("busybox:1.35")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.List()
	for name, tc := range map[string]struct {
		opts image.CommitOptions
		tar  []byte
		want error
	}{
		"uppercase name": {image.CommitOptions{Parent: parent.ID, Ref: "BAD:1"}, layerTar(t), image.ErrInvalidParameter},
		"digest":         {image.CommitOptions{Parent: parent.ID, Ref: "x@sha256:" + strings.Repeat("a", 64)}, layerTar(t), image.ErrInvalidParameter},
		"no parent":      {image.CommitOptions{Parent: "sha256:" + strings.Repeat("0", 64)}, layerTar(t), image.ErrNotFound},
		"not a tar":      {image.CommitOptions{Parent: parent.ID, Ref: "x:1"}, []byte(strings.Repeat("not a tar ", 100)), nil},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Commit(context.Background(), bytes.NewReader(tc.tar), tc.opts)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
			if ents, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(ents) != 0 {
				t.Errorf("a failed commit left %d entries in tmp/", len(ents))
			}
		})
	}
	if after, _ := s.List(); len(after) != len(before) {
		t.Errorf("failed commits made %d images", len(after)-len(before))
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }
