package image

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrBadArchive is wrapped by errors about an archive load cannot read.
var ErrBadArchive = errors.New("invalid image archive")

// archiveManifest is one entry of a docker save manifest.json.
type archiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Load reads an image archive from r: what docker save writes (before and
// since Docker 25) or an OCI image layout in a tar. It returns the names
// (or IDs, for untagged images) of the images loaded.
func (s *Store) Load(ctx context.Context, r io.Reader, progress func(Progress)) ([]string, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	work, err := s.tempDir("load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	files := filepath.Join(work, "archive")
	if err := extractArchive(ctx, r, files); err != nil {
		return nil, err
	}
	var loaded []string
	if b, err := os.ReadFile(filepath.Join(files, "manifest.json")); err == nil {
		var entries []archiveManifest
		if err := json.Unmarshal(b, &entries); err != nil {
			return nil, fmt.Errorf("%w: manifest.json: %v", ErrBadArchive, err)
		}
		if len(entries) == 0 {
			return nil, fmt.Errorf("%w: manifest.json lists no image", ErrBadArchive)
		}
		ociManifests := ociManifestsByConfig(files)
		for _, e := range entries {
			names, err := s.loadDockerEntry(ctx, files, work, e, ociManifests[cleanArchivePath(e.Config)], progress)
			if err != nil {
				return loaded, err
			}
			loaded = append(loaded, names...)
		}
		return loaded, nil
	}
	if _, err := os.Stat(filepath.Join(files, "index.json")); err == nil {
		return s.loadOCI(ctx, files, work, progress)
	}
	return nil, fmt.Errorf("%w: neither manifest.json (docker save) nor index.json (OCI layout) in the archive", ErrBadArchive)
}

// extractArchive writes the regular files of an archive under dir, refusing
// names that leave it.
func extractArchive(ctx context.Context, r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tr := tar.NewReader(bufio.NewReaderSize(r, 1<<20))
	buf := make([]byte, 1<<20)
	seen := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if seen == 0 {
				return fmt.Errorf("%w: not a tar archive (%v)", ErrBadArchive, err)
			}
			return fmt.Errorf("%w: %v", ErrBadArchive, err)
		}
		seen++
		name := cleanArchivePath(h.Name)
		if name == "" {
			return fmt.Errorf("%w: entry %q leaves the archive", ErrBadArchive, h.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return err
			}
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			_, err = io.CopyBuffer(f, tr, buf)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrBadArchive, h.Name, err)
			}
		case tar.TypeSymlink:
			// Docker's old format links layers shared by images; follow
			// the link only inside the archive.
			target := cleanArchivePath(path.Join(path.Dir(name), h.Linkname))
			if target == "" {
				return fmt.Errorf("%w: link %q leaves the archive", ErrBadArchive, h.Name)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return err
			}
			if err := os.Symlink(filepath.Join(dir, filepath.FromSlash(target)), dst); err != nil {
				return err
			}
		}
	}
	if seen == 0 {
		return fmt.Errorf("%w: the archive is empty", ErrBadArchive)
	}
	return nil
}

// cleanArchivePath makes an archive name relative and clean; "" when it
// would leave the archive.
func cleanArchivePath(name string) string {
	p := path.Clean("/" + name)
	if p == "/" || strings.Contains(name, "\x00") {
		return ""
	}
	clean := strings.TrimPrefix(p, "/")
	if strings.HasPrefix(path.Clean(name), "..") {
		return ""
	}
	return clean
}

// ociManifestsByConfig maps config paths to the OCI manifests of a Docker
// 25+ archive, so a load keeps the manifest (and its digest) it was saved
// with.
func ociManifestsByConfig(files string) map[string][]byte {
	out := map[string][]byte{}
	var idx v1.IndexManifest
	if err := readJSON(filepath.Join(files, "index.json"), &idx); err != nil {
		return out
	}
	for _, d := range idx.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		raw, err := os.ReadFile(blobFile(files, d.Digest.String()))
		if err != nil {
			continue
		}
		m, err := v1.ParseManifest(strings.NewReader(string(raw)))
		if err != nil {
			continue
		}
		out[path.Join("blobs", m.Config.Digest.Algorithm, m.Config.Digest.Hex)] = raw
	}
	return out
}

func blobFile(files, digest string) string {
	algo, hexd, _ := strings.Cut(digest, ":")
	return filepath.Join(files, "blobs", algo, hexd)
}

// loadDockerEntry loads one image of a docker save archive.
func (s *Store) loadDockerEntry(ctx context.Context, files, work string, e archiveManifest, manifest []byte, progress func(Progress)) ([]string, error) {
	cfgPath := cleanArchivePath(e.Config)
	raw, err := os.ReadFile(filepath.Join(files, filepath.FromSlash(cfgPath)))
	if err != nil {
		return nil, fmt.Errorf("%w: config %s: %v", ErrBadArchive, e.Config, err)
	}
	var layers []string
	for _, l := range e.Layers {
		p := cleanArchivePath(l)
		if p == "" {
			return nil, fmt.Errorf("%w: layer %q leaves the archive", ErrBadArchive, l)
		}
		layers = append(layers, filepath.Join(files, filepath.FromSlash(p)))
	}
	var names []Reference
	for _, t := range e.RepoTags {
		ref, err := ParseReference(t)
		if err != nil {
			return nil, fmt.Errorf("%w: tag %q: %v", ErrBadArchive, t, err)
		}
		names = append(names, ref)
	}
	return s.importImage(ctx, work, raw, manifest, layers, names, progress)
}

