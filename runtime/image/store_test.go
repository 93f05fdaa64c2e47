//go:build linux

package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/testvm"
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("unpacking layers needs root (whiteout devices, trusted.* xattrs, owners); CI runs as root")
	}
}

// hubMirrors makes the registries stand in for Docker Hub, in order, with
// no fallback: a test never reaches the real docker.io.
func hubMirrors(t testing.TB, urls ...string) *mirror.Config {
	t.Helper()
	no := false
	var eps []mirror.EndpointConfig
	for _, u := range urls {
		eps = append(eps, mirror.EndpointConfig{URL: u})
	}
	c, err := mirror.NewConfig(nil, nil, map[string]mirror.RegistryConfig{"docker.io": {Endpoints: eps, Fallback: &no}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openStore(t testing.TB, c *mirror.Config) *image.Store {
	t.Helper()
	s, err := image.Open(t.TempDir(), image.WithMirrors(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if errs := s.Check(); len(errs) > 0 {
			t.Errorf("store inconsistent at the end of the test: %v", errs)
		}
		s.Close()
	})
	return s
}

func pull(t testing.TB, s *image.Store, ref string, opts image.PullOptions) *image.PullResult {
	t.Helper()
	res, err := s.Pull(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return res
}

func TestPullThroughMirror(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "")
	s := openStore(t, hubMirrors(t, reg.Server.URL))

	var statuses []string
	res := pull(t, s, "busybox:1.35", image.PullOptions{Progress: func(p image.Progress) { statuses = append(statuses, p.Status) }})
	if !res.Updated {
		t.Error("first pull reported the image as up to date")
	}
	if got, want := res.Digest, reg.Digest(t, "library/busybox:1.35").String(); got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
	im := res.Image
	if len(im.RepoTags) != 1 || im.RepoTags[0] != "docker.io/library/busybox:1.35" {
		t.Errorf("tags %v", im.RepoTags)
	}
	if len(im.RepoDigests) != 1 || !strings.HasPrefix(im.RepoDigests[0], "docker.io/library/busybox@sha256:") {
		t.Errorf("digests %v", im.RepoDigests)
	}
	if len(im.Layers) != 1 {
		t.Fatalf("%d layers", len(im.Layers))
	}
	if _, err := os.Stat(filepath.Join(im.Layers[0].Dir, "bin", "busybox")); err != nil {
		t.Errorf("busybox not unpacked: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(im.Layers[0].Dir, "www", "index.html")); err != nil || len(b) == 0 {
		t.Errorf("/www/index.html: %v", err)
	}
	joined := strings.Join(statuses, "|")
	for _, want := range []string{"Pulling fs layer", "Download complete from " + reg.Server.URL, "Pull complete", "Status: Downloaded newer image for busybox:1.35"} {
		if !strings.Contains(joined, want) {
			t.Errorf("progress lacks %q: %s", want, joined)
		}
	}

	// Again: nothing to fetch.
	again := pull(t, s, "busybox:1.35", image.PullOptions{})
	if again.Updated || again.Image.ID != im.ID {
		t.Errorf("second pull: updated %v, id %s", again.Updated, again.Image.ID)
	}
}

func TestPullPlatform(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "")
	s := openStore(t, hubMirrors(t, reg.Server.URL))

	amd := pull(t, s, "busybox:multi", image.PullOptions{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}})
	if amd.Image.Config.Architecture != "amd64" {
		t.Errorf("default platform gave %s", amd.Image.Config.Architecture)
	}
	arm64, err := image.ParsePlatform("linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	arm := pull(t, s, "busybox:multi", image.PullOptions{Platform: arm64})
	if arm.Image.Config.Architecture != "arm64" || arm.Image.ID == amd.Image.ID {
		t.Errorf("arm64 pull gave %s %s", arm.Image.Config.Architecture, arm.Image.ID)
	}
	if arm.Digest != amd.Digest {
		t.Errorf("both pulls should record the index digest: %s vs %s", arm.Digest, amd.Digest)
	}
	s390x := &v1.Platform{OS: "linux", Architecture: "s390x"}
	_, err = s.Pull(context.Background(), "busybox:multi", image.PullOptions{Platform: s390x})
	if !errors.Is(err, image.ErrPlatform) || !strings.Contains(err.Error(), "linux/amd64, linux/arm64/v8") {
		t.Errorf("s390x: %v", err)
	}
}

// TestPullLayered unpacks the layered image and checks the view its README
// describes through a real overlay mount.
func TestPullLayered(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "")
	s := openStore(t, hubMirrors(t, reg.Server.URL))
	im := pull(t, s, "layered:1", image.PullOptions{}).Image
	if len(im.Layers) != 4 {
		t.Fatalf("%d layers, want 4", len(im.Layers))
	}
	var lowers []string
	for i := len(im.Layers) - 1; i >= 0; i-- {
		lowers = append(lowers, im.Layers[i].Dir)
	}
	mnt := t.TempDir()
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lowers, ":")); err != nil {
		t.Fatalf("mounting the layers: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })

	if got := names(t, filepath.Join(mnt, "data")); got != "b c hard mode soft" {
		t.Errorf("/data holds %q, want b c hard mode soft", got)
	}
	if got := names(t, filepath.Join(mnt, "dir")); got != "new" {
		t.Errorf("/dir holds %q, want new", got)
	}
	var b, hard, mode unix.Stat_t
	unix.Lstat(filepath.Join(mnt, "data", "b"), &b)
	unix.Lstat(filepath.Join(mnt, "data", "hard"), &hard)
	if b.Ino != hard.Ino {
		t.Error("/data/b and /data/hard are not one inode")
	}
	unix.Lstat(filepath.Join(mnt, "data", "mode"), &mode)
	if mode.Mode&0o7777 != 0o4755 {
		t.Errorf("/data/mode is %o, want 4755", mode.Mode&0o7777)
	}
	if target, _ := os.Readlink(filepath.Join(mnt, "data", "soft")); target != "/data/b" {
		t.Errorf("/data/soft → %q", target)
	}
}

func names(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	sort.Strings(n)
	return strings.Join(n, " ")
}

func TestSharing(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "")
	s := openStore(t, hubMirrors(t, reg.Server.URL))
	nginx := pull(t, s, "nginx:1.22", image.PullOptions{}).Image
	busybox := pull(t, s, "busybox:1.35", image.PullOptions{}).Image
	for _, a := range nginx.Layers {
		for _, b := range busybox.Layers {
			if a.ChainID == b.ChainID {
				t.Errorf("nginx and busybox share layer %s", a.ChainID)
			}
		}
	}
	if err := s.Tag("nginx:1.22", "web:v1"); err != nil {
		t.Fatal(err)
	}
	web, err := s.Get("web:v1")
	if err != nil {
		t.Fatal(err)
	}
	if web.ID != nginx.ID || web.Layers[0].Dir != nginx.Layers[0].Dir {
		t.Error("a second tag of one image does not share it")
	}
	// layered's first layer is busybox's: shared, and reported as there.
	var already []string
	layered := pull(t, s, "layered:1", image.PullOptions{Progress: func(p image.Progress) {
		if p.Status == "Already exists" {
			already = append(already, p.ID)
		}
	}})
	if layered.Image.Layers[0].Dir != busybox.Layers[0].Dir {
		t.Errorf("layered:1 does not share busybox's unpacked layer")
	}
	if len(already) != 1 {
		t.Errorf("%d layers reported as already there, want busybox's one: %v", len(already), already)
	}
}

// armed switches the failing wrappers on once the images are pushed.
type armed struct{ on atomic.Bool }

// failing makes a registry answer every read with status once armed.
func (a *armed) failing(status int, header map[string]string) testvm.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !a.on.Load() {
				next.ServeHTTP(w, r)
				return
			}
			for k, v := range header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(status)
		})
	}
}

