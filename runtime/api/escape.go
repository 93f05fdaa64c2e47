package api

import (
	"bytes"
	"errors"
	"io"
	"strings"
)

// DefaultDetachKeys is Docker's sequence for leaving an attached process
// running: Ctrl-P Ctrl-Q.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// ErrDetached says the user typed the detach keys; the process goes on.
// The message is docker's.
var ErrDetached = errors.New("read escape sequence")

// ctrlKeys are the names of the control characters 0 to 31, as docker
// spells them in a detach sequence.
const ctrlKeys = "@abcdefghijklmnopqrstuvwxyz[\\]^_"

// ParseDetachKeys reads a detach sequence as docker does: keys separated
// by commas, each one character, ctrl-<one of a-z @ [ \ ] ^ _>, or DEL.
// "" is the default, ctrl-p,ctrl-q. A bad sequence is InvalidParameter.
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = DefaultDetachKeys
	}
	var out []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case k == "DEL":
			out = append(out, 127)
		case len(k) == len("ctrl-x") && strings.HasPrefix(k, "ctrl-") && strings.IndexByte(ctrlKeys, k[5]) >= 0:
			out = append(out, byte(strings.IndexByte(ctrlKeys, k[5])))
		default:
			return nil, InvalidParameterf("invalid detach keys %q: %q is not a key; give keys separated by commas, each a character, ctrl-<a-z, @, [, \\, ], ^ or _> or DEL (default %s)", s, k, DefaultDetachKeys)
		}
	}
	return out, nil
}

// escapeReader passes input on, watching it for the detach sequence.
// Bytes that may begin the sequence are held back until it completes
// (then they are dropped and Read returns ErrDetached, now and after) or
// breaks (then they go on, in order). As docker's, it watches every byte:
// a terminal sends one keystroke per read, a paste many. Both ends use it:
// the client, which leaves at once, and the server, which ends the
// session for a client that does not watch.
type escapeReader struct {
	r    io.Reader
	keys []byte

	held     int    // how many of keys the input has matched so far
	out      []byte // bytes ready to go on
	err      error  // the input's error, after out
	detached bool
	buf      []byte
}

// NewEscapeReader wraps r to stop at the detach keys (none: nil or empty).
func NewEscapeReader(r io.Reader, keys []byte) io.Reader {
	if len(keys) == 0 {
		return r
	}
	return &escapeReader{r: r, keys: keys, buf: make([]byte, 32<<10)}
}

func (p *escapeReader) Read(b []byte) (int, error) {
	for len(p.out) == 0 {
		switch {
		case p.detached:
			return 0, ErrDetached
		case p.err != nil:
			return 0, p.err
		}
		n, err := p.r.Read(p.buf)
		p.scan(p.buf[:n])
		if err != nil {
			if !p.detached {
				// The input ended inside a possible sequence: what was
				// held back was typed, not a detach.
				p.out = append(p.out, p.keys[:p.held]...)
				p.held = 0
			}
			p.err = err
		}
		if n == 0 && err == nil {
			return 0, nil
		}
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

// scan moves input to out, holding back a possible sequence.
func (p *escapeReader) scan(in []byte) {
	for _, c := range in {
		seq := append(p.keys[:p.held:p.held], c)
		// Give up the oldest held bytes until what remains may still
		// begin the sequence (ctrl-p ctrl-p ctrl-q detaches).
		for len(seq) > 0 && !bytes.HasPrefix(p.keys, seq) {
			p.out = append(p.out, seq[0])
			seq = seq[1:]
		}
		p.held = len(seq)
		if p.held == len(p.keys) {
			// Whatever came after the sequence in the same read is not
			// sent: the user has left.
			p.detached, p.held = true, 0
			return
		}
	}
}
