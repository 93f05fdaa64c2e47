package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestInfo(t *testing.T) {
	sock := startEngine(t)
	code, out, stderr := runBerth(t, "-H", sock, "info")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := `Client: Berth
 Version:    dev
 Debug Mode: false

Server:
 Containers: 0
  Running: 0
  Paused: 0
  Stopped: 0
 Images: 2
 Server Version: test
 Storage Driver: overlay2
  Backing Filesystem: extfs
 Logging Driver: json-file
 Cgroup Driver: cgroupfs
 Cgroup Version: 1
 Kernel Version: 6.1.0-test
 Operating System: Debian GNU/Linux 12 (bookworm)
 OSType: linux
 Architecture: x86_64
 CPUs: 4
 Total Memory: 8GiB
 Name: host1
 ID: 6b3e2a1c-0000-4000-8000-000000000001
 Data Root: /var/lib/berth
 Debug Mode: false
 Experimental: false
 Insecure Registries:
  registry.lan:5000
  ::1/128
  127.0.0.0/8
 Registry Mirrors:
  https://hub.mirror.example
  https://ghcr.mirror.example (ghcr.io)
 Live Restore Enabled: false

`
	if out != want {
		t.Errorf("berth info:\n%s\nwant:\n%s", out, want)
	}
	if stderr != "WARNING: a test warning\n" {
		t.Errorf("stderr %q, want the engine's warnings", stderr)
	}
}

func TestInfoFormat(t *testing.T) {
	sock := startEngine(t)
	tests := []struct{ format, want string }{
		{"{{.ServerVersion}} {{.Images}} {{.CgroupVersion}}", "test 2 1\n"},
		{"{{json .RegistryConfig.Mirrors}}", `["https://hub.mirror.example"]` + "\n"},
		{"{{.ClientInfo.Version}}", "dev\n"},
	}
	for _, tt := range tests {
		code, out, stderr := runBerth(t, "-H", sock, "info", "--format", tt.format)
		if code != 0 || out != tt.want {
			t.Errorf("--format %s: exit %d, %q (%s); want %q", tt.format, code, out, stderr, tt.want)
		}
	}
	code, out, _ := runBerth(t, "-H", sock, "info", "--format", "json")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["DockerRootDir"] != "/var/lib/berth" || v["ClientInfo"] == nil {
		t.Errorf("--format json: exit %d, %s", code, out)
	}
	code, _, stderr := runBerth(t, "-H", sock, "info", "--format", "{{.Nope}}")
	if code != ExitUsage || !strings.Contains(stderr, "can't evaluate field Nope") {
		t.Errorf("unknown field: exit %d, %q", code, stderr)
	}
}

func TestInfoWithoutEngine(t *testing.T) {
	sock := noEngine(t)
	code, out, stderr := runBerth(t, "info")
	if code != ExitUnavailable {
		t.Errorf("exit %d, want %d", code, ExitUnavailable)
	}
	if out != "Client: Berth\n Version:    dev\n Debug Mode: false\n\nServer:\n" {
		t.Errorf("stdout %q", out)
	}
	if stderr != "berth: cannot reach the Berth engine at "+sock+": is the daemon running? (berth daemon, or systemctl start berth)\n" {
		t.Errorf("stderr %q", stderr)
	}
	if code, _, _ := runBerth(t, "info", "--format", "{{.ID}}"); code != ExitUnavailable {
		t.Errorf("--format without an engine: exit %d", code)
	}
}
