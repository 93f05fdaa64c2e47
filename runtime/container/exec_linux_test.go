package container_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
)

// execOutput runs cfg in the container and returns its stdout, stderr and
// status.
func execOutput(t *testing.T, e *container.Engine, id string, cfg container.ExecConfig) (string, string, int) {
	t.Helper()
	p, err := e.Exec(context.Background(), id, cfg)
	if err != nil {
		t.Fatalf("exec %v: %v", cfg.Cmd, err)
	}
	errc := make(chan string, 1)
	go func() { b, _ := io.ReadAll(p.Stderr); errc <- string(b) }()
	out, _ := io.ReadAll(p.Stdout)
	errOut := <-errc
	return string(out), errOut, p.Wait()
}

func TestExec(t *testing.T) {
	e := newEngine(t)
	for _, init := range []bool{true, false} {
		spec := busybox("sh", "-c", "echo ctr > /tmp/mark; sleep 1000")
		spec.Init = &init
		spec.Hostname = "boxed"
		spec.Env = []string{"FROM_CTR=1"}
		c := startDetached(t, e, spec)
		name := map[bool]string{true: "init", false: "no-init"}[init]
		t.Run(name, func(t *testing.T) {
			cases := []struct {
				name    string
				cfg     container.ExecConfig
				out     string
				errOut  string
				code    int
				contain bool
			}{
				{name: "output", cfg: container.ExecConfig{Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}, out: "out\n", errOut: "err\n", code: 3},
				{name: "mount namespace", cfg: container.ExecConfig{Cmd: []string{"cat", "/tmp/mark"}}, out: "ctr\n"},
				{name: "uts namespace", cfg: container.ExecConfig{Cmd: []string{"hostname"}}, out: "boxed\n"},
				// PID 1 is the container's: the init or the command.
				{name: "pid namespace", cfg: container.ExecConfig{Cmd: []string{"sh", "-c", "cat /proc/1/comm"}}, out: map[bool]string{true: "berth-init\n", false: "sleep\n"}[init]},
				{name: "environment", cfg: container.ExecConfig{Cmd: []string{"sh", "-c", "echo $FROM_CTR $EXTRA $HOME"}, Env: []string{"EXTRA=2"}}, out: "1 2 /root\n"},
				{name: "user", cfg: container.ExecConfig{Cmd: []string{"id", "-u"}, User: "nobody"}, out: "65534\n"},
				{name: "workdir", cfg: container.ExecConfig{Cmd: []string{"pwd"}, WorkingDir: "/tmp"}, out: "/tmp\n"},
				{name: "capabilities", cfg: container.ExecConfig{Cmd: []string{"grep", "CapEff", "/proc/self/status"}}, out: "CapEff:\t00000000a80425fb\n"},
				{name: "privileged", cfg: container.ExecConfig{Cmd: []string{"grep", "Seccomp:", "/proc/self/status"}, Privileged: true}, out: "Seccomp:\t0\n"},
				{name: "seccomp", cfg: container.ExecConfig{Cmd: []string{"grep", "Seccomp:", "/proc/self/status"}}, out: "Seccomp:\t2\n"},
				{name: "cgroup", cfg: container.ExecConfig{Cmd: []string{"cat", "/proc/self/cgroup"}}, out: c.ID, contain: true},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					out, errOut, code := execOutput(t, e, c.ID, tc.cfg)
					if tc.contain {
						if !strings.Contains(out, tc.out) {
							t.Errorf("stdout %q lacks %q", out, tc.out)
						}
					} else if out != tc.out {
						t.Errorf("stdout %q, want %q", out, tc.out)
					}
					if errOut != tc.errOut || code != tc.code {
						t.Errorf("stderr %q code %d, want %q %d", errOut, code, tc.errOut, tc.code)
					}
				})
			}
			for cmd, want := range map[string]int{"/no/such": container.ExitNotFound, "nosuch": container.ExitNotFound, "/etc": container.ExitCannotInvoke} {
				_, err := e.Exec(context.Background(), c.ID, container.ExecConfig{Cmd: []string{cmd}})
				var se *container.StartError
				if !errors.As(err, &se) || se.Code != want {
					t.Errorf("exec %s: %v, want a start error with code %d", cmd, err, want)
				}
			}
		})
	}
	stopped, _, err := e.Create(context.Background(), busybox("true"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Exec(context.Background(), stopped.ID, container.ExecConfig{Cmd: []string{"true"}}); !errors.Is(err, container.ErrConflict) {
		t.Errorf("exec in a container that does not run: %v, want a conflict", err)
	}
}

func TestExecStdinAndTerminal(t *testing.T) {
	e := newEngine(t)
	c := startDetached(t, e, busybox("sleep", "1000"))
	p, err := e.Exec(context.Background(), c.ID, container.ExecConfig{Cmd: []string{"cat"}, Stdin: true})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(p.Stdin, "through stdin\n")
	p.Stdin.Close()
	out, _ := io.ReadAll(p.Stdout)
	if code := p.Wait(); string(out) != "through stdin\n" || code != 0 {
		t.Errorf("cat: %q %d", out, code)
	}

	// While an exec runs, the container holds its process and not the
	// helper that started it.
	p, err = e.Exec(context.Background(), c.ID, container.ExecConfig{Cmd: []string{"sleep", "30"}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, rows, err := e.Top(c.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		var cmds []string
		for _, r := range rows {
			cmds = append(cmds, r[len(r)-1])
		}
		all := strings.Join(cmds, "|")
		if strings.Contains(all, "sleep 30") && !strings.Contains(all, "container-exec") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("top during an exec: %q", all)
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(p.Pid, syscall.SIGKILL)
	io.Copy(io.Discard, p.Stdout)
	io.Copy(io.Discard, p.Stderr)
	if code := p.Wait(); code != 137 {
		t.Errorf("a killed exec: %d, want 137", code)
	}

	p, err = e.Exec(context.Background(), c.ID, container.ExecConfig{Cmd: []string{"sh"}, Tty: true, Stdin: true, Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	term := newTermReader(p.Console)
	io.WriteString(p.Console, "tty; stty size\n")
	term.expect(t, "/dev/pts/0")
	term.expect(t, "30 100")
	if err := p.Resize(40, 120); err != nil {
		t.Fatal(err)
	}
	io.WriteString(p.Console, "stty size; exit 5\n")
	term.expect(t, "40 120")
	if code := p.Wait(); code != 5 {
		t.Errorf("exit 5 through the terminal: %d", code)
	}
}

func TestAttachStdinAndTerminal(t *testing.T) {
	e := newEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// docker run -i: attach before start, input ends, the process sees EOF.
	spec := busybox("sh", "-c", "cat; echo done >&2")
	spec.OpenStdin, spec.StdinOnce = true, true
	c, _, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Attach(ctx, c.ID, container.AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	io.WriteString(a, "hi\n")
	a.CloseWrite()
	out, err := readAll(t, a)
	if err != nil || out != "stdout: hi\nstderr: done\n" && out != "stderr: done\nstdout: hi\n" {
		t.Errorf("attached -i: %q %v", out, err)
	}

	// docker run -it: a terminal, resized; detaching leaves it running and
	// a second attachment takes over.
	spec = busybox("sh")
	spec.OpenStdin, spec.Tty, spec.ConsoleSize = true, true, [2]uint{24, 80}
	c, _, err = e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	a, err = e.Attach(ctx, c.ID, container.AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if !a.TTY {
		t.Error("attachment of a -t container is not a TTY")
	}
	term := newTermReader(attachReader{a})
	io.WriteString(a, "tty; stty size\n")
	term.expect(t, "/dev/pts/0")
	term.expect(t, "24 80")
	if err := e.Resize(ctx, c.ID, 50, 132); err != nil {
		t.Fatal(err)
	}
	io.WriteString(a, "stty size\n")
	term.expect(t, "50 132")
	a.Close()
	if got, _ := e.Get(c.ID); !got.State.Running() {
		t.Fatal("detaching stopped the container")
	}
	a, err = e.Attach(ctx, c.ID, container.AttachOptions{Stdin: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	term = newTermReader(attachReader{a})
	io.WriteString(a, "echo again; exit 7\n")
	term.expect(t, "again")
	if st, err := e.Wait(ctx, c.ID, "not-running"); err != nil || st.Code != 7 {
		t.Errorf("exit through the second attachment: %+v %v", st, err)
	}
	if log := logs(t, e, c.ID); !strings.Contains(log, "again") {
		t.Errorf("the terminal's output is not in the log: %q", log)
	}
}

// attachReader reads an attachment's output as a byte stream.
type attachReader struct{ a *container.Attachment }

func (r attachReader) Read(p []byte) (int, error) {
	en, err := r.a.Next()
	if err != nil {
		return 0, err
	}
	return copy(p, en.Line), nil
}

// termReader reads a terminal's output line by line, in the background.
type termReader struct{ lines chan string }

func newTermReader(r io.Reader) *termReader {
	t := &termReader{lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			t.lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(t.lines)
	}()
	return t
}

// expect waits for a line that ends with want.
func (r *termReader) expect(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("terminal closed before %q; saw %q", want, seen)
			}
			if strings.HasSuffix(l, want) {
				return
			}
			seen = append(seen, l)
		case <-timeout:
			t.Fatalf("no %q from the terminal; saw %q", want, seen)
		}
	}
}
