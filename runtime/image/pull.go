package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/atomicfile"
	"github.com/berthhq/berth/runtime/image/layer"
)

// Progress is one step of a pull or load, shaped like Docker's progress
// messages: a layer's short ID, a status, and bytes done of a total.
type Progress struct {
	ID      string
	Status  string
	Current int64
	Total   int64
}

// PullOptions tune one pull.
type PullOptions struct {
	// Platform to pull from an index; nil means this host's.
	Platform *v1.Platform
	// Auth is the credential for the registry itself (from X-Registry-Auth);
	// nil looks in the daemon's Docker config, else anonymous.
	Auth authn.Authenticator
	// Progress receives the steps; nil discards them.
	Progress func(Progress)
	// Transport is the base for registry connections (proxies); nil is a
	// clone of http.DefaultTransport.
	Transport http.RoundTripper
	// Concurrency bounds parallel layer downloads (default 3, as dockerd's
	// max-concurrent-downloads).
	Concurrency int
}

// ErrPlatform is wrapped when an index has no image for the platform.
var ErrPlatform = errors.New("no matching platform")

// PullResult says what a pull did.
type PullResult struct {
	Image *Image
	// Digest is the digest pulled (the index's for a multi-platform image).
	Digest string
	// Updated is false when the image was already complete in the store.
	Updated bool
}

// Pull fetches ref through the configured mirrors, verifies and stores
// every blob, unpacks the layers not yet present, and tags the image.
func (s *Store) Pull(ctx context.Context, refStr string, opts PullOptions) (*PullResult, error) {
	ref, err := ParseReference(refStr)
	if err != nil {
		return nil, err
	}
	if opts.Progress == nil {
		opts.Progress = func(Progress) {}
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 3
	}
	want := opts.Platform
	if want == nil {
		want = HostPlatform()
	}
	p := &puller{
		store: s, ref: ref, opts: opts, platform: *want,
		session: s.mirrorConfig().NewSession(ref.Registry, opts.Transport),
	}
	return p.pull(ctx)
}

type puller struct {
	store    *Store
	ref      Reference
	opts     PullOptions
	platform v1.Platform
	session  *mirror.Session
}

// endpointRef names repo on an endpoint, with tag or digest.
func (p *puller) endpointRef(ep mirror.Endpoint, tagOrDigest string) (name.Reference, error) {
	var nopts []name.Option
	if ep.Insecure {
		// go-containerregistry then tries https and falls back to http,
		// as dockerd does for insecure registries.
		nopts = append(nopts, name.Insecure)
	}
	sep := ":"
	if strings.HasPrefix(tagOrDigest, "sha256:") {
		sep = "@"
	}
	return name.ParseReference(ep.Host+"/"+ep.Repository(p.ref.Repository)+sep+tagOrDigest, nopts...)
}

func (p *puller) remoteOptions(ctx context.Context, ep mirror.Endpoint) []remote.Option {
	auth := authn.Anonymous
	if !ep.Mirror && p.opts.Auth != nil {
		auth = p.opts.Auth
	} else if reg, err := name.NewRegistry(ep.Host); err == nil {
		if a, err := authn.DefaultKeychain.Resolve(reg); err == nil {
			auth = a
		}
	}
	return []remote.Option{
		remote.WithContext(ctx), remote.WithTransport(p.session.Transport(ep)), remote.WithAuth(auth),
		// A failing endpoint is left for the next one, not retried: the
		// session remembers it, and the next mirror is the retry.
		remote.WithRetryStatusCodes(), remote.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 1}),
	}
}

// resolved is the manifest a pull settled on and where it came from.
type resolved struct {
	ep           mirror.Endpoint
	digest       string // what was pulled: index or manifest
	manifest     *v1.Manifest
	rawManifest  []byte
	manifestDesc v1.Descriptor
	rawConfig    []byte
	config       *v1.ConfigFile
}

