package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Save writes the named images to w in the format Docker 25 and later
// write: an OCI image layout (oci-layout, index.json, blobs/) plus Docker's
// manifest.json, which older docker load reads too. Layers are the blobs
// pulled, so their digests and the images' IDs are unchanged.
func (s *Store) Save(ctx context.Context, names []string, w io.Writer) error {
	if len(names) == 0 {
		return fmt.Errorf("%w: no image to save", ErrInvalidParameter)
	}
	type entry struct {
		im   *Image
		tags []Reference
	}
	var entries []*entry
	byID := map[string]*entry{}
	for _, n := range names {
		im, err := s.Get(n)
		if err != nil {
			return err
		}
		e := byID[im.ID]
		if e == nil {
			e = &entry{im: im}
			byID[im.ID] = e
			entries = append(entries, e)
		}
		// A tag given names only itself; an ID or a digest saves every
		// tag of the image, as docker save does.
		if ref, err := ParseReference(n); err == nil && ref.Digest == "" && contains(im.RepoTags, ref.String()) {
			e.tags = appendRef(e.tags, ref)
		} else {
			for _, t := range im.RepoTags {
				if r, err := ParseReference(t); err == nil {
					e.tags = appendRef(e.tags, r)
				}
			}
		}
	}

	tw := tar.NewWriter(w)
	written := map[string]bool{}
	mtime := time.Unix(0, 0)
	addFile := func(name string, b []byte) error {
		if written[name] {
			return nil
		}
		written[name] = true
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: int64(len(b)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	addDir := func(name string) error {
		if written[name] {
			return nil
		}
		written[name] = true
		return tw.WriteHeader(&tar.Header{Name: name + "/", Mode: 0o755, ModTime: mtime, Typeflag: tar.TypeDir, Format: tar.FormatPAX})
	}
	addBlob := func(digest string) error {
		name := path.Join("blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
		if written[name] {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(s.blobPath(digest))
		if err != nil {
			return fmt.Errorf("blob %s: %w", digest, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		written[name] = true
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: st.Size(), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	}

	if err := addDir("blobs"); err != nil {
		return err
	}
	if err := addDir("blobs/sha256"); err != nil {
		return err
	}
	var index v1.IndexManifest
	index.SchemaVersion = 2
	index.MediaType = types.OCIImageIndex
	var manifests []archiveManifest
	for _, e := range entries {
		im := e.im
		raw, err := s.manifestFor(im)
		if err != nil {
			return err
		}
		mdig := sha256Digest(raw)
		if !s.hasBlob(mdig) {
			if err := s.writeBlob(mdig, raw); err != nil {
				return err
			}
		}
		for _, l := range im.Layers {
			if err := addBlob(l.Blob); err != nil {
				return err
			}
		}
		if err := addBlob(im.ID); err != nil {
			return err
		}
		if err := addBlob(mdig); err != nil {
			return err
		}
		mh, _ := v1.NewHash(mdig)
		mt := types.MediaType(im.ManifestMediaType)
		if m, err := v1.ParseManifest(strings.NewReader(string(raw))); err == nil && m.MediaType != "" {
			mt = m.MediaType
		}
		desc := v1.Descriptor{MediaType: mt, Digest: mh, Size: int64(len(raw))}
		am := archiveManifest{Config: path.Join("blobs", "sha256", strings.TrimPrefix(im.ID, "sha256:"))}
		for _, l := range im.Layers {
			am.Layers = append(am.Layers, path.Join("blobs", "sha256", strings.TrimPrefix(l.Blob, "sha256:")))
		}
		if len(e.tags) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, t := range e.tags {
			d := desc
			d.Annotations = map[string]string{
				"io.containerd.image.name":          t.String(),
				"org.opencontainers.image.ref.name": t.Tag,
			}
			index.Manifests = append(index.Manifests, d)
			am.RepoTags = append(am.RepoTags, t.Familiar())
		}
		manifests = append(manifests, am)
	}
	if err := addFile("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	ib, err := json.Marshal(index)
	if err != nil {
		return err
	}
	if err := addFile("index.json", ib); err != nil {
		return err
	}
	mb, err := json.Marshal(manifests)
	if err != nil {
		return err
	}
	if err := addFile("manifest.json", mb); err != nil {
		return err
	}
	return tw.Close()
}

// manifestFor returns the manifest the image came with when it still names
// the blobs the store keeps, else one written for them.
func (s *Store) manifestFor(im *Image) ([]byte, error) {
	descs := make([]v1.Descriptor, len(im.Layers))
	for i, l := range im.Layers {
		h, err := v1.NewHash(l.Blob)
		if err != nil {
			return nil, err
		}
		descs[i] = v1.Descriptor{MediaType: types.MediaType(l.MediaType), Digest: h, Size: l.BlobSize}
	}
	if raw, err := s.readBlob(im.Manifest); err == nil && s.manifestMatches(raw, descs) {
		return raw, nil
	}
	return syntheticManifest(im.RawConfig, descs)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func appendRef(list []Reference, r Reference) []Reference {
	for _, x := range list {
		if x == r {
			return list
		}
	}
	return append(list, r)
}
