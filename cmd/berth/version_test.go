package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	code, out, stderr := runBerth(t, "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Version:    dev", "Go version: " + runtime.Version(), "OS/Arch:    " + runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionFormat(t *testing.T) {
	tests := []struct{ format, want string }{
		{"{{.Client.Version}}", "dev\n"},
		{"{{.Client.Os}}/{{.Client.Arch}}", runtime.GOOS + "/" + runtime.GOARCH + "\n"},
		{"{{.Client.GoVersion}}", runtime.Version() + "\n"},
		{"{{json .Client.Version}}", "\"dev\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			code, out, stderr := runBerth(t, "version", "--format", tt.format)
			if code != 0 || out != tt.want {
				t.Errorf("exit %d, output %q (%s); want %q", code, out, stderr, tt.want)
			}
		})
	}
	code, out, _ := runBerth(t, "version", "--format", "json")
	var v VersionInfo
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Client.Version != "dev" || v.Client.GitCommit == "" {
		t.Errorf("--format json: exit %d, %q", code, out)
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
