package distro_test

import (
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports keeps distro a leaf: it reads hosts and imports no other Berth
// package (DESIGN.md, "Layout and dependency direction").
func TestImports(t *testing.T) { testvm.CheckImports(t, ".") }
