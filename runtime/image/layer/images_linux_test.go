package layer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// imagePath returns the path of a test image in ../shared/images, seen from the
// module's root. A missing image fails the test: it is part of the fixtures.
func imagePath(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for !exists(filepath.Join(dir, "go.mod")) {
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	p := filepath.Join(filepath.Dir(dir), "shared", "images", name)
	if !exists(p) {
		t.Fatalf("test image %s is missing (the shared images live in ../shared/images from the project's root)", p)
	}
	return p
}

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
	} `json:"platform"`
}

// ociLayers returns the uncompressed layer tars, bottom first, of the image ref
// in an OCI image layout archived as a tar.
func ociLayers(t testing.TB, archive, ref string) [][]byte {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", archive, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s: %v", archive, err)
		}
		files[strings.TrimPrefix(hdr.Name, "./")] = b
	}
	blob := func(digest string) []byte {
		b, ok := files["blobs/"+strings.Replace(digest, ":", "/", 1)]
		if !ok {
			t.Fatalf("%s: no blob %s", archive, digest)
		}
		return b
	}
	var index struct {
		Manifests []ociDescriptor `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatalf("%s: index.json: %v", archive, err)
	}
	var manifest *ociDescriptor
	for i, m := range index.Manifests {
		if m.Annotations["org.opencontainers.image.ref.name"] == ref {
			manifest = &index.Manifests[i]
		}
	}
	if manifest == nil {
		t.Fatalf("%s: no image %s", archive, ref)
	}
	if strings.Contains(manifest.MediaType, "index") {
		var sub struct {
			Manifests []ociDescriptor `json:"manifests"`
		}
		if err := json.Unmarshal(blob(manifest.Digest), &sub); err != nil {
			t.Fatal(err)
		}
		manifest = nil
		for i, m := range sub.Manifests {
			if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH {
				manifest = &sub.Manifests[i]
			}
		}
		if manifest == nil {
			t.Fatalf("%s: %s has no linux/%s image", archive, ref, runtime.GOARCH)
		}
	}
	var m struct {
		Layers []ociDescriptor `json:"layers"`
	}
	if err := json.Unmarshal(blob(manifest.Digest), &m); err != nil {
		t.Fatalf("%s: manifest: %v", archive, err)
	}
	var layers [][]byte
	for _, l := range m.Layers {
		zr, err := gzip.NewReader(bytes.NewReader(blob(l.Digest)))
		if err != nil {
			t.Fatalf("%s: layer %s: %v", archive, l.Digest, err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: layer %s: %v", archive, l.Digest, err)
		}
		layers = append(layers, b)
	}
	return layers
}
