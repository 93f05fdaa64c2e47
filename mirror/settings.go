package mirror

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Settings are daemon.json's mirror keys as written, in file order: what
// NewConfig validates, and what `berth mirror add`, `rm`, `rank --apply`,
// `import` and `export` read and change.
type Settings struct {
	RegistryMirrors    []string
	InsecureRegistries []string
	Mirrors            []RegistryMirrors
}

// RegistryMirrors is one entry of the "mirrors" map.
type RegistryMirrors struct {
	// Registry is the key as written ("ghcr.io").
	Registry string
	RegistryConfig
}

// Config validates the settings as the daemon will.
func (s *Settings) Config(opts ...Option) (*Config, error) {
	var m map[string]RegistryConfig
	if len(s.Mirrors) > 0 {
		m = map[string]RegistryConfig{}
		for _, r := range s.Mirrors {
			if _, dup := m[r.Registry]; dup {
				return nil, fmt.Errorf("mirrors: %q appears twice; keep one", r.Registry)
			}
			m[r.Registry] = r.RegistryConfig
		}
	}
	return NewConfig(s.RegistryMirrors, s.InsecureRegistries, m, opts...)
}

// Clone is a deep copy.
func (s Settings) Clone() Settings {
	out := Settings{RegistryMirrors: slices.Clone(s.RegistryMirrors), InsecureRegistries: slices.Clone(s.InsecureRegistries)}
	for _, r := range s.Mirrors {
		r.Endpoints = slices.Clone(r.Endpoints)
		for i := range r.Endpoints {
			r.Endpoints[i].Capabilities = slices.Clone(r.Endpoints[i].Capabilities)
		}
		if r.Fallback != nil {
			f := *r.Fallback
			r.Fallback = &f
		}
		out.Mirrors = append(out.Mirrors, r)
	}
	return out
}

// Registry is the "mirrors" entry of registry (by its normalised name), or
// nil.
func (s *Settings) Registry(registry string) *RegistryMirrors {
	reg := NormalizeRegistry(registry)
	for i := range s.Mirrors {
		if NormalizeRegistry(s.Mirrors[i].Registry) == reg {
			return &s.Mirrors[i]
		}
	}
	return nil
}

func (s *Settings) ensure(registry string) *RegistryMirrors {
	if r := s.Registry(registry); r != nil {
		return r
	}
	s.Mirrors = append(s.Mirrors, RegistryMirrors{Registry: NormalizeRegistry(registry)})
	return &s.Mirrors[len(s.Mirrors)-1]
}

// ErrExists is returned by AddEndpoint for an endpoint already configured.
var ErrExists = errors.New("already configured")

// plain reports whether an endpoint has no setting but its URL, so that a
// Docker Hub mirror can be written in Docker's registry-mirrors.
func (ec EndpointConfig) plain() bool {
	return !ec.Insecure && ec.CA == "" && len(ec.Capabilities) == 0
}

// AddEndpoint adds a mirror of registry, last or first. A Docker Hub mirror
// with nothing but a URL goes to registry-mirrors, as Docker writes it; any
// other to the "mirrors" map.
func (s *Settings) AddEndpoint(registry string, ec EndpointConfig, first bool) error {
	reg := NormalizeRegistry(registry)
	for _, u := range s.EndpointURLs(reg) {
		if SameEndpoint(u, ec.URL) {
			return fmt.Errorf("%s is %w as a mirror of %s", ec.URL, ErrExists, reg)
		}
	}
	if reg == DockerHub && ec.plain() {
		if first {
			s.RegistryMirrors = append([]string{ec.URL}, s.RegistryMirrors...)
		} else {
			s.RegistryMirrors = append(s.RegistryMirrors, ec.URL)
		}
		return nil
	}
	if reg == DockerHub && first && len(s.RegistryMirrors) > 0 {
		return fmt.Errorf("a Docker Hub mirror with settings (insecure, ca, capabilities) is listed under \"mirrors\", which pulls try after \"registry-mirrors\"; it cannot come first")
	}
	r := s.ensure(reg)
	if first {
		r.Endpoints = append([]EndpointConfig{ec}, r.Endpoints...)
	} else {
		r.Endpoints = append(r.Endpoints, ec)
	}
	return nil
}

// EndpointURLs are the mirrors of registry in pull order.
func (s *Settings) EndpointURLs(registry string) []string {
	reg := NormalizeRegistry(registry)
	var out []string
	if reg == DockerHub {
		out = slices.Clone(s.RegistryMirrors)
	}
	if r := s.Registry(reg); r != nil {
		for _, ec := range r.Endpoints {
			out = append(out, ec.URL)
		}
	}
	return out
}