// loadOCI loads every image an OCI layout's index names.
func (s *Store) loadOCI(ctx context.Context, files, work string, progress func(Progress)) ([]string, error) {
	var idx v1.IndexManifest
	if err := readJSON(filepath.Join(files, "index.json"), &idx); err != nil {
		return nil, fmt.Errorf("%w: index.json: %v", ErrBadArchive, err)
	}
	var loaded []string
	for _, d := range idx.Manifests {
		var names []Reference
		if n := ociName(d.Annotations); n != "" {
			ref, err := ParseReference(n)
			if err != nil {
				return loaded, fmt.Errorf("%w: image name %q: %v", ErrBadArchive, n, err)
			}
			names = append(names, ref)
		}
		desc := d
		if d.MediaType.IsIndex() {
			raw, err := os.ReadFile(blobFile(files, d.Digest.String()))
			if err != nil {
				return loaded, fmt.Errorf("%w: index %s: %v", ErrBadArchive, d.Digest, err)
			}
			child, err := v1.ParseIndexManifest(strings.NewReader(string(raw)))
			if err != nil {
				return loaded, fmt.Errorf("%w: index %s: %v", ErrBadArchive, d.Digest, err)
			}
			if desc, err = selectPlatform(child, *HostPlatform(), n0(names)); err != nil {
				return loaded, err
			}
		}
		raw, err := os.ReadFile(blobFile(files, desc.Digest.String()))
		if err != nil {
			return loaded, fmt.Errorf("%w: manifest %s: %v", ErrBadArchive, desc.Digest, err)
		}
		if sha256Digest(raw) != desc.Digest.String() {
			return loaded, fmt.Errorf("%w: manifest %s does not match its digest", ErrBadArchive, desc.Digest)
		}
		m, err := v1.ParseManifest(strings.NewReader(string(raw)))
		if err != nil {
			return loaded, fmt.Errorf("%w: manifest %s: %v", ErrBadArchive, desc.Digest, err)
		}
		cfg, err := os.ReadFile(blobFile(files, m.Config.Digest.String()))
		if err != nil {
			return loaded, fmt.Errorf("%w: config %s: %v", ErrBadArchive, m.Config.Digest, err)
		}
		var layers []string
		for _, l := range m.Layers {
			layers = append(layers, blobFile(files, l.Digest.String()))
		}
		got, err := s.importImage(ctx, work, cfg, raw, layers, names, progress)
		if err != nil {
			return loaded, err
		}
		loaded = append(loaded, got...)
	}
	return loaded, nil
}

func n0(refs []Reference) string {
	if len(refs) == 0 {
		return "the image"
	}
	return refs[0].Familiar()
}

// ociName is the image name an OCI index entry carries: containerd's
// annotation, else the OCI ref name when it is a full reference.
func ociName(a map[string]string) string {
	if n := a["io.containerd.image.name"]; n != "" {
		return n
	}
	n := a["org.opencontainers.image.ref.name"]
	if n == "" {
		return ""
	}
	// A bare tag ("1.22") names nothing by itself.
	if !strings.ContainsAny(n, ":/@") {
		return ""
	}
	return n
}

