package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/image"
)

// ImageBackend serves the API's image routes from the image store.
type ImageBackend struct {
	Store *image.Store
	// Transport is the base for registry connections (proxies).
	Transport http.RoundTripper
	// Concurrency is max-concurrent-downloads.
	Concurrency int
	// InUse says which images containers use; nil while there are none.
	InUse image.InUseFunc
	// Now is the clock for filters (time.Now when nil).
	Now func() time.Time
	// Health is the mirrors' circuit breaker pulls share; nil for none.
	Health *mirror.Health

	healthStore *healthStore
}

var _ api.ImageBackend = (*ImageBackend)(nil)

// apiError maps the store's errors to the API's kinds, with Docker's words.
func apiError(err error, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, image.ErrNotFound) && name != "":
		return api.NotFoundf("No such image: %s", name)
	case errors.Is(err, image.ErrNotFound):
		return api.NotFound(err)
	case errors.Is(err, image.ErrConflict):
		return api.Conflict(err)
	case errors.Is(err, image.ErrInvalidReference), errors.Is(err, image.ErrInvalidParameter),
		errors.Is(err, image.ErrBadArchive), errors.Is(err, image.ErrPlatform):
		return api.InvalidParameter(err)
	}
	return err
}

func (b *ImageBackend) Pull(ctx context.Context, ref, platform string, auth *api.AuthConfig, progress api.ProgressFunc) error {
	opts := image.PullOptions{Transport: b.Transport, Concurrency: b.Concurrency, Health: b.Health}
	if platform != "" {
		p, err := image.ParsePlatform(platform)
		if err != nil {
			return api.InvalidParameter(err)
		}
		opts.Platform = p
	}
	if auth != nil && (auth.Username != "" || auth.Password != "" || auth.Auth != "" || auth.IdentityToken != "" || auth.RegistryToken != "") {
		opts.Auth = authn.FromConfig(authn.AuthConfig{
			Username: auth.Username, Password: auth.Password, Auth: auth.Auth,
			IdentityToken: auth.IdentityToken, RegistryToken: auth.RegistryToken,
		})
	}
	if progress != nil {
		opts.Progress = func(p image.Progress) {
			m := api.JSONMessage{ID: p.ID, Status: p.Status}
			if p.Current > 0 || p.Total > 0 {
				d := &api.ProgressDetail{Current: p.Current, Total: p.Total}
				m.ProgressDetail, m.Progress = d, d.String()
			}
			progress(m)
		}
	}
	_, err := b.Store.Pull(ctx, ref, opts)
	return apiError(err, "")
}

func (b *ImageBackend) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *ImageBackend) List(ctx context.Context, opts api.ImageListOptions) ([]api.ImageSummary, error) {
	all, err := b.Store.List()
	if err != nil {
		return nil, err
	}
	images, err := b.Store.Filter(all, opts.Filters, b.now())
	if err != nil {
		return nil, apiError(err, "")
	}
	out := make([]api.ImageSummary, 0, len(images))
	for _, im := range images {
		s := api.ImageSummary{
			ID: im.ID, Created: im.Config.Created.Unix(), Size: im.Size, VirtualSize: im.Size,
			Labels: im.Config.Config.Labels, RepoTags: familiar(im.RepoTags), RepoDigests: familiar(im.RepoDigests),
			SharedSize: -1, Containers: -1,
		}
		// As dockerd before API 1.44: an image with neither is named
		// <none>, and an empty list is null.
		if s.RepoTags == nil && s.RepoDigests == nil {
			s.RepoTags, s.RepoDigests = []string{"<none>:<none>"}, []string{"<none>@<none>"}
		}
		out = append(out, s)
	}
	return out, nil
}

// familiar turns canonical names into Docker's short ones.
func familiar(refs []string) []string {
	if len(refs) == 0 {
		return nil
	}
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = image.FamiliarString(r)
	}
	return out
}