// RemoveEndpoint removes the mirror url from registry, or from whichever
// registry has it when registry is "". It returns the registries it was
// removed from. A "mirrors" entry left without endpoints or settings is
// dropped.
func (s *Settings) RemoveEndpoint(registry, url string) ([]string, error) {
	var from []string
	want := NormalizeRegistry(registry)
	if registry == "" || want == DockerHub {
		n := len(s.RegistryMirrors)
		s.RegistryMirrors = slices.DeleteFunc(s.RegistryMirrors, func(u string) bool { return SameEndpoint(u, url) })
		if len(s.RegistryMirrors) != n {
			from = append(from, DockerHub)
		}
	}
	for i := range s.Mirrors {
		r := &s.Mirrors[i]
		reg := NormalizeRegistry(r.Registry)
		if registry != "" && reg != want {
			continue
		}
		n := len(r.Endpoints)
		r.Endpoints = slices.DeleteFunc(r.Endpoints, func(ec EndpointConfig) bool { return SameEndpoint(ec.URL, url) })
		if len(r.Endpoints) != n && !slices.Contains(from, reg) {
			from = append(from, reg)
		}
	}
	s.Mirrors = slices.DeleteFunc(s.Mirrors, func(r RegistryMirrors) bool {
		return len(r.Endpoints) == 0 && r.Fallback == nil && r.Probe == ""
	})
	if len(from) == 0 {
		where := "any registry"
		if registry != "" {
			where = want
		}
		return nil, fmt.Errorf("%s is not a mirror of %s (berth mirror ls lists them)", url, where)
	}
	return from, nil
}

// Reorder puts registry's mirrors in the order of ranked (URLs), within
// each list they are in: registry-mirrors and the "mirrors" entry. It
// reports whether the result is the ranked order: Docker Hub's
// registry-mirrors always come before its "mirrors" entry, so a rank that
// interleaves the two lists cannot be written.
func (s *Settings) Reorder(registry string, ranked []string) bool {
	reg := NormalizeRegistry(registry)
	if reg == DockerHub {
		s.RegistryMirrors = Reorder(s.RegistryMirrors, ranked)
	}
	if r := s.Registry(reg); r != nil {
		urls := make([]string, len(r.Endpoints))
		for i, ec := range r.Endpoints {
			urls[i] = ec.URL
		}
		sorted := make([]EndpointConfig, 0, len(r.Endpoints))
		for _, u := range Reorder(urls, ranked) {
			i := slices.IndexFunc(r.Endpoints, func(ec EndpointConfig) bool { return ec.URL == u })
			sorted = append(sorted, r.Endpoints[i])
		}
		r.Endpoints = sorted
	}
	got := s.EndpointURLs(reg)
	return slices.Equal(got, Reorder(got, ranked))
}

// Document is a daemon.json being edited: its top-level keys stay in their
// order and, but for the mirror keys that change, byte for byte.
type Document struct {
	keys   []docKey
	indent string
	orig   Settings
	cur    Settings
}

type docKey struct {
	name string
	raw  []byte
}

// Mirror keys of daemon.json.
const (
	keyRegistryMirrors    = "registry-mirrors"
	keyInsecureRegistries = "insecure-registries"
	keyMirrors            = "mirrors"
)

// ParseDocument reads daemon.json's content for editing; an empty file is
// an empty object. It checks only what it needs (the mirror keys' types):
// validate the file as the daemon does before and after editing.
func ParseDocument(data []byte) (*Document, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	d := &Document{indent: "  "}
	if len(bytes.TrimSpace(data)) == 0 {
		return d, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(d.keys, func(k docKey) bool { return k.name == key }) {
			return nil, fmt.Errorf("%q appears twice", key)
		}
		d.keys = append(d.keys, docKey{key, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the object")
	}
	// The indentation of the first key is the file's.
	if i := bytes.IndexByte(data, '{'); i >= 0 {
		rest := data[i+1:]
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			line := rest[nl+1:]
			n := 0
			for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
				n++
			}
			if n > 0 {
				d.indent = string(line[:n])
			}
		}
	}
	for _, k := range d.keys {
		var err error
		switch k.name {
		case keyRegistryMirrors:
			err = json.Unmarshal(k.raw, &d.orig.RegistryMirrors)
		case keyInsecureRegistries:
			err = json.Unmarshal(k.raw, &d.orig.InsecureRegistries)
		case keyMirrors:
			d.orig.Mirrors, err = decodeMirrors(k.raw)
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k.name, err)
		}
	}
	d.cur = d.orig.Clone()
	return d, nil
}

