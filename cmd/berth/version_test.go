package main

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// noEngine points BERTH_HOST at a socket nobody listens on.
func noEngine(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "none.sock")
	t.Setenv("BERTH_HOST", "unix://"+sock)
	return sock
}

func TestVersion(t *testing.T) {
	sock := noEngine(t)
	code, out, stderr := runBerth(t, "version")
	// As docker version: the client's part, a note, and status 1.
	if code != ExitFailure {
		t.Errorf("exit %d, want 1: %s", code, stderr)
	}
	for _, want := range []string{"Client: Berth\n Version:     dev\n API version: 1.43\n", "Go version:  " + runtime.Version(), "OS/Arch:     " + runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Server") {
		t.Errorf("a Server section without an engine:\n%s", out)
	}
	want := "berth: cannot reach the Berth engine at " + sock + ": is the daemon running? (berth daemon, or systemctl start berth)\n"
	if stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

func TestVersionWithEngine(t *testing.T) {
	sock := startEngine(t)
	code, out, stderr := runBerth(t, "-H", sock, "version")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Client: Berth", "\nServer: Berth\n Engine:\n  Version:      test\n  API version:  1.43 (minimum version 1.24)\n", "  Kernel:       6.1.0-test\n", "  Experimental: false\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runBerth(t, "-H", sock, "version", "--format", "{{.Server.APIVersion}} {{.Server.Version}} {{.Client.APIVersion}}")
	if code != 0 || out != "1.43 test 1.43\n" {
		t.Errorf("--format: exit %d, %q", code, out)
	}
	code, out, _ = runBerth(t, "-H", sock, "version", "--format", "json")
	var v VersionInfo
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Server == nil || v.Server.MinAPIVersion != "1.24" {
		t.Errorf("--format json: exit %d, %q", code, out)
	}
}

func TestVersionFormat(t *testing.T) {
	noEngine(t)
	tests := []struct{ format, want string }{
		{"{{.Client.Version}}", "dev\n"},
		{"{{.Client.Os}}/{{.Client.Arch}}", runtime.GOOS + "/" + runtime.GOARCH + "\n"},
		{"{{.Client.GoVersion}}", runtime.Version() + "\n"},
		{"{{json .Client.Version}}", "\"dev\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			code, out, stderr := runBerth(t, "version", "--format", tt.format)
			if code != ExitFailure || out != tt.want || !strings.Contains(stderr, "cannot reach the Berth engine") {
				t.Errorf("exit %d, output %q (%s); want 1, %q and the note", code, out, stderr, tt.want)
			}
		})
	}
	code, out, _ := runBerth(t, "version", "--format", "json")
	var v VersionInfo
	if code != ExitFailure || json.Unmarshal([]byte(out), &v) != nil || v.Client.Version != "dev" || v.Client.GitCommit == "" || v.Server != nil {
		t.Errorf("--format json: exit %d, %q", code, out)
	}
	if !strings.Contains(out, `"Server":null`) {
		t.Errorf("--format json without an engine should say Server null, as docker does: %s", out)
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, stderr := runBerth(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "berth") || len(out) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes, %s", shell, code, len(out), stderr)
		}
	}
}