func (p *puller) pull(ctx context.Context) (*PullResult, error) {
	tagOrDigest := p.ref.Tag
	if p.ref.Digest != "" {
		tagOrDigest = p.ref.Digest
	}
	res, err := p.resolve(ctx, tagOrDigest)
	if err != nil {
		return nil, err
	}
	s := p.store
	id := res.manifest.Config.Digest.String()

	diffIDs := res.config.RootFS.DiffIDs
	if len(diffIDs) != len(res.manifest.Layers) {
		return nil, fmt.Errorf("image %s: %d layers in the manifest but %d diff IDs in its config", p.ref.Familiar(), len(res.manifest.Layers), len(diffIDs))
	}
	diffs := make([]string, len(diffIDs))
	for i, h := range diffIDs {
		diffs[i] = h.String()
	}
	chains := chainIDs(diffs)
	updated := false
	if !s.imageComplete(id, chains) {
		if err := p.fetchLayers(ctx, res, chains); err != nil {
			return nil, err
		}
		if err := s.writeBlob(res.manifestDesc.Digest.String(), res.rawManifest); err != nil {
			return nil, err
		}
		if err := s.writeBlob(id, res.rawConfig); err != nil {
			return nil, err
		}
		now := s.now()
		if err := s.writeImage(imageRecord{
			ID: id, Manifest: res.manifestDesc.Digest.String(), ManifestMediaType: string(res.manifestDesc.MediaType),
			Layers: chains, Added: now, LastTagTime: now,
		}); err != nil {
			return nil, err
		}
		updated = true
	}
	if err := s.setRefs(id, p.ref, res.digest); err != nil {
		return nil, err
	}
	p.opts.Progress(Progress{Status: "Digest: " + res.digest})
	if updated {
		p.opts.Progress(Progress{Status: "Status: Downloaded newer image for " + p.ref.Familiar()})
	} else {
		p.opts.Progress(Progress{Status: "Status: Image is up to date for " + p.ref.Familiar()})
	}
	im, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	return &PullResult{Image: im, Digest: res.digest, Updated: updated}, nil
}

// resolve fetches the manifest (through the index for the platform) and the
// config from the first endpoint that serves them.
func (p *puller) resolve(ctx context.Context, tagOrDigest string) (*resolved, error) {
	var notFound error
	for _, ep := range p.session.Candidates() {
		res, err := p.resolveAt(ctx, ep, tagOrDigest)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, ErrPlatform) {
			return nil, err
		}
		var terr *transport.Error
		switch {
		case errors.As(err, &terr) && isNotFound(terr):
			if !ep.Mirror {
				return nil, fmt.Errorf("%w: manifest for %s not found", ErrNotFound, p.ref.Familiar())
			}
			// A mirror may lack what the registry has.
			notFound = err
			p.session.Fail(ep, "manifest not found")
		case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || isDenied(terr)):
			if !ep.Mirror {
				return nil, fmt.Errorf("pull access denied for %s, repository does not exist or may require 'berth login'", p.ref.FamiliarName())
			}
			p.session.Fail(ep, "authentication required")
		default:
			if !p.session.Failed(ep) {
				p.session.Fail(ep, shortError(err))
			}
		}
	}
	if err := p.session.Err(); err != nil {
		return nil, err
	}
	if notFound != nil {
		return nil, fmt.Errorf("%w: manifest for %s not found", ErrNotFound, p.ref.Familiar())
	}
	return nil, fmt.Errorf("no endpoint to pull %s from", p.ref.Familiar())
}

func (p *puller) resolveAt(ctx context.Context, ep mirror.Endpoint, tagOrDigest string) (*resolved, error) {
	r, err := p.endpointRef(ep, tagOrDigest)
	if err != nil {
		return nil, err
	}
	ropts := p.remoteOptions(ctx, ep)
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, err
	}
	res := &resolved{ep: ep, digest: desc.Digest.String()}
	if desc.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(strings.NewReader(string(desc.Manifest)))
		if err != nil {
			return nil, fmt.Errorf("index of %s: %w", p.ref.Familiar(), err)
		}
		child, err := selectPlatform(idx, p.platform, p.ref.Familiar())
		if err != nil {
			return nil, err
		}
		cr, err := p.endpointRef(ep, child.Digest.String())
		if err != nil {
			return nil, err
		}
		if desc, err = remote.Get(cr, ropts...); err != nil {
			return nil, err
		}
	} else if !desc.MediaType.IsImage() {
		return nil, fmt.Errorf("%s is a %s, not an image", p.ref.Familiar(), desc.MediaType)
	}
	if desc.MediaType == types.DockerManifestSchema1 || desc.MediaType == types.DockerManifestSchema1Signed {
		return nil, fmt.Errorf("%s uses the Docker schema 1 manifest, which Docker removed support for; push it again with a current client", p.ref.Familiar())
	}
	m, err := v1.ParseManifest(strings.NewReader(string(desc.Manifest)))
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", p.ref.Familiar(), err)
	}
	// A manifest fetched by tag has nothing to be checked against; by
	// digest go-containerregistry verified it.
	res.manifest, res.rawManifest, res.manifestDesc = m, desc.Manifest, desc.Descriptor
	cfgRef, err := p.endpointRef(ep, m.Config.Digest.String())
	if err != nil {
		return nil, err
	}
	cfgLayer, err := remote.Layer(cfgRef.(name.Digest), ropts...)
	if err != nil {
		return nil, err
	}
	rc, err := cfgLayer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// remote's reader fails at EOF when the bytes do not match the digest.
	raw, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("config of %s: %w", p.ref.Familiar(), err)
	}
	if got := sha256Digest(raw); got != m.Config.Digest.String() {
		p.session.Fail(ep, "served a config with the wrong digest")
		return nil, fmt.Errorf("config of %s: digest %s, want %s", p.ref.Familiar(), got, m.Config.Digest)
	}
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("config of %s: %w", p.ref.Familiar(), err)
	}
	res.rawConfig, res.config = raw, cfg
	return res, nil
}

