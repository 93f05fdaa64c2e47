//go:build !linux

package container

import "errors"

// Changes reads a container's upper dir, on Linux only.
func (e *Engine) Changes(idOrName string) ([]Change, error) {
	return nil, ErrUnsupported
}

func makeInitLayer(dir string, lowers []string) error { return errors.ErrUnsupported }
