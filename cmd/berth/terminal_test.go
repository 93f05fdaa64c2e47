package main

import (
	"strings"
	"testing"
)

func TestCheckTTY(t *testing.T) {
	in := strings.NewReader("")
	if err := checkTTY(in, true, true); err == nil || err.Error() != "the input device is not a TTY" || exitCode(err) != ExitFailure {
		t.Errorf("-it on a pipe: %v", err)
	}
	for _, c := range [][2]bool{{true, false}, {false, true}, {false, false}} {
		if err := checkTTY(in, c[0], c[1]); err != nil {
			t.Errorf("stdin %t, tty %t: %v", c[0], c[1], err)
		}
	}
}
