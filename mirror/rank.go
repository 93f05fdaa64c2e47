package mirror

import (
	"slices"
)

// Rank orders probe reports for pulls: the endpoints that passed every
// step, fastest layer throughput first (total time breaking ties), then
// those that failed, in the order they were given. A stale mirror counts as
// failed; one whose staleness is unknown as passed.
func Rank(reports []*Report) []*Report {
	out := slices.Clone(reports)
	slices.SortStableFunc(out, func(a, b *Report) int {
		switch {
		case a.OK != b.OK:
			if a.OK {
				return -1
			}
			return 1
		case !a.OK:
			return 0
		case a.BytesPerSecond != b.BytesPerSecond:
			if a.BytesPerSecond > b.BytesPerSecond {
				return -1
			}
			return 1
		case a.Total != b.Total:
			if a.Total < b.Total {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}

// Reorder returns urls sorted as ranked (by SameEndpoint); URLs not in
// ranked keep their place after the ranked ones.
func Reorder(urls []string, ranked []string) []string {
	pos := func(u string) int {
		for i, r := range ranked {
			if SameEndpoint(u, r) {
				return i
			}
		}
		return len(ranked)
	}
	out := slices.Clone(urls)
	slices.SortStableFunc(out, func(a, b string) int { return pos(a) - pos(b) })
	return out
}
