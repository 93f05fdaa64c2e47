package daemon_test

import (
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports keeps the dependency direction of DESIGN.md: the daemon is
// runtime, which may use the rest of runtime, mirror and distro, and never
// cmd or install.
func TestImports(t *testing.T) {
	testvm.CheckImports(t, ".", "github.com/berthhq/berth/runtime/", "github.com/berthhq/berth/mirror", "github.com/berthhq/berth/distro")
}