// importImage stores an image from local files: its config, its manifest
// when the archive had one, and its layer files (compressed or not).
func (s *Store) importImage(ctx context.Context, work string, rawConfig, manifest []byte, layerFiles []string, names []Reference, progress func(Progress)) ([]string, error) {
	id := sha256Digest(rawConfig)
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(rawConfig)))
	if err != nil {
		return nil, fmt.Errorf("%w: config: %v", ErrBadArchive, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(layerFiles) {
		return nil, fmt.Errorf("%w: %d layers but %d diff IDs in the config", ErrBadArchive, len(layerFiles), len(cfg.RootFS.DiffIDs))
	}
	diffs := make([]string, len(cfg.RootFS.DiffIDs))
	for i, h := range cfg.RootFS.DiffIDs {
		diffs[i] = h.String()
	}
	chains := chainIDs(diffs)
	var descs []v1.Descriptor
	for i, f := range layerFiles {
		d, err := s.importLayer(ctx, work, f, i, chains, diffs[i], progress)
		if err != nil {
			return nil, err
		}
		descs = append(descs, d)
	}
	if manifest == nil || !s.manifestMatches(manifest, descs) {
		manifest, err = syntheticManifest(rawConfig, descs)
		if err != nil {
			return nil, err
		}
	}
	mdig := sha256Digest(manifest)
	mt := string(types.OCIManifestSchema1)
	if m, err := v1.ParseManifest(strings.NewReader(string(manifest))); err == nil && m.MediaType != "" {
		mt = string(m.MediaType)
	}
	if err := s.writeBlob(mdig, manifest); err != nil {
		return nil, err
	}
	if err := s.writeBlob(id, rawConfig); err != nil {
		return nil, err
	}
	if _, err := os.Stat(s.imagePath(id)); err != nil {
		// No LastTagTime: as in dockerd, only docker tag sets it.
		if err := s.writeImage(imageRecord{ID: id, Manifest: mdig, ManifestMediaType: mt, Layers: chains, Added: s.now()}); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, ref := range names {
		prev, err := s.moveTag(ref, id)
		if err != nil {
			return nil, err
		}
		if prev != "" {
			// dockerd's words, wrong as they are when the old image keeps
			// other tags.
			progress(Progress{Status: fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string", ref.Familiar(), prev)})
		}
		progress(Progress{Status: "Loaded image: " + ref.Familiar()})
		out = append(out, ref.Familiar())
	}
	if len(names) == 0 {
		progress(Progress{Status: "Loaded image ID: " + id})
		out = append(out, id)
	}
	return out, nil
}

// importLayer stores layer i from a file, unless the store has it; it
// returns the descriptor of the blob kept for it.
func (s *Store) importLayer(ctx context.Context, work, file string, i int, chains []string, diffID string, progress func(Progress)) (v1.Descriptor, error) {
	if s.hasLayer(chains[i]) {
		lr, err := s.layerRecord(chains[i])
		if err != nil {
			return v1.Descriptor{}, err
		}
		progress(Progress{ID: shortID(chains[i]), Status: "Already exists"})
		return layerDescriptor(lr), nil
	}
	f, err := os.Open(file)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%w: layer %d: %v", ErrBadArchive, i+1, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return v1.Descriptor{}, err
	}
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return v1.Descriptor{}, err
	}
	mt := types.DockerUncompressedLayer
	switch {
	case n >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		mt = types.DockerLayer
	case n == 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd:
		mt = types.OCILayerZStd
	}
	progress(Progress{ID: shortID(chains[i]), Status: "Loading layer", Total: st.Size()})
	h := sha256.New()
	dir := filepath.Join(work, fmt.Sprintf("layer-%d-%s", i, randomHex(4)))
	lr, err := s.applyLayer(ctx, io.TeeReader(f, h), mt, dir, chains[:i+1], diffID)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("layer %d of the archive: %w", i+1, err)
	}
	if _, err := io.Copy(h, f); err != nil {
		return v1.Descriptor{}, err
	}
	lr.Blob, lr.BlobSize, lr.MediaType = "sha256:"+hex.EncodeToString(h.Sum(nil)), st.Size(), string(mt)
	f.Close()
	// The archive file becomes the kept blob: move it, do not copy.
	blob := filepath.Join(work, "blob-"+randomHex(6))
	if err := os.Rename(file, blob); err != nil {
		// A symlinked (shared) layer of an old archive: copy it.
		if err := copyFile(file, blob); err != nil {
			return v1.Descriptor{}, err
		}
	}
	if err := s.commitLayer(dir, blob, lr); err != nil {
		return v1.Descriptor{}, err
	}
	return layerDescriptor(lr), nil
}

func layerDescriptor(lr *layerRecord) v1.Descriptor {
	h, _ := v1.NewHash(lr.Blob)
	return v1.Descriptor{MediaType: types.MediaType(lr.MediaType), Digest: h, Size: lr.BlobSize}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// manifestMatches reports whether a manifest names exactly the layer blobs
// the store keeps, so it can be kept as it is.
func (s *Store) manifestMatches(raw []byte, descs []v1.Descriptor) bool {
	m, err := v1.ParseManifest(strings.NewReader(string(raw)))
	if err != nil || len(m.Layers) != len(descs) {
		return false
	}
	for i, l := range m.Layers {
		if l.Digest != descs[i].Digest {
			return false
		}
	}
	return true
}

// syntheticManifest writes an OCI manifest for a config and layer blobs.
func syntheticManifest(rawConfig []byte, descs []v1.Descriptor) ([]byte, error) {
	h, _ := v1.NewHash(sha256Digest(rawConfig))
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: h, Size: int64(len(rawConfig))},
	}
	for _, d := range descs {
		switch d.MediaType {
		case types.DockerLayer:
			d.MediaType = types.OCILayer
		case types.DockerUncompressedLayer:
			d.MediaType = types.OCIUncompressedLayer
		}
		m.Layers = append(m.Layers, d)
	}
	return json.Marshal(m)
}

// moveTag points a tag at id, taking it from any other image, and returns
// that image ("" when none). Unlike Tag it leaves LastTagTime alone, as
// docker load does.
func (s *Store) moveTag(ref Reference, id string) (prev string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev = s.refs.Tags[ref.String()]
	if prev == id {
		return "", nil
	}
	s.refs.Tags[ref.String()] = id
	return prev, s.saveRefs()
}
