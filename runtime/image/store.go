package image

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/atomicfile"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("no such image")
	ErrConflict = errors.New("conflict")
	ErrInUse    = errors.New("store in use")
)

// Store is the image store of one data root. Only one process may hold it.
type Store struct {
	root string // <data-root>/image
	lock *os.File

	mu     sync.RWMutex // guards refs and image records on disk
	refs   refsFile
	layers singleflight.Group

	mirrors *mirror.Config
	now     func() time.Time
}

// refsFile is refs.json: every name an image is known by.
type refsFile struct {
	// Tags maps docker.io/library/nginx:1.22 to an image ID.
	Tags map[string]string `json:"tags"`
	// Digests maps docker.io/library/nginx@sha256:... (the digest pulled:
	// an index or a manifest) to an image ID.
	Digests map[string]string `json:"digests"`
}

// Option configures Open.
type Option func(*Store) error

// WithMirrors sets the mirror configuration pulls resolve through.
func WithMirrors(c *mirror.Config) Option {
	return func(s *Store) error {
		if c == nil {
			return errors.New("nil mirror configuration")
		}
		s.mirrors = c
		return nil
	}
}

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option {
	return func(s *Store) error { s.now = now; return nil }
}

// Open opens (creating it if needed) the image store under dataRoot, takes
// its lock, and removes what an interrupted process left in tmp/.
func Open(dataRoot string, opts ...Option) (*Store, error) {
	s := &Store{root: filepath.Join(dataRoot, "image"), now: time.Now}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if s.mirrors == nil {
		c, err := mirror.NewConfig(nil, nil, nil)
		if err != nil {
			return nil, err
		}
		s.mirrors = c
	}
	for _, d := range []string{"", "blobs/sha256", "layers", "l", "images", "tmp"} {
		if err := os.MkdirAll(filepath.Join(s.root, d), 0o700); err != nil {
			return nil, fmt.Errorf("creating image store %s: %w", s.root, err)
		}
	}
	SpreadSubdirs(filepath.Join(s.root, "tmp"))
	lf, err := os.OpenFile(filepath.Join(s.root, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening image store lock: %w", err)
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lf.Close()
		return nil, fmt.Errorf("%w: %s is used by another berth process", ErrInUse, dataRoot)
	}
	s.lock = lf
	if err := s.cleanTmp(); err != nil {
		s.Close()
		return nil, err
	}
	if err := readJSON(filepath.Join(s.root, "refs.json"), &s.refs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.Close()
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(s.root, "refs.json"), err)
	}
	if s.refs.Tags == nil {
		s.refs.Tags = map[string]string{}
	}
	if s.refs.Digests == nil {
		s.refs.Digests = map[string]string{}
	}
	return s, nil
}

// Close releases the store's lock.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// SetMirrors replaces the mirror configuration (SIGHUP reload); pulls that
// already started keep theirs.
func (s *Store) SetMirrors(c *mirror.Config) {
	s.mu.Lock()
	s.mirrors = c
	s.mu.Unlock()
}

func (s *Store) mirrorConfig() *mirror.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mirrors
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// cleanTmp removes work a killed process left behind.
func (s *Store) cleanTmp() error {
	tmp := filepath.Join(s.root, "tmp")
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("reading %s: %w", tmp, err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err != nil {
			return fmt.Errorf("cleaning %s: %w", tmp, err)
		}
	}
	return nil
}

// tempDir makes a directory under tmp/ for work in progress.
func (s *Store) tempDir(prefix string) (string, error) {
	return os.MkdirTemp(filepath.Join(s.root, "tmp"), prefix)
}

func (s *Store) blobPath(d string) string {
	return filepath.Join(s.root, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
}

func (s *Store) layerDir(chainID string) string {
	return filepath.Join(s.root, "layers", strings.TrimPrefix(chainID, "sha256:"))
}

func (s *Store) imagePath(id string) string {
	return filepath.Join(s.root, "images", strings.TrimPrefix(id, "sha256:")+".json")
}

// hasBlob reports whether blob d is in the store.
func (s *Store) hasBlob(d string) bool {
	_, err := os.Stat(s.blobPath(d))
	return err == nil
}

// readBlob returns the bytes of a small blob (a manifest or a config).
func (s *Store) readBlob(d string) ([]byte, error) {
	b, err := os.ReadFile(s.blobPath(d))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d, err)
	}
	return b, nil
}

// writeBlob stores a small blob whose content is already verified.
func (s *Store) writeBlob(d string, b []byte) error {
	if s.hasBlob(d) {
		return nil
	}
	return atomicfile.WriteFile(s.blobPath(d), b, 0o600)
}

// saveRefs writes refs.json; the caller holds s.mu.
func (s *Store) saveRefs() error {
	b, err := json.MarshalIndent(s.refs, "", "  ")
	if err != nil {
		return err
	}
	failpoint("refs.write")
	return atomicfile.WriteFile(filepath.Join(s.root, "refs.json"), b, 0o600)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// discard moves path into tmp/ (atomically out of sight), then removes it.
func (s *Store) discard(path string) error {
	dst := filepath.Join(s.root, "tmp", "del-"+randomHex(8))
	if err := os.Rename(path, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.RemoveAll(dst)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
