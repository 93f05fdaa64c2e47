package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/api/apitest"
)

func TestLoginFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    LoginOptions
		wantErr string
	}{
		{"server and user", []string{"login", "-u", "alice", "--password-stdin", "ghcr.io"}, LoginOptions{Server: "ghcr.io", Username: "alice", PasswordStdin: true}, ""},
		{"default server", []string{"login", "--username", "bob", "-p", "x"}, LoginOptions{Username: "bob", Password: "x"}, ""},
		{"stdin needs a user", []string{"login", "--password-stdin"}, LoginOptions{}, "the --password-stdin option requires --username to be set"},
		{"both passwords", []string{"login", "-u", "a", "-p", "x", "--password-stdin"}, LoginOptions{}, "conflicting options: cannot specify both --password and --password-stdin"},
		{"empty user", []string{"login", "-u", ""}, LoginOptions{}, "username is empty"},
		{"empty password", []string{"login", "-u", "a", "-p", ""}, LoginOptions{}, "password is empty"},
		{"two servers", []string{"login", "a.example", "b.example"}, LoginOptions{}, "accepts at most 1 argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *LoginOptions
			g := &GlobalOptions{}
			streams := &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
			root := newRootCmdWith(streams, g)
			for _, c := range root.Commands() {
				if c.Name() == "login" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(newCmdLogin(streams, g, func(o *LoginOptions) error { got = o; return nil }))
			root.SetArgs(tt.args)
			err := root.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != ExitUsage {
					t.Errorf("err %v (exit %d), want a usage error %q", err, exitCode(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Server != tt.want.Server || got.Username != tt.want.Username || got.Password != tt.want.Password || got.PasswordStdin != tt.want.PasswordStdin {
				t.Errorf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoginServerAndKey(t *testing.T) {
	tests := []struct{ arg, server, key string }{
		{"", "https://index.docker.io/v1/", "https://index.docker.io/v1/"},
		{"docker.io", "https://index.docker.io/v1/", "https://index.docker.io/v1/"},
		{"index.docker.io", "https://index.docker.io/v1/", "https://index.docker.io/v1/"},
		{"ghcr.io", "ghcr.io", "ghcr.io"},
		{"https://registry.lan:5000/", "https://registry.lan:5000/", "registry.lan:5000"},
		{"localhost:5000", "localhost:5000", "localhost:5000"},
	}
	for _, tt := range tests {
		if s := loginServer(tt.arg); s != tt.server || credentialKey(s) != tt.key {
			t.Errorf("%q: server %q key %q; want %q %q", tt.arg, s, credentialKey(s), tt.server, tt.key)
		}
	}
}

// readConfig decodes config.json in dir, each value compacted.
func readConfig(t *testing.T, dir string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range m {
		var c bytes.Buffer
		json.Compact(&c, v)
		m[k] = c.Bytes()
	}
	return m
}

func TestLoginStoresAsDocker(t *testing.T) {
	sock := startEngine(t)
	reg := apitest.NewRegistry(t, "alice", "s3cret")
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	existing := `{
	"auths": {"other.example": {"auth": "b3RoZXI6cHc=", "email": "x@example.com"}},
	"psFormat": "table {{.ID}}",
	"plugins": {"debug": {"hooks": "exec"}}
}`
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(existing), 0o644)

	code, out, stderr := runBerthStdin(t, "s3cret\n", "-H", sock, "login", "-u", "alice", "--password-stdin", reg)
	if code != 0 || out != "Login Succeeded\n" {
		t.Fatalf("exit %d, %q, %q", code, out, stderr)
	}
	if !strings.Contains(stderr, "WARNING! Your credentials are stored unencrypted in '"+filepath.Join(dir, "config.json")+"'.") {
		t.Errorf("stderr %q lacks docker's warning", stderr)
	}
	fi, err := os.Stat(filepath.Join(dir, "config.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v, %v; want 0600", fi.Mode(), err)
	}
	cfg := readConfig(t, dir)
	if string(cfg["psFormat"]) != `"table {{.ID}}"` || !strings.Contains(string(cfg["plugins"]), `"hooks":"exec"`) {
		t.Errorf("other settings lost: %s", cfg)
	}
	var auths map[string]map[string]string
	json.Unmarshal(cfg["auths"], &auths)
	if auths[reg]["auth"] != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) {
		t.Errorf("auths %v", auths)
	}
	if auths["other.example"]["email"] != "x@example.com" || auths["other.example"]["auth"] != "b3RoZXI6cHc=" {
		t.Errorf("another login was changed: %v", auths["other.example"])
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	// Without -u: the stored login is tried first.
	code, out, stderr = runBerth(t, "-H", sock, "login", reg)
	if code != 0 || out != "Login Succeeded\n" || !strings.Contains(stderr, "Authenticating with existing credentials... [Username: alice]") {
		t.Errorf("login with stored credentials: exit %d, %q, %q", code, out, stderr)
	}

	// A refused password: the registry's answer, nothing stored.
	before, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	code, _, stderr = runBerthStdin(t, "wrong", "-H", sock, "login", "-u", "mallory", "--password-stdin", reg)
	if code != ExitFailure || !strings.Contains(stderr, "login attempt to http://"+reg+"/v2/ failed with status: 401 Unauthorized") {
		t.Errorf("wrong password: exit %d, %q", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "config.json")); !bytes.Equal(before, after) {
		t.Error("a refused login changed config.json")
	}
}

func TestLoginRefusals(t *testing.T) {
	sock := startEngine(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	code, _, stderr := runBerth(t, "-H", sock, "login", "registry.example")
	if code != ExitUsage || !strings.Contains(stderr, "cannot perform an interactive login from a non-TTY device") {
		t.Errorf("no credentials, no terminal: exit %d, %q", code, stderr)
	}
	code, _, stderr = runBerthStdin(t, " \n", "-H", sock, "login", "-u", "a", "--password-stdin", "registry.example")
	if code != ExitUsage || !strings.Contains(stderr, "password is empty") {
		t.Errorf("blank password: exit %d, %q", code, stderr)
	}
	noEngine(t)
	code, _, stderr = runBerthStdin(t, "pw", "login", "-u", "a", "--password-stdin", "registry.example")
	if code != ExitUnavailable || !strings.Contains(stderr, "cannot reach the Berth engine") {
		t.Errorf("no engine: exit %d, %q", code, stderr)
	}
}

// fakeHelper installs docker-credential-berthtest on PATH; it logs each
// call as "action input" and knows alice's password.
func fakeHelper(t *testing.T) (log string) {
	t.Helper()
	bin := t.TempDir()
	log = filepath.Join(bin, "calls")
	script := `#!/bin/sh
input=$(cat)
echo "$1 $input" >> ` + log + `
if [ "$1" = get ]; then
  echo "credentials not found in native keychain"; exit 1
fi
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-berthtest"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

func TestLoginAndLogoutWithCredentialHelper(t *testing.T) {
	sock := startEngine(t)
	reg := apitest.NewRegistry(t, "alice", "s3cret")
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	log := fakeHelper(t)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore": "berthtest"}`), 0o600)

	code, out, stderr := runBerthStdin(t, "s3cret", "-H", sock, "login", "-u", "alice", "--password-stdin", reg)
	if code != 0 || out != "Login Succeeded\n" || strings.Contains(stderr, "unencrypted") {
		t.Fatalf("exit %d, %q, %q", code, out, stderr)
	}
	calls, _ := os.ReadFile(log)
	if want := `store {"Secret":"s3cret","ServerURL":"` + reg + `","Username":"alice"}` + "\n"; string(calls) != want {
		t.Errorf("helper calls %q, want %q", calls, want)
	}
	cfg := readConfig(t, dir)
	if string(cfg["auths"]) != `{"`+reg+`":{}}` {
		t.Errorf("auths %s, want an empty entry as docker writes with a credsStore", cfg["auths"])
	}

	os.Remove(log)
	code, out, _ = runBerth(t, "logout", reg)
	calls, _ = os.ReadFile(log)
	if code != 0 || out != "Removing login credentials for "+reg+"\n" || !strings.HasPrefix(string(calls), "erase "+reg+"\n") {
		t.Errorf("logout: exit %d, %q, helper %q", code, out, calls)
	}
	if cfg := readConfig(t, dir); string(cfg["auths"]) != `{}` || string(cfg["credsStore"]) != `"berthtest"` {
		t.Errorf("config after logout %s", cfg)
	}
}
