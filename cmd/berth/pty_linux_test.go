package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/api/apitest"
)

// openPTY opens a pseudo-terminal of rows×cols: the master end a test
// types into and reads from, the slave end a program uses as its
// terminal. Both close with the test.
func openPTY(t *testing.T, rows, cols uint16) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pseudo-terminal's slave: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	setWinsize(t, master, rows, cols)
	return master, slave
}

func setWinsize(t *testing.T, f *os.File, rows, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatalf("setting the window size: %v", err)
	}
}

// screen is what a pseudo-terminal's master has read so far.
type screen struct {
	buf  syncBuffer
	seen int // where the next expect starts looking
}

// readScreen copies master into a screen until master closes.
func readScreen(master *os.File) *screen {
	s := &screen{}
	go io.Copy(&s.buf, master)
	return s
}

// expect waits for re in the output after what previous expects matched,
// and returns the match's submatches.
func (s *screen) expect(t *testing.T, re string, timeout time.Duration) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		out := s.buf.String()
		if loc := rx.FindStringSubmatchIndex(out[s.seen:]); loc != nil {
			var subs []string
			for i := 0; i < len(loc); i += 2 {
				if loc[i] >= 0 {
					subs = append(subs, out[s.seen+loc[i]:s.seen+loc[i+1]])
				} else {
					subs = append(subs, "")
				}
			}
			s.seen += loc[1]
			return subs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the terminal within %v; after what was already matched it shows:\n%q", re, timeout, out[s.seen:])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTerminalSessions drives exec -it and attach through a real
// pseudo-terminal against the interactive fake, with berth (in-process)
// and with the real docker CLI (a process leading the terminal's
// session): raw mode for the session and restored after, the size at
// start and on SIGWINCH, keys (Ctrl-C among them) going to the process,
// the detach keys; and the same requests from both.
func TestTerminalSessions(t *testing.T) {
	sock, f := startInteractiveEngine(t)
	f.Add(&apitest.InteractiveContainer{Name: "box", Cmd: []string{"cat"}, OpenStdin: true}, true)
	f.Add(&apitest.InteractiveContainer{Name: "ttybox", Cmd: []string{"cat"}, OpenStdin: true, Tty: true}, true)
	ids := regexp.MustCompile(`exec\d+`)
	for _, sc := range []struct {
		args []string
		want []string
	}{
		{[]string{"exec", "-it", "box", "cat"}, []string{
			`ExecCreate(box, ["cat"], tty=true, stdin=true, stdout=true, stderr=true, user="", workdir="", env=[], privileged=false, detachKeys="", console=24x80)`,
			`ExecStart(execN, detach=false, tty=true, console=24x80, upgrade="tcp")`,
			`ExecResize(execN, 24, 80)`,
			`ExecResize(execN, 33, 91)`,
		}},
		// A new client's first resize is one off, so that the shell
		// redraws for it.
		{[]string{"attach", "ttybox"}, []string{
			`ContainerWait(ttybox, )`,
			`ContainerAttach(ttybox, stream=1, stdin=1, stdout=1, stderr=1, detachKeys="")`,
			`ContainerResize(ttybox, 25, 81)`,
			`ContainerResize(ttybox, 24, 80)`,
			`ContainerResize(ttybox, 33, 91)`,
		}},
	} {
		for _, client := range []string{"berth", "docker"} {
			t.Run(client+" "+strings.Join(sc.args, " "), func(t *testing.T) {
				terminalSession(t, sock, f, client, sc.args, sc.want, ids)
			})
		}
	}
}

// terminalSession is one of TestTerminalSessions's.
func terminalSession(t *testing.T, sock string, f *apitest.Interactive, client string, verb, want []string, ids *regexp.Regexp) {
	if _, err := os.Stat(dockerCLI); err != nil && client == "docker" {
		t.Skipf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	f.Calls()
	master, slave := openPTY(t, 24, 80)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	scr := readScreen(master)
	var errOut syncBuffer
	done := make(chan int, 1)
	args := append([]string{"-H", "unix://" + sock}, verb...)
	if client == "berth" {
		go func() { done <- run(args, &IOStreams{In: slave, Out: slave, ErrOut: &errOut}) }()
	} else {
		cmd := exec.Command(dockerCLI, args...)
		cmd.Env = []string{"DOCKER_CONFIG=" + os.Getenv("DOCKER_CONFIG"), "HOME=" + os.Getenv("DOCKER_CONFIG"), "DOCKER_CLI_HINTS=false"}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		go func() {
			cmd.Wait()
			done <- cmd.ProcessState.ExitCode()
		}()
	}

	// The session makes the terminal raw before the process starts.
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal is not raw during the session: lflag %#x; stderr %q", raw.Lflag, errOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The fake's cat echoes; the terminal must not, and Ctrl-C is
	// a byte for the process, not a signal for the client.
	master.WriteString("hello\x03\r")
	scr.expect(t, "^hello\x03\r", 10*time.Second)

	setWinsize(t, master, 33, 91)
	deadline = time.Now().Add(10 * time.Second)
	var calls []string
	for !slices.ContainsFunc(calls, func(c string) bool { return strings.HasSuffix(c, ", 33, 91)") }) {
		if time.Now().After(deadline) {
			t.Fatalf("no resize to 33x91: calls %q", calls)
		}
		if client == "berth" {
			// The test is not the terminal's session, so the
			// kernel's SIGWINCH goes elsewhere; berth gets it as
			// from the terminal, again until it has listened.
			syscall.Kill(os.Getpid(), syscall.SIGWINCH)
		}
		time.Sleep(20 * time.Millisecond)
		for _, c := range f.Calls() {
			calls = append(calls, ids.ReplaceAllString(c, "execN"))
		}
	}
	if !slices.Equal(calls, want) {
		t.Errorf("requests:\n%q\nwant (docker's):\n%q", calls, want)
	}

	// A broken sequence goes on; the whole one detaches.
	master.WriteString("\x10x")
	scr.expect(t, "^\x10x", 10*time.Second)
	master.WriteString("\x10\x11")
	select {
	case code := <-done:
		if code != ExitFailure {
			t.Errorf("detach: exit %d, want 1", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not end on the detach keys")
	}
	if client == "berth" {
		if errOut.String() != "read escape sequence\n" {
			t.Errorf("detach: stderr %q", errOut.String())
		}
	} else {
		scr.expect(t, "read escape sequence", 5*time.Second)
	}
	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("the terminal is not restored:\nbefore %+v\nafter  %+v", *before, *after)
	}
}
