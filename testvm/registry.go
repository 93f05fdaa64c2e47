package testvm

import (
	"archive/tar"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ImagesDir is ../shared/images beside the repository (BERTH_SHARED_IMAGES
// overrides it).
func ImagesDir() string {
	if d := os.Getenv("BERTH_SHARED_IMAGES"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "shared", "images")
}

// ImageArchive returns the path of a file of ../shared/images, failing the
// test (never skipping) when it is missing.
func ImageArchive(t testing.TB, file string) string {
	t.Helper()
	p := filepath.Join(ImagesDir(), file)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test image %s is missing (%v): the tests need ../shared/images beside the repository", p, err)
	}
	return p
}

// Registry is an in-process registry on loopback serving the shared test
// images: busybox:1.35, busybox:multi (amd64 and arm64/v8), nginx:1.22 and
// layered:1, each under library/<name> as Docker Hub names them.
type Registry struct {
	Server *httptest.Server
	// Host is 127.0.0.1:port.
	Host string
}

// Handler wraps the registry's handler, so a test can make it fail, stall
// or count requests.
type Handler func(next http.Handler) http.Handler

// NewRegistry starts a registry with the shared images pushed to it, under
// the given repository prefix ("" for host-swap mirrors, "docker.io" for a
// prefix-style mirror of Docker Hub). It stops when the test ends.
func NewRegistry(t testing.TB, prefix string, wrap ...Handler) *Registry {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(discardLogger()))
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r := &Registry{Server: srv, Host: strings.TrimPrefix(srv.URL, "http://")}
	for _, archive := range []string{"busybox.oci.tar", "nginx.oci.tar", "layered.oci.tar"} {
		if err := r.push(t, ImageArchive(t, archive), prefix); err != nil {
			t.Fatalf("pushing %s: %v", archive, err)
		}
	}
	return r
}

// push writes every image an OCI archive names to the registry.
func (r *Registry) push(t testing.TB, archive, prefix string) error {
	dir := t.TempDir()
	if err := untar(archive, dir); err != nil {
		return err
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		return err
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		n := d.Annotations["io.containerd.image.name"]
		repo := "library/" + n
		if prefix != "" {
			repo = prefix + "/" + repo
		}
		ref, err := name.ParseReference(r.Host+"/"+repo, name.Insecure)
		if err != nil {
			return err
		}
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := remote.WriteIndex(ref, child); err != nil {
				return err
			}
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img); err != nil {
			return err
		}
	}
	return nil
}

// Digest returns the digest the registry serves for repo:tag.
func (r *Registry) Digest(t testing.TB, repoTag string) v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(r.Host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest
}

func untar(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			out, err := os.Create(p)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected entry %s", archive, h.Name)
		}
	}
}

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
