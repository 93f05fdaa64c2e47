package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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
	// Health is the mirrors' circuit breaker, shared by pulls: endpoints
	// that failed recently are tried after the others. Nil pulls without.
	Health *mirror.Health
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
	cfg := s.mirrorConfig()
	var sopts []mirror.SessionOption
	if opts.Health != nil {
		sopts = append(sopts, mirror.WithHealth(opts.Health))
	}
	p := &puller{
		store: s, ref: ref, opts: opts, platform: *want,
		session: cfg.NewSession(ref.Registry, opts.Transport, sopts...),
		stall:   cfg.Stall(),
		blobT:   map[mirror.Endpoint]http.RoundTripper{},
	}
	return p.pull(ctx)
}

type puller struct {
	store    *Store
	ref      Reference
	opts     PullOptions
	platform v1.Platform
	session  *mirror.Session
	stall    mirror.Stall

	mu    sync.Mutex
	blobT map[mirror.Endpoint]http.RoundTripper // authenticated, per endpoint
}

// maxRetryWait is the longest Retry-After a pull waits for when no other
// endpoint is left; a longer one fails the pull, saying when to retry.
const maxRetryWait = 30 * time.Second

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

// authFor is the credential for ep: the pull's for the registry itself,
// the daemon's Docker config for a mirror.
func (p *puller) authFor(ep mirror.Endpoint) authn.Authenticator {
	auth := authn.Anonymous
	if !ep.Mirror && p.opts.Auth != nil {
		auth = p.opts.Auth
	} else if reg, err := name.NewRegistry(ep.Host); err == nil {
		if a, err := authn.DefaultKeychain.Resolve(reg); err == nil {
			auth = a
		}
	}
	return auth
}

func (p *puller) remoteOptions(ctx context.Context, ep mirror.Endpoint) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx), remote.WithTransport(p.session.Transport(ep)), remote.WithAuth(p.authFor(ep)),
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
	for _, h := range p.session.CoolingDown() {
		p.opts.Progress(Progress{Status: fmt.Sprintf("Trying %s last: it failed %s ago (%s)",
			h.Endpoint, time.Since(h.LastFailure).Round(time.Second), h.LastError)})
	}
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
	for {
		cands := p.session.Candidates()
		if len(cands) == 0 {
			if p.waitRetryAfter(ctx) {
				continue
			}
			break
		}
		ep := cands[0]
		res, err := p.resolveAt(ctx, ep, tagOrDigest)
		if err == nil {
			p.session.Served(res.manifestDesc.Digest.String(), ep)
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
			// A mirror may lack what the registry has; that says
			// nothing of its health.
			notFound = err
			p.session.Miss(ep, "manifest not found")
		case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || isDenied(terr)):
			if !ep.Mirror {
				return nil, fmt.Errorf("pull access denied for %s, repository does not exist or may require 'berth login'", p.ref.FamiliarName())
			}
			p.session.Miss(ep, "authentication required")
		default:
			if !p.session.Failed(ep) {
				p.session.Fail(ep, shortError(err))
			}
		}
	}
	if err := p.session.Err(); err != nil {
		if notFound != nil && allMissed(p.session) {
			return nil, fmt.Errorf("%w: manifest for %s not found", ErrNotFound, p.ref.Familiar())
		}
		return nil, err
	}
	if notFound != nil {
		return nil, fmt.Errorf("%w: manifest for %s not found", ErrNotFound, p.ref.Familiar())
	}
	return nil, fmt.Errorf("no endpoint to pull %s from", p.ref.Familiar())
}

// allMissed reports whether every endpoint lacked the manifest.
func allMissed(s *mirror.Session) bool {
	for _, f := range s.Failures() {
		if f.Reason != "manifest not found" {
			return false
		}
	}
	return true
}

