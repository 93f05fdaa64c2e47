package api

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseDetachKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{"", "\x10\x11", false},
		{"ctrl-p,ctrl-q", "\x10\x11", false},
		{"ctrl-a,b", "\x01b", false},
		{"CTRL-X, ctrl-@, ctrl-_", "\x18\x00\x1f", false},
		{"ctrl-\\", "\x1c", false},
		{"ctrl-", "", true},
		{"ctrl-?", "", true},
		{"ab", "", true},
		{"ctrl-p,,ctrl-q", "", true},
	} {
		got, err := ParseDetachKeys(tc.in)
		if (err != nil) != tc.err || string(got) != tc.want {
			t.Errorf("ParseDetachKeys(%q) = %q, %v", tc.in, got, err)
		}
	}
	if got := FormatDetachKeys([]byte("\x10\x11")); got != "Ctrl-P Ctrl-Q" {
		t.Errorf("FormatDetachKeys: %q", got)
	}
}

func TestEscapeReader(t *testing.T) {
	keys := []byte("\x10\x11")
	for _, tc := range []struct {
		name, in, out string
		detached      bool
	}{
		{"plain", "ls -l\n", "ls -l\n", false},
		{"detach", "echo a\n\x10\x11echo never\n", "echo a\n", true},
		{"detach at once", "\x10\x11", "", true},
		{"half a sequence passes", "a\x10b", "a\x10b", false},
		{"first key twice", "\x10\x10\x11", "\x10", true},
		{"held key at the end passes", "a\x10", "a\x10", false},
	} {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(NewEscapeReader(r, keys))
			if string(got) != tc.out || errors.Is(err, ErrDetached) != tc.detached || (!tc.detached && err != nil) {
				t.Errorf("%s (one byte reads %t): %q, %v", tc.name, oneByte, got, err)
			}
		}
	}
}
