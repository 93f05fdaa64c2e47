package image

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyTarDiffID is the DiffID of a tar with no entries (its two zero
// blocks): Docker records a commit that changed nothing as a history entry
// with no layer, and so does Commit.
const emptyTarDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

// CommitOptions describe the image Commit makes.
type CommitOptions struct {
	// Parent is the ID of the image the container runs.
	Parent string
	// Config is the new image's configuration; ContainerConfig the
	// container's, which Docker records beside it (container_config), and
	// Container the container's ID.
	Config          v1.Config
	ContainerConfig v1.Config
	Container       string
	// Author and Comment go into the history entry; Author also into the
	// image's author.
	Author, Comment string
	// CreatedBy is the history entry's command: Docker writes the
	// container's Cmd, joined by spaces.
	CreatedBy string
	// Ref tags the image (repo[:tag], tag "latest" when left out); "" leaves
	// it untagged.
	Ref string
}

// commitConfig is the config a commit writes: Docker's fields, in the
// sorted order dockerd writes them.
type commitConfig struct {
	Architecture    string       `json:"architecture"`
	Author          string       `json:"author,omitempty"`
	Config          v1.Config    `json:"config"`
	Container       string       `json:"container,omitempty"`
	ContainerConfig v1.Config    `json:"container_config"`
	Created         v1.Time      `json:"created"`
	History         []v1.History `json:"history"`
	OS              string       `json:"os"`
	OSVersion       string       `json:"os.version,omitempty"`
	OSFeatures      []string     `json:"os.features,omitempty"`
	RootFS          v1.RootFS    `json:"rootfs"`
	Variant         string       `json:"variant,omitempty"`
}

// Commit records a new image: the parent's layers plus layerTar (an
// uncompressed layer tar, as layer.Export writes a container's upper dir),
// with opts' configuration and a history entry for the commit. The layer is
// kept gzip-compressed as pulled layers are, so that save writes it and a
// Docker loads it, and unpacked beside the parent's layers for containers to
// run from. A tar with no entries adds no layer, only the history entry
// (empty_layer), as Docker's commit does. Like a pull, it commits the blob
// and layer, then the image, then the tag: a killed process leaves at most
// unreferenced content that the next Open or prune clears.
func (s *Store) Commit(ctx context.Context, layerTar io.Reader, opts CommitOptions) (*Image, error) {
	var ref Reference
	if opts.Ref != "" {
		r, err := ParseReference(opts.Ref)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidParameter, err)
		}
		if r.Digest != "" {
			return nil, fmt.Errorf("%w: refusing to create a tag with a digest reference", ErrInvalidParameter)
		}
		ref = r
	}
	parent, err := s.Get(opts.Parent)
	if err != nil {
		return nil, fmt.Errorf("committing: the parent image: %w", err)
	}
	work, err := s.tempDir("commit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	blob := filepath.Join(work, "blob")
	diffID, desc, err := compressLayer(ctx, layerTar, blob)
	if err != nil {
		return nil, fmt.Errorf("committing: writing the layer: %w", err)
	}

	var diffIDs, chains []string
	var descs []v1.Descriptor
	for _, l := range parent.Layers {
		diffIDs, chains = append(diffIDs, l.DiffID), append(chains, l.ChainID)
		descs = append(descs, layerDescriptor(&layerRecord{Blob: l.Blob, BlobSize: l.BlobSize, MediaType: l.MediaType}))
	}
	empty := diffID == emptyTarDiffID
	if !empty {
		diffIDs = append(diffIDs, diffID)
		chains = chainIDs(diffIDs)
		d, err := s.commitNewLayer(ctx, work, blob, desc, chains, diffID)
		if err != nil {
			return nil, err
		}
		descs = append(descs, d)
	}

	now := s.now().UTC()
	pc := parent.Config
	history := slices.Clone(pc.History)
	if len(history) == 0 {
		// A parent without history: one entry per layer, so that the
		// entries still line up with the layers.
		for range parent.Layers {
			history = append(history, historyOf(pc.Created.Time))
		}
	}
	history = append(history, v1.History{
		Created: v1.Time{Time: now}, CreatedBy: opts.CreatedBy, Author: opts.Author, Comment: opts.Comment, EmptyLayer: empty,
	})
	cfg := commitConfig{
		Architecture: pc.Architecture, Author: opts.Author, Config: opts.Config, Container: opts.Container,
		ContainerConfig: opts.ContainerConfig, Created: v1.Time{Time: now}, History: history,
		OS: pc.OS, OSVersion: pc.OSVersion, OSFeatures: pc.OSFeatures, Variant: pc.Variant,
		RootFS: v1.RootFS{Type: "layers"},
	}
	for _, d := range diffIDs {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, fmt.Errorf("committing: layer %s: %w", d, err)
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, h)
	}
	rawConfig, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	manifest, err := syntheticManifest(rawConfig, descs)
	if err != nil {
		return nil, err
	}
	id, mdig := sha256Digest(rawConfig), sha256Digest(manifest)
	if err := s.writeBlob(mdig, manifest); err != nil {
		return nil, err
	}
	if err := s.writeBlob(id, rawConfig); err != nil {
		return nil, err
	}
	if err := s.writeImage(imageRecord{ID: id, Manifest: mdig, ManifestMediaType: string(types.OCIManifestSchema1), Layers: chains, Added: now}); err != nil {
		return nil, err
	}
	if opts.Ref != "" {
		if err := s.setRefs(id, ref, ""); err != nil {
			return nil, err
		}
	}
	return s.Get(id)
}