// waitRetryAfter waits, when every endpoint has failed, for the one that
// asked to be retried soonest, if that is soon enough, and makes it a
// candidate again. It reports whether there is one to try.
func (p *puller) waitRetryAfter(ctx context.Context) bool {
	ep, d, ok := p.session.RetryLater()
	if !ok || d > maxRetryWait {
		return false
	}
	p.opts.Progress(Progress{Status: fmt.Sprintf("Waiting %s: %s asked to be retried then (Retry-After)", d.Round(100*time.Millisecond), ep)})
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	p.session.Retry(ep)
	return true
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

// blobDownload is one layer's download across endpoints: what is in the
// spool, hashed as it arrived.
type blobDownload struct {
	h         hash.Hash
	n         int64
	from      []mirror.Endpoint // the endpoints whose bytes are in the spool
	resumedAt int64
	why       string // why the previous endpoint was left
	restarted bool   // started over once after a wrong digest
}

func (b *blobDownload) reset() {
	b.h, b.n, b.from, b.resumedAt, b.why = sha256.New(), 0, nil, 0, ""
}

// errWrongDigest is a blob whose bytes do not hash to its digest.
var errWrongDigest = errors.New("wrong digest")

// download fetches one layer blob into sp from the first endpoint that
// serves it, preferring the one that served the manifest. An endpoint that
// fails part way (refused, cut, stalled below the floor) is left for the
// next, which resumes at the offset reached with a Range request, or reads
// past what the spool has if it ignores ranges. Bytes with the wrong
// digest are thrown away and the blob fetched again from the next
// endpoint; the unpacker starts over with them.
func (p *puller) download(ctx context.Context, first mirror.Endpoint, d v1.Descriptor, sp *spool) error {
	short := shortID(d.Digest.String())
	st := &blobDownload{}
	st.reset()
	for {
		ep, ok := p.nextEndpoint(first)
		if !ok {
			if p.waitRetryAfter(ctx) {
				continue
			}
			if err := p.session.Err(); err != nil {
				return err
			}
			return fmt.Errorf("layer %s: no endpoint serves it", short)
		}
		if st.n > 0 {
			st.resumedAt = st.n
			p.opts.Progress(Progress{ID: short, Status: fmt.Sprintf("Resuming at %s from %s (%s)", humanBytes(st.n), ep, st.why)})
		}
		err := p.downloadFrom(ctx, ep, d, sp, st)
		if err == nil {
			p.session.Served(d.Digest.String(), ep)
			status := "Download complete"
			if ep.Mirror {
				status += " from " + ep.String()
			}
			if st.resumedAt > 0 {
				status += fmt.Sprintf(" (resumed at %s)", humanBytes(st.resumedAt))
			}
			p.opts.Progress(Progress{ID: short, Status: status})
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errWrongDigest) {
			if rerr := sp.reset(); rerr != nil {
				return rerr
			}
			spliced := len(st.from) > 1
			st.reset()
			p.opts.Progress(Progress{ID: short, Status: "Downloading again: " + shortError(err)})
			if spliced && !st.restarted {
				// Which endpoint's part was wrong is unknown: fetch it
				// whole, once, before blaming the last one.
				st.restarted = true
				continue
			}
			p.session.Fail(ep, "served a layer with the wrong digest")
			continue
		}
		st.why = ep.String() + ": " + shortError(err)
		var terr *transport.Error
		switch {
		case p.session.Failed(ep):
		case errors.As(err, &terr) && isNotFound(terr) && ep.Mirror:
			p.session.Miss(ep, "layer not found")
		default:
			p.session.Fail(ep, shortError(err))
		}
	}
}

// nextEndpoint is first while it has not failed, else the next candidate.
func (p *puller) nextEndpoint(first mirror.Endpoint) (mirror.Endpoint, bool) {
	cands := p.session.Candidates()
	if slices.Contains(cands, first) {
		return first, true
	}
	if len(cands) == 0 {
		return mirror.Endpoint{}, false
	}
	return cands[0], true
}

// downloadFrom appends the blob's bytes from st.n on to sp.
func (p *puller) downloadFrom(ctx context.Context, ep mirror.Endpoint, d v1.Descriptor, sp *spool, st *blobDownload) error {
	short := shortID(d.Digest.String())
	if d.Size <= 0 || st.n < d.Size {
		body, start, err := p.openBlob(ctx, ep, d, st.n)
		if err != nil {
			return err
		}
		body = p.stall.Watch(body)
		defer body.Close()
		if skip := st.n - start; skip > 0 {
			// The endpoint ignores ranges: read past what the spool has.
			if _, err := io.CopyN(io.Discard, body, skip); err != nil {
				return p.bodyError(ep, short, err)
			}
		}
		st.from = append(st.from, ep)
		pw := &progressWriter{n: st.n, report: func(n int64) {
			p.opts.Progress(Progress{ID: short, Status: "Downloading", Current: n, Total: d.Size})
		}}
		buf := make([]byte, 256<<10)
		n, err := io.CopyBuffer(io.MultiWriter(sp, st.h, pw), body, buf)
		st.n += n
		if err != nil {
			return p.bodyError(ep, short, err)
		}
		pw.flush()
	}
	if d.Size > 0 && st.n < d.Size {
		return fmt.Errorf("layer %s ended after %d of %d bytes", short, st.n, d.Size)
	}
	if got := "sha256:" + hex.EncodeToString(st.h.Sum(nil)); got != d.Digest.String() || (d.Size > 0 && st.n != d.Size) {
		return fmt.Errorf("layer %s from %s: %w: %s, want %s", short, ep, errWrongDigest, got, d.Digest)
	}
	p.opts.Progress(Progress{ID: short, Status: "Verifying Checksum"})
	return nil
}

// bodyError fails ep for a body that broke off, naming a stall as such.
func (p *puller) bodyError(ep mirror.Endpoint, short string, err error) error {
	var se *mirror.StallError
	if errors.As(err, &se) {
		p.session.Fail(ep, se.Error())
	}
	return fmt.Errorf("downloading layer %s: %w", short, err)
}

// openBlob GETs the blob from ep, asking for the bytes from off on. start
// is where the body begins: off, or 0 from an endpoint that ignores ranges.
func (p *puller) openBlob(ctx context.Context, ep mirror.Endpoint, d v1.Descriptor, off int64) (io.ReadCloser, int64, error) {
	tr, reg, err := p.blobTransport(ctx, ep)
	if err != nil {
		return nil, 0, err
	}
	u := url.URL{Scheme: reg.Scheme(), Host: reg.RegistryStr(), Path: "/v2/" + ep.Repository(p.ref.Repository) + "/blobs/" + d.Digest.String()}
	client := &http.Client{Transport: tr}
	get := func(rng string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		return client.Do(req)
	}
	rng := ""
	if off > 0 {
		// Both ends: some registries take no open-ended range.
		rng = fmt.Sprintf("bytes=%d-", off)
		if d.Size > 0 {
			rng = fmt.Sprintf("bytes=%d-%d", off, d.Size-1)
		}
	}
	resp, err := get(rng)
	if err == nil && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && rng != "" {
		resp.Body.Close()
		resp, err = get("")
	}
	if err != nil {
		return nil, 0, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, 0, nil
	case http.StatusPartialContent:
		var first, last, size int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &size); err != nil || first != off {
			resp.Body.Close()
			p.session.Fail(ep, "answered a Range request with "+resp.Header.Get("Content-Range"))
			return nil, 0, fmt.Errorf("asked for bytes %d- of layer %s, got %q", off, shortID(d.Digest.String()), resp.Header.Get("Content-Range"))
		}
		return resp.Body, off, nil
	}
	defer resp.Body.Close()
	return nil, 0, transport.CheckError(resp, http.StatusOK, http.StatusPartialContent)
}