// corrupting serves blobs with a flipped byte once armed.
func (a *armed) corrupting(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.on.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") {
			next.ServeHTTP(w, r)
			return
		}
		rec := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(rec, r)
		b := rec.buf.Bytes()
		if len(b) > 100 {
			b[len(b)/2] ^= 0xff
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		w.Write(b)
	})
}

type bufferedWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = 200
	}
	return b.buf.Write(p)
}
func (b *bufferedWriter) WriteHeader(s int) { b.status = s }

func TestMirrorFailover(t *testing.T) {
	requireRoot(t)
	good := testvm.NewRegistry(t, "")
	closed := testvm.NewRegistry(t, "")
	closed.Server.Close()
	var a armed
	tests := []struct {
		name string
		bad  string
	}{
		{"down", closed.Server.URL},
		{"403", testvm.NewRegistry(t, "", a.failing(403, nil)).Server.URL},
		{"429", testvm.NewRegistry(t, "", a.failing(429, map[string]string{"Retry-After": "30"})).Server.URL},
		{"503", testvm.NewRegistry(t, "", a.failing(503, nil)).Server.URL},
		{"wrong bytes", testvm.NewRegistry(t, "", a.corrupting).Server.URL},
	}
	bad403 := testvm.NewRegistry(t, "", a.failing(403, nil)).Server.URL
	a.on.Store(true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, hubMirrors(t, tt.bad, good.Server.URL))
			var served []string
			res := pull(t, s, "busybox:1.35", image.PullOptions{Progress: func(p image.Progress) {
				if strings.HasPrefix(p.Status, "Download complete") {
					served = append(served, p.Status)
				}
			}})
			if len(res.Image.Layers) != 1 {
				t.Fatal("no layer")
			}
			if len(served) != 1 || !strings.HasSuffix(served[0], good.Server.URL) {
				t.Errorf("layer served by %v, want %s", served, good.Server.URL)
			}
		})
	}
	t.Run("every endpoint bad", func(t *testing.T) {
		s := openStore(t, hubMirrors(t, closed.Server.URL, bad403))
		_, err := s.Pull(context.Background(), "busybox:1.35", image.PullOptions{})
		if err == nil {
			t.Fatal("pull succeeded with every endpoint bad")
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, closed.Server.URL) || !strings.Contains(msg, bad403) || !strings.Contains(msg, "403") {
			t.Errorf("error should be one line naming each endpoint and why: %q", msg)
		}
		if ids, _ := s.List(); len(ids) != 0 {
			t.Errorf("a failed pull left %d images", len(ids))
		}
	})
}

