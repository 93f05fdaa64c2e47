//go:build linux

package image_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/testvm"
)

// crashSteps are the store's commit points, in the order a pull meets them.
var crashSteps = []string{"layer.apply", "blob.commit", "layer.commit", "image.write", "refs.write"}

// TestCrashHelper is the child of TestCrashDuringPull: it pulls and is
// killed (SIGKILL, as the OOM killer would) at the step it is given.
func TestCrashHelper(t *testing.T) {
	step := os.Getenv("BERTH_CRASH_AT")
	if step == "" {
		t.Skip("run by TestCrashDuringPull")
	}
	s, err := image.Open(os.Getenv("BERTH_CRASH_ROOT"), image.WithMirrors(hubMirrors(t, os.Getenv("BERTH_CRASH_REGISTRY"))))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	image.SetFailpointHook(func(at string) {
		if at == step {
			// The second layer's step, so the first is committed.
			if seen++; seen == 2 || at == "image.write" || at == "refs.write" {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	})
	_, err = s.Pull(context.Background(), "nginx:1.22", image.PullOptions{Concurrency: 1})
	t.Fatalf("the pull was not killed at %s: %v", step, err)
}

// TestCrashDuringPull kills a pull at each commit step, then checks that
// the store is consistent, shows nothing half-made, and that a new pull
// finishes the job.
func TestCrashDuringPull(t *testing.T) {
	requireRoot(t)
	reg := testvm.NewRegistry(t, "")
	for _, step := range crashSteps {
		t.Run(step, func(t *testing.T) {
			root := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), "BERTH_CRASH_AT="+step, "BERTH_CRASH_ROOT="+root, "BERTH_CRASH_REGISTRY="+reg.Server.URL)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed: %v\n%s", err, out)
			}
			s, err := image.Open(root, image.WithMirrors(hubMirrors(t, reg.Server.URL)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if errs := s.Check(); len(errs) > 0 {
				t.Fatalf("store inconsistent after a crash at %s: %v", step, errs)
			}
			if ents, _ := os.ReadDir(filepath.Join(root, "image", "tmp")); len(ents) != 0 {
				t.Errorf("open left %d entries in tmp/", len(ents))
			}
			im, err := s.Get("nginx:1.22")
			if step != "refs.write" && err == nil {
				t.Errorf("nginx:1.22 is tagged after a crash at %s", step)
			}
			if err == nil && len(im.Layers) != 2 {
				t.Errorf("a tagged image with %d layers", len(im.Layers))
			}
			res, err := s.Pull(context.Background(), "nginx:1.22", image.PullOptions{})
			if err != nil {
				t.Fatalf("pull after the crash: %v", err)
			}
			if len(res.Image.Layers) != 2 {
				t.Errorf("%d layers", len(res.Image.Layers))
			}
			if errs := s.Check(); len(errs) > 0 {
				t.Errorf("store inconsistent after the second pull: %v", errs)
			}
		})
	}
}
