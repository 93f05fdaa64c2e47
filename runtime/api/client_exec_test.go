package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

// execOutput starts the exec upgraded, sends stdin (then half-closes) and
// returns what came back, demultiplexed when the engine framed it.
func execOutput(t *testing.T, c *api.Client, id string, tty bool, stdin string) (stdout, stderr string, multiplexed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hj, err := c.ExecStart(ctx, id, api.ExecStartRequest{Tty: tty})
	if err != nil {
		t.Fatalf("ExecStart: %v", err)
	}
	defer hj.Close()
	if stdin != "" {
		if _, err := io.WriteString(hj.Conn, stdin); err != nil {
			t.Fatal(err)
		}
	}
	if err := hj.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	var out, errOut bytes.Buffer
	if hj.Multiplexed {
		_, err = api.StdCopy(&out, &errOut, hj.Reader)
	} else {
		_, err = io.Copy(&out, hj.Reader)
	}
	if err != nil {
		t.Fatalf("reading the exec's output: %v", err)
	}
	return out.String(), errOut.String(), hj.Multiplexed
}

func TestClientExec(t *testing.T) {
	f := apitest.NewInteractive()
	f.Add(&apitest.InteractiveContainer{Name: "box", Cmd: []string{"cat"}, OpenStdin: true}, true)
	f.Add(&apitest.InteractiveContainer{Name: "stopped", Cmd: []string{"cat"}}, false)
	c := api.NewClient(serve(t, f))
	defer c.Close()
	ctx := context.Background()

	create := func(req api.ExecCreateRequest) string {
		t.Helper()
		id, err := c.ExecCreate(ctx, "box", &req)
		if err != nil {
			t.Fatalf("ExecCreate %q: %v", req.Cmd, err)
		}
		return id
	}
	inspect := func(id string) *api.ExecInspect {
		t.Helper()
		ei, err := c.ExecInspect(ctx, id)
		if err != nil {
			t.Fatalf("ExecInspect: %v", err)
		}
		return ei
	}

	t.Run("stdin and streams", func(t *testing.T) {
		id := create(api.ExecCreateRequest{AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: []string{"cat"}})
		out, errOut, mux := execOutput(t, c, id, false, "hello\n")
		if out != "hello\n" || errOut != "" || !mux {
			t.Errorf("cat: stdout %q, stderr %q, multiplexed %t", out, errOut, mux)
		}
		if ei := inspect(id); ei.Running || ei.ExitCode == nil || *ei.ExitCode != 0 || ei.ProcessConfig.Entrypoint != "cat" {
			t.Errorf("inspect after the end: %+v", ei)
		}
		id = create(api.ExecCreateRequest{AttachStdout: true, AttachStderr: true, Cmd: []string{"warn", "oops"}})
		if out, errOut, _ := execOutput(t, c, id, false, ""); out != "" || errOut != "oops\n" {
			t.Errorf("stderr apart: stdout %q, stderr %q", out, errOut)
		}
	})

	t.Run("tty is raw", func(t *testing.T) {
		size := [2]uint{24, 80}
		id := create(api.ExecCreateRequest{AttachStdout: true, AttachStderr: true, Tty: true, ConsoleSize: &size, Cmd: []string{"warn", "on the terminal"}})
		out, _, mux := execOutput(t, c, id, true, "")
		if mux || out != "on the terminal\n" {
			t.Errorf("tty: %q, multiplexed %t", out, mux)
		}
	})

	t.Run("exit status and missing command", func(t *testing.T) {
		id := create(api.ExecCreateRequest{AttachStdout: true, Cmd: []string{"exit", "7"}})
		execOutput(t, c, id, false, "")
		if ei := inspect(id); ei.ExitCode == nil || *ei.ExitCode != 7 {
			t.Errorf("exit 7: %+v", ei)
		}
		id = create(api.ExecCreateRequest{AttachStdout: true, Cmd: []string{"/no/such"}})
		if out, _, _ := execOutput(t, c, id, false, ""); !strings.Contains(out, `exec: "/no/such"`) {
			t.Errorf("missing command: %q", out)
		}
		if ei := inspect(id); ei.ExitCode == nil || *ei.ExitCode != 127 {
			t.Errorf("missing command: %+v", ei)
		}
	})

	t.Run("detached", func(t *testing.T) {
		id := create(api.ExecCreateRequest{Cmd: []string{"exit", "3"}})
		hj, err := c.ExecStart(ctx, id, api.ExecStartRequest{Detach: true})
		if err != nil || hj != nil {
			t.Fatalf("detached start: %v, %v", hj, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for ei := inspect(id); ei.ExitCode == nil; ei = inspect(id) {
			if time.Now().After(deadline) {
				t.Fatalf("a detached exec never ended: %+v", ei)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if ei := inspect(id); *ei.ExitCode != 3 {
			t.Errorf("detached exit 3: %+v", ei)
		}
	})

	t.Run("resize", func(t *testing.T) {
		f.Calls()
		id := create(api.ExecCreateRequest{Tty: true, Cmd: []string{"size"}})
		if err := c.ExecResize(ctx, id, 30, 100); err != nil {
			t.Fatal(err)
		}
		if err := c.ContainerResize(ctx, "box", 24, 80); err != nil {
			t.Fatal(err)
		}
		calls := f.Calls()
		if !slices.Contains(calls, "ExecResize("+id+", 30, 100)") || !slices.Contains(calls, "ContainerResize(box, 24, 80)") {
			t.Errorf("calls %q", calls)
		}
		if err := c.ExecResize(ctx, "nope", 1, 1); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("resize of a missing exec: %v", err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := c.ExecCreate(ctx, "nope", &api.ExecCreateRequest{Cmd: []string{"true"}})
		if !errors.Is(err, api.ErrNotFound) || err.Error() != "No such container: nope" {
			t.Errorf("exec in a missing container: %v", err)
		}
		if _, err := c.ExecCreate(ctx, "stopped", &api.ExecCreateRequest{Cmd: []string{"true"}}); !errors.Is(err, api.ErrConflict) {
			t.Errorf("exec in a stopped container: %v", err)
		}
		if _, err := c.ExecStart(ctx, "nope", api.ExecStartRequest{}); !errors.Is(err, api.ErrNotFound) || err.Error() != "No such exec instance: nope" {
			t.Errorf("start of a missing exec: %v", err)
		}
		if _, err := c.ExecInspect(ctx, "nope"); !errors.Is(err, api.ErrNotFound) {
			t.Errorf("inspect of a missing exec: %v", err)
		}
	})

	f.Calls()
	id := create(api.ExecCreateRequest{AttachStdout: true, Cmd: []string{"echo", "x"}})
	execOutput(t, c, id, false, "")
	calls := f.Calls()
	if want := `ExecStart(` + id + `, detach=false, tty=false, console=none, upgrade="tcp")`; !slices.Contains(calls, want) {
		t.Errorf("the start was not upgraded: %q", calls)
	}
	for _, call := range calls {
		if strings.HasPrefix(call, "UNKNOWN") {
			t.Errorf("unexpected request: %s", call)
		}
	}
}

func TestClientAttachStdin(t *testing.T) {
	f := apitest.NewInteractive()
	f.Add(&apitest.InteractiveContainer{Name: "echoer", Cmd: []string{"cat"}, OpenStdin: true, StdinOnce: true}, true)
	c := api.NewClient(serve(t, f))
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hj, err := c.ContainerAttach(ctx, "echoer", api.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true, DetachKeys: "ctrl-a,b"})
	if err != nil {
		t.Fatal(err)
	}
	defer hj.Close()
	io.WriteString(hj.Conn, "ping\n")
	hj.CloseWrite()
	var out bytes.Buffer
	if _, err := api.StdCopy(&out, io.Discard, hj.Reader); err != nil || out.String() != "ping\n" {
		t.Errorf("attached cat: %q, %v", out.String(), err)
	}
	calls := f.Calls()
	if want := `ContainerAttach(echoer, stream=1, stdin=1, stdout=1, stderr=1, detachKeys="ctrl-a,b")`; !slices.Contains(calls, want) {
		t.Errorf("calls %q, want %s", calls, want)
	}
	if f.Running("echoer") {
		// cat ends with its stdin (StdinOnce), which the half-close ended.
		t.Error("the container still runs after its stdin closed")
	}
}
