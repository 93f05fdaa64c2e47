package main

import (
	"bytes"
	"strings"
)

// headerRow is a table's header as templates see it: each field's
// column title, and for {{.Label "com.example.x"}} the key itself, as
// docker prints it.
type headerRow map[string]string

// Label is the header of a label column.
func (h headerRow) Label(name string) string { return name }

// writeTemplate prints rows with a --format as writeRows does, for rows
// with methods ({{.Label "x"}}) rather than maps.
func writeTemplate[T any](streams *IOStreams, format string, header headerRow, rows []T) error {
	table := false
	if rest, ok := strings.CutPrefix(format, "table"); ok {
		table, format = true, strings.TrimSpace(rest)
	}
	format = strings.ReplaceAll(format, `\t`, "\t")
	format = strings.ReplaceAll(format, `\n`, "\n")
	tmpl, err := parseFormat(format)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if table {
		if err := tmpl.Execute(&buf, header); err != nil {
			return usageErrorf("--format template: %v", err)
		}
		buf.WriteByte('\n')
	}
	for _, r := range rows {
		if err := tmpl.Execute(&buf, r); err != nil {
			return usageErrorf("--format template: %v", err)
		}
		buf.WriteByte('\n')
	}
	if !table {
		_, err := streams.Out.Write(buf.Bytes())
		return err
	}
	tw := newTable(streams)
	if _, err := tw.Write(buf.Bytes()); err != nil {
		return err
	}
	return tw.Flush()
}

// truncateID is an ID as docker shows it short: 12 hex digits.
func truncateID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}

// ellipsis shortens s to n runes, its last one "…", as docker's tables do.
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
