package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// checkQuery rejects a query parameter the route does not know: Berth
// answers what it cannot do with a 400 naming it, never by ignoring it.
func checkQuery(q url.Values, route string, known []string) error {
	var unknown []string
	for k := range q {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return InvalidParameterf("%s: query parameter %q is not supported by Berth", route, unknown[0])
}

// boolValue reads a boolean query parameter as dockerd does: empty, "0",
// "no", "false" and "none" are false, anything else true.
func boolValue(q url.Values, key string) bool {
	switch strings.ToLower(strings.TrimSpace(q.Get(key))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

// ParseFilters decodes the "filters" query parameter in both of Docker's
// forms: {"dangling":["true"]} and the older {"dangling":{"true":true}}
// that the docker CLI still sends. Values come back sorted.
func ParseFilters(s string) (map[string][]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, InvalidParameterf("invalid filters %q: %v", s, err)
	}
	out := make(map[string][]string, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		var vals []string
		switch {
		case bytes.HasPrefix(v, []byte("[")):
			if err := json.Unmarshal(v, &vals); err != nil {
				return nil, InvalidParameterf("invalid filter %q: expected a list of strings", k)
			}
		case bytes.HasPrefix(v, []byte("{")):
			var m map[string]bool
			if err := json.Unmarshal(v, &m); err != nil {
				return nil, InvalidParameterf("invalid filter %q: expected {\"value\": true}", k)
			}
			// dockerd keeps every key of the old form, whatever its bool.
			for val := range m {
				vals = append(vals, val)
			}
		default:
			return nil, InvalidParameterf("invalid filter %q: expected a list of strings", k)
		}
		sort.Strings(vals)
		out[k] = vals
	}
	return out, nil
}

// EncodeFilters is the "filters" parameter for f, in the form every Docker
// engine version accepts (the one the docker CLI sends).
func EncodeFilters(f map[string][]string) string {
	if len(f) == 0 {
		return ""
	}
	m := make(map[string]map[string]bool, len(f))
	for k, vals := range f {
		m[k] = map[string]bool{}
		for _, v := range vals {
			m[k][v] = true
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// checkFilters rejects filter keys the route does not implement, and
// dangling values that are not booleans, with dockerd's messages.
func checkFilters(f map[string][]string, known []string) error {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return InvalidParameterf("invalid filter '%s'", k)
		}
	}
	for _, v := range f["dangling"] {
		switch strings.ToLower(v) {
		case "true", "false", "1", "0":
		default:
			// dockerd prints the values as a Go list: 'dangling=[maybe]'.
			return InvalidParameterf("invalid filter 'dangling=%s'", f["dangling"])
		}
	}
	if len(f["dangling"]) > 1 {
		return InvalidParameter(fmt.Errorf("invalid filter 'dangling': give one value"))
	}
	return nil
}