// commitNewLayer unpacks the committed layer over the parent's and moves it
// and its blob into the store, unless the store has that layer already (the
// same change committed twice).
func (s *Store) commitNewLayer(ctx context.Context, work, blob string, desc v1.Descriptor, chains []string, diffID string) (v1.Descriptor, error) {
	chain := chains[len(chains)-1]
	if s.hasLayer(chain) {
		lr, err := s.layerRecord(chain)
		if err != nil {
			return v1.Descriptor{}, err
		}
		return layerDescriptor(lr), nil
	}
	f, err := os.Open(blob)
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer f.Close()
	dir := filepath.Join(work, "layer")
	lr, err := s.applyLayer(ctx, f, desc.MediaType, dir, chains, diffID)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("committing: unpacking the layer: %w", err)
	}
	lr.Blob, lr.BlobSize, lr.MediaType = desc.Digest.String(), desc.Size, string(desc.MediaType)
	f.Close()
	if err := s.commitLayer(dir, blob, lr); err != nil {
		return v1.Descriptor{}, fmt.Errorf("committing: storing the layer: %w", err)
	}
	return desc, nil
}

// compressLayer gzips the tar r into the file path, and returns the tar's
// DiffID and the blob's descriptor.
func compressLayer(ctx context.Context, r io.Reader, path string) (string, v1.Descriptor, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", v1.Descriptor{}, err
	}
	defer f.Close()
	blobHash := sha256.New()
	counter := &countWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(f, blobHash, counter), 1<<20)
	zw := gzip.NewWriter(bw)
	diffHash := sha256.New()
	if _, err := io.Copy(io.MultiWriter(zw, diffHash), ctxReader{ctx, r}); err != nil {
		return "", v1.Descriptor{}, err
	}
	if err := zw.Close(); err != nil {
		return "", v1.Descriptor{}, err
	}
	if err := bw.Flush(); err != nil {
		return "", v1.Descriptor{}, err
	}
	if err := f.Close(); err != nil {
		return "", v1.Descriptor{}, err
	}
	h, err := v1.NewHash(hexDigest(blobHash))
	if err != nil {
		return "", v1.Descriptor{}, err
	}
	return hexDigest(diffHash), v1.Descriptor{MediaType: types.OCILayer, Digest: h, Size: counter.n}, nil
}

func hexDigest(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
