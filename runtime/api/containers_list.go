package api

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Filters of GET /containers/json and POST /containers/prune.
var (
	containerListFilters  = []string{"id", "name", "label", "status", "exited", "ancestor", "before", "since", "network"}
	containerPruneFilters = []string{"until", "label", "label!"}
	containerStates       = []string{"created", "restarting", "running", "removing", "paused", "exited", "dead"}
)

var unixTimeRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,9})?$`)

// parseTime reads a time as Docker's filters and log bounds take it: a Go
// duration before now ("10m", "1h30m"), Unix seconds with an optional
// fraction ("1700000000.123456789"), or an RFC 3339 date or date-time
// (local time when it has no zone).
func parseTime(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if unixTimeRE.MatchString(v) {
		sec, frac, _ := strings.Cut(v, ".")
		s, err := strconv.ParseInt(sec, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid timestamp %q", v)
		}
		ns, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		return time.Unix(s, ns), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: a duration (10m), a Unix timestamp or an RFC 3339 date", v)
}

// ParseTime is parseTime for clients: berth logs --since converts its
// argument as the docker CLI does before sending it.
func ParseTime(v string, now time.Time) (time.Time, error) { return parseTime(v, now) }

// parseRFC3339 reads the times of ContainerJSON; empty or malformed is the
// zero time.
func parseRFC3339(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// StatusString is docker ps's STATUS for a state: "Up 2 seconds",
// "Exited (0) 3 seconds ago", "Created", "Up 1 minute (Paused)".
func StatusString(st *ContainerState, now time.Time) string {
	if st == nil {
		return ""
	}
	started, finished := parseRFC3339(st.StartedAt), parseRFC3339(st.FinishedAt)
	switch {
	case st.Running && st.Paused:
		return "Up " + humanDuration(now.Sub(started)) + " (Paused)"
	case st.Running && st.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, humanDuration(now.Sub(finished)))
	case st.Running:
		return "Up " + humanDuration(now.Sub(started))
	case st.Status == "removing":
		return "Removal In Progress"
	case st.Dead:
		return "Dead"
	case started.IsZero():
		return "Created"
	case finished.IsZero():
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, humanDuration(now.Sub(finished)))
}

// humanDuration is go-units' HumanDuration, the wording of docker ps.
func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	}
	if m := int(d.Minutes()); m == 1 {
		return "About a minute"
	} else if m < 60 {
		return fmt.Sprintf("%d minutes", m)
	}
	h := int(d.Hours() + 0.5)
	switch {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	case h < 24*7*2:
		return fmt.Sprintf("%d days", h/24)
	case h < 24*30*2:
		return fmt.Sprintf("%d weeks", h/24/7)
	case h < 24*365*2:
		return fmt.Sprintf("%d months", h/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// summary is the docker ps entry of an inspected container.
func summary(c *ContainerJSON, now time.Time) Container {
	out := Container{
		ID: c.ID, Names: []string{"/" + strings.TrimPrefix(c.Name, "/")}, ImageID: c.Image,
		Command: commandLine(c.Path, c.Args), Created: parseRFC3339(c.Created).Unix(),
		Ports: []Port{}, Labels: map[string]string{}, Mounts: c.Mounts,
		NetworkSettings: &SummaryNetworkSettings{Networks: map[string]*EndpointSettings{}},
	}
	if c.Config != nil {
		out.Image = c.Config.Image
		if c.Config.Labels != nil {
			out.Labels = c.Config.Labels
		}
	}
	if out.Image == "" {
		out.Image = c.Image
	}
	if c.State != nil {
		out.State = c.State.Status
		out.Status = StatusString(c.State, now)
	}
	if c.HostConfig != nil {
		out.HostConfig.NetworkMode = c.HostConfig.NetworkMode
	}
	if c.NetworkSettings != nil && c.NetworkSettings.Networks != nil {
		out.NetworkSettings.Networks = c.NetworkSettings.Networks
	}
	if c.NetworkSettings != nil {
		out.Ports = PortSummary(c.NetworkSettings.Ports)
	}
	if out.Mounts == nil {
		out.Mounts = []MountPoint{}
	}
	if c.SizeRw != nil {
		out.SizeRw = *c.SizeRw
	}
	if c.SizeRootFs != nil {
		out.SizeRootFs = *c.SizeRootFs
	}
	return out
}

// commandLine is docker ps's COMMAND: the arguments that contain a space
// in single quotes.
func commandLine(p string, args []string) string {
	parts := []string{p}
	for _, a := range args {
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// running says ps lists the container without --all.
func running(c *ContainerJSON) bool { return c.State != nil && c.State.Running }

// filterMatch is Docker's filters.Match: a value equal to the source, or a
// regular expression found in it.
func filterMatch(values []string, source string) bool {
	for _, v := range values {
		if v == source {
			return true
		}
		if re, err := regexp.Compile(v); err == nil && re.MatchString(source) {
			return true
		}
	}
	return false
}

// labelsMatch is Docker's MatchKVList: every "key" must be present and
// every "key=value" equal.
func labelsMatch(values []string, labels map[string]string) bool {
	for _, v := range values {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	return true
}

func containerLabels(c *ContainerJSON) map[string]string {
	if c.Config == nil {
		return nil
	}
	return c.Config.Labels
}

// findIn resolves a reference among the listed containers, as the engine
// does: full ID, name, then unique ID prefix.
func findIn(list []*ContainerJSON, ref string) (*ContainerJSON, error) {
	for _, c := range list {
		if c.ID == ref || strings.TrimPrefix(c.Name, "/") == strings.TrimPrefix(ref, "/") {
			return c, nil
		}
	}
	var found *ContainerJSON
	for _, c := range list {
		if ref != "" && strings.HasPrefix(c.ID, ref) {
			if found != nil {
				return nil, InvalidParameterf("multiple IDs found with provided prefix: %s", ref)
			}
			found = c
		}
	}
	if found == nil {
		return nil, NotFoundf("No such container: %s", ref)
	}
	return found, nil
}

// listContainers applies ps's options to the backend's containers: newest
// first, running ones unless all (which status, exited and limit imply),
// the filters, then the limit.
func (s *Server) listContainers(ctx context.Context, list []*ContainerJSON, all bool, limit int, f map[string][]string, now time.Time) ([]Container, error) {
	for _, v := range f["status"] {
		if !slices.Contains(containerStates, v) {
			return nil, InvalidParameterf("invalid filter 'status=%s'", v)
		}
	}
	var exited []int
	for _, v := range f["exited"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, InvalidParameterf("invalid filter 'exited=%s'", v)
		}
		exited = append(exited, n)
	}
	if len(f["status"]) > 0 || len(exited) > 0 || limit > 0 {
		all = true
	}
	sort.SliceStable(list, func(i, j int) bool {
		ti, tj := parseRFC3339(list[i].Created), parseRFC3339(list[j].Created)
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return list[i].ID < list[j].ID
	})
	var before, since time.Time
	for _, k := range []string{"before", "since"} {
		for _, v := range f[k] {
			c, err := findIn(list, v)
			if err != nil {
				return nil, err
			}
			t := parseRFC3339(c.Created)
			if k == "before" {
				before = t
			} else {
				since = t
			}
		}
	}
	var ancestors []string
	for _, a := range f["ancestor"] {
		ancestors = append(ancestors, a)
		if img, err := s.images.Inspect(ctx, a); err == nil {
			ancestors = append(ancestors, img.ID)
		}
	}
	out := []Container{}
	for _, c := range list {
		if !all && !running(c) {
			continue
		}
		created := parseRFC3339(c.Created)
		name := strings.TrimPrefix(c.Name, "/")
		var st ContainerState
		if c.State != nil {
			st = *c.State
		}
		switch {
		case len(f["id"]) > 0 && !filterMatch(f["id"], c.ID),
			len(f["name"]) > 0 && !filterMatch(f["name"], "/"+name) && !filterMatch(f["name"], name),
			len(f["label"]) > 0 && !labelsMatch(f["label"], containerLabels(c)),
			len(f["status"]) > 0 && !slices.Contains(f["status"], st.Status),
			len(exited) > 0 && (st.Running || parseRFC3339(st.StartedAt).IsZero() || !slices.Contains(exited, st.ExitCode)),
			len(f["ancestor"]) > 0 && !matchAncestor(ancestors, c),
			len(f["network"]) > 0 && !onNetwork(f["network"], c),
			!before.IsZero() && !created.Before(before),
			!since.IsZero() && !created.After(since):
			continue
		}
		out = append(out, summary(c, now))
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// onNetwork says whether the container is on one of the networks named
// (by name or ID).
func onNetwork(names []string, c *ContainerJSON) bool {
	if c.NetworkSettings == nil {
		return false
	}
	for name, ep := range c.NetworkSettings.Networks {
		for _, n := range names {
			if n == name || ep != nil && ep.NetworkID != "" && strings.HasPrefix(ep.NetworkID, n) {
				return true
			}
		}
	}
	return false
}

// PortSummary is ps's Ports from inspect's: one entry per host binding,
// and one without a public port for an exposed port not published, in
// the order of the container ports.
func PortSummary(ports map[string][]PortBinding) []Port {
	out := []Port{}
	for key, bindings := range ports {
		port, proto, _ := strings.Cut(key, "/")
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			continue
		}
		if len(bindings) == 0 {
			out = append(out, Port{PrivatePort: uint16(n), Type: proto})
		}
		for _, b := range bindings {
			pub, _ := strconv.ParseUint(b.HostPort, 10, 16)
			out = append(out, Port{IP: b.HostIP, PrivatePort: uint16(n), PublicPort: uint16(pub), Type: proto})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.PrivatePort != b.PrivatePort {
			return a.PrivatePort < b.PrivatePort
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.IP != b.IP {
			return a.IP < b.IP
		}
		return a.PublicPort < b.PublicPort
	})
	return out
}

// matchAncestor says whether the container was created from one of the
// images named (by the name the user gave, or the image's ID).
func matchAncestor(ancestors []string, c *ContainerJSON) bool {
	image := ""
	if c.Config != nil {
		image = c.Config.Image
	}
	for _, a := range ancestors {
		if a == c.Image || a == image || normalizeImage(a) == normalizeImage(image) ||
			(len(a) >= 4 && strings.HasPrefix(strings.TrimPrefix(c.Image, "sha256:"), strings.TrimPrefix(a, "sha256:"))) {
			return true
		}
	}
	return false
}

// normalizeImage is the short form of an image name: docker.io/library/
// dropped, :latest added.
func normalizeImage(ref string) string {
	if ref == "" {
		return ""
	}
	ref = strings.TrimPrefix(ref, "docker.io/")
	ref = strings.TrimPrefix(ref, "library/")
	if !strings.Contains(ref, "@") && !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		ref += ":latest"
	}
	return ref
}
