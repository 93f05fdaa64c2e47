//go:build !linux

package seccomp

import (
	"errors"
	"fmt"
	"runtime"
)

var errUnsupported = fmt.Errorf("seccomp on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Default compiles Docker's default profile; only on Linux.
func Default(caps []string) (*Filter, error) { return nil, errUnsupported }

// Install loads the filter; only on Linux.
func (f *Filter) Install() error { return errUnsupported }
