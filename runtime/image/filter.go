package image

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Filter keeps the images that pass Docker's image filters: dangling,
// label, before, since, reference and until. Several values of one key
// are alternatives, except label, whose values must all match.
func (s *Store) Filter(images []*Image, filters map[string][]string, now time.Time) ([]*Image, error) {
	for k := range filters {
		switch k {
		case "dangling", "label", "before", "since", "reference", "until":
		default:
			return nil, fmt.Errorf("%w: invalid filter '%s'", ErrInvalidParameter, k)
		}
	}
	var dangling *bool
	for _, v := range filters["dangling"] {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%w: invalid filter 'dangling=%s': use true or false", ErrInvalidParameter, v)
		}
		dangling = &b
	}
	var before, since *time.Time
	for key, dst := range map[string]**time.Time{"before": &before, "since": &since} {
		for _, v := range filters[key] {
			im, err := s.Get(v)
			if err != nil {
				return nil, fmt.Errorf("%w: filter %s=%s: %v", ErrInvalidParameter, key, v, err)
			}
			t := im.Config.Created.Time
			*dst = &t
		}
	}
	var until *time.Time
	for _, v := range filters["until"] {
		t, err := ParseTimestamp(v, now)
		if err != nil {
			return nil, fmt.Errorf("%w: filter until=%s: %v", ErrInvalidParameter, v, err)
		}
		until = &t
	}
	var want, not []string
	for _, l := range filters["label"] {
		if k, v, ok := strings.Cut(l, "!="); ok {
			not = append(not, k+"="+v)
		} else {
			want = append(want, l)
		}
	}
	var out []*Image
	for _, im := range images {
		created := im.Config.Created.Time
		switch {
		case dangling != nil && im.Dangling() != *dangling,
			before != nil && !created.Before(*before),
			since != nil && !created.After(*since),
			until != nil && !created.Before(*until),
			!MatchLabels(im.Config.Config.Labels, want, not):
			continue
		}
		if refs := filters["reference"]; len(refs) > 0 {
			// As dockerd, list only the names that match.
			tags := matchingTags(im.RepoTags, refs)
			if len(tags) == 0 {
				continue
			}
			im.RepoTags = tags
			im.RepoDigests = matchingTags(im.RepoDigests, refs)
		}
		out = append(out, im)
	}
	return out, nil
}

// matchingTags returns the names that match Docker's reference filter: a
// glob against the familiar name (nginx, nginx:1.22, library/nginx...).
func matchingTags(names, patterns []string) []string {
	var out []string
	for _, t := range names {
		ref, err := ParseReference(t)
		if err != nil {
			continue
		}
	match:
		for _, p := range patterns {
			for _, cand := range []string{ref.Familiar(), ref.FamiliarName(), ref.String(), ref.Name()} {
				if ok, _ := path.Match(p, cand); ok {
					out = append(out, t)
					break match
				}
			}
		}
	}
	return out
}

// ParseTimestamp reads Docker's filter times: RFC 3339 (or a date), Unix
// seconds, or a duration before now ("24h", "10m").
func ParseTimestamp(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Unix(int64(secs), 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a timestamp: write a duration (24h), Unix seconds or RFC 3339")
}
