package api

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultDetachKeys is Docker's sequence for leaving an attached process
// running: Ctrl-P Ctrl-Q.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// ErrDetached says the client typed the detach keys.
var ErrDetached = errors.New("read escape sequence")

// ParseDetachKeys reads Docker's detach key syntax: comma-separated keys,
// each a single character or ctrl-<key> with key one of a-z, @, [, \, ],
// ^ and _. "" is the default.
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = DefaultDetachKeys
	}
	var out []byte
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		name, ctrl := strings.CutPrefix(strings.ToLower(k), "ctrl-")
		switch {
		case ctrl && len(name) == 1 && name[0] >= 'a' && name[0] <= 'z':
			out = append(out, name[0]-'a'+1)
		case ctrl && len(name) == 1 && strings.Contains("@[\\]^_", name):
			out = append(out, name[0]-'@')
		case !ctrl && len(k) == 1:
			out = append(out, k[0])
		default:
			return nil, InvalidParameterf("invalid detach keys %q: %q is not a key (use a letter, or ctrl-<a-z, @, [, \\, ], ^, _>, comma-separated)", s, k)
		}
	}
	return out, nil
}

// FormatDetachKeys names a sequence for a message ("Ctrl-P Ctrl-Q").
func FormatDetachKeys(keys []byte) string {
	var parts []string
	for _, b := range keys {
		if b < 32 {
			parts = append(parts, fmt.Sprintf("Ctrl-%c", b+'@'))
		} else {
			parts = append(parts, string(rune(b)))
		}
	}
	return strings.Join(parts, " ")
}

// escapeReader passes input through until the detach keys come, then
// returns ErrDetached. Bytes that begin the sequence are held back until
// it is clear whether the sequence follows; if not, they pass through.
type escapeReader struct {
	r    io.Reader
	keys []byte
	held int // how many bytes of keys the input has matched so far
	out  []byte
	buf  []byte
}

// NewEscapeReader wraps r to stop at the detach keys (none: nil or empty).
func NewEscapeReader(r io.Reader, keys []byte) io.Reader {
	if len(keys) == 0 {
		return r
	}
	return &escapeReader{r: r, keys: keys, buf: make([]byte, 32<<10)}
}

func (e *escapeReader) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		n, err := e.r.Read(e.buf)
		for _, b := range e.buf[:n] {
			switch {
			case b == e.keys[e.held]:
				e.held++
				if e.held == len(e.keys) {
					return e.flush(p, ErrDetached)
				}
			default:
				e.out = append(e.out, e.keys[:e.held]...)
				e.held = 0
				if b == e.keys[0] {
					e.held = 1
					if len(e.keys) == 1 {
						return e.flush(p, ErrDetached)
					}
					continue
				}
				e.out = append(e.out, b)
			}
		}
		if err != nil {
			if len(e.out) == 0 {
				// Input ending inside a sequence gives the held bytes.
				e.out = append(e.out, e.keys[:e.held]...)
				e.held = 0
				if len(e.out) == 0 {
					return 0, err
				}
			}
			return e.flush(p, err)
		}
	}
	return e.flush(p, nil)
}

// flush hands out what is ready; err comes with the last of it.
func (e *escapeReader) flush(p []byte, err error) (int, error) {
	n := copy(p, e.out)
	e.out = e.out[n:]
	if len(e.out) > 0 {
		if err != nil {
			// Keep the error for after the rest.
			e.r = errReader{err}
		}
		return n, nil
	}
	return n, err
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
