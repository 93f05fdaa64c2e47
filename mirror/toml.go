package mirror

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A strict reader of the TOML that containerd's hosts.toml and
// containers-registries.conf(5) use: comments, [tables] and [[arrays of
// tables]] with bare, quoted and dotted keys, strings (basic and literal),
// booleans, integers, arrays (across lines) and one-line inline tables.
// Anything else (dates, multi-line strings, floats) is an error naming the
// line, never a guess: these files decide where images come from.

// tomlTable is a TOML table with its keys in file order.
type tomlTable struct {
	keys []string
	vals map[string]any // string, bool, int64, []any, *tomlTable, []*tomlTable
	line map[string]int
	// defined is set once a [header] or key = {inline} defined the table.
	defined bool
}

func newTable() *tomlTable {
	return &tomlTable{vals: map[string]any{}, line: map[string]int{}}
}

func (t *tomlTable) set(key string, v any, line int) error {
	if _, ok := t.vals[key]; ok {
		return fmt.Errorf("line %d: %q is defined twice (first on line %d)", line, key, t.line[key])
	}
	t.keys = append(t.keys, key)
	t.vals[key] = v
	t.line[key] = line
	return nil
}

// str, boolean and table read typed values; a wrong type is an error.
func (t *tomlTable) str(key string) (string, bool, error) {
	v, ok := t.vals[key]
	if !ok {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, fmt.Errorf("line %d: %q must be a string", t.line[key], key)
	}
	return s, true, nil
}

func (t *tomlTable) boolean(key string) (bool, bool, error) {
	v, ok := t.vals[key]
	if !ok {
		return false, false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, false, fmt.Errorf("line %d: %q must be true or false", t.line[key], key)
	}
	return b, true, nil
}

