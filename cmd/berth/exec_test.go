package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

// parseVerb parses a command line through a verb's runF.
func parseVerb[O any](t *testing.T, newCmd func(*IOStreams, *GlobalOptions, func(*O) error) executable, args ...string) (*O, error) {
	t.Helper()
	var got *O
	streams := &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	cmd := newCmd(streams, &GlobalOptions{}, func(o *O) error { got = o; return nil })
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		return nil, err
	}
	return got, nil
}

// executable is a cobra command, as the parse helpers see it.
type executable interface {
	SetArgs([]string)
	Execute() error
}

func execCmd(s *IOStreams, g *GlobalOptions, f func(*ExecOptions) error) executable {
	c := newCmdExec(s, g, f)
	c.SetOut(s.Out)
	c.SetErr(s.ErrOut)
	return c
}

func attachCmd(s *IOStreams, g *GlobalOptions, f func(*AttachOptions) error) executable {
	c := newCmdAttach(s, g, f)
	c.SetOut(s.Out)
	c.SetErr(s.ErrOut)
	return c
}

func startCmd(s *IOStreams, g *GlobalOptions, f func(*StartOptions) error) executable {
	c := newCmdStart(s, g, f)
	c.SetOut(s.Out)
	c.SetErr(s.ErrOut)
	return c
}

func TestExecFlags(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("FROM_FILE=1\n"), 0o644)
	o, err := parseVerb[ExecOptions](t, execCmd, "-it", "-e", "A=1", "--env-file", envFile, "-u", "1000:100", "-w", "/srv",
		"--privileged", "--detach-keys", "ctrl-a,b", "web", "sh", "-c", "ls -l")
	if err != nil {
		t.Fatal(err)
	}
	if o.Container != "web" || !slices.Equal(o.Command, []string{"sh", "-c", "ls -l"}) || !o.Interactive || !o.TTY || o.Detach || o.DetachKeys != "ctrl-a,b" {
		t.Errorf("options %+v", o)
	}
	req, err := o.request(o.DetachKeys)
	if err != nil {
		t.Fatal(err)
	}
	want := api.ExecCreateRequest{AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, DetachKeys: "ctrl-a,b",
		Env: []string{"FROM_FILE=1", "A=1"}, Cmd: []string{"sh", "-c", "ls -l"}, Privileged: true, User: "1000:100", WorkingDir: "/srv"}
	if !equalExec(*req, want) {
		t.Errorf("request %+v\nwant    %+v", *req, want)
	}

	// Flags after the container are the command's.
	o, _ = parseVerb[ExecOptions](t, execCmd, "-d", "web", "ls", "-i")
	if req, _ := o.request(""); req.AttachStdin || req.AttachStdout || req.AttachStderr || !slices.Equal(req.Cmd, []string{"ls", "-i"}) || o.Interactive {
		t.Errorf("-d: %+v", req)
	}
	o, _ = parseVerb[ExecOptions](t, execCmd, "-i", "web", "cat")
	if req, _ := o.request(""); !req.AttachStdin || req.Tty {
		t.Errorf("-i: %+v", req)
	}

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"web"}, "requires at least 2 argument(s)"},
		{[]string{"-w", "srv", "web", "ls"}, "the working directory 'srv' is invalid"},
		{[]string{"-e", "=x", "web", "ls"}, `invalid environment variable "=x"`},
	} {
		o, err := parseVerb[ExecOptions](t, execCmd, tt.args...)
		if err == nil {
			_, err = o.request("")
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != ExitUsage {
			t.Errorf("%q: %v (exit %d), want %q", tt.args, err, exitCode(err), tt.wantErr)
		}
	}
}

func equalExec(a, b api.ExecCreateRequest) bool {
	return a.AttachStdin == b.AttachStdin && a.AttachStdout == b.AttachStdout && a.AttachStderr == b.AttachStderr &&
		a.Tty == b.Tty && a.DetachKeys == b.DetachKeys && slices.Equal(a.Env, b.Env) && slices.Equal(a.Cmd, b.Cmd) &&
		a.Privileged == b.Privileged && a.User == b.User && a.WorkingDir == b.WorkingDir && (a.ConsoleSize == nil) == (b.ConsoleSize == nil)
}

