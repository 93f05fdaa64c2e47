package api_test

import (
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports keeps api below the engine: it speaks the protocol and knows
// no other Berth package, so the client (and the installer) can use it
// without pulling in the store (DESIGN.md, "Layout and dependency
// direction"). apitest may import only api.
func TestImports(t *testing.T) {
	testvm.CheckImports(t, ".")
	testvm.CheckImports(t, "apitest", "github.com/berthhq/berth/runtime/api")
}
