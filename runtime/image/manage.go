package image

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berthhq/berth/runtime/atomicfile"
)

// ErrInvalidParameter is wrapped by errors about a bad argument.
var ErrInvalidParameter = errors.New("invalid parameter")

// Tag points target (repo[:tag]) at the image source names.
func (s *Store) Tag(source, target string) error {
	ref, err := ParseReference(target)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidParameter, err)
	}
	if ref.Digest != "" {
		return fmt.Errorf("%w: refusing to create a tag with a digest reference", ErrInvalidParameter)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.resolve(source)
	if err != nil {
		return err
	}
	if s.refs.Tags[ref.String()] == id {
		return nil
	}
	s.refs.Tags[ref.String()] = id
	if err := s.saveRefs(); err != nil {
		return err
	}
	return s.touchTagTime(id)
}

// Deleted is one line of a removal: a name untagged or an ID deleted.
type Deleted struct {
	Untagged string
	Deleted  string
}

// InUseFunc reports why an image cannot be deleted ("" when it can): the
// container engine says which images its containers use.
type InUseFunc func(imageID string) string

// Remove deletes what a user names, as docker rmi does: a tag or digest is
// untagged, and the image deleted when no name is left; an ID deletes the
// image, which needs force when it is tagged in several repositories.
func (s *Store) Remove(nameOrID string, force bool, inUse InUseFunc) ([]Deleted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.resolve(nameOrID)
	if err != nil {
		return nil, err
	}
	var out []Deleted
	byRef := false
	tags, digests := maps.Clone(s.refs.Tags), maps.Clone(s.refs.Digests)
	if ref, err := ParseReference(nameOrID); err == nil {
		key := ref.String()
		if ref.Digest != "" && s.refs.Digests[key] == id {
			delete(s.refs.Digests, key)
			out, byRef = append(out, Deleted{Untagged: ref.Familiar()}), true
		} else if ref.Digest == "" && s.refs.Tags[key] == id {
			delete(s.refs.Tags, key)
			out, byRef = append(out, Deleted{Untagged: ref.Familiar()}), true
			// Digest names of the same repository go with its last tag.
			if !s.repoHasTag(id, ref.Name()) {
				for _, dk := range sortedKeys(s.refs.Digests) {
					if s.refs.Digests[dk] == id && strings.HasPrefix(dk, ref.Name()+"@") {
						delete(s.refs.Digests, dk)
						out = append(out, Deleted{Untagged: FamiliarString(dk)})
					}
				}
			}
		}
	}
	if byRef {
		if len(s.namesOf(id)) > 0 {
			return out, s.saveRefs()
		}
		if why := inUseReason(inUse, id); why != "" {
			if !force {
				// Untagging would leave a container's image dangling:
				// Docker asks for force.
				s.refs.Tags, s.refs.Digests = tags, digests
				return nil, fmt.Errorf("%w: unable to remove repository reference %q (must force) - %s", ErrConflict, nameOrID, why)
			}
			// Forced: untagged, and kept for the container.
			return out, s.saveRefs()
		}
	} else {
		names := s.namesOf(id)
		if repos := distinctRepos(names); len(repos) > 1 && !force {
			return nil, fmt.Errorf("%w: unable to delete %s (must be forced) - image is referenced in multiple repositories", ErrConflict, shortID(id))
		}
		if why := inUseReason(inUse, id); why != "" {
			// A container's image cannot go, forced or not: its
			// rootfs is built on these layers.
			return nil, fmt.Errorf("%w: unable to delete %s (cannot be forced) - %s", ErrConflict, shortID(id), why)
		}
		for _, n := range names {
			delete(s.refs.Tags, n)
			delete(s.refs.Digests, n)
			out = append(out, Deleted{Untagged: FamiliarString(n)})
		}
	}
	if err := s.saveRefs(); err != nil {
		return out, err
	}
	deleted, _, err := s.deleteImages([]string{id})
	return append(out, deleted...), err
}

func inUseReason(f InUseFunc, id string) string {
	if f == nil {
		return ""
	}
	return f(id)
}

// namesOf lists the tag and digest names of an image; the caller holds s.mu.
func (s *Store) namesOf(id string) []string {
	var names []string
	for _, k := range sortedKeys(s.refs.Tags) {
		if s.refs.Tags[k] == id {
			names = append(names, k)
		}
	}
	for _, k := range sortedKeys(s.refs.Digests) {
		if s.refs.Digests[k] == id {
			names = append(names, k)
		}
	}
	return names
}

func (s *Store) repoHasTag(id, repo string) bool {
	for k, v := range s.refs.Tags {
		if v == id && strings.HasPrefix(k, repo+":") {
			return true
		}
	}
	return false
}

func distinctRepos(names []string) map[string]bool {
	repos := map[string]bool{}
	for _, n := range names {
		if r, err := ParseReference(n); err == nil {
			repos[r.Name()] = true
		}
	}
	return repos
}

