package cgroup_test

import (
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports: cgroup is a leaf; the container runtime builds on it.
func TestImports(t *testing.T) {
	testvm.CheckImports(t, ".")
}