func TestRunInteractiveFlags(t *testing.T) {
	opts, req, err := parseRun(t, "-it", "--rm", "--detach-keys", "ctrl-x,x", "--sig-proxy=false", "busybox", "sh")
	if err != nil {
		t.Fatal(err)
	}
	if !req.Tty || !req.OpenStdin || !req.AttachStdin || !req.StdinOnce || !req.AttachStdout || !req.AttachStderr {
		t.Errorf("-it: %+v", req.ContainerConfig)
	}
	if opts.DetachKeys != "ctrl-x,x" || opts.SigProxy {
		t.Errorf("options %+v", opts)
	}
	// docker run -dit: stdin stays open for a later attach, none now.
	_, req, _ = parseRun(t, "-dit", "busybox", "sh")
	if !req.Tty || !req.OpenStdin || req.AttachStdin || req.StdinOnce || req.AttachStdout {
		t.Errorf("-dit: %+v", req.ContainerConfig)
	}
	opts, req, _ = parseRun(t, "busybox")
	if req.Tty || req.OpenStdin || req.AttachStdin || req.StdinOnce || !opts.SigProxy || opts.DetachKeys != "" {
		t.Errorf("neither -i nor -t: %+v %+v", opts, req.ContainerConfig)
	}
}

func TestStartAttachFlags(t *testing.T) {
	o, err := parseVerb[StartOptions](t, startCmd, "-ai", "--detach-keys", "ctrl-x,x", "c1")
	if err != nil || !o.Attach || !o.Interactive || o.DetachKeys != "ctrl-x,x" || !slices.Equal(o.Containers, []string{"c1"}) {
		t.Errorf("start -ai: %+v, %v", o, err)
	}
	a, err := parseVerb[AttachOptions](t, attachCmd, "--no-stdin", "--sig-proxy=false", "--detach-keys", "a", "c1")
	if err != nil || !a.NoStdin || a.SigProxy || a.DetachKeys != "a" || a.Container != "c1" {
		t.Errorf("attach: %+v, %v", a, err)
	}
	a, _ = parseVerb[AttachOptions](t, attachCmd, "c1")
	if a.NoStdin || !a.SigProxy || a.DetachKeys != "" {
		t.Errorf("attach defaults: %+v", a)
	}
	for _, args := range [][]string{{}, {"c1", "c2"}} {
		if _, err := parseVerb[AttachOptions](t, attachCmd, args...); err == nil || exitCode(err) != ExitUsage {
			t.Errorf("attach %q: %v", args, err)
		}
	}
}

// startInteractiveEngine serves the interactive fake on a temporary
// socket, with a config.json of its own.
func startInteractiveEngine(t *testing.T) (string, *apitest.Interactive) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	f := apitest.NewInteractive()
	sock := filepath.Join(shortDir(t), "b.sock")
	l, err := api.Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: f}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return sock, f
}