func (b *ImageBackend) Inspect(ctx context.Context, name string) (*api.ImageInspect, error) {
	im, err := b.Store.Get(name)
	if err != nil {
		return nil, apiError(err, name)
	}
	c := im.Config
	in := &api.ImageInspect{
		ID: im.ID, RepoTags: familiar(im.RepoTags), RepoDigests: familiar(im.RepoDigests),
		Comment: historyComment(c), Created: c.Created.Format(time.RFC3339Nano), DockerVersion: c.DockerVersion,
		Author: c.Author, Config: containerConfig(c.Config), Architecture: c.Architecture, Variant: c.Variant,
		Os: c.OS, OsVersion: c.OSVersion, Size: im.Size, VirtualSize: im.Size,
		Metadata: api.ImageMetadata{LastTagTime: im.LastTagTime},
		RootFS:   api.RootFS{Type: "layers"},
	}
	if in.RepoTags == nil {
		in.RepoTags = []string{}
	}
	if in.RepoDigests == nil {
		in.RepoDigests = []string{}
	}
	// dockerd sends both, empty for images not made by its legacy
	// builder, until API 1.45. go-containerregistry's ConfigFile has no
	// container_config: read it from the raw config.
	var legacy struct {
		ContainerConfig v1.Config `json:"container_config"`
	}
	_ = json.Unmarshal(im.RawConfig, &legacy)
	in.Container, in.ContainerConfig = c.Container, containerConfig(legacy.ContainerConfig)
	for _, l := range im.Layers {
		in.RootFS.Layers = append(in.RootFS.Layers, l.DiffID)
	}
	// overlay2's keys, so tools that read GraphDriver find the layers.
	if n := len(im.Layers); n > 0 {
		var lowers []string
		for i := n - 1; i >= 0; i-- {
			lowers = append(lowers, im.Layers[i].Dir)
		}
		in.GraphDriver = api.GraphDriverData{Name: "overlay2", Data: map[string]string{
			"LowerDir": strings.Join(lowers[1:], ":"), "UpperDir": lowers[0],
			"MergedDir": "", "WorkDir": "",
		}}
		if n == 1 {
			delete(in.GraphDriver.Data, "LowerDir")
		}
	} else {
		in.GraphDriver = api.GraphDriverData{Name: "overlay2", Data: map[string]string{}}
	}
	return in, nil
}

// historyComment is the comment of the newest history entry, as Docker's
// inspect shows it.
func historyComment(c *v1.ConfigFile) string {
	if n := len(c.History); n > 0 {
		return c.History[n-1].Comment
	}
	return ""
}

