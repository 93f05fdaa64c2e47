package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/berthhq/berth/runtime/image"
)

// anonymousLabel marks a volume made for an image's VOLUME (Docker 23+'s
// label): volume prune removes only these unless asked for all.
const anonymousLabel = "com.docker.volume.anonymous"

// Volume is one local volume (Docker's "local" driver): its data lives in
// <data-root>/volumes/<name>/_data.
type Volume struct {
	Name       string
	Driver     string
	Mountpoint string
	CreatedAt  time.Time
	Labels     map[string]string
	Options    map[string]string
	Scope      string
}

type volumeRecord struct {
	Name      string            `json:"name"`
	CreatedAt time.Time         `json:"createdAt"`
	Labels    map[string]string `json:"labels,omitempty"`
}

func (e *Engine) volume(rec volumeRecord) *Volume {
	return &Volume{
		Name: rec.Name, Driver: "local", Mountpoint: filepath.Join(e.volRoot, rec.Name, "_data"),
		CreatedAt: rec.CreatedAt, Labels: rec.Labels, Options: map[string]string{}, Scope: "local",
	}
}

// CreateVolume makes a local volume, or returns the one of that name
// (docker volume create is idempotent). Driver options are not supported.
func (e *Engine) CreateVolume(name string, labels, driverOpts map[string]string) (*Volume, error) {
	if len(driverOpts) > 0 {
		return nil, kindf(ErrNotImplemented, "local volume options (type, device, o) are not supported yet")
	}
	anonymous := false
	if name == "" {
		name, anonymous = newID(), true
	}
	if err := validVolumeName(name); err != nil {
		return nil, invalidf("create %s: %v", name, err)
	}
	e.vmu.Lock()
	defer e.vmu.Unlock()
	if anonymous {
		labels = withLabel(labels, anonymousLabel)
	}
	return e.ensureVolume(name, labels)
}

func withLabel(labels map[string]string, key string) map[string]string {
	out := map[string]string{key: ""}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

// ensureVolume returns the volume, creating it when missing; the caller
// holds e.vmu.
func (e *Engine) ensureVolume(name string, labels map[string]string) (*Volume, error) {
	dir := filepath.Join(e.volRoot, name)
	var rec volumeRecord
	if err := readJSON(filepath.Join(dir, "volume.json"), &rec); err == nil {
		return e.volume(rec), nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "_data"), 0o755); err != nil {
		return nil, fmt.Errorf("creating volume %s: %w", name, err)
	}
	rec = volumeRecord{Name: name, CreatedAt: time.Now().UTC().Truncate(time.Second), Labels: labels}
	if err := writeJSON(filepath.Join(dir, "volume.json"), rec, true); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return e.volume(rec), nil
}

// InspectVolume returns a volume by name.
func (e *Engine) InspectVolume(name string) (*Volume, error) {
	var rec volumeRecord
	if err := readJSON(filepath.Join(e.volRoot, name, "volume.json"), &rec); err != nil || filepath.Base(name) != name {
		return nil, kindf(ErrNotFound, "get %s: no such volume", name)
	}
	return e.volume(rec), nil
}

// ListVolumes returns every volume, by name.
func (e *Engine) ListVolumes() ([]*Volume, error) {
	ents, err := os.ReadDir(e.volRoot)
	if err != nil {
		return nil, err
	}
	var out []*Volume
	for _, d := range ents {
		if v, err := e.InspectVolume(d.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// volumeUsers lists the containers that mount a volume.
func (e *Engine) volumeUsers(name string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	for id, en := range e.byID {
		en.mu.Lock()
		for _, m := range en.c.Mounts {
			if m.Type == "volume" && m.Name == name {
				ids = append(ids, id)
				break
			}
		}
		en.mu.Unlock()
	}
	sort.Strings(ids)
	return ids
}

// RemoveVolume deletes a volume no container uses (force: also a missing
// one without error).
func (e *Engine) RemoveVolume(name string, force bool) error {
	e.vmu.Lock()
	defer e.vmu.Unlock()
	err := e.removeVolumeLocked(name, true)
	if force && errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (e *Engine) removeVolumeLocked(name string, checkUse bool) error {
	if _, err := e.InspectVolume(name); err != nil {
		return err
	}
	if checkUse {
		if users := e.volumeUsers(name); len(users) > 0 {
			return conflictf("remove %s: volume is in use - %v", name, users)
		}
	}
	if err := os.RemoveAll(filepath.Join(e.volRoot, name)); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// PruneVolumes removes the unused volumes the labels select: anonymous
// ones only, unless all (Docker 23+'s volume prune and its all=true).
func (e *Engine) PruneVolumes(all bool, labels, notLabels []string) ([]string, uint64, error) {
	e.vmu.Lock()
	defer e.vmu.Unlock()
	vols, err := e.ListVolumes()
	if err != nil {
		return nil, 0, err
	}
	var names []string
	var freed uint64
	for _, v := range vols {
		if _, anon := v.Labels[anonymousLabel]; !all && !anon {
			continue
		}
		if !image.MatchLabels(v.Labels, labels, notLabels) || len(e.volumeUsers(v.Name)) > 0 {
			continue
		}
		size := dirSize(v.Mountpoint)
		if err := os.RemoveAll(filepath.Join(e.volRoot, v.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return names, freed, fmt.Errorf("remove %s: %w", v.Name, err)
		}
		names = append(names, v.Name)
		freed += size
	}
	return names, freed, nil
}