func TestBerthExec(t *testing.T) {
	sock, f := startInteractiveEngine(t)
	f.Add(&apitest.InteractiveContainer{Name: "box", Cmd: []string{"cat"}, OpenStdin: true}, true)
	f.Add(&apitest.InteractiveContainer{Name: "stopped", Cmd: []string{"cat"}}, false)
	b := func(stdin string, args ...string) (int, string, string) {
		return runBerthStdin(t, stdin, append([]string{"-H", sock}, args...)...)
	}
	for _, tt := range []struct {
		name           string
		stdin          string
		args           []string
		code           int
		stdout, stderr string
		call           string // in one of the engine's calls, when set
		noCreate       bool
	}{
		{name: "stdin", stdin: "hello\n", args: []string{"exec", "-i", "box", "cat"}, stdout: "hello\n"},
		{name: "no stdin without -i", stdin: "hello\n", args: []string{"exec", "box", "cat"}},
		{name: "stderr apart", args: []string{"exec", "box", "warn", "oops"}, stderr: "oops\n"},
		{name: "exit status", args: []string{"exec", "box", "exit", "7"}, code: 7},
		{name: "not found", args: []string{"exec", "box", "/no/such"}, code: 127, stdout: "OCI runtime exec failed: exec failed: unable to start container process: exec: \"/no/such\": executable file not found in $PATH: unknown\r\n"},
		{name: "settings", args: []string{"exec", "-e", "A=1", "-u", "1000", "-w", "/srv", "--privileged", "box", "env"}, stdout: "user=1000 workdir=/srv privileged=true env=A=1\n"},
		{name: "tty without -i on a pipe", args: []string{"exec", "-t", "box", "warn", "x"}, stdout: "x\n",
			call: `, detach=false, tty=true, console=none, upgrade="tcp")`},
		{name: "detached", args: []string{"exec", "-d", "box", "exit", "3"},
			call: `, detach=true, tty=false, console=none, upgrade="")`},
		{name: "-it on a pipe", args: []string{"exec", "-it", "box", "cat"}, code: ExitFailure, stderr: "berth: the input device is not a TTY\n", noCreate: true},
		{name: "missing container", args: []string{"exec", "nope", "cat"}, code: ExitFailure, stderr: "berth: Error response from daemon: No such container: nope\n", noCreate: true},
		{name: "stopped container", args: []string{"exec", "stopped", "cat"}, code: ExitFailure, stderr: "berth: Error response from daemon: container " + strings.Repeat("0", 63) + "2 is not running\n"},
		{name: "bad detach keys", args: []string{"exec", "--detach-keys", "ctrl-1", "box", "cat"}, code: ExitUsage, noCreate: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.Calls()
			code, out, errOut := b(tt.stdin, tt.args...)
			if code != tt.code || out != tt.stdout || (tt.stderr != "" || tt.code == 0) && errOut != tt.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tt.code, tt.stdout, tt.stderr)
			}
			if tt.code == ExitUsage && strings.Count(errOut, "\n") != 1 {
				t.Errorf("not one line: %q", errOut)
			}
			calls := f.Calls()
			created := slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "ExecCreate(") })
			if created == tt.noCreate {
				t.Errorf("exec created: %t; calls %q", created, calls)
			}
			if tt.call != "" && !slices.ContainsFunc(calls, func(c string) bool { return strings.Contains(c, tt.call) }) {
				t.Errorf("calls %q lack %s", calls, tt.call)
			}
			for _, c := range calls {
				if strings.HasPrefix(c, "UNKNOWN") || strings.Contains(c, "Resize") {
					t.Errorf("unexpected request without a terminal: %s", c)
				}
			}
		})
	}

	// config.json's detachKeys, as docker reads them, unless the flag says
	// otherwise.
	os.WriteFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"), []byte(`{"detachKeys": "ctrl-e,e"}`), 0o600)
	for args, want := range map[string]string{"exec box echo": `detachKeys="ctrl-e,e"`, "exec --detach-keys a box echo": `detachKeys="a"`} {
		f.Calls()
		b("", strings.Fields(args)...)
		if calls := f.Calls(); len(calls) == 0 || !strings.Contains(calls[0], want) {
			t.Errorf("%s: calls %q, want %s", args, calls, want)
		}
	}
}

func TestBerthAttachAndStart(t *testing.T) {
	sock, f := startInteractiveEngine(t)
	f.Add(&apitest.InteractiveContainer{Name: "echoer", Cmd: []string{"cat"}, OpenStdin: true, StdinOnce: true}, true)
	f.Add(&apitest.InteractiveContainer{Name: "stopped", Cmd: []string{"cat"}}, false)
	f.Add(&apitest.InteractiveContainer{Name: "created", Cmd: []string{"cat"}, OpenStdin: true, StdinOnce: true}, false)
	f.Add(&apitest.InteractiveContainer{Name: "fails", Cmd: []string{"exit", "4"}}, false)
	f.Add(&apitest.InteractiveContainer{Name: "closed", Cmd: []string{"echo", "out"}}, false)
	b := func(stdin string, args ...string) (int, string, string) {
		return runBerthStdin(t, stdin, append([]string{"-H", sock}, args...)...)
	}

	code, out, errOut := b("hi\n", "attach", "echoer")
	if code != 0 || out != "hi\n" || errOut != "" {
		t.Errorf("attach: exit %d, %q, %q", code, out, errOut)
	}
	if calls := f.Calls(); !slices.Contains(calls, `ContainerAttach(echoer, stream=1, stdin=1, stdout=1, stderr=1, detachKeys="")`) {
		t.Errorf("attach calls %q", calls)
	}
	code, _, errOut = b("", "attach", "stopped")
	if code != ExitFailure || errOut != "berth: cannot attach to a stopped container, start it first\n" {
		t.Errorf("attach to a stopped container: exit %d, %q", code, errOut)
	}
	code, _, errOut = b("", "attach", "nope")
	if code != ExitFailure || !strings.Contains(errOut, "No such container: nope") {
		t.Errorf("attach to a missing container: exit %d, %q", code, errOut)
	}

	code, out, _ = b("abc", "start", "-ai", "created")
	if code != 0 || out != "abc" {
		t.Errorf("start -ai: exit %d, %q", code, out)
	}
	code, _, _ = b("", "start", "-a", "fails")
	if code != 4 {
		t.Errorf("start -a of exit 4: exit %d", code)
	}
	// -i to a container created without it attaches no stdin.
	f.Calls()
	code, out, _ = b("ignored", "start", "-ai", "closed")
	if code != 0 || out != "out\n" {
		t.Errorf("start -ai without OpenStdin: exit %d, %q", code, out)
	}
	if calls := f.Calls(); !slices.Contains(calls, `ContainerAttach(closed, stream=1, stdin=, stdout=1, stderr=1, detachKeys="")`) {
		t.Errorf("calls %q", calls)
	}
}

