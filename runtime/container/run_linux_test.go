package container_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/container"
)

// TestAcceptance is the table, at the engine's level, with the
// init and without it.
func TestAcceptance(t *testing.T) {
	type tc struct {
		name  string
		spec  container.CreateSpec
		code  int    // expected exit code; -1: any non-zero
		log   string // the whole log, when set
		has   string // a substring of the log, when set
		start string // Start must fail with this in its error
		check func(t *testing.T, log string)
	}
	layered := func(cmd ...string) container.CreateSpec {
		return container.CreateSpec{Config: container.Config{Image: "layered:1", Cmd: cmd}}
	}
	cases := []tc{
		{name: "echo", spec: busybox("echo", "hi"), log: "hi\n"},
		{name: "exit3", spec: busybox("sh", "-c", "exit 3"), code: 3},
		{name: "missing", spec: busybox("/no/such"), start: "no such file or directory"},
		{name: "notinpath", spec: busybox("nosuch"), start: "executable file not found in $PATH"},
		{name: "capeff", spec: busybox("grep", "CapEff", "/proc/self/status"), log: "CapEff:\t00000000a80425fb\n"},
		{name: "mknod", spec: busybox("sh", "-c", "mknod /m c 1 1 && head -c1 /m"), code: -1, has: "Operation not permitted"},
		{name: "unshare", spec: busybox("unshare", "-U", "true"), code: -1, has: "Operation not permitted"},
		{name: "ps", spec: busybox("ps", "-o", "pid,comm"), check: func(t *testing.T, log string) {
			lines := strings.Split(strings.TrimSpace(log), "\n")
			if len(lines) < 2 || len(lines) > 3 || !strings.Contains(lines[len(lines)-1], "ps") {
				t.Errorf("ps shows more than the container's processes:\n%s", log)
			}
		}},
		{name: "fds", spec: busybox("ls", "/proc/self/fd"), log: "0\n1\n2\n3\n"},
		{name: "layered-data", spec: layered("ls", "/data"), log: "b\nc\nhard\nmode\nsoft\n"},
		{name: "layered-dir", spec: layered("ls", "/dir"), log: "new\n"},
	}
	for _, withInit := range []bool{true, false} {
		mode := "init"
		if !withInit {
			mode = "noinit"
		}
		t.Run(mode, func(t *testing.T) {
			e := newEngine(t, container.WithInit(withInit))
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					ctx := context.Background()
					spec := c.spec
					spec.AutoRemove = c.start != ""
					ctr, _, err := e.Create(ctx, spec)
					if err != nil {
						t.Fatal(err)
					}
					err = e.Start(ctx, ctr.ID)
					if c.start != "" {
						var se *container.StartError
						if err == nil || !strings.Contains(err.Error(), c.start) || !errors.As(err, &se) || se.Code != container.ExitNotFound {
							t.Fatalf("start: got %v, want a 127 error with %q", err, c.start)
						}
						if _, err := e.Get(ctr.ID); !errors.Is(err, container.ErrNotFound) {
							t.Errorf("an AutoRemove container that failed to start is still there: %v", err)
						}
						return
					}
					if err != nil {
						t.Fatalf("start: %v", err)
					}
					st, err := e.Wait(ctx, ctr.ID, "next-exit")
					if err != nil {
						t.Fatal(err)
					}
					log := logs(t, e, ctr.ID)
					if err := e.Remove(ctx, ctr.ID, false, true); err != nil {
						t.Fatal(err)
					}
					switch {
					case c.code == -1 && st.Code == 0, c.code != -1 && st.Code != c.code:
						t.Errorf("exit code %d, want %d; log:\n%s", st.Code, c.code, log)
					}
					if c.log != "" && log != c.log {
						t.Errorf("log %q, want %q", log, c.log)
					}
					if c.has != "" && !strings.Contains(log, c.has) {
						t.Errorf("log %q lacks %q", log, c.has)
					}
					if c.check != nil {
						c.check(t, log)
					}
				})
			}
		})
	}
}
