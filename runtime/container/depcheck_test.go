package container_test

import (
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports: the container runtime builds on the image store, cgroups,
// capabilities, seccomp and the network package
// (bridge, veths, ports), and knows nothing of the API or the daemon.
func TestImports(t *testing.T) {
	testvm.CheckImports(t, ".",
		"github.com/berthhq/berth/runtime/image",
		"github.com/berthhq/berth/runtime/image/layer",
		"github.com/berthhq/berth/runtime/container/cgroup",
		"github.com/berthhq/berth/runtime/atomicfile",
		"github.com/berthhq/berth/runtime/container/caps",
		"github.com/berthhq/berth/runtime/container/seccomp",
		"github.com/berthhq/berth/runtime/network")
}
