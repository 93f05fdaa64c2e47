package api

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Filters of the volume routes. all=true makes prune take named volumes
// too (API 1.42+: anonymous ones only by default).
var (
	volumeListFilters  = []string{"dangling", "name", "label", "driver"}
	volumePruneFilters = []string{"label", "label!", "all"}
)

// AnonymousVolumeLabel marks the volumes an engine made for a container
// (docker run -v /data); prune without all=true removes only those, as
// dockerd does.
const AnonymousVolumeLabel = "com.docker.volume.anonymous"

// volumesInUse are the names of the volumes some container mounts.
func (s *Server) volumesInUse(ctx context.Context) (map[string]bool, error) {
	list, err := s.containers.List(ctx, false)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range list {
		for _, m := range c.Mounts {
			if m.Type == "volume" && m.Name != "" {
				used[m.Name] = true
			}
		}
	}
	return used, nil
}

func (s *Server) listVolumes(w http.ResponseWriter, r *http.Request) error {
	f, err := ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := checkFilters(f, volumeListFilters); err != nil {
		return err
	}
	vols, err := s.containers.VolumeList(r.Context())
	if err != nil {
		return err
	}
	var used map[string]bool
	if len(f["dangling"]) > 0 {
		if used, err = s.volumesInUse(r.Context()); err != nil {
			return err
		}
	}
	out := VolumeListResponse{Volumes: []*Volume{}, Warnings: []string{}}
	for _, v := range vols {
		if d := f["dangling"]; len(d) == 1 && (d[0] == "true" || d[0] == "1") == used[v.Name] {
			continue
		}
		if len(f["name"]) > 0 && !filterMatch(f["name"], v.Name) ||
			len(f["driver"]) > 0 && !filterMatch(f["driver"], v.Driver) ||
			!labelsMatch(f["label"], v.Labels) {
			continue
		}
		out.Volumes = append(out.Volumes, v)
	}
	sort.Slice(out.Volumes, func(i, j int) bool { return out.Volumes[i].Name < out.Volumes[j].Name })
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createVolume(w http.ResponseWriter, r *http.Request) error {
	var o VolumeCreateOptions
	if err := decodeStrict(r, &o); err != nil {
		return err
	}
	if o.Name != "" {
		if err := ValidVolumeName(o.Name); err != nil {
			return err
		}
	}
	switch {
	case o.Driver != "" && o.Driver != "local":
		return InvalidParameterf("volume driver %q is not supported: Berth has the local driver only", o.Driver)
	case len(o.DriverOpts) > 0:
		return InvalidParameterf("volume driver options (--opt) are not supported by Berth: a volume is a directory under the data root")
	case o.ClusterVolumeSpec != nil:
		return InvalidParameterf("ClusterVolumeSpec is swarm's; Berth has no swarm mode")
	}
	o.Driver = "local"
	v, err := s.containers.VolumeCreate(r.Context(), o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (s *Server) inspectVolume(w http.ResponseWriter, r *http.Request) error {
	v, err := s.containers.VolumeInspect(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) removeVolume(w http.ResponseWriter, r *http.Request) error {
	if err := s.containers.VolumeRemove(r.Context(), r.PathValue("name"), boolValue(r.URL.Query(), "force")); err != nil {
		return err
	}
	return noContent(w)
}

// pruneVolumes removes the volumes no container uses: anonymous ones, or
// all with all=true.
func (s *Server) pruneVolumes(w http.ResponseWriter, r *http.Request) error {
	f, err := ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := checkFilters(f, volumePruneFilters); err != nil {
		return err
	}
	all := false
	switch vals := f["all"]; len(vals) {
	case 0:
	case 1:
		if all, err = strconv.ParseBool(strings.ToLower(vals[0])); err != nil {
			return InvalidParameterf("invalid filter 'all=%s'", vals[0])
		}
	default:
		return InvalidParameterf("invalid filter 'all': give one value")
	}
	vols, err := s.containers.VolumeList(r.Context())
	if err != nil {
		return err
	}
	used, err := s.volumesInUse(r.Context())
	if err != nil {
		return err
	}
	rep := &VolumesPruneReport{VolumesDeleted: []string{}}
	for _, v := range vols {
		if _, anon := v.Labels[AnonymousVolumeLabel]; used[v.Name] || (!all && !anon) ||
			!labelsMatch(f["label"], v.Labels) || (len(f["label!"]) > 0 && anyLabel(f["label!"], v.Labels)) {
			continue
		}
		if err := s.containers.VolumeRemove(r.Context(), v.Name, false); err != nil {
			s.log.Info("prune: volume not removed", "name", v.Name, "err", err)
			continue
		}
		rep.VolumesDeleted = append(rep.VolumesDeleted, v.Name)
		if v.UsageData != nil && v.UsageData.Size > 0 {
			rep.SpaceReclaimed += uint64(v.UsageData.Size)
		}
	}
	return writeJSON(w, http.StatusOK, rep)
}
