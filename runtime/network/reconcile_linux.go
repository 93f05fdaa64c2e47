package network

import (
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
)

const aliasPrefix = "berth:"

// Reconcile removes, after a crash, the veths and published-port rules
// of containers for which keep is false (those that no longer exist or
// no longer run), and returns their IDs.
func (h *Host) Reconcile(keep func(containerID string) bool) ([]string, error) {
	gone := map[string]bool{}
	links, err := h.nl.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	for _, l := range links {
		if id, ok := strings.CutPrefix(l.Attrs().Alias, aliasPrefix); ok && l.Type() == "veth" && !keep(id) {
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
			if bc.Name != "prerouting" && bc.Name != "output" {
				continue
			}
			rules, err := c.GetRules(berthTable, bc)
			if err != nil {
				return nil, fmt.Errorf("nftables: listing %s: %w", chainName(bc), err)
			}
			for _, r := range rules {
				s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
				if id, ok := strings.CutPrefix(s, CommentPrefix); ok && !keep(id) {
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