func isNotFound(e *transport.Error) bool {
	if e.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range e.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}

func isDenied(e *transport.Error) bool {
	for _, d := range e.Errors {
		if d.Code == transport.UnauthorizedErrorCode || d.Code == transport.DeniedErrorCode {
			return true
		}
	}
	return false
}

// shortError keeps an error to one line.
func shortError(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// imageComplete reports whether the image and all its layers are stored.
func (s *Store) imageComplete(id string, chains []string) bool {
	if _, err := os.Stat(s.imagePath(id)); err != nil {
		return false
	}
	for _, c := range chains {
		if !s.hasLayer(c) {
			return false
		}
	}
	return true
}

// fetchLayers downloads the missing layers concurrently and unpacks them in
// order while they stream: layer n unpacks as soon as layer n-1 is in.
func (p *puller) fetchLayers(ctx context.Context, res *resolved, chains []string) error {
	s := p.store
	work, err := s.tempDir("pull-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := len(chains)
	spools := make([]*spool, n)
	for i, d := range res.manifest.Layers {
		short := shortID(d.Digest.String())
		if s.hasLayer(chains[i]) {
			p.opts.Progress(Progress{ID: short, Status: "Already exists"})
			continue
		}
		p.opts.Progress(Progress{ID: short, Status: "Pulling fs layer"})
		sp, err := newSpool(filepath.Join(work, fmt.Sprintf("blob-%d", i)))
		if err != nil {
			return err
		}
		defer sp.close()
		spools[i] = sp
	}

	g, gctx := errgroup.WithContext(ctx)
	sem := make(chan struct{}, p.opts.Concurrency)
	for i, sp := range spools {
		if sp == nil {
			continue
		}
		d := res.manifest.Layers[i]
		g.Go(func() error {
			select {
			case sem <- struct{}{}:
			case <-gctx.Done():
				sp.finish(gctx.Err())
				return gctx.Err()
			}
			defer func() { <-sem }()
			err := p.download(gctx, res.ep, d, sp)
			sp.finish(err)
			return err
		})
	}
	g.Go(func() error {
		for i, sp := range spools {
			if sp == nil {
				continue
			}
			if err := p.unpack(gctx, work, i, res.manifest.Layers[i], res.config.RootFS.DiffIDs[i].String(), chains, sp); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// download fetches one layer blob into sp from the first endpoint that
// serves it whole, preferring the one that served the manifest. The spool
// is rewound when an endpoint fails part way.
func (p *puller) download(ctx context.Context, first mirror.Endpoint, d v1.Descriptor, sp *spool) error {
	short := shortID(d.Digest.String())
	eps := []mirror.Endpoint{first}
	for _, ep := range p.session.Candidates() {
		if ep != first {
			eps = append(eps, ep)
		}
	}
	for _, ep := range eps {
		if p.session.Failed(ep) {
			continue
		}
		if sp.written() > 0 {
			// The reader has consumed bytes from a failed endpoint:
			// restarting would hand it a second copy.
			return fmt.Errorf("layer %s: %s failed part way; pull again", short, ep)
		}
		err := p.downloadFrom(ctx, ep, d, sp)
		if err == nil {
			p.session.Served(d.Digest.String(), ep)
			status := "Download complete"
			if ep.Mirror {
				status += " from " + ep.String()
			}
			p.opts.Progress(Progress{ID: short, Status: status})
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !p.session.Failed(ep) {
			p.session.Fail(ep, shortError(err))
		}
	}
	if err := p.session.Err(); err != nil {
		return err
	}
	return fmt.Errorf("layer %s: no endpoint serves it", short)
}

func (p *puller) downloadFrom(ctx context.Context, ep mirror.Endpoint, d v1.Descriptor, sp *spool) error {
	r, err := p.endpointRef(ep, d.Digest.String())
	if err != nil {
		return err
	}
	l, err := remote.Layer(r.(name.Digest), p.remoteOptions(ctx, ep)...)
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	short := shortID(d.Digest.String())
	h := sha256.New()
	pw := &progressWriter{report: func(n int64) {
		p.opts.Progress(Progress{ID: short, Status: "Downloading", Current: n, Total: d.Size})
	}}
	buf := make([]byte, 256<<10)
	n, err := io.CopyBuffer(io.MultiWriter(sp, h, pw), rc, buf)
	if err != nil {
		return fmt.Errorf("downloading layer %s: %w", short, err)
	}
	pw.flush()
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.Digest.String() || (d.Size > 0 && n != d.Size) {
		p.session.Fail(ep, "served a layer with the wrong digest")
		return fmt.Errorf("layer %s from %s: digest %s, want %s", short, ep, got, d.Digest)
	}
	p.opts.Progress(Progress{ID: short, Status: "Verifying Checksum"})
	return nil
}

// unpack applies layer i from its spool as the bytes arrive, checks its
// DiffID, and commits it once the download is verified.
func (p *puller) unpack(ctx context.Context, work string, i int, d v1.Descriptor, diffID string, chains []string, sp *spool) error {
	s := p.store
	short := shortID(d.Digest.String())
	p.opts.Progress(Progress{ID: short, Status: "Extracting", Total: d.Size})
	dir := filepath.Join(work, fmt.Sprintf("layer-%d", i))
	lr, err := s.applyLayer(ctx, sp.reader(ctx), d.MediaType, dir, chains[:i+1], diffID)
	if err != nil {
		return fmt.Errorf("layer %s: %w", short, err)
	}
	if err := sp.wait(); err != nil {
		return err
	}
	lr.Blob, lr.BlobSize, lr.MediaType = d.Digest.String(), d.Size, string(d.MediaType)
	if err := s.commitLayer(dir, sp.f.Name(), lr); err != nil {
		return fmt.Errorf("layer %s: %w", short, err)
	}
	p.opts.Progress(Progress{ID: short, Status: "Pull complete"})
	return nil
}

// applyLayer decompresses a layer stream into dir/diff and checks its
// DiffID. chains are the chain IDs of the image's layers up to and including
// this one; the ones before it are its lowers.
func (s *Store) applyLayer(ctx context.Context, r io.Reader, mt types.MediaType, dir string, chains []string, diffID string) (*layerRecord, error) {
	lowerChains := chains[:len(chains)-1]
	if err := os.MkdirAll(filepath.Join(dir, "diff"), 0o755); err != nil {
		return nil, err
	}
	tarStream, closeFn, err := decompress(bufio.NewReaderSize(r, 1<<20), mt)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	h := sha256.New()
	tr := io.TeeReader(tarStream, h)
	lowers := make([]string, 0, len(lowerChains))
	for j := len(lowerChains) - 1; j >= 0; j-- {
		lowers = append(lowers, filepath.Join(s.layerDir(lowerChains[j]), "diff"))
	}
	failpoint("layer.apply")
	st, err := layer.Apply(ctx, tr, filepath.Join(dir, "diff"), lowers)
	if err != nil {
		return nil, err
	}
	// The DiffID covers the whole tar, padding included.
	if _, err := io.Copy(io.Discard, tr); err != nil {
		return nil, err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID {
		return nil, fmt.Errorf("unpacked content has diff ID %s, the image config says %s", got, diffID)
	}
	parent := ""
	if len(lowerChains) > 0 {
		parent = lowerChains[len(lowerChains)-1]
	}
	return &layerRecord{ChainID: chains[len(chains)-1], DiffID: diffID, Parent: parent, Size: st.Size}, nil
}

// decompress opens a layer stream by its media type.
func decompress(r *bufio.Reader, mt types.MediaType) (io.Reader, func(), error) {
	switch {
	case strings.HasSuffix(string(mt), "+zstd") || mt == types.OCILayerZStd:
		zr, err := zstd.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case strings.HasSuffix(string(mt), ".tar") || strings.HasSuffix(string(mt), ".v1.tar"):
		return r, func() {}, nil
	}
	// gzip by type or by magic: Docker's own media types say so.
	head, _ := r.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		zr.Multistream(true)
		return zr, func() { zr.Close() }, nil
	}
	return r, func() {}, nil
}

// commitLayer moves a verified, unpacked layer and its blob into the store.
// If another pull committed the same layer first, this one is dropped.
func (s *Store) commitLayer(dir, blobFile string, lr *layerRecord) error {
	if err := layer.Sync(dir); err != nil {
		return fmt.Errorf("syncing: %w", err)
	}
	failpoint("blob.commit")
	if !s.hasBlob(lr.Blob) {
		if err := os.Rename(blobFile, s.blobPath(lr.Blob)); err != nil {
			return err
		}
		if err := atomicfile.SyncDir(filepath.Dir(s.blobPath(lr.Blob))); err != nil {
			return err
		}
	}
	lr.Link = randomLink()
	b, err := json.MarshalIndent(lr, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "layer.json"), b, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "link"), []byte(lr.Link), 0o600); err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dir, "layer.json"))
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return err
	}
	failpoint("layer.commit")
	dst := s.layerDir(lr.ChainID)
	if err := os.Rename(dir, dst); err != nil {
		if s.hasLayer(lr.ChainID) {
			return nil // committed by a concurrent pull
		}
		return err
	}
	if err := atomicfile.SyncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	// The short link is a convenience for mount data; a crash before it
	// exists is repaired by Check.
	return os.Symlink(filepath.Join("..", "layers", filepath.Base(dst), "diff"), filepath.Join(s.root, "l", lr.Link))
}

// randomLink makes a 26-character name for l/, as Docker's overlay2 does.
func randomLink() string { return strings.ToUpper(randomHex(13)) }

// setRefs points the reference (and, for a pull, its digest) at image id.
func (s *Store) setRefs(id string, ref Reference, digest string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	if ref.Tag != "" && s.refs.Tags[ref.String()] != id {
		s.refs.Tags[ref.String()] = id
		changed = true
	}
	if digest != "" {
		dref := ref.WithDigest(digest).String()
		if s.refs.Digests[dref] != id {
			s.refs.Digests[dref] = id
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := s.saveRefs(); err != nil {
		return err
	}
	return s.touchTagTime(id)
}

// touchTagTime records when a tag last pointed at the image; the caller
// holds s.mu.
func (s *Store) touchTagTime(id string) error {
	var rec imageRecord
	if err := readJSON(s.imagePath(id), &rec); err != nil {
		return err
	}
	rec.LastTagTime = s.now()
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(s.imagePath(id), b, 0o600)
}

// chainIDs computes the chain ID of each layer from the diff IDs: the first
// is its diff ID, each next is sha256 of "parent-chain diff-id".
func chainIDs(diffIDs []string) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		out[i] = sha256Digest([]byte(out[i-1] + " " + d))
	}
	return out
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// shortID is the 12-hex form Docker shows for layers and images.
func shortID(d string) string {
	h := strings.TrimPrefix(d, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// progressWriter reports download progress at most every 100 ms.
type progressWriter struct {
	n      int64
	last   time.Time
	report func(int64)
	mu     sync.Mutex
}

func (w *progressWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.n += int64(len(p))
	if now := time.Now(); now.Sub(w.last) > 100*time.Millisecond {
		w.last = now
		w.report(w.n)
	}
	w.mu.Unlock()
	return len(p), nil
}

func (w *progressWriter) flush() { w.report(w.n) }

// HostPlatform is the platform of this machine, with the ARM variant.
func HostPlatform() *v1.Platform {
	p := &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	switch runtime.GOARCH {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = armVariant()
	}
	return p
}

// selectPlatform picks the manifest for want from an index, or says which
// platforms the index has.
func selectPlatform(idx *v1.IndexManifest, want v1.Platform, what string) (v1.Descriptor, error) {
	var have []string
	for _, m := range idx.Manifests {
		if m.Platform == nil {
			continue
		}
		pl := *m.Platform
		if pl.OS == "unknown" {
			continue // attestations
		}
		have = append(have, platformString(pl))
		if platformMatches(pl, want) {
			return m, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%w: %s has no image for %s; it has %s", ErrPlatform, what, platformString(want), strings.Join(have, ", "))
}

func platformMatches(have, want v1.Platform) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	if have.Variant == want.Variant || want.Variant == "" {
		return true
	}
	switch want.Architecture {
	case "arm64":
		return have.Variant == "" || have.Variant == "v8"
	case "arm":
		// An ARMv7 CPU runs v6 and v5 images too.
		return have.Variant < want.Variant
	}
	return false
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ParsePlatform reads --platform (linux/arm64, linux/arm/v7, arm64).
func ParsePlatform(s string) (*v1.Platform, error) {
	if !strings.Contains(s, "/") {
		s = "linux/" + s
	}
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return nil, fmt.Errorf("invalid platform %q: %w", s, err)
	}
	if p.OS != "linux" {
		return nil, fmt.Errorf("invalid platform %q: Berth runs linux images", s)
	}
	if p.Architecture == "arm64" && p.Variant == "" {
		p.Variant = "v8"
	}
	return p, nil
}
