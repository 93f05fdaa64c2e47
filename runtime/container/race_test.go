//go:build race

package container_test

// raceEnabled: the race detector slows every monitor and init start by an
// order of magnitude, so timing assertions do not hold.
const raceEnabled = true
