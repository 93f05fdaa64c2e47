package image

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Check verifies that the store is consistent: every name points at an
// image, every image's layers and blobs are complete, every layer has its
// short link, every blob matches its digest. It repairs nothing except
// missing short links, and returns one error per problem.
func (s *Store) Check() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for ref, id := range s.refs.Tags {
		if _, err := os.Stat(s.imagePath(id)); err != nil {
			bad("tag %s points at missing image %s", ref, id)
		}
	}
	for ref, id := range s.refs.Digests {
		if _, err := os.Stat(s.imagePath(id)); err != nil {
			bad("digest %s points at missing image %s", ref, id)
		}
	}
	ids, err := s.imageIDs()
	if err != nil {
		return append(errs, err)
	}
	for _, id := range ids {
		var rec imageRecord
		if err := readJSON(s.imagePath(id), &rec); err != nil {
			bad("image %s: %v", id, err)
			continue
		}
		for _, b := range []string{rec.ID, rec.Manifest} {
			if !s.hasBlob(b) {
				bad("image %s: blob %s missing", id, b)
			}
		}
		for _, c := range rec.Layers {
			lr, err := s.layerRecord(c)
			if err != nil {
				bad("image %s: %v", id, err)
				continue
			}
			if fi, err := os.Stat(filepath.Join(s.layerDir(c), "diff")); err != nil || !fi.IsDir() {
				bad("layer %s: no diff directory", c)
			}
			if !s.hasBlob(lr.Blob) {
				bad("layer %s: blob %s missing", c, lr.Blob)
			}
			link := filepath.Join(s.root, "l", lr.Link)
			if _, err := os.Stat(link); err != nil {
				// A crash between the layer's commit and its link.
				if err := os.Symlink(filepath.Join("..", "layers", filepath.Base(s.layerDir(c)), "diff"), link); err != nil {
					bad("layer %s: short link: %v", c, err)
				}
			}
		}
	}
	blobs, _ := os.ReadDir(filepath.Join(s.root, "blobs", "sha256"))
	for _, b := range blobs {
		if strings.HasPrefix(b.Name(), ".") {
			bad("blob directory holds a partial file %s", b.Name())
			continue
		}
		if got, err := fileDigest(filepath.Join(s.root, "blobs", "sha256", b.Name())); err != nil || got != b.Name() {
			bad("blob %s does not match its digest (%s, %v)", b.Name(), got, err)
		}
	}
	layers, _ := os.ReadDir(filepath.Join(s.root, "layers"))
	for _, l := range layers {
		if _, err := os.Stat(filepath.Join(s.root, "layers", l.Name(), "layer.json")); err != nil {
			bad("layer directory %s has no layer.json", l.Name())
		}
	}
	return errs
}

func fileDigest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