// TestDockerCLIInteractive runs the same exec, attach and start -ai
// command lines through the real docker CLI and berth against the
// interactive fake: the same exit codes and output, and the same requests
// on the wire, so that neither the fake nor berth drifts from docker.
func TestDockerCLIInteractive(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	sock, f := startInteractiveEngine(t)
	f.Add(&apitest.InteractiveContainer{Name: "box", Cmd: []string{"cat"}, OpenStdin: true}, true)
	cfgDir := os.Getenv("DOCKER_CONFIG")
	ids := regexp.MustCompile(`exec\d+`)
	for _, r := range []struct {
		stdin string
		args  []string
		code  int
		out   string
	}{
		{"hello\n", []string{"exec", "-i", "box", "cat"}, 0, "hello\n"},
		{"", []string{"exec", "box", "warn", "oops"}, 0, ""},
		{"", []string{"exec", "-e", "A=1", "-u", "1000", "-w", "/srv", "box", "env"}, 0, "user=1000 workdir=/srv privileged=false env=A=1\n"},
		{"", []string{"exec", "box", "exit", "7"}, 7, ""},
		{"", []string{"exec", "box", "/no/such"}, 127, ""},
		{"", []string{"exec", "-d", "box", "exit", "3"}, 0, ""},
		{"", []string{"exec", "--detach-keys", "ctrl-a,b", "box", "echo", "x"}, 0, "x\n"},
	} {
		var calls [2][]string
		for i, name := range []string{"docker", "berth"} {
			f.Calls()
			var out string
			var code int
			if name == "docker" {
				var err error
				out, _, err = docker(t, sock, cfgDir, r.stdin, r.args...)
				code = processExitCode(err)
			} else {
				code, out, _ = runBerthStdin(t, r.stdin, append([]string{"-H", sock}, r.args...)...)
			}
			if code != r.code || (r.out != "" && out != r.out) {
				t.Errorf("%s %s: exit %d, %q; want %d, %q", name, strings.Join(r.args, " "), code, out, r.code, r.out)
			}
			for _, c := range f.Calls() {
				calls[i] = append(calls[i], ids.ReplaceAllString(c, "execN"))
			}
		}
		if !slices.Equal(calls[0], calls[1]) {
			t.Errorf("%s: the requests differ\ndocker: %q\nberth:  %q", strings.Join(r.args, " "), calls[0], calls[1])
		}
	}

	// attach and start -ai end their containers: one each per client.
	var calls [2][]string
	for i, name := range []string{"docker", "berth"} {
		f.Add(&apitest.InteractiveContainer{Name: "a-" + name, Cmd: []string{"cat"}, OpenStdin: true, StdinOnce: true}, true)
		f.Add(&apitest.InteractiveContainer{Name: "s-" + name, Cmd: []string{"cat"}, OpenStdin: true, StdinOnce: true}, false)
		f.Calls()
		for _, args := range [][]string{{"attach", "a-" + name}, {"start", "-ai", "s-" + name}} {
			var out string
			var code int
			if name == "docker" {
				var err error
				out, _, err = docker(t, sock, cfgDir, "in\n", args...)
				code = processExitCode(err)
			} else {
				code, out, _ = runBerthStdin(t, "in\n", append([]string{"-H", sock}, args...)...)
			}
			if code != 0 || out != "in\n" {
				t.Errorf("%s %s: exit %d, %q", name, strings.Join(args, " "), code, out)
			}
		}
		for _, c := range f.Calls() {
			calls[i] = append(calls[i], strings.ReplaceAll(c, "-"+name, "-X"))
		}
	}
	// The wait may come before or after the attach; the set is the same.
	slices.Sort(calls[0])
	slices.Sort(calls[1])
	if !slices.Equal(calls[0], calls[1]) {
		t.Errorf("attach and start -ai: the requests differ\ndocker: %q\nberth:  %q", calls[0], calls[1])
	}
}

// processExitCode is a client process's exit status (-1 when it did not
// run).
func processExitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}
