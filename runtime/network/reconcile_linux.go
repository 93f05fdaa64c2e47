package network

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

const aliasPrefix = "berth:"

// Reconcile removes, after a crash, the veths and published-port rules
// of the bridge's containers for which keep is false (those that no
// longer exist or no longer run), and returns their IDs. What belongs to
// another bridge (another data root's daemon on the same host) is not
// looked at: its containers are not this engine's to judge.
func (h *Host) Reconcile(br *Bridge, keep func(containerID string) bool) ([]string, error) {
	gone := map[string]bool{}
	links, err := h.nl.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	brIndex := -1
	for _, l := range links {
		if l.Attrs().Name == br.Name {
			brIndex = l.Attrs().Index
		}
	}
	for _, l := range links {
		id, ok := strings.CutPrefix(l.Attrs().Alias, aliasPrefix)
		if ok && l.Type() == "veth" && l.Attrs().MasterIndex == brIndex && !keep(id) {
			gone[id] = true
		}
	}
	c, err := h.nft()
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	if t, err := c.ListTableOfFamily(TableName, nftables.TableFamilyIPv4); err == nil && t != nil {
		for _, bc := range baseChains() {
			if bc.Name != "prerouting" {
				continue
			}
			rules, err := c.GetRules(berthTable, bc)
			if err != nil {
				return nil, fmt.Errorf("nftables: listing %s: %w", chainName(bc), err)
			}
			// Publish's prerouting rule names the bridge (traffic not
			// from it), so it says whose container the rule is for.
			for _, r := range rules {
				s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
				if id, ok := strings.CutPrefix(s, CommentPrefix); ok && namesBridge(r, br.Name) && !keep(id) {
					gone[id] = true
				}
			}
		}
	}
	var ids []string
	for id := range gone {
		if err := h.Unpublish(id); err != nil {
			return ids, err
		}
		if err := h.Detach(id); err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// namesBridge says whether one of the rule's comparisons is with the
// interface name bridge.
func namesBridge(r *nftables.Rule, bridge string) bool {
	want := make([]byte, 16)
	copy(want, bridge)
	for _, e := range r.Exprs {
		if cmp, ok := e.(*expr.Cmp); ok && bytes.Equal(cmp.Data, want) {
			return true
		}
	}
	return false
}
