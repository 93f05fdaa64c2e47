package image_test

import (
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports: the image store uses mirror and its own layer package, and
// knows nothing of the API or the daemon.
func TestImports(t *testing.T) {
	testvm.CheckImports(t, ".", "github.com/berthhq/berth/mirror", "github.com/berthhq/berth/runtime/image/layer", "github.com/berthhq/berth/runtime/atomicfile")
}