// decodeMirrors reads the "mirrors" map in file order.
func decodeMirrors(raw []byte) ([]RegistryMirrors, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("expected an object")
	}
	var out []RegistryMirrors
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		r := RegistryMirrors{Registry: tok.(string)}
		if err := dec.Decode(&r.RegistryConfig); err != nil {
			return nil, fmt.Errorf("%q: %w", r.Registry, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Settings are the document's mirror settings (a copy).
func (d *Document) Settings() Settings { return d.cur.Clone() }

// SetSettings replaces the mirror settings.
func (d *Document) SetSettings(s Settings) { d.cur = s.Clone() }

// Changed reports whether the mirror settings differ from the file's.
func (d *Document) Changed() bool {
	a, _ := json.Marshal(d.orig)
	b, _ := json.Marshal(d.cur)
	return !bytes.Equal(a, b)
}

// Bytes is the edited file: every key in its place, untouched values as
// they were, changed mirror keys rewritten and new ones appended.
func (d *Document) Bytes() []byte {
	list := func(l []string) []byte {
		if len(l) == 0 {
			return []byte("[]")
		}
		b, _ := json.MarshalIndent(l, d.indent, d.indent)
		return b
	}
	differ := func(a, b any) bool {
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		return !bytes.Equal(x, y)
	}
	type value struct {
		changed, present bool
		raw              []byte
	}
	mirrorKeys := []string{keyRegistryMirrors, keyInsecureRegistries, keyMirrors}
	values := map[string]value{
		keyRegistryMirrors:    {differ(d.orig.RegistryMirrors, d.cur.RegistryMirrors), len(d.cur.RegistryMirrors) > 0, list(d.cur.RegistryMirrors)},
		keyInsecureRegistries: {differ(d.orig.InsecureRegistries, d.cur.InsecureRegistries), len(d.cur.InsecureRegistries) > 0, list(d.cur.InsecureRegistries)},
		keyMirrors:            {differ(d.orig.Mirrors, d.cur.Mirrors), len(d.cur.Mirrors) > 0, d.encodeMirrors()},
	}
	out := slices.Clone(d.keys)
	for i, k := range out {
		if v, ok := values[k.name]; ok && v.changed {
			out[i].raw = v.raw
		}
	}
	for _, name := range mirrorKeys {
		present := slices.ContainsFunc(d.keys, func(k docKey) bool { return k.name == name })
		if v := values[name]; !present && v.present {
			out = append(out, docKey{name, v.raw})
		}
	}
	if len(out) == 0 {
		return []byte("{}\n")
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range out {
		name, _ := json.Marshal(k.name)
		fmt.Fprintf(&b, "%s%s: %s", d.indent, name, k.raw)
		if i < len(out)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// encodeMirrors writes the "mirrors" map in its order, indented as the
// file is.
func (d *Document) encodeMirrors() []byte {
	if len(d.cur.Mirrors) == 0 {
		return []byte("{}")
	}
	in := d.indent
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, r := range d.cur.Mirrors {
		name, _ := json.Marshal(r.Registry)
		val, _ := json.MarshalIndent(r.RegistryConfig, in+in, in)
		fmt.Fprintf(&b, "%s%s%s: %s", in, in, name, val)
		if i < len(d.cur.Mirrors)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(in + "}")
	return b.Bytes()
}

// Merge adds what other has and s lacks: endpoints (by SameEndpoint, after
// s's own), insecure registries, and a registry's fallback and probe when s
// does not set them. It returns one line per conflict it left as s has it.
func (s *Settings) Merge(other Settings) []string {
	var notes []string
	for _, u := range other.RegistryMirrors {
		if err := s.AddEndpoint(DockerHub, EndpointConfig{URL: u}, false); err != nil && !errors.Is(err, ErrExists) {
			notes = append(notes, err.Error())
		}
	}
	for _, in := range other.InsecureRegistries {
		if !slices.ContainsFunc(s.InsecureRegistries, func(x string) bool { return strings.EqualFold(x, in) }) {
			s.InsecureRegistries = append(s.InsecureRegistries, in)
		}
	}
	for _, r := range other.Mirrors {
		reg := NormalizeRegistry(r.Registry)
		for _, ec := range r.Endpoints {
			have := s.EndpointURLs(reg)
			if slices.ContainsFunc(have, func(u string) bool { return SameEndpoint(u, ec.URL) }) {
				continue
			}
			t := s.ensure(reg)
			t.Endpoints = append(t.Endpoints, ec)
		}
		if r.Fallback != nil {
			t := s.ensure(reg)
			switch {
			case t.Fallback == nil:
				f := *r.Fallback
				t.Fallback = &f
			case *t.Fallback != *r.Fallback:
				notes = append(notes, fmt.Sprintf("%s: kept \"fallback\": %t (the import says %t)", reg, *t.Fallback, *r.Fallback))
			}
		}
		if r.Probe != "" {
			t := s.ensure(reg)
			if t.Probe == "" {
				t.Probe = r.Probe
			}
		}
	}
	return notes
}
