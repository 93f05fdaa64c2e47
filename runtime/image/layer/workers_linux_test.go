package layer

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// applyBoth applies the tar with the workers and without, over the hostile
// lowers, and fails unless both give the same error and the same layer.
func applyBoth(t *testing.T, tr *tree, n int, data []byte) {
	var snaps [2]map[string]string
	var errs [2]string
	saved := fileWorkers
	defer func() { fileWorkers = saved }()
	for i, workers := range []int{0, saved} {
		fileWorkers = workers
		dir := filepath.Join(tr.work, fmt.Sprintf("w%d-%d", n, i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		if _, err := Apply(context.Background(), bytes.NewReader(data), dir, tr.lowers()); err != nil {
			errs[i] = err.Error()
		}
		snaps[i] = snapshot(t, dir)
		for k, v := range snaps[i] {
			// A whiteout's times are when it was made.
			if strings.HasPrefix(v, "mode=20000 ") && strings.Contains(v, " rdev=0 ") {
				snaps[i][k] = mtimeRE.ReplaceAllString(v, "")
			}
		}
	}
	if errs[0] != errs[1] {
		t.Fatalf("error without workers: %q, with: %q", errs[0], errs[1])
	}
	if err := sameSnapshot(snaps[0], snaps[1]); err != nil {
		t.Fatalf("the layer differs with workers: %v", err)
	}
}

var mtimeRE = regexp.MustCompile(` mtime=[0-9.]+`)

// TestApplyWorkers checks that the workers change nothing: random layers give
// the same result and the same error with them and without.
func TestApplyWorkers(t *testing.T) {
	requireRoot(t)
	tr := newTree(t)
	hostileLowers(tr)
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		data := make([]byte, 7*(1+rng.IntN(16)))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		applyBoth(t, tr, n, buildTar(t, decodeEntries(data)...))
	}
}

// FuzzApplyWorkers is TestApplyWorkers driven by the fuzzer.
func FuzzApplyWorkers(f *testing.F) {
	requireRoot(f)
	f.Add([]byte{3, 2, 2, 0, 0, 0, 0, 1, 2, 2, 1, 0, 0})
	f.Add([]byte{0, 64, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 64, 0, 1, 0, 0, 0})
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 7, 2, 0, 9, 0, 0, 4, 1, 8, 2, 3, 0})
	tr := newTree(f)
	hostileLowers(tr)
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		applyBoth(t, tr, n, buildTar(t, decodeEntries(data)...))
	})
}
