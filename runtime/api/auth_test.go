package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

func TestRegistryAuthLogin(t *testing.T) {
	host := apitest.NewRegistry(t, "alice", "s3cret")
	open := apitest.NewRegistry(t, "", "")
	ra := &api.RegistryAuth{}
	ctx := context.Background()

	resp, err := ra.Login(ctx, &api.AuthConfig{Username: "alice", Password: "s3cret", ServerAddress: host})
	if err != nil || resp.Status != "Login Succeeded" {
		t.Fatalf("good credentials: %+v, %v", resp, err)
	}
	// The server address may be a URL, as some clients send it.
	if _, err := ra.Login(ctx, &api.AuthConfig{Username: "alice", Password: "s3cret", ServerAddress: "http://" + host + "/"}); err != nil {
		t.Errorf("URL server address: %v", err)
	}
	// config.json's "auth" form.
	if _, err := ra.Login(ctx, &api.AuthConfig{Auth: "YWxpY2U6czNjcmV0", ServerAddress: host}); err != nil {
		t.Errorf("auth field: %v", err)
	}

	_, err = ra.Login(ctx, &api.AuthConfig{Username: "alice", Password: "wrong", ServerAddress: host})
	want := "login attempt to http://" + host + "/v2/ failed with status: 401 Unauthorized"
	if !errors.Is(err, api.ErrUnauthorized) || err.Error() != want {
		t.Errorf("wrong password: %v; want unauthorized %q", err, want)
	}
	if _, err := ra.Login(ctx, &api.AuthConfig{ServerAddress: host}); !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("no credentials: %v", err)
	}
	// A registry without auth accepts anyone, as with dockerd.
	if _, err := ra.Login(ctx, &api.AuthConfig{Username: "x", Password: "y", ServerAddress: open}); err != nil {
		t.Errorf("open registry: %v", err)
	}
	// Nothing listening.
	_, err = ra.Login(ctx, &api.AuthConfig{Username: "x", Password: "y", ServerAddress: "127.0.0.1:1"})
	if err == nil || errors.Is(err, api.ErrUnauthorized) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable registry: %v", err)
	}
}

func TestAuthEndpoint(t *testing.T) {
	host := apitest.NewRegistry(t, "alice", "s3cret")
	s, _ := newServer(t)
	rec := do(t, s, "POST", "/v1.43/auth", strings.NewReader(`{"username":"alice","password":"s3cret","serveraddress":"`+host+`"}`), "Content-Type", "application/json")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"Status":"Login Succeeded","IdentityToken":""}` {
		t.Errorf("good login: %d %s", rec.Code, rec.Body.String())
	}
	rec = do(t, s, "POST", "/v1.43/auth", strings.NewReader(`{"username":"alice","password":"nope","serveraddress":"`+host+`"}`))
	if rec.Code != 401 || !strings.Contains(errorMessage(t, rec), "failed with status: 401 Unauthorized") {
		t.Errorf("bad login: %d %s", rec.Code, rec.Body.String())
	}
	rec = do(t, s, "POST", "/v1.43/auth", strings.NewReader(`{"username":"alice","password":"s3cret","otp":"123"}`))
	if rec.Code != 400 || !strings.Contains(errorMessage(t, rec), `field "otp" is not supported by Berth`) {
		t.Errorf("unknown field: %d %s", rec.Code, rec.Body.String())
	}
	rec = do(t, s, "POST", "/v1.43/auth", nil)
	if rec.Code != 400 || !strings.Contains(errorMessage(t, rec), "no body") {
		t.Errorf("no body: %d %s", rec.Code, rec.Body.String())
	}
}

func TestRegistryHost(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "index.docker.io",
		"docker.io":                   "index.docker.io",
		"https://index.docker.io/v1/": "index.docker.io",
		"registry-1.docker.io":        "index.docker.io",
		"ghcr.io":                     "ghcr.io",
		"https://ghcr.io":             "ghcr.io",
		"localhost:5000":              "localhost:5000",
		"http://127.0.0.1:5000/v2/":   "127.0.0.1:5000",
		"registry.lan:5000/some/path": "registry.lan:5000",
	} {
		if got := api.RegistryHost(in); got != want {
			t.Errorf("RegistryHost(%q) = %q, want %q", in, got, want)
		}
	}
}
