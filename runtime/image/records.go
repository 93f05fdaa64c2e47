package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berthhq/berth/runtime/atomicfile"
)

// imageRecord is images/<id>.json.
type imageRecord struct {
	// ID is the config digest, as Docker's image ID.
	ID string `json:"id"`
	// Manifest is the digest of the platform manifest the image came from,
	// and ManifestMediaType its type.
	Manifest          string `json:"manifest"`
	ManifestMediaType string `json:"manifestMediaType"`
	// Layers are the chain IDs of its layers, lowest first.
	Layers []string `json:"layers"`
	// LastTagTime is when a tag last pointed here (Docker's Metadata).
	LastTagTime time.Time `json:"lastTagTime"`
	// Added is when the image entered the store.
	Added time.Time `json:"added"`
}

// layerRecord is layers/<chainid>/layer.json.
type layerRecord struct {
	ChainID string `json:"chainID"`
	DiffID  string `json:"diffID"`
	Parent  string `json:"parent,omitempty"`
	// Size is the unpacked content in bytes.
	Size int64 `json:"size"`
	// Blob is the compressed (or plain) tar the layer came from, kept for
	// save, with its media type and size.
	Blob      string `json:"blob"`
	BlobSize  int64  `json:"blobSize"`
	MediaType string `json:"mediaType"`
	// Link is the layer's short name in l/.
	Link string `json:"link"`
}

// Image is one image in the store, with everything inspect, history and
// list show.
type Image struct {
	ID string
	// RepoTags and RepoDigests are canonical references
	// (docker.io/library/nginx:1.22).
	RepoTags    []string
	RepoDigests []string
	Config      *v1.ConfigFile
	// RawConfig is the config blob as stored (its digest is ID).
	RawConfig         []byte
	Manifest          string
	ManifestMediaType string
	Layers            []Layer
	// Size is the total unpacked size of its layers.
	Size        int64
	LastTagTime time.Time
	Added       time.Time
}

// Layer is one layer of an image.
type Layer struct {
	ChainID, DiffID string
	Size            int64
	Blob            string
	BlobSize        int64
	MediaType       string
	// Dir is the unpacked directory (an overlayfs lower), and Link its
	// short path relative to the store's l/ directory.
	Dir  string
	Link string
}

// Dangling reports whether the image has no tag (Docker's dangling=true).
func (im *Image) Dangling() bool { return len(im.RepoTags) == 0 }

var hexPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(sha256:)?[0-9a-f]{1,64}$`) })

// Get returns the image a user's name means: a reference (nginx,
// nginx:1.22, name@sha256:...), a full image ID, or a unique ID prefix.
func (s *Store) Get(nameOrID string) (*Image, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, err := s.resolve(nameOrID)
	if err != nil {
		return nil, err
	}
	return s.load(id)
}

// resolve finds the image ID for a name; the caller holds s.mu.
func (s *Store) resolve(nameOrID string) (string, error) {
	if ref, err := ParseReference(nameOrID); err == nil {
		if ref.Digest != "" {
			if id, ok := s.refs.Digests[ref.String()]; ok {
				return id, nil
			}
		} else if id, ok := s.refs.Tags[ref.String()]; ok {
			return id, nil
		}
	}
	if hexPrefix().MatchString(nameOrID) {
		want := strings.TrimPrefix(nameOrID, "sha256:")
		var found []string
		ents, err := os.ReadDir(filepath.Join(s.root, "images"))
		if err != nil {
			return "", err
		}
		for _, e := range ents {
			id, ok := strings.CutSuffix(e.Name(), ".json")
			if ok && strings.HasPrefix(id, want) {
				found = append(found, "sha256:"+id)
			}
		}
		switch len(found) {
		case 1:
			return found[0], nil
		case 0:
		default:
			return "", fmt.Errorf("%w: %q matches %d images; give more of the ID", ErrConflict, nameOrID, len(found))
		}
	}
	return "", fmt.Errorf("%w: %s", ErrNotFound, nameOrID)
}

// load reads an image with its names and layers; the caller holds s.mu.
func (s *Store) load(id string) (*Image, error) {
	var rec imageRecord
	if err := readJSON(s.imagePath(id), &rec); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, fmt.Errorf("reading image %s: %w", id, err)
	}
	raw, err := s.readBlob(rec.ID)
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", id, err)
	}
	im := &Image{
		ID: rec.ID, Config: cfg, RawConfig: raw, Manifest: rec.Manifest, ManifestMediaType: rec.ManifestMediaType,
		LastTagTime: rec.LastTagTime, Added: rec.Added,
	}
	for _, chain := range rec.Layers {
		lr, err := s.layerRecord(chain)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", id, err)
		}
		im.Layers = append(im.Layers, Layer{
			ChainID: lr.ChainID, DiffID: lr.DiffID, Size: lr.Size, Blob: lr.Blob, BlobSize: lr.BlobSize,
			MediaType: lr.MediaType, Dir: filepath.Join(s.layerDir(chain), "diff"), Link: lr.Link,
		})
		im.Size += lr.Size
	}
	for _, ref := range sortedKeys(s.refs.Tags) {
		if s.refs.Tags[ref] == id {
			im.RepoTags = append(im.RepoTags, ref)
		}
	}
	for _, ref := range sortedKeys(s.refs.Digests) {
		if s.refs.Digests[ref] == id {
			im.RepoDigests = append(im.RepoDigests, ref)
		}
	}
	return im, nil
}

func (s *Store) layerRecord(chainID string) (*layerRecord, error) {
	var lr layerRecord
	if err := readJSON(filepath.Join(s.layerDir(chainID), "layer.json"), &lr); err != nil {
		return nil, fmt.Errorf("layer %s: %w", chainID, err)
	}
	return &lr, nil
}

// hasLayer reports whether a layer with this chain ID is complete in the
// store.
func (s *Store) hasLayer(chainID string) bool {
	_, err := os.Stat(filepath.Join(s.layerDir(chainID), "layer.json"))
	return err == nil
}

// List returns every image, newest first (as docker images orders them).
func (s *Store) List() ([]*Image, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids, err := s.imageIDs()
	if err != nil {
		return nil, err
	}
	images := make([]*Image, 0, len(ids))
	for _, id := range ids {
		im, err := s.load(id)
		if err != nil {
			return nil, err
		}
		images = append(images, im)
	}
	sort.SliceStable(images, func(i, j int) bool {
		ci, cj := images[i].Config.Created.Time, images[j].Config.Created.Time
		if !ci.Equal(cj) {
			return ci.After(cj)
		}
		return images[i].ID < images[j].ID
	})
	return images, nil
}

// imageIDs lists the stored image IDs; the caller holds s.mu.
func (s *Store) imageIDs() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "images"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && !strings.HasPrefix(id, ".") {
			ids = append(ids, "sha256:"+id)
		}
	}
	return ids, nil
}

// writeImage commits an image record; its layers and blobs must be in the
// store already.
func (s *Store) writeImage(rec imageRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	failpoint("image.write")
	return atomicfile.WriteFile(s.imagePath(rec.ID), b, 0o600)
}