func containerConfig(c v1.Config) *api.ContainerConfig {
	cc := &api.ContainerConfig{
		Hostname: c.Hostname, Domainname: c.Domainname, User: c.User,
		AttachStdin: c.AttachStdin, AttachStdout: c.AttachStdout, AttachStderr: c.AttachStderr,
		ExposedPorts: c.ExposedPorts, Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce,
		Env: c.Env, Cmd: c.Cmd, ArgsEscaped: c.ArgsEscaped, Image: c.Image, Volumes: c.Volumes,
		WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint, NetworkDisabled: c.NetworkDisabled,
		MacAddress: c.MacAddress, OnBuild: c.OnBuild, Labels: c.Labels, StopSignal: c.StopSignal, Shell: c.Shell,
	}
	if h := c.Healthcheck; h != nil {
		cc.Healthcheck = &api.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	return cc
}

func (b *ImageBackend) History(ctx context.Context, name string) ([]api.HistoryResponseItem, error) {
	items, err := b.Store.History(name)
	if err != nil {
		return nil, apiError(err, name)
	}
	out := make([]api.HistoryResponseItem, len(items))
	for i, it := range items {
		out[i] = api.HistoryResponseItem{ID: it.ID, Created: it.Created.Unix(), CreatedBy: it.CreatedBy, Tags: it.Tags, Size: it.Size, Comment: it.Comment}
	}
	return out, nil
}

func (b *ImageBackend) Tag(ctx context.Context, source, repo, tag string) error {
	if tag == "" {
		tag = "latest"
	}
	if _, err := image.ParseRepository(repo); err != nil {
		return api.InvalidParameter(err)
	}
	return apiError(b.Store.Tag(source, repo+":"+tag), source)
}

func (b *ImageBackend) Remove(ctx context.Context, name string, force, noPrune bool) ([]api.DeleteResponse, error) {
	deleted, err := b.Store.Remove(name, force, b.InUse)
	out := make([]api.DeleteResponse, len(deleted))
	for i, d := range deleted {
		out[i] = api.DeleteResponse{Untagged: d.Untagged, Deleted: d.Deleted}
	}
	if err != nil {
		return nil, apiError(err, name)
	}
	return out, nil
}

func (b *ImageBackend) Prune(ctx context.Context, filters map[string][]string) (*api.ImagesPruneReport, error) {
	opts := image.PruneOptions{InUse: b.InUse}
	for k, vals := range filters {
		for _, v := range vals {
			switch k {
			case "dangling":
				switch v {
				case "false", "0":
					opts.All = true
				case "true", "1":
				default:
					return nil, api.InvalidParameterf("invalid filter 'dangling=%s'", v)
				}
			case "until":
				t, err := image.ParseTimestamp(v, b.now())
				if err != nil {
					return nil, api.InvalidParameterf("invalid filter 'until=%s': %v", v, err)
				}
				opts.Until = t
			case "label":
				opts.Labels = append(opts.Labels, v)
			case "label!":
				opts.NotLabels = append(opts.NotLabels, v)
			default:
				return nil, api.InvalidParameterf("invalid filter '%s'", k)
			}
		}
	}
	deleted, freed, err := b.Store.Prune(opts)
	if err != nil {
		return nil, apiError(err, "")
	}
	rep := &api.ImagesPruneReport{SpaceReclaimed: uint64(freed)}
	for _, d := range deleted {
		rep.ImagesDeleted = append(rep.ImagesDeleted, api.DeleteResponse{Untagged: d.Untagged, Deleted: d.Deleted})
	}
	return rep, nil
}

func (b *ImageBackend) Save(ctx context.Context, names []string, w io.Writer) error {
	for _, n := range names {
		if _, err := b.Store.Get(n); err != nil {
			return apiError(err, n)
		}
	}
	return apiError(b.Store.Save(ctx, names, w), "")
}

func (b *ImageBackend) Load(ctx context.Context, r io.Reader, progress api.ProgressFunc) ([]string, error) {
	var pf func(image.Progress)
	if progress != nil {
		pf = func(p image.Progress) {
			// A step of no layer is a line of the output ("Loaded
			// image", a tag taken from another image), a stream
			// message in dockerd's answer.
			m := api.JSONMessage{ID: p.ID, Status: p.Status}
			if p.ID == "" {
				m = api.JSONMessage{Stream: p.Status + "\n"}
			}
			progress(m)
		}
	}
	names, err := b.Store.Load(ctx, r, pf)
	if err != nil {
		return nil, apiError(err, "")
	}
	return names, nil
}

// NewImageBackend opens the image store under the configured data root;
// it is the engine's NewImagesFunc.
func NewImageBackend(ctx context.Context, cfg *Config) (api.ImageBackend, error) {
	s, err := image.Open(cfg.DataRoot, image.WithMirrors(cfg.Mirror))
	if err != nil {
		return nil, err
	}
	hs, err := openHealth(cfg.DataRoot)
	if err != nil {
		s.Close()
		return nil, err
	}
	// Proxies from daemon.json are in the environment by now, as dockerd
	// sets them.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	return &ImageBackend{Store: s, Transport: tr, Concurrency: cfg.MaxConcurrentDownloads, Health: hs.health, healthStore: hs}, nil
}

// MirrorHealth is what the circuit breaker remembers, for /info.
func (b *ImageBackend) MirrorHealth() ([]mirror.EndpointHealth, string) {
	if b.Health == nil {
		return nil, ""
	}
	warning := ""
	if b.healthStore != nil {
		warning = b.healthStore.warning()
	}
	return b.Health.Snapshot(), warning
}

// Reload applies new mirror settings to pulls that start from now on.
func (b *ImageBackend) Reload(cfg *Config) error {
	b.Store.SetMirrors(cfg.Mirror)
	return nil
}

// Close writes the mirrors' health and releases the store.
func (b *ImageBackend) Close() error {
	if b.healthStore != nil {
		b.healthStore.Close()
	}
	return b.Store.Close()
}
