package apitest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/runtime/api"
)

// Image is one image the Backend holds.
type Image struct {
	ID      string // "sha256:<64 hex>"
	Tags    []string
	Digests []string
	Created time.Time
	Size    int64
	Labels  map[string]string
	Layers  []string // DiffIDs
}

// NewImage makes an image whose ID derives from seed.
func NewImage(seed string, size int64, created time.Time, tags ...string) Image {
	sum := sha256.Sum256([]byte(seed))
	layer := sha256.Sum256([]byte("layer " + seed))
	return Image{
		ID: "sha256:" + hex.EncodeToString(sum[:]), Tags: tags, Created: created, Size: size,
		Layers: []string{"sha256:" + hex.EncodeToString(layer[:])},
	}
}

// Backend is an in-memory api.ImageBackend. It records every call in
// Calls, in a form tests compare against, and answers with Docker's
// semantics for the cases a test needs: names with and without
// docker.io/library/ and :latest, short IDs, untag versus delete,
// dangling images.
type Backend struct {
	mu     sync.Mutex
	images []Image
	calls  []string
	// Remote is what Pull can fetch, by normalised name ("busybox:latest").
	Remote map[string]Image
	// PullErr, when set, makes Pull fail with it after its first
	// progress message.
	PullErr error
}

// NewBackend holds images.
func NewBackend(images ...Image) *Backend {
	b := &Backend{Remote: map[string]Image{}}
	for _, img := range images {
		img.Tags, img.Digests, img.Layers = slices.Clone(img.Tags), slices.Clone(img.Digests), slices.Clone(img.Layers)
		b.images = append(b.images, img)
	}
	return b
}

var _ api.ImageBackend = (*Backend)(nil)

// Calls returns the calls made so far and forgets them.
func (b *Backend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.calls
	b.calls = nil
	return c
}

// Images returns what the backend holds.
func (b *Backend) Images() []Image {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.images)
}

func (b *Backend) record(format string, a ...any) {
	b.calls = append(b.calls, fmt.Sprintf(format, a...))
}

// Normalize is the short form of a reference: docker.io/library/busybox
// and busybox become busybox:latest.
func Normalize(ref string) string {
	ref = strings.TrimPrefix(ref, "docker.io/")
	ref = strings.TrimPrefix(ref, "library/")
	if strings.Contains(ref, "@") {
		return ref
	}
	if !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		ref += ":latest"
	}
	return ref
}

// find resolves a name, full ID or short ID; it returns the index.
func (b *Backend) find(name string) (int, error) {
	n := Normalize(name)
	for i, img := range b.images {
		if slices.Contains(img.Tags, n) || slices.Contains(img.Digests, name) || img.ID == name ||
			(len(name) >= 4 && strings.HasPrefix(strings.TrimPrefix(img.ID, "sha256:"), strings.TrimPrefix(name, "sha256:"))) {
			return i, nil
		}
	}
	return -1, api.NotFoundf("No such image: %s", name)
}

// lookup resolves name without recording a call: the container backend
// asks it at create.
func (b *Backend) lookup(name string) (Image, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, err := b.find(name)
	if err != nil {
		return Image{}, err
	}
	return b.images[i], nil
}

// Pull adds Remote[ref] after reporting Docker-like progress.
func (b *Backend) Pull(ctx context.Context, ref, platform string, auth *api.AuthConfig, progress api.ProgressFunc) error {
	b.mu.Lock()
	user := ""
	if auth != nil {
		user = auth.Username
	}
	b.record("Pull(%s, platform=%q, user=%q)", ref, platform, user)
	n := Normalize(ref)
	img, ok := b.Remote[n]
	pullErr := b.PullErr
	b.mu.Unlock()
	if !ok {
		return api.NotFoundf("pull access denied for %s, repository does not exist or may require 'docker login'", strings.SplitN(n, ":", 2)[0])
	}
	repo, tag, _ := strings.Cut(n, ":")
	progress(api.JSONMessage{Status: "Pulling from " + repo, ID: tag})
	if pullErr != nil {
		return pullErr
	}
	for _, l := range img.Layers {
		id := strings.TrimPrefix(l, "sha256:")[:12]
		progress(api.JSONMessage{Status: "Downloading", ID: id, ProgressDetail: &api.ProgressDetail{Current: img.Size / 2, Total: img.Size}})
		progress(api.JSONMessage{Status: "Pull complete", ID: id})
	}
	b.mu.Lock()
	b.images = append(b.images, img)
	b.mu.Unlock()
	progress(api.JSONMessage{Status: "Status: Downloaded newer image for " + n})
	return ctx.Err()
}

