//go:build !linux

package caps

import (
	"errors"
	"fmt"
	"runtime"
)

var errUnsupported = fmt.Errorf("capabilities on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Resolve applies docker's --cap-add/--cap-drop/--privileged semantics
// against the host's bounding set; only on Linux.
func Resolve(add, drop []string, privileged bool) ([]string, error) { return nil, errUnsupported }

// Apply sets the calling thread's capabilities; only on Linux.
func Apply(keep []string) error { return errUnsupported }