// deleteImages removes image records, then every layer and blob no
// remaining image uses. It returns what it deleted and the bytes freed; the
// caller holds s.mu and has removed the images' names.
func (s *Store) deleteImages(ids []string) ([]Deleted, int64, error) {
	var out []Deleted
	var candidates []string
	for _, id := range ids {
		var rec imageRecord
		if err := readJSON(s.imagePath(id), &rec); err != nil {
			return out, 0, err
		}
		failpoint("image.delete")
		if err := os.Remove(s.imagePath(id)); err != nil {
			return out, 0, err
		}
		out = append(out, Deleted{Deleted: id})
		candidates = append(candidates, rec.Layers...)
		candidates = append(candidates, rec.ID, rec.Manifest)
	}
	if err := atomicfile.SyncDir(filepath.Join(s.root, "images")); err != nil {
		return out, 0, err
	}
	used, usedBlobs, err := s.inUseContent()
	if err != nil {
		return out, 0, err
	}
	var freed int64
	// Upper layers first, as Docker lists them.
	for i := len(candidates) - 1; i >= 0; i-- {
		c := candidates[i]
		if used[c] || !s.hasLayer(c) {
			continue
		}
		lr, err := s.layerRecord(c)
		if err != nil {
			return out, freed, err
		}
		if err := s.discard(s.layerDir(c)); err != nil {
			return out, freed, err
		}
		os.Remove(filepath.Join(s.root, "l", lr.Link))
		freed += lr.Size
		out = append(out, Deleted{Deleted: c})
		candidates = append(candidates, lr.Blob)
		used[c] = true // listed once
	}
	for _, b := range candidates {
		if strings.HasPrefix(b, "sha256:") && !usedBlobs[b] && s.hasBlob(b) {
			if err := os.Remove(s.blobPath(b)); err != nil {
				return out, freed, err
			}
			usedBlobs[b] = true
		}
	}
	return out, freed, nil
}

// inUseContent lists the chain IDs and blobs the stored images use; the
// caller holds s.mu.
func (s *Store) inUseContent() (layers, blobs map[string]bool, err error) {
	layers, blobs = map[string]bool{}, map[string]bool{}
	ids, err := s.imageIDs()
	if err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		var rec imageRecord
		if err := readJSON(s.imagePath(id), &rec); err != nil {
			return nil, nil, fmt.Errorf("reading image %s: %w", id, err)
		}
		blobs[rec.ID], blobs[rec.Manifest] = true, true
		for _, c := range rec.Layers {
			layers[c] = true
			if lr, err := s.layerRecord(c); err == nil {
				blobs[lr.Blob] = true
			}
		}
	}
	return layers, blobs, nil
}

// PruneOptions select what Prune removes.
type PruneOptions struct {
	// All removes every unused image, not only dangling ones.
	All bool
	// Until keeps images created after it (zero: no limit).
	Until time.Time
	// Labels keep only images whose labels match every key[=value]; a
	// "!" prefix (label!=) negates.
	Labels    []string
	NotLabels []string
	InUse     InUseFunc
}

// Prune removes dangling (or, with All, all unused) images and returns
// what it deleted and the bytes freed.
func (s *Store) Prune(opts PruneOptions) ([]Deleted, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, err := s.imageIDs()
	if err != nil {
		return nil, 0, err
	}
	var out []Deleted
	var victims []string
	for _, id := range ids {
		im, err := s.load(id)
		if err != nil {
			return nil, 0, err
		}
		if !opts.All && !im.Dangling() {
			continue
		}
		if inUseReason(opts.InUse, id) != "" {
			continue
		}
		if !opts.Until.IsZero() && !im.Config.Created.Time.Before(opts.Until) {
			continue
		}
		if !MatchLabels(im.Config.Config.Labels, opts.Labels, opts.NotLabels) {
			continue
		}
		for _, n := range s.namesOf(id) {
			delete(s.refs.Tags, n)
			delete(s.refs.Digests, n)
			out = append(out, Deleted{Untagged: FamiliarString(n)})
		}
		victims = append(victims, id)
	}
	if len(victims) == 0 {
		return nil, 0, nil
	}
	if err := s.saveRefs(); err != nil {
		return out, 0, err
	}
	deleted, freed, err := s.deleteImages(victims)
	return append(out, deleted...), freed, err
}

// MatchLabels reports whether labels have every want (key or key=value)
// and none of not.
func MatchLabels(labels map[string]string, want, not []string) bool {
	has := func(f string) bool {
		k, v, withValue := strings.Cut(f, "=")
		got, ok := labels[k]
		return ok && (!withValue || got == v)
	}
	for _, f := range want {
		if !has(f) {
			return false
		}
	}
	for _, f := range not {
		if has(f) {
			return false
		}
	}
	return true
}

// HistoryItem is one step of an image's history, newest first.
type HistoryItem struct {
	// ID is the image ID for the newest step, "<missing>" for the others
	// (as Docker shows pulled images).
	ID        string
	Created   time.Time
	CreatedBy string
	Tags      []string
	Size      int64
	Comment   string
	// EmptyLayer is true for steps that changed only the config.
	EmptyLayer bool
}

// History returns the image's build steps, newest first, each with the size
// of the layer it made.
func (s *Store) History(nameOrID string) ([]HistoryItem, error) {
	im, err := s.Get(nameOrID)
	if err != nil {
		return nil, err
	}
	var items []HistoryItem
	li := 0
	hist := im.Config.History
	if len(hist) == 0 {
		// An image without history: one step per layer.
		for range im.Layers {
			hist = append(hist, historyOf(im.Config.Created.Time))
		}
	}
	for _, h := range hist {
		it := HistoryItem{ID: "<missing>", Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if !h.EmptyLayer && li < len(im.Layers) {
			it.Size = im.Layers[li].Size
			li++
		}
		items = append(items, it)
	}
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		items[i], items[j] = items[j], items[i]
	}
	if len(items) > 0 {
		items[0].ID = im.ID
		for _, t := range im.RepoTags {
			items[0].Tags = append(items[0].Tags, FamiliarString(t))
		}
	}
	return items, nil
}

func historyOf(t time.Time) v1.History { return v1.History{Created: v1.Time{Time: t}} }
