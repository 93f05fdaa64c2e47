//go:build e2e && linux

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/testvm"
)

// terminalClient is a client run as a user runs it: on a terminal of its
// own (a pseudo-terminal whose session it leads), which the test types
// into and reads.
type terminalClient struct {
	master *os.File
	scr    *screen
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// onTerminal starts bin (berth or docker) against the engine on a fresh
// rows×cols terminal.
func (e *engine) onTerminal(t *testing.T, bin string, rows, cols uint16, args ...string) *terminalClient {
	t.Helper()
	master, slave := openPTY(t, rows, cols)
	cmd := exec.Command(bin, append([]string{"-H", "unix://" + e.sock}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.cfgDir, "DOCKER_CONFIG=" + e.cfgDir, "DOCKER_CLI_HINTS=false", "TERM=xterm"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// Its own session with the terminal as the controlling one: the
	// kernel then sends it SIGWINCH, and Ctrl-C would be its SIGINT were
	// the terminal not raw.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	slave.Close()
	c := &terminalClient{master: master, scr: readScreen(master), cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			cmd.Process.Kill()
			<-c.exited
		}
	})
	return c
}

func (c *terminalClient) send(t *testing.T, keys string) {
	t.Helper()
	if _, err := c.master.WriteString(keys); err != nil {
		t.Fatalf("typing %q: %v", keys, err)
	}
}

// exit waits for the client to end and returns its status.
func (c *terminalClient) exit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(timeout):
		t.Fatalf("the client did not exit within %v; its terminal shows:\n%q", timeout, c.scr.buf.String())
	}
	var ee *exec.ExitError
	switch {
	case c.err == nil:
		return 0
	case errors.As(c.err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("the client: %v", c.err)
	return -1
}

// shellOnTerminal checks what the acceptance asks of an interactive shell
// in container name, on a terminal opened at 25×80: tty, the size at
// start and after a resize, Ctrl-C interrupting a sleep, and exit 5
// ending the client with status 5.
func shellOnTerminal(t *testing.T, e *engine, c *terminalClient, name string) {
	t.Helper()
	c.scr.expect(t, `/ # `, 60*time.Second)
	c.send(t, "tty\r")
	c.scr.expect(t, `/dev/pts/\d+\r?\n`, 10*time.Second)
	c.scr.expect(t, `/ # `, 10*time.Second)
	c.send(t, "stty size\r")
	if got := c.scr.expect(t, `(\d+ \d+)\r?\n`, 10*time.Second)[1]; got != "25 80" {
		t.Errorf("stty size at start: %q, want 25 80", got)
	}

	setWinsize(t, c.master, 33, 91)
	c.waitSize(t, "33 91")

	c.send(t, "sleep 100\r")
	// Ctrl-C once the sleep runs, so that it is the sleep it interrupts.
	waitProcess(t, e, name, "sleep\x00100\x00")
	c.send(t, "\x03")
	c.scr.expect(t, `/ # `, 10*time.Second)
	c.send(t, "echo rc=$?\r")
	c.scr.expect(t, `rc=130\r?\n`, 10*time.Second)
	c.send(t, "exit 5\r")
	if code := c.exit(t, 30*time.Second); code != 5 {
		t.Errorf("exit 5: the client exited %d; its terminal shows:\n%q", code, c.scr.buf.String())
	}
}

// waitSize asks the shell for its terminal's size until it is want: a
// resize reaches the container a moment after the client's terminal.
func (c *terminalClient) waitSize(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.send(t, "stty size\r")
		got := c.scr.expect(t, `(\d+ \d+)\r?\n`, 10*time.Second)[1]
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container's terminal is %s, never %s", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitProcess waits until a process with cmdline (NUL-separated, as
// /proc has it) runs in container name. It looks from the host, in
// /proc and the process's cgroup, so that the looking does not touch the
// container.
func waitProcess(t *testing.T, e *engine, name, cmdline string) {
	t.Helper()
	id := strings.TrimSpace(must(t, e.berth, "inspect", "-f", "{{.Id}}", name))
	deadline := time.Now().Add(10 * time.Second)
	for {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		for _, p := range procs {
			cmd, err := os.ReadFile(p + "/cmdline")
			if err != nil || string(cmd) != cmdline {
				continue
			}
			if cg, err := os.ReadFile(p + "/cgroup"); err == nil && strings.Contains(string(cg), id) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process %q in %s", cmdline, name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stdinClient runs a client with stdin from a string, no terminal.
func (e *engine) stdinClient(t *testing.T, bin, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-H", "unix://" + e.sock}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.cfgDir, "DOCKER_CONFIG=" + e.cfgDir, "DOCKER_CLI_HINTS=false"}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := processExit(err)
	if code < 0 {
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

func (e *engine) running(t *testing.T, name string) bool {
	t.Helper()
	out, _, err := e.berth(t, "inspect", "-f", "{{.State.Running}}", name)
	return err == nil && strings.TrimSpace(out) == "true"
}

// TestInteractiveEndToEnd is the interactive issue's acceptance, for
// berth and the real docker CLI against a real daemon: run -it, exec -it,
// detach and attach through real pseudo-terminals, and stdin and the two
// output streams without one.
func TestInteractiveEndToEnd(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Fatalf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	e := startRealEngine(t)
	must(t, e.berth, "load", "-i", testvm.ImageArchive(t, "busybox.oci.tar"))
	must(t, e.berth, "tag", "busybox:1.35", "busybox")
	clients := []struct{ name, bin string }{{"berth", e.bin}, {"docker", dockerCLI}}

	for _, cl := range clients {
		t.Run(cl.name+"/run -it", func(t *testing.T) {
			name := "it-run-" + cl.name
			c := e.onTerminal(t, cl.bin, 25, 80, "run", "-it", "--rm", "--name", name, "busybox", "sh")
			shellOnTerminal(t, e, c, name)
			if _, _, err := e.berth(t, "inspect", name); err == nil {
				t.Errorf("run --rm left %s behind", name)
			}
		})

		t.Run(cl.name+"/exec -it", func(t *testing.T) {
			name := "it-exec-" + cl.name
			must(t, e.berth, "run", "-d", "--name", name, "busybox", "sleep", "1000")
			defer e.berth(t, "rm", "-f", name)
			c := e.onTerminal(t, cl.bin, 25, 80, "exec", "-it", name, "sh")
			shellOnTerminal(t, e, c, name)
			if !e.running(t, name) {
				t.Errorf("the exec's exit stopped %s", name)
			}
		})

		t.Run(cl.name+"/detach and attach", func(t *testing.T) {
			name := "it-attach-" + cl.name
			defer e.berth(t, "rm", "-f", name)
			c := e.onTerminal(t, cl.bin, 25, 80, "run", "-it", "--name", name, "busybox", "sh")
			c.scr.expect(t, `/ # `, 60*time.Second)
			// The answer, not the echo of the command, shows the shell.
			c.send(t, "echo $((6*7))\r")
			c.scr.expect(t, "42\r?\n", 10*time.Second)
			c.send(t, "\x10\x11")
			if code := c.exit(t, 10*time.Second); code != 0 {
				t.Errorf("run -it detached with exit %d; terminal:\n%q", code, c.scr.buf.String())
			}
			if !e.running(t, name) {
				t.Fatalf("%s stopped when its client detached", name)
			}

			a := e.onTerminal(t, cl.bin, 30, 100, "attach", name)
			// attach adds no prompt of its own; a command shows it is
			// connected.
			a.send(t, "echo $((6*8))\r")
			a.scr.expect(t, "48\r?\n", 10*time.Second)
			a.waitSize(t, "30 100")
			a.send(t, "\x10\x11")
			if code := a.exit(t, 10*time.Second); code != 1 {
				t.Errorf("attach detached with exit %d, want 1 as docker's; terminal:\n%q", code, a.scr.buf.String())
			}
			a.scr.expect(t, "read escape sequence", 5*time.Second)
			if !e.running(t, name) {
				t.Fatalf("%s stopped when attach detached", name)
			}

			a = e.onTerminal(t, cl.bin, 25, 80, "attach", name)
			a.send(t, "exit 3\r")
			if code := a.exit(t, 30*time.Second); code != 3 {
				t.Errorf("attach: the shell's exit 3 ended attach with %d; terminal:\n%q", code, a.scr.buf.String())
			}
		})

		t.Run(cl.name+"/without a terminal", func(t *testing.T) {
			if out, errOut, code := e.stdinClient(t, cl.bin, "hi\n", "run", "--rm", "-i", "busybox", "cat"); code != 0 || out != "hi\n" {
				t.Errorf("echo hi | run --rm -i busybox cat: exit %d, %q, %q", code, out, errOut)
			}
			out, errOut, code := e.stdinClient(t, cl.bin, "in\n", "run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo err >&2; exit 4")
			if code != 4 || out != "in\n" || errOut != "err\n" {
				t.Errorf("run -i, stdout and stderr apart: exit %d, %q, %q", code, out, errOut)
			}
			if out, _, code := e.stdinClient(t, cl.bin, "ignored\n", "run", "--rm", "busybox", "sh", "-c", "cat; echo done"); code != 0 || out != "done\n" {
				t.Errorf("run without -i read stdin: exit %d, %q", code, out)
			}

			name := "exec-" + cl.name
			must(t, e.berth, "run", "-d", "--name", name, "busybox", "sleep", "1000")
			defer e.berth(t, "rm", "-f", name)
			for _, r := range []struct {
				stdin          string
				args           []string
				code           int
				stdout, stderr string
			}{
				{"", []string{"sh", "-c", "echo out; echo err >&2"}, 0, "out\n", "err\n"},
				{"hi\n", []string{"-i", "%s", "cat"}, 0, "hi\n", ""},
				{"", []string{"sh", "-c", "exit 7"}, 7, "", ""},
				{"", []string{"-e", "A=1", "-w", "/tmp", "-u", "1000", "%s", "sh", "-c", "echo $A $(pwd) $(id -u)"}, 0, "1 /tmp 1000\n", ""},
				{"", []string{"/no/such"}, 127, "", ""},
				{"", []string{"/etc"}, 126, "", ""},
			} {
				args := []string{"exec"}
				if !strings.HasPrefix(r.args[0], "-") {
					args = append(args, name)
				}
				for _, a := range r.args {
					args = append(args, strings.Replace(a, "%s", name, 1))
				}
				out, errOut, code := e.stdinClient(t, cl.bin, r.stdin, args...)
				if code != r.code || (r.code == 0 && (out != r.stdout || errOut != r.stderr)) {
					t.Errorf("%s: exit %d, %q, %q; want %d, %q, %q", strings.Join(args, " "), code, out, errOut, r.code, r.stdout, r.stderr)
				}
			}
			if _, _, code := e.stdinClient(t, cl.bin, "", "exec", "-d", name, "touch", "/tmp/detached"); code != 0 {
				t.Errorf("exec -d: exit %d", code)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				if _, _, code := e.stdinClient(t, cl.bin, "", "exec", name, "test", "-e", "/tmp/detached"); code == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("exec -d's command never ran")
				}
				time.Sleep(50 * time.Millisecond)
			}
			must(t, e.berth, "stop", "-t", "1", name)
			_, errOut, code = e.stdinClient(t, cl.bin, "", "exec", name, "true")
			if code != 1 || !regexp.MustCompile(`is not running`).MatchString(errOut) || (cl.name == "berth" && strings.Count(errOut, "\n") != 1) {
				t.Errorf("exec in a stopped container: exit %d, %q", code, errOut)
			}
		})
	}

	if out := must(t, e.berth, "ps", "-aq"); out != "" {
		t.Errorf("containers left: %q", out)
	}
}