// strings reads a string or a list of strings.
func (t *tomlTable) strings(key string) ([]string, error) {
	v, ok := t.vals[key]
	if !ok {
		return nil, nil
	}
	if s, ok := v.(string); ok {
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("line %d: %q must be a string or a list of strings", t.line[key], key)
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("line %d: %q must be a list of strings", t.line[key], key)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseTOML(data []byte) (*tomlTable, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("not UTF-8 text")
	}
	p := &tomlParser{src: strings.ReplaceAll(string(data), "\r\n", "\n"), line: 1}
	root := newTable()
	root.defined = true
	cur := root
	for {
		p.skipBlank()
		if p.eof() {
			return root, nil
		}
		switch {
		case strings.HasPrefix(p.rest(), "[["):
			p.pos += 2
			path, err := p.keyPath()
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(p.rest(), "]]") {
				return nil, p.errorf("expected ]] after the table name")
			}
			p.pos += 2
			if cur, err = arrayTable(root, path, p.line); err != nil {
				return nil, err
			}
		case strings.HasPrefix(p.rest(), "["):
			p.pos++
			path, err := p.keyPath()
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(p.rest(), "]") {
				return nil, p.errorf("expected ] after the table name")
			}
			p.pos++
			if cur, err = headerTable(root, path, p.line); err != nil {
				return nil, err
			}
		default:
			if err := p.keyValue(cur); err != nil {
				return nil, err
			}
		}
		if err := p.endOfLine(); err != nil {
			return nil, err
		}
	}
}

// descend walks path[:len-1] from root for a header: arrays of tables
// resolve to their last element, missing tables are created.
func descend(root *tomlTable, path []string, line int) (*tomlTable, error) {
	t := root
	for _, k := range path {
		switch v := t.vals[k].(type) {
		case nil:
			nt := newTable()
			if err := t.set(k, nt, line); err != nil {
				return nil, err
			}
			t = nt
		case *tomlTable:
			t = v
		case []*tomlTable:
			t = v[len(v)-1]
		default:
			return nil, fmt.Errorf("line %d: %q is a value, not a table", line, k)
		}
	}
	return t, nil
}

func headerTable(root *tomlTable, path []string, line int) (*tomlTable, error) {
	parent, err := descend(root, path[:len(path)-1], line)
	if err != nil {
		return nil, err
	}
	k := path[len(path)-1]
	switch v := parent.vals[k].(type) {
	case nil:
		t := newTable()
		t.defined = true
		return t, parent.set(k, t, line)
	case *tomlTable:
		if v.defined {
			return nil, fmt.Errorf("line %d: table [%s] is defined twice", line, strings.Join(path, "."))
		}
		v.defined = true
		return v, nil
	}
	return nil, fmt.Errorf("line %d: [%s] is already something else", line, strings.Join(path, "."))
}

func arrayTable(root *tomlTable, path []string, line int) (*tomlTable, error) {
	parent, err := descend(root, path[:len(path)-1], line)
	if err != nil {
		return nil, err
	}
	k := path[len(path)-1]
	t := newTable()
	t.defined = true
	switch v := parent.vals[k].(type) {
	case nil:
		return t, parent.set(k, []*tomlTable{t}, line)
	case []*tomlTable:
		parent.vals[k] = append(v, t)
		return t, nil
	}
	return nil, fmt.Errorf("line %d: [[%s]] is already something else", line, strings.Join(path, "."))
}

type tomlParser struct {
	src  string
	pos  int
	line int
}

func (p *tomlParser) eof() bool    { return p.pos >= len(p.src) }
func (p *tomlParser) rest() string { return p.src[p.pos:] }

func (p *tomlParser) errorf(format string, a ...any) error {
	return fmt.Errorf("line %d: "+format, append([]any{p.line}, a...)...)
}

// skipSpace skips spaces and tabs; skipBlank also newlines and comments.
func (p *tomlParser) skipSpace() {
	for !p.eof() && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *tomlParser) skipBlank() {
	for !p.eof() {
		switch p.src[p.pos] {
		case ' ', '\t':
			p.pos++
		case '\n':
			p.pos++
			p.line++
		case '#':
			for !p.eof() && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func (p *tomlParser) endOfLine() error {
	p.skipSpace()
	if !p.eof() && p.src[p.pos] == '#' {
		for !p.eof() && p.src[p.pos] != '\n' {
			p.pos++
		}
	}
	if p.eof() {
		return nil
	}
	if p.src[p.pos] != '\n' {
		return p.errorf("unexpected %q after the value; one setting per line", p.src[p.pos])
	}
	return nil
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// keyPath reads a dotted key: bare.'literal'."basic".
func (p *tomlParser) keyPath() ([]string, error) {
	var path []string
	for {
		p.skipSpace()
		if p.eof() {
			return nil, p.errorf("expected a key")
		}
		var k string
		switch c := p.src[p.pos]; {
		case c == '"' || c == '\'':
			s, err := p.stringValue()
			if err != nil {
				return nil, err
			}
			k = s
		case isBare(c):
			start := p.pos
			for !p.eof() && isBare(p.src[p.pos]) {
				p.pos++
			}
			k = p.src[start:p.pos]
		default:
			return nil, p.errorf("unexpected %q where a key should be", c)
		}
		path = append(path, k)
		p.skipSpace()
		if p.eof() || p.src[p.pos] != '.' {
			return path, nil
		}
		p.pos++
	}
}

func (p *tomlParser) keyValue(t *tomlTable) error {
	line := p.line
	path, err := p.keyPath()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.eof() || p.src[p.pos] != '=' {
		return p.errorf("expected = after %q", strings.Join(path, "."))
	}
	p.pos++
	p.skipSpace()
	v, err := p.value()
	if err != nil {
		return err
	}
	parent := t
	for _, k := range path[:len(path)-1] {
		switch nv := parent.vals[k].(type) {
		case nil:
			nt := newTable()
			if err := parent.set(k, nt, line); err != nil {
				return err
			}
			parent = nt
		case *tomlTable:
			parent = nv
		default:
			return fmt.Errorf("line %d: %q is a value, not a table", line, k)
		}
	}
	return parent.set(path[len(path)-1], v, line)
}

func (p *tomlParser) value() (any, error) {
	if p.eof() {
		return nil, p.errorf("expected a value")
	}
	switch c := p.src[p.pos]; {
	case strings.HasPrefix(p.rest(), `"""`) || strings.HasPrefix(p.rest(), `'''`):
		return nil, p.errorf("multi-line strings are not supported here; write the value on one line")
	case c == '"' || c == '\'':
		return p.stringValue()
	case c == '[':
		return p.array()
	case c == '{':
		return p.inlineTable()
	case strings.HasPrefix(p.rest(), "true") && !p.bareAt(4):
		p.pos += 4
		return true, nil
	case strings.HasPrefix(p.rest(), "false") && !p.bareAt(5):
		p.pos += 5
		return false, nil
	}
	start := p.pos
	for !p.eof() && (isBare(p.src[p.pos]) || p.src[p.pos] == '+' || p.src[p.pos] == '.' || p.src[p.pos] == ':') {
		p.pos++
	}
	word := p.src[start:p.pos]
	if n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimPrefix(word, "+"), "_", ""), 10, 64); err == nil && word != "" {
		return n, nil
	}
	if word == "" {
		return nil, p.errorf("unexpected %q where a value should be", p.src[start])
	}
	return nil, p.errorf("%q is not a value this file takes (a \"string\", true, false, a number or a [list]); quote strings", word)
}

func (p *tomlParser) bareAt(off int) bool {
	return p.pos+off < len(p.src) && isBare(p.src[p.pos+off])
}

func (p *tomlParser) stringValue() (string, error) {
	quote := p.src[p.pos]
	p.pos++
	var b strings.Builder
	for {
		if p.eof() || p.src[p.pos] == '\n' {
			return "", p.errorf("unterminated string")
		}
		c := p.src[p.pos]
		p.pos++
		switch {
		case c == quote:
			return b.String(), nil
		case c == '\\' && quote == '"':
			if p.eof() {
				return "", p.errorf("unterminated string")
			}
			e := p.src[p.pos]
			p.pos++
			switch e {
			case 'b':
				b.WriteByte('\b')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\':
				b.WriteByte(e)
			case 'u', 'U':
				n := 4
				if e == 'U' {
					n = 8
				}
				if p.pos+n > len(p.src) {
					return "", p.errorf("short \\%c escape", e)
				}
				r, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", p.errorf("bad \\%c escape %q", e, p.src[p.pos:p.pos+n])
				}
				b.WriteRune(rune(r))
				p.pos += n
			default:
				return "", p.errorf("unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
}

func (p *tomlParser) array() ([]any, error) {
	p.pos++ // [
	out := []any{}
	for {
		p.skipBlank()
		if p.eof() {
			return nil, p.errorf("unterminated list")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			return out, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.skipBlank()
		if p.eof() {
			return nil, p.errorf("unterminated list")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
		default:
			return nil, p.errorf("expected , or ] in a list, found %q", p.src[p.pos])
		}
	}
}

func (p *tomlParser) inlineTable() (*tomlTable, error) {
	p.pos++ // {
	t := newTable()
	t.defined = true
	p.skipSpace()
	if !p.eof() && p.src[p.pos] == '}' {
		p.pos++
		return t, nil
	}
	for {
		if err := p.keyValue(t); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.eof() || p.src[p.pos] == '\n' {
			return nil, p.errorf("an inline table must end on its line with }")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
			if p.eof() || p.src[p.pos] == '\n' {
				return nil, p.errorf("an inline table must end on its line with }")
			}
		case '}':
			p.pos++
			return t, nil
		default:
			return nil, p.errorf("expected , or } in an inline table, found %q", p.src[p.pos])
		}
	}
}

// tomlQuote writes s as a TOML basic string.
func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func tomlList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = tomlQuote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
