package mirror_test

import (
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports keeps mirror a leaf: runtime and install import it, so it
// imports no other Berth package (DESIGN.md, "Layout and dependency
// direction").
func TestImports(t *testing.T) { testvm.CheckImports(t, ".") }
