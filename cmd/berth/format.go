package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
)

// formatFuncs are the template functions docker's --format offers.
var formatFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":     strings.Join,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"title":    func(s string) string { return strings.ToUpper(s[:min(1, len(s))]) + s[min(1, len(s)):] },
	"split":    strings.Split,
	"truncate": func(s string, n int) string { return s[:min(n, len(s))] },
	"pad": func(s string, before, after int) string {
		return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
	},
}

// parseFormat compiles a --format template; "table" directives are
// handled by writeRows.
func parseFormat(format string) (*template.Template, error) {
	tmpl, err := template.New("format").Funcs(formatFuncs).Parse(format)
	if err != nil {
		return nil, usageErrorf("invalid --format template: %v", err)
	}
	return tmpl, nil
}

// writeRows prints rows (maps of docker's field names) with a --format:
// "table ..." prints a header of headers and aligned columns; another
// template prints one line per row.
func writeRows(streams *IOStreams, format string, headers map[string]string, rows []map[string]any) error {
	return writeTemplate(streams, format, headerRow(headers), rows)
}

// jsonIndent prints v as docker's inspect does: an indented JSON array.
func jsonIndent(v any) ([]byte, error) {
	// Unescaped, as the docker CLI prints dockerd's "<none>:<none>".
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	return b.Bytes(), nil
}
