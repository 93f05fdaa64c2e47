package container

import (
	"os"
	"path/filepath"

	"github.com/berthhq/berth/runtime/image"
)

// Change is one path docker diff lists.
type Change struct {
	// Path is absolute, as the container sees it.
	Path string
	Kind ChangeKind
}

// ChangeKind is what happened at a path; the values are the Engine API's.
type ChangeKind int

// The kinds of change, in the Engine API's numbering.
const (
	ChangeModify ChangeKind = 0
	ChangeAdd    ChangeKind = 1
	ChangeDelete ChangeKind = 2
)

// String is the letter docker diff prints.
func (k ChangeKind) String() string {
	switch k {
	case ChangeModify:
		return "C"
	case ChangeAdd:
		return "A"
	case ChangeDelete:
		return "D"
	}
	return "?"
}

// initDir is the container's init layer, under its directory.
const initDir = "init"

// initLayerLowers is the container's init layer as the topmost overlay
// lower, or nothing for a container created before init layers existed:
// those keep their mount targets in the upper dir, as they always did.
func initLayerLowers(containerDir string) []string {
	p := filepath.Join(containerDir, initDir)
	if _, err := os.Lstat(p); err != nil {
		return nil
	}
	return []string{p}
}

// imageLowers are the unpacked layers of img as overlay lowers, topmost
// first.
func imageLowers(img *image.Image) []string {
	out := make([]string, 0, len(img.Layers))
	for i := len(img.Layers) - 1; i >= 0; i-- {
		out = append(out, img.Layers[i].Dir)
	}
	return out
}

// containerLowers are the container's lower directories, topmost first:
// its init layer (when it has one), then the image's layers.
func containerLowers(dir string, img *image.Image) []string {
	return append(initLayerLowers(dir), imageLowers(img)...)
}
