package network_test

import (
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestImports: networking builds on netlink and nftables only, and knows
// nothing of containers, images or the daemon.
func TestImports(t *testing.T) {
	testvm.CheckImports(t, ".",
		"github.com/google/nftables",
		"github.com/google/nftables/binaryutil",
		"github.com/google/nftables/expr",
		"github.com/google/nftables/userdata",
		"github.com/google/nftables/xt",
		"github.com/vishvananda/netlink",
		"github.com/vishvananda/netns",
		"golang.org/x/sys/unix")
}
