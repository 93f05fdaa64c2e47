package api

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    []byte
		wantErr string
	}{
		{"", []byte{16, 17}, ""},
		{"ctrl-p,ctrl-q", []byte{16, 17}, ""},
		{"ctrl-@,ctrl-a,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", []byte{0, 1, 26, 27, 28, 29, 30, 31}, ""},
		{"a,b", []byte{'a', 'b'}, ""},
		{"DEL", []byte{127}, ""},
		{",", nil, `"" is not a key`},
		{"ctrl-1", nil, `"ctrl-1" is not a key`},
		{"ctrl-P", nil, `"ctrl-P" is not a key`},
		{"ab", nil, `"ab" is not a key`},
		{"a,,b", nil, `"" is not a key`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDetachKeys(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidParameter) {
					t.Fatalf("err %v, want %q and an invalid parameter", err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// chunks is a reader that returns its chunks one read each, as a
// terminal returns keystrokes, then EOF.
type chunks [][]byte

func (c *chunks) Read(p []byte) (int, error) {
	if len(*c) == 0 {
		return 0, io.EOF
	}
	n := copy(p, (*c)[0])
	(*c)[0] = (*c)[0][n:]
	if len((*c)[0]) == 0 {
		*c = (*c)[1:]
	}
	return n, nil
}

func TestEscapeProxy(t *testing.T) {
	const p, q = "\x10", "\x11"
	for _, tt := range []struct {
		name     string
		keys     string
		reads    []string
		want     string
		detached bool
	}{
		{"plain input", "", []string{"ls\r", "exit\r"}, "ls\rexit\r", false},
		{"sequence alone", "", []string{p, q}, "", true},
		{"sequence in one read", "", []string{p + q}, "", true},
		{"typed before the sequence is sent", "", []string{"ab", p, q}, "ab", true},
		{"same read, before the sequence", "", []string{"ab" + p + q + "cd"}, "ab", true},
		{"broken sequence goes on", "", []string{p, "a", p, q}, p + "a", true},
		{"held key then a plain one", "", []string{p, "x"}, p + "x", false},
		{"doubled first key", "", []string{p, p, q}, p, true},
		{"held key at the end of input", "", []string{"a", p}, "a" + p, false},
		{"second key alone", "", []string{q, "x"}, q + "x", false},
		{"custom keys", "ctrl-a,b", []string{"\x01", "b"}, "", true},
		{"custom keys broken", "ctrl-a,b", []string{"\x01", "c"}, "\x01c", false},
		{"overlapping custom keys", "a,a,b", []string{"a", "a", "a", "b"}, "a", true},
		{"one key", "ctrl-c", []string{"x\x03y"}, "x", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseDetachKeys(tt.keys)
			if err != nil {
				t.Fatal(err)
			}
			var c chunks
			for _, r := range tt.reads {
				c = append(c, []byte(r))
			}
			// Reads of one byte at a time, as io.Copy would not do, find
			// bytes lost at the proxy's buffer boundary.
			for _, size := range []int{1, 32 << 10} {
				cc := append(chunks(nil), c...)
				for i := range cc {
					cc[i] = bytes.Clone(cc[i])
				}
				px := NewEscapeReader(&cc, keys)
				var got []byte
				var err error
				buf := make([]byte, size)
				for range 1000 {
					var n int
					n, err = px.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
				detached := errors.Is(err, ErrDetached)
				if string(got) != tt.want || detached != tt.detached || (!detached && err != io.EOF) {
					t.Errorf("reads of %d: got %q, %v; want %q, detached %t", size, got, err, tt.want, tt.detached)
				}
				// Once detached, it stays so.
				if detached {
					if n, err := px.Read(buf); n != 0 || !errors.Is(err, ErrDetached) {
						t.Errorf("read after the detach: %d, %v", n, err)
					}
				}
			}
		})
	}
}
