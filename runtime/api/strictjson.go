package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
)

// decodeStrict decodes a JSON request body as decodeBody does, and names
// an unknown field by its whole path ("HostConfig.Colour"), so the 400
// says where it is.
func decodeStrict(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return InvalidParameterf("%s %s: reading the body: %v", r.Method, r.URL.Path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return InvalidParameterf("%s %s: the request has no body", r.Method, r.URL.Path)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			if p := unknownField(data, reflect.TypeOf(v), ""); p != "" {
				return InvalidParameterf("%s %s: field %q is not supported by Berth", r.Method, r.URL.Path, p)
			}
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return InvalidParameterf("%s %s: field %q: %s is not a %s", r.Method, r.URL.Path, ute.Field, ute.Value, ute.Type)
		}
		return InvalidParameterf("%s %s: %v", r.Method, r.URL.Path, jsonFieldError(err))
	}
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

// unknownField is the path of the first key of data (sorted at each
// level) that type t has no field for, or "".
func unknownField(data []byte, t reflect.Type, prefix string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == timeType {
			return ""
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil {
			return ""
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f, ok := fields[strings.ToLower(k)]
			if !ok {
				return prefix + k
			}
			if p := unknownField(obj[k], f, prefix+k+"."); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		var list []json.RawMessage
		if json.Unmarshal(data, &list) != nil {
			return ""
		}
		for i, e := range list {
			if p := unknownField(e, t.Elem(), fmt.Sprintf("%s[%d].", strings.TrimSuffix(prefix, "."), i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil {
			return ""
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if p := unknownField(m[k], t.Elem(), fmt.Sprintf("%s[%q].", strings.TrimSuffix(prefix, "."), k)); p != "" {
				return p
			}
		}
	}
	return ""
}

// jsonFields maps the lower-cased JSON names of t's fields (embedded
// structs' promoted) to their types, as encoding/json matches keys.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[strings.ToLower(name)] = f.Type
	}
	return out
}
