package seccomp

import (
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports keeps seccomp a leaf: the runtime calls it in the container's
// last process, so it imports no other Berth package.
func TestImports(t *testing.T) {
	testvm.CheckImports(t, ".")
}
