package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/api"
)

// runBerth runs the command line and returns its exit code and output.
func runBerth(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func TestParseHost(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"unix:///run/berth/berth.sock", "/run/berth/berth.sock", ""},
		{"/tmp/b.sock", "/tmp/b.sock", ""},
		{"unix://relative.sock", "", "must be absolute"},
		{"tcp://127.0.0.1:2375", "", "tcp is not supported"},
		{"relative.sock", "", "expected unix:///path"},
		{"", "", "empty engine address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseHost(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestHostFlagAndEnvironment(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"default", []string{"version"}, "", "/run/berth/berth.sock"},
		{"environment", []string{"version"}, "unix:///tmp/env.sock", "/tmp/env.sock"},
		{"flag beats environment", []string{"-H", "/tmp/flag.sock", "version"}, "unix:///tmp/env.sock", "/tmp/flag.sock"},
		{"long flag after the verb", []string{"version", "--host", "unix:///tmp/long.sock"}, "", "/tmp/long.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BERTH_HOST", tt.env)
			g := &GlobalOptions{}
			var out bytes.Buffer
			root := newRootCmdWith(&IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out}, g)
			root.SetArgs(tt.args)
			// version asks the engine there; that none answers is fine.
			if err := root.Execute(); err != nil && !errors.Is(err, api.ErrUnavailable) {
				t.Fatal(err)
			}
			if g.SocketPath != tt.want {
				t.Errorf("socket %q, want %q", g.SocketPath, tt.want)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      string
		wantCode int
		wantErr  string
	}{
		{"unknown flag", []string{"check", "--nope"}, "", ExitUsage, "unknown flag: --nope"},
		{"unknown command", []string{"frobnicate"}, "", ExitUsage, `unknown command "frobnicate"`},
		{"extra argument", []string{"version", "extra"}, "", ExitUsage, "unknown command"},
		{"missing root", []string{"check", "--root", "/nonexistent/berth-root"}, "", ExitUsage, "cannot inspect root /nonexistent/berth-root: no such file or directory"},
		{"root is a file", []string{"check", "--root", "/etc/hostname"}, "", ExitUsage, "not a directory"},
		{"relative data root", []string{"check", "--data-root", "var/lib/berth"}, "", ExitUsage, "not an absolute path"},
		{"bad host flag", []string{"-H", "tcp://127.0.0.1:2375", "version"}, "", ExitUsage, "tcp is not supported"},
		{"bad host env", []string{"version"}, "ssh://host", ExitUsage, "ssh is not supported"},
		{"bad template", []string{"version", "--format", "{{.Client.Nope"}, "", ExitUsage, "invalid --format template"},
		{"unknown template field", []string{"version", "--format", "{{.Client.Nope}}"}, "", ExitUsage, "can't evaluate field Nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BERTH_HOST", tt.env)
			code, stdout, stderr := runBerth(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.wantErr)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines != 0 {
				t.Errorf("want one error line, got %q", stderr)
			}
			if !strings.HasPrefix(stderr, "berth: ") {
				t.Errorf("stderr %q does not start with berth: ", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing on an error", stdout)
			}
		})
	}
}