// List answers with the images, applying the dangling and reference
// filters; other filters are recorded but not applied.
func (b *Backend) List(ctx context.Context, opts api.ImageListOptions) ([]api.ImageSummary, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("List(all=%t, digests=%t, filters=%s)", opts.All, opts.Digests, filterString(opts.Filters))
	var out []api.ImageSummary
	for _, img := range b.images {
		if d := opts.Filters["dangling"]; len(d) == 1 && (d[0] == "true" || d[0] == "1") != (len(img.Tags) == 0) {
			continue
		}
		if refs := opts.Filters["reference"]; len(refs) > 0 && !slices.ContainsFunc(img.Tags, func(t string) bool {
			repo, _, _ := strings.Cut(t, ":")
			return slices.Contains(refs, repo) || slices.Contains(refs, t)
		}) {
			continue
		}
		out = append(out, api.ImageSummary{
			Containers: -1, Created: img.Created.Unix(), ID: img.ID, Labels: img.Labels,
			RepoDigests: nonNil(img.Digests), RepoTags: nonNil(img.Tags), SharedSize: -1,
			Size: img.Size, VirtualSize: img.Size,
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created > out[j].Created })
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func filterString(f map[string][]string) string {
	if len(f) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// Inspect answers with what the backend knows of the image.
func (b *Backend) Inspect(ctx context.Context, name string) (*api.ImageInspect, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Inspect(%s)", name)
	i, err := b.find(name)
	if err != nil {
		return nil, err
	}
	img := b.images[i]
	return &api.ImageInspect{
		ID: img.ID, RepoTags: nonNil(img.Tags), RepoDigests: nonNil(img.Digests),
		Created:      img.Created.UTC().Format(time.RFC3339Nano),
		Config:       &api.ContainerConfig{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, Cmd: []string{"sh"}, Labels: img.Labels},
		Architecture: "amd64", Os: "linux", Size: img.Size,
		GraphDriver: api.GraphDriverData{Name: "overlay2", Data: map[string]string{}},
		RootFS:      api.RootFS{Type: "layers", Layers: img.Layers},
	}, nil
}

// History has one entry per layer.
func (b *Backend) History(ctx context.Context, name string) ([]api.HistoryResponseItem, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("History(%s)", name)
	i, err := b.find(name)
	if err != nil {
		return nil, err
	}
	img := b.images[i]
	var out []api.HistoryResponseItem
	for range img.Layers {
		out = append(out, api.HistoryResponseItem{ID: img.ID, Created: img.Created.Unix(), CreatedBy: "/bin/sh -c #(nop) ADD file in /", Size: img.Size, Tags: nonNil(img.Tags)})
	}
	return out, nil
}

// Tag adds repo:tag to source, moving it from any other image.
func (b *Backend) Tag(ctx context.Context, source, repo, tag string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Tag(%s, %s, %s)", source, repo, tag)
	i, err := b.find(source)
	if err != nil {
		return err
	}
	if tag == "" {
		tag = "latest"
	}
	t := Normalize(repo + ":" + tag)
	for j := range b.images {
		b.images[j].Tags = slices.DeleteFunc(b.images[j].Tags, func(s string) bool { return s == t })
	}
	b.images[i].Tags = append(b.images[i].Tags, t)
	return nil
}

// Remove untags a name when the image keeps other tags, and deletes the
// image otherwise; an ID of an image with several tags needs force.
func (b *Backend) Remove(ctx context.Context, name string, force, noPrune bool) ([]api.DeleteResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Remove(%s, force=%t, noPrune=%t)", name, force, noPrune)
	i, err := b.find(name)
	if err != nil {
		return nil, err
	}
	img := &b.images[i]
	n := Normalize(name)
	byTag := slices.Contains(img.Tags, n)
	if !byTag && len(img.Tags) > 1 && !force {
		return nil, api.Conflictf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", strings.TrimPrefix(img.ID, "sha256:")[:12])
	}
	if byTag && len(img.Tags) > 1 {
		img.Tags = slices.DeleteFunc(img.Tags, func(s string) bool { return s == n })
		return []api.DeleteResponse{{Untagged: n}}, nil
	}
	var out []api.DeleteResponse
	for _, t := range img.Tags {
		out = append(out, api.DeleteResponse{Untagged: t})
	}
	out = append(out, api.DeleteResponse{Deleted: img.ID})
	b.images = slices.Delete(b.images, i, i+1)
	return out, nil
}

// Prune deletes untagged images.
func (b *Backend) Prune(ctx context.Context, filters map[string][]string) (*api.ImagesPruneReport, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Prune(%s)", filterString(filters))
	rep := &api.ImagesPruneReport{}
	b.images = slices.DeleteFunc(b.images, func(img Image) bool {
		if len(img.Tags) > 0 {
			return false
		}
		rep.ImagesDeleted = append(rep.ImagesDeleted, api.DeleteResponse{Deleted: img.ID})
		rep.SpaceReclaimed += uint64(img.Size)
		return true
	})
	return rep, nil
}

// archiveIndex is the one file of the Backend's archives.
const archiveIndex = "apitest-images.json"

// Save writes a tar holding the images as JSON. Unknown names fail before
// anything is written.
func (b *Backend) Save(ctx context.Context, names []string, w io.Writer) error {
	b.mu.Lock()
	b.record("Save(%s)", strings.Join(names, ", "))
	var imgs []Image
	for _, n := range names {
		i, err := b.find(n)
		if err != nil {
			b.mu.Unlock()
			return err
		}
		imgs = append(imgs, b.images[i])
	}
	b.mu.Unlock()
	data, err := json.Marshal(imgs)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: archiveIndex, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	return tw.Close()
}

// Load reads an archive Save wrote.
func (b *Backend) Load(ctx context.Context, r io.Reader, progress api.ProgressFunc) ([]string, error) {
	b.mu.Lock()
	b.record("Load")
	b.mu.Unlock()
	tr := tar.NewReader(r)
	var imgs []Image
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, api.InvalidParameterf("reading the archive: %v", err)
		}
		if h.Name != archiveIndex {
			continue
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, tr); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(buf.Bytes(), &imgs); err != nil {
			return nil, api.InvalidParameterf("reading the archive: %v", err)
		}
	}
	if imgs == nil {
		return nil, api.InvalidParameterf("the archive holds no images")
	}
	var names []string
	for _, img := range imgs {
		progress(api.JSONMessage{Status: "Loading layer", ID: strings.TrimPrefix(img.Layers[0], "sha256:")[:12], ProgressDetail: &api.ProgressDetail{Current: img.Size, Total: img.Size}})
		b.mu.Lock()
		if i, err := b.find(img.ID); err == nil {
			b.images = slices.Delete(b.images, i, i+1)
		}
		b.images = append(b.images, img)
		b.mu.Unlock()
		if len(img.Tags) == 0 {
			names = append(names, img.ID)
		}
		names = append(names, img.Tags...)
	}
	return names, nil
}

// System is an api.SystemBackend with fixed answers.
type System struct {
	InfoAnswer    api.InfoResponse
	VersionAnswer api.VersionResponse
}

// Info returns a copy of InfoAnswer.
func (s *System) Info(ctx context.Context) (*api.InfoResponse, error) {
	i := s.InfoAnswer
	return &i, nil
}

// Version returns a copy of VersionAnswer.
func (s *System) Version(ctx context.Context) (*api.VersionResponse, error) {
	v := s.VersionAnswer
	return &v, nil
}
