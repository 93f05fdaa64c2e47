package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLogout(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	// The forms docker has stored logins under over the years.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths": {
		"registry.lan:5000": {"auth": "YTpi"},
		"https://registry.lan:5000": {"auth": "YTpi"},
		"https://index.docker.io/v1/": {"auth": "aHViOnB3"},
		"ghcr.io": {"auth": "Zzpo"}
	}, "detachKeys": "ctrl-e,e"}`), 0o600)
	auths := func() []string {
		var cfg struct {
			Auths map[string]json.RawMessage `json:"auths"`
		}
		b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
		json.Unmarshal(b, &cfg)
		var keys []string
		for k := range cfg.Auths {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}

	code, out, stderr := runBerth(t, "logout", "http://registry.lan:5000/")
	if code != 0 || out != "Removing login credentials for registry.lan:5000\n" || stderr != "" {
		t.Errorf("exit %d, %q, %q", code, out, stderr)
	}
	if got := auths(); !slices.Equal(got, []string{"ghcr.io", "https://index.docker.io/v1/"}) {
		t.Errorf("left %q", got)
	}
	code, out, _ = runBerth(t, "logout")
	if code != 0 || out != "Removing login credentials for https://index.docker.io/v1/\n" {
		t.Errorf("Docker Hub: exit %d, %q", code, out)
	}
	if got := auths(); !slices.Equal(got, []string{"ghcr.io"}) {
		t.Errorf("left %q", got)
	}
	if readConfig(t, dir)["detachKeys"] == nil {
		t.Error("other settings lost")
	}

	// Not logged in: the same message, nothing written.
	before, _ := os.Stat(filepath.Join(dir, "config.json"))
	code, out, _ = runBerth(t, "logout", "quay.io")
	after, _ := os.Stat(filepath.Join(dir, "config.json"))
	if code != 0 || out != "Removing login credentials for quay.io\n" || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("not logged in: exit %d, %q", code, out)
	}

	// No config.json at all.
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "none"))
	if code, _, stderr := runBerth(t, "logout", "quay.io"); code != 0 {
		t.Errorf("without config.json: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); !os.IsNotExist(err) {
		t.Error("logout created a config directory")
	}
}
