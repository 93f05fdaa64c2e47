package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// document is what scan learned of a JSON document: its top-level keys in
// order and where every key and value starts, by path ("proxies.no-proxy",
// "mirrors.ghcr.io.endpoints[0].url").
type document struct {
	data     []byte
	topKeys  []string
	keyOff   map[string]int64
	valueOff map[string]int64
}

// lineCol is ":line:col" of a byte offset.
func (d *document) lineCol(off int64) string {
	off = min(max(off, 0), int64(len(d.data)))
	before := d.data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - int64(bytes.LastIndexByte(before, '\n'))
	return fmt.Sprintf(":%d:%d", line, col)
}

// at is ":line:col" of the key at path, or "" when unknown.
func (d *document) at(path string) string {
	if off, ok := d.keyOff[path]; ok {
		return d.lineCol(off)
	}
	return ""
}

// frame is one open object or array during scan.
type frame struct {
	object    bool
	path      string
	keys      map[string]bool
	expectKey bool
	key       string // the object's current key
	index     int    // the array's next index
}

// scan walks the document's tokens: it reports syntax errors, a top level
// that is not an object, and duplicate keys at any depth, each with its
// position, and records where keys and values are.
func scan(data []byte) (*document, error) {
	d := &document{data: data, keyOff: map[string]int64{}, valueOff: map[string]int64{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	// childPath is the path of the value about to start.
	childPath := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		if top.object {
			return join(top.path, top.key)
		}
		return top.path + "[" + strconv.Itoa(top.index) + "]"
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.object {
			top.expectKey = true
		} else {
			top.index++
		}
	}
	closed := false
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if !closed {
				return nil, fmt.Errorf("%s: unexpected end of file", d.lineCol(int64(len(data))))
			}
			return d, nil
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("%s: %v", d.lineCol(badCharOffset(data, se)), err)
			}
			return nil, fmt.Errorf("%s: %v", d.lineCol(dec.InputOffset()), err)
		}
		// Where the token starts: after the space, ':' or ',' before it.
		start := before
		for start < int64(len(data)) && (isSpace(data[start]) || data[start] == ':' || data[start] == ',') {
			start++
		}
		if closed {
			return nil, fmt.Errorf("%s: unexpected data after the closing brace", d.lineCol(start))
		}
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.object && top.expectKey {
				if delim, ok := tok.(json.Delim); ok && delim == '}' {
					stack = stack[:len(stack)-1]
					closed = len(stack) == 0
					valueDone()
					continue
				}
				key := tok.(string)
				path := join(top.path, key)
				keyStart := keyStartBefore(data, dec.InputOffset())
				if top.keys[key] {
					return nil, fmt.Errorf("%s: %q appears twice; keep one", d.lineCol(keyStart), path)
				}
				top.keys[key] = true
				top.key, top.expectKey = key, false
				d.keyOff[path] = keyStart
				if len(stack) == 1 {
					d.topKeys = append(d.topKeys, key)
				}
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == 0 && t != '{' {
					return nil, fmt.Errorf("%s: the file must hold one JSON object ({...})", d.lineCol(start))
				}
				path := childPath()
				d.valueOff[path] = start
				stack = append(stack, &frame{object: t == '{', path: path, keys: map[string]bool{}, expectKey: t == '{'})
			case ']', '}':
				stack = stack[:len(stack)-1]
				closed = len(stack) == 0
				valueDone()
			}
		default:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%s: the file must hold one JSON object ({...})", d.lineCol(start))
			}
			d.valueOff[childPath()] = start
			valueDone()
		}
	}
}

// badCharOffset is where a syntax error's character is. The decoder's
// offset may stop short of it, at the ':' or ',' before the value.
func badCharOffset(data []byte, se *json.SyntaxError) int64 {
	off := min(max(se.Offset, 0), int64(len(data)))
	rest, ok := strings.CutPrefix(se.Error(), "invalid character '")
	if !ok || len(rest) < 2 || rest[1] != '\'' {
		return off
	}
	for i := off; i < int64(len(data)); i++ {
		switch {
		case data[i] == rest[0]:
			return i
		case isSpace(data[i]) || data[i] == ':' || data[i] == ',':
		default:
			return off
		}
	}
	return off
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// keyStartBefore finds the opening quote of the key whose closing quote
// ends just before end.
func keyStartBefore(data []byte, end int64) int64 {
	for i := end - 2; i >= 0; i-- {
		if data[i] == '"' && (i == 0 || data[i-1] != '\\') {
			return i
		}
	}
	return 0
}

// posError is a mistake at a byte offset of the document.
type posError struct {
	off int64
	err error
}

func (e *posError) Error() string { return e.err.Error() }
func (e *posError) Unwrap() error { return e.err }

// decodeStrict decodes the value at path into ptr: every key of every
// object must be a field of the target (suggesting the nearest when one is
// misspelt), and types must match.
func decodeStrict(d *document, raw json.RawMessage, ptr any, path string) error {
	if err := checkKeys(d, raw, reflect.TypeOf(ptr).Elem(), path); err != nil {
		return err
	}
	err := json.Unmarshal(raw, ptr)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// The value that failed is the innermost one scan saw starting
		// before where decoding stopped (Field lacks map keys and list
		// indices, so it cannot be looked up).
		end := d.valueOff[path] + te.Offset
		what, off := path, d.valueOff[path]
		for p, o := range d.valueOff {
			if (p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[")) && o < end && o > off {
				what, off = p, o
			}
		}
		return &posError{off: off, err: fmt.Errorf("%q: expected %s, got %s", what, describe(te.Type), te.Value)}
	}
	if err != nil {
		return &posError{off: d.valueOff[path], err: fmt.Errorf("%q: %v", path, err)}
	}
	return nil
}

// checkKeys walks raw along t, refusing object keys t has no field for.
func checkKeys(d *document, raw json.RawMessage, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	raw = bytes.TrimSpace(raw)
	switch t.Kind() {
	case reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil // a type error; Unmarshal says it
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			if name := jsonName(f); name != "" {
				fields[name] = f.Type
			}
		}
		for _, k := range sortedKeys(m) {
			ft, ok := fields[k]
			if !ok {
				err := unknownKey(k, jsonKeys(t))
				return &posError{off: d.keyOff[join(path, k)], err: fmt.Errorf("%s (in %q)", err, path)}
			}
			if err := checkKeys(d, m[k], ft, join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Map:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		for _, k := range sortedKeys(m) {
			if err := checkKeys(d, m[k], t.Elem(), join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		var s []json.RawMessage
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		for i, v := range s {
			if err := checkKeys(d, v, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonName is a struct field's JSON key, or "" for fields JSON skips.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

// jsonKeys lists a struct type's JSON keys.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// fieldsByKey maps the JSON keys of a struct value to its fields.
func fieldsByKey(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	for i := range v.NumField() {
		if name := jsonName(v.Type().Field(i)); name != "" {
			out[name] = v.Field(i)
		}
	}
	return out
}

// describe names a Go type as a daemon.json author knows it.
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32:
		return "a whole number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}