// blobTransport is ep's transport with the token flow done, once per pull
// and endpoint.
func (p *puller) blobTransport(ctx context.Context, ep mirror.Endpoint) (http.RoundTripper, name.Registry, error) {
	var nopts []name.Option
	if ep.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(ep.Host, nopts...)
	if err != nil {
		return nil, reg, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.blobT[ep]; ok {
		return t, reg, nil
	}
	scope := reg.Repo(ep.Repository(p.ref.Repository)).Scope(transport.PullScope)
	t, err := transport.NewWithContext(ctx, reg, p.authFor(ep), p.session.Transport(ep), []string{scope})
	if err != nil {
		return nil, reg, err
	}
	p.blobT[ep] = t
	return t, reg, nil
}

// humanBytes is a byte count for progress lines.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// unpack applies layer i from its spool as the bytes arrive, checks its
// DiffID, and commits it once the download is verified. If the download
// starts over (its bytes were wrong), so does the unpacking.
func (p *puller) unpack(ctx context.Context, work string, i int, d v1.Descriptor, diffID string, chains []string, sp *spool) error {
	s := p.store
	short := shortID(d.Digest.String())
	p.opts.Progress(Progress{ID: short, Status: "Extracting", Total: d.Size})
	dir := filepath.Join(work, fmt.Sprintf("layer-%d", i))
	var lr *layerRecord
	for {
		gen := sp.generation()
		var err error
		lr, err = s.applyLayer(ctx, sp.reader(ctx), d.MediaType, dir, chains[:i+1], diffID)
		if err == nil {
			break
		}
		if sp.restarted(gen) {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			continue
		}
		if derr := sp.wait(); derr != nil {
			return derr
		}
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