func TestPrefixMirror(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "docker.io")
	s := openStore(t, hubMirrors(t, reg.Server.URL+"/docker.io"))
	pull(t, s, "busybox:1.35", image.PullOptions{})
}

func TestPullDirect(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "")
	s := openStore(t, hubMirrors(t, reg.Server.URL))
	im := pull(t, s, reg.Host+"/library/busybox:1.35", image.PullOptions{}).Image
	if im.RepoTags[0] != reg.Host+"/library/busybox:1.35" {
		t.Errorf("tags %v", im.RepoTags)
	}
	_, err := s.Pull(context.Background(), reg.Host+"/library/nope:1", image.PullOptions{})
	if !errors.Is(err, image.ErrNotFound) {
		t.Errorf("missing image: %v", err)
	}
}

func TestRemove(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "")
	s := openStore(t, hubMirrors(t, reg.Server.URL))
	bb := pull(t, s, "busybox:1.35", image.PullOptions{}).Image
	if err := s.Tag("busybox:1.35", "mine:1"); err != nil {
		t.Fatal(err)
	}
	// An ID with tags in two repositories needs force.
	if _, err := s.Remove(bb.ID[7:19], false, nil); !errors.Is(err, image.ErrConflict) {
		t.Fatalf("rmi by id of a twice-tagged image: %v", err)
	}
	// A tag is untagged; the image stays.
	out, err := s.Remove("mine:1", false, nil)
	if err != nil || len(out) != 1 || out[0].Untagged != "mine:1" {
		t.Fatalf("rmi mine:1: %v %+v", out, err)
	}
	// In use: kept.
	inUse := func(id string) string { return "image is being used by running container 0123456789ab" }
	if _, err := s.Remove(bb.ID, true, inUse); !errors.Is(err, image.ErrConflict) {
		t.Errorf("rmi -f of an image in use: %v", err)
	}
	// Its last tag stays without force, as Docker keeps it.
	if _, err := s.Remove("busybox:1.35", false, inUse); !errors.Is(err, image.ErrConflict) || !strings.Contains(err.Error(), "must force") {
		t.Errorf("rmi of the last tag of an image in use: %v", err)
	}
	if _, err := s.Get("busybox:1.35"); err != nil {
		t.Errorf("busybox:1.35 after a refused rmi: %v", err)
	}
	// The last tag: untagged, its digest too, then deleted with its layer.
	out, err = s.Remove("busybox:1.35", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, d := range out {
		if d.Untagged != "" {
			kinds = append(kinds, "U "+d.Untagged)
		} else {
			kinds = append(kinds, "D "+d.Deleted)
		}
	}
	got := strings.Join(kinds, "\n")
	for _, want := range []string{"U busybox:1.35", "U busybox@sha256:", "D " + bb.ID, "D " + bb.Layers[0].ChainID} {
		if !strings.Contains(got, want) {
			t.Errorf("rmi output lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(bb.Layers[0].Dir); !os.IsNotExist(err) {
		t.Errorf("layer left behind: %v", err)
	}
	if _, err := s.Get("busybox:1.35"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("get after rmi: %v", err)
	}
}

func TestPruneDangling(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "")
	s := openStore(t, hubMirrors(t, reg.Server.URL))
	bb := pull(t, s, "busybox:1.35", image.PullOptions{}).Image
	pull(t, s, "nginx:1.22", image.PullOptions{})
	// Untag busybox by force while "in use": it becomes dangling (its
	// digest name goes too).
	if _, err := s.Remove("busybox:1.35", true, func(string) string { return "in use" }); err != nil {
		t.Fatal(err)
	}
	im, err := s.Get(bb.ID)
	if err != nil || !im.Dangling() {
		t.Fatalf("busybox should be dangling: %v %v", err, im)
	}
	out, freed, err := s.Prune(image.PruneOptions{})
	if err != nil || freed == 0 || len(out) == 0 {
		t.Fatalf("prune: %v %d %v", out, freed, err)
	}
	if _, err := s.Get("nginx:1.22"); err != nil {
		t.Errorf("prune removed a tagged image: %v", err)
	}
	out, _, err = s.Prune(image.PruneOptions{All: true, Labels: []string{"no.such.label"}})
	if err != nil || len(out) != 0 {
		t.Errorf("prune -a with an unmatched label removed %v (%v)", out, err)
	}
	out, _, err = s.Prune(image.PruneOptions{All: true})
	if err != nil || len(out) == 0 {
		t.Errorf("prune -a: %v %v", out, err)
	}
	if all, _ := s.List(); len(all) != 0 {
		t.Errorf("%d images left after prune -a", len(all))
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "")
	src := openStore(t, hubMirrors(t, reg.Server.URL))
	nginx := pull(t, src, "nginx:1.22", image.PullOptions{}).Image
	bb := pull(t, src, "busybox:1.35", image.PullOptions{}).Image
	var buf bytes.Buffer
	if err := src.Save(context.Background(), []string{"nginx:1.22", "busybox:1.35"}, &buf); err != nil {
		t.Fatal(err)
	}
	dst := openStore(t, hubMirrors(t, reg.Server.URL))
	loaded, err := dst.Load(context.Background(), bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(loaded, " ") != "nginx:1.22 busybox:1.35" {
		t.Errorf("loaded %v", loaded)
	}
	for _, want := range []*image.Image{nginx, bb} {
		got, err := dst.Get(want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Manifest != want.Manifest {
			t.Errorf("%s: manifest %s after the round trip, want %s", want.RepoTags, got.Manifest, want.Manifest)
		}
		for i := range want.Layers {
			if got.Layers[i].Blob != want.Layers[i].Blob || got.Layers[i].DiffID != want.Layers[i].DiffID {
				t.Errorf("layer %d changed in the round trip", i)
			}
		}
	}
}

// TestLoadDockerArchive loads what Docker 20.10's docker save wrote.
func TestLoadDockerArchive(t *testing.T) {
	requireRoot(t)
	s := openStore(t, hubMirrors(t, "http://127.0.0.1:9"))
	f, err := os.Open(testvm.ImageArchive(t, "nginx-busybox.docker.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	loaded, err := s.Load(context.Background(), f, nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(loaded)
	if strings.Join(loaded, " ") != "busybox:1.35 nginx:1.22" {
		t.Errorf("loaded %v", loaded)
	}
	im, err := s.Get("nginx:1.22")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(im.Layers[len(im.Layers)-1].Dir, "usr", "share", "nginx", "html", "index.html")); err != nil {
		t.Errorf("nginx page not unpacked: %v", err)
	}
}

func TestLoadOCIArchive(t *testing.T) {
	requireRoot(t)
	s := openStore(t, hubMirrors(t, "http://127.0.0.1:9"))
	f, err := os.Open(testvm.ImageArchive(t, "busybox.oci.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	loaded, err := s.Load(context.Background(), f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(loaded, " ") != "busybox:1.35 busybox:multi" {
		t.Errorf("loaded %v", loaded)
	}
}

func TestLoadRejectsBadArchives(t *testing.T) {
	s := openStore(t, hubMirrors(t, "http://127.0.0.1:9"))
	for name, data := range map[string]string{
		"not a tar":   "hello, this is not a tar archive at all, not even close to one.....",
		"empty":       "",
		"no manifest": string(tarOf(t, map[string]string{"README": "x"})),
		"bad json":    string(tarOf(t, map[string]string{"manifest.json": "{"})),
		"escape":      string(tarOf(t, map[string]string{"../evil": "x"})),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Load(context.Background(), strings.NewReader(data), nil)
			if !errors.Is(err, image.ErrBadArchive) {
				t.Errorf("err %v, want ErrBadArchive", err)
			}
			if ents, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(ents) != 0 {
				t.Errorf("a failed load left %d entries in tmp/", len(ents))
			}
		})
	}
}

// countingHandler counts blob requests.
func countingHandler(n *atomic.Int64) testvm.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				n.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestExistingLayersAreNotFetched(t *testing.T) {
	requireRoot(t)
	var blobs atomic.Int64
	reg := testvm.NewRegistry(t, "", countingHandler(&blobs))
	s := openStore(t, hubMirrors(t, reg.Server.URL))
	pull(t, s, "busybox:1.35", image.PullOptions{})
	before := blobs.Load()
	pull(t, s, "layered:1", image.PullOptions{})
	// layered:1 has 4 layers, the first is busybox's: 3 layers + 1 config.
	if got := blobs.Load() - before; got != 4 {
		t.Errorf("%d blob requests for layered:1, want 4 (3 new layers and the config)", got)
	}
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, c := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(c))
	}
	tw.Close()
	return buf.Bytes()
}
