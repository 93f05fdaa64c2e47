package network

import (
	"os/exec"
	"strings"
	"testing"
)

// TestIptablesNftCoexistence: with iptables-nft's own FORWARD policy
// drop (as dockerd leaves it), EnsureNAT inserts accepts that iptables
// still reads, and RemoveNAT takes them out again.
func TestIptablesNftCoexistence(t *testing.T) {
	requireRoot(t)
	for _, tool := range []string{"nsenter", "iptables-nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	checkHostUntouched(t)
	_, path := newNS(t)
	ipt := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("nsenter", append([]string{"--net=" + path, "iptables-nft"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("iptables-nft %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	ipt("-P", "FORWARD", "DROP")
	h := openHost(t, path)
	br, err := h.EnsureBridge(DefaultBridge, "")
	if err != nil {
		t.Fatal(err)
	}
	nat, err := h.EnsureNAT(br)
	if err != nil {
		t.Fatal(err)
	}
	if len(nat.ForeignDrop) != 1 || nat.ForeignDrop[0] != "ip filter FORWARD" {
		t.Fatalf("foreign drop chains %v", nat.ForeignDrop)
	}
	got := ipt("-S", "FORWARD")
	t.Logf("iptables-nft -S FORWARD:\n%s", got)
	if !strings.Contains(got, "-i berth0") || strings.Contains(strings.ToLower(got), "warning") {
		t.Fatalf("iptables-nft does not read Berth's accepts:\n%s", got)
	}
	if err := h.RemoveNAT(DefaultBridge); err != nil {
		t.Fatal(err)
	}
	if got := ipt("-S", "FORWARD"); strings.TrimSpace(got) != "-P FORWARD DROP" {
		t.Fatalf("after RemoveNAT:\n%s", got)
	}
}
