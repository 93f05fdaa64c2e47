package container_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
)

// readAll collects an attached reader's output until it ends.
func readAll(t *testing.T, r container.LogReader) (string, error) {
	t.Helper()
	defer r.Close()
	var b strings.Builder
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		b.WriteString(e.Stream + ": " + string(e.Line))
	}
}

// TestAttachAndWaitBeforeStart is docker run's order: attach, wait for the
// next exit, then start. A command that is done before Start returns must
// be neither missed by the wait nor by the attach, and a second run must
// attach to its own output alone.
func TestAttachAndWaitBeforeStart(t *testing.T) {
	e := newEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := e.Create(ctx, busybox("sh", "-c", "echo out; echo err >&2; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		r, err := e.Attach(ctx, c.ID, container.AttachOptions{Stdout: true, Stderr: true})
		if err != nil {
			t.Fatal(err)
		}
		wait, err := e.WaitChan(ctx, c.ID, "next-exit")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		out, err := readAll(t, r)
		if err != nil || out != "stdout: out\nstderr: err\n" && out != "stderr: err\nstdout: out\n" {
			t.Errorf("run %d: attached %q, %v", run, out, err)
		}
		if st, ok := <-wait; !ok || st.Code != 3 {
			t.Errorf("run %d: wait %+v %v", run, st, ok)
		}
	}
}

func TestWaitChan(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	c, _, err := e.Create(ctx, busybox("true"))
	if err != nil {
		t.Fatal(err)
	}
	// Not running: answered at once.
	ch, err := e.WaitChan(ctx, c.ID, "not-running")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-ch:
		if st.Code != 0 {
			t.Errorf("not-running of a created container: %+v", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not-running of a created container did not answer")
	}
	// A wait whose context ends closes without an answer.
	cctx, cancel := context.WithCancel(ctx)
	ch, err = e.WaitChan(cctx, c.ID, "removed")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if st, ok := <-ch; ok {
		t.Errorf("cancelled wait answered %+v", st)
	}
	if _, err := e.WaitChan(ctx, c.ID, "sometime"); !errors.Is(err, container.ErrInvalid) {
		t.Errorf("bad condition: %v", err)
	}
	if _, err := e.WaitChan(ctx, "nosuch", "next-exit"); !errors.Is(err, container.ErrNotFound) {
		t.Errorf("unknown container: %v", err)
	}
}
