package apitest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/berthhq/berth/runtime/api"
)

// changesByBackend holds what SetChanges gave each backend, by container
// ID: pretend processes change no files.
var changesByBackend sync.Map // *Containers → map[string][]api.ContainerChange

// SetChanges makes Changes answer changes for the container ref.
func (b *Containers) SetChanges(ref string, changes []api.ContainerChange) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.find(ref)
	if err != nil {
		return err
	}
	m, _ := changesByBackend.LoadOrStore(b, &sync.Map{})
	m.(*sync.Map).Store(c.info.ID, changes)
	return nil
}

// Changes answers what SetChanges set for the container, nil otherwise.
func (b *Containers) Changes(ctx context.Context, ref string) ([]api.ContainerChange, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Changes(%s)", ref)
	c, err := b.find(ref)
	if err != nil {
		return nil, err
	}
	if m, ok := changesByBackend.Load(b); ok {
		if ch, ok := m.(*sync.Map).Load(c.info.ID); ok {
			return ch.([]api.ContainerChange), nil
		}
	}
	return nil, nil
}

// Commit records the call and answers an image ID made from it. It refuses
// what the server should have shaped: a name with a digest, or without a
// tag.
func (b *Containers) Commit(ctx context.Context, opts api.CommitOptions) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cfg := "none"
	if opts.Config != nil {
		j, err := json.Marshal(opts.Config)
		if err != nil {
			return "", err
		}
		cfg = string(j)
	}
	call := fmt.Sprintf("Commit(container=%s, ref=%s, author=%q, comment=%q, pause=%v, changes=%q, config=%s)",
		opts.Container, opts.Ref, opts.Author, opts.Comment, opts.Pause, opts.Changes, cfg)
	b.record("%s", call)
	if _, err := b.find(opts.Container); err != nil {
		return "", err
	}
	if opts.Ref != "" && (strings.Contains(opts.Ref, "@") || !strings.Contains(opts.Ref[strings.LastIndex(opts.Ref, "/")+1:], ":")) {
		return "", fmt.Errorf("apitest: Commit got the unshaped name %q", opts.Ref)
	}
	for _, ch := range opts.Changes {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(ch)), "RUN") {
			return "", api.InvalidParameterf("run is not a valid change command")
		}
	}
	sum := sha256.Sum256([]byte(call))
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
