package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// AuthHeader is the request header that carries a registry credential.
const AuthHeader = "X-Registry-Auth"

// DockerHubServer is how Docker names Docker Hub in credentials: the key
// of its entry in config.json and the serveraddress the docker CLI sends.
const DockerHubServer = "https://index.docker.io/v1/"

// EncodeAuthHeader is the X-Registry-Auth value for a: base64url of its
// JSON, as the docker CLI sends it.
func EncodeAuthHeader(a *AuthConfig) (string, error) {
	if a == nil {
		a = &AuthConfig{}
	}
	b, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// DecodeAuthHeader decodes an X-Registry-Auth value. It returns nil for an
// absent header and for the empty credential "{}" the docker CLI sends when
// it has none. Padding may be missing and the standard alphabet is
// accepted too, as dockerd does for older clients.
func DecodeAuthHeader(v string) (*AuthConfig, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err = enc.DecodeString(v); err == nil {
			break
		}
	}
	if err != nil {
		return nil, InvalidParameterf("%s: not base64: %v", AuthHeader, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var a AuthConfig
	if err := dec.Decode(&a); err != nil {
		return nil, InvalidParameterf("%s: %v", AuthHeader, jsonFieldError(err))
	}
	if a == (AuthConfig{}) {
		return nil, nil
	}
	return &a, nil
}

// jsonFieldError rewords encoding/json's unknown-field error.
func jsonFieldError(err error) error {
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("field %s is not supported by Berth", f)
	}
	return err
}

// RegistryHost is the registry host[:port] a login's server address names:
// "https://index.docker.io/v1/", "docker.io" and "" are Docker Hub
// ("index.docker.io", as go-containerregistry and dockerd reach it).
func RegistryHost(server string) string {
	s := strings.TrimSpace(server)
	if i := strings.Index(s, "://"); i >= 0 {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			s = u.Host
		} else {
			s = s[i+3:]
		}
	}
	s, _, _ = strings.Cut(s, "/")
	switch strings.ToLower(s) {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		return name.DefaultRegistry
	}
	return s
}

// RegistryAuth checks credentials the way dockerd's /auth does: a GET of the
// registry's /v2/ with them, through the registry's token flow when it
// answers with a Bearer challenge.
type RegistryAuth struct {
	// Insecure says whether a registry may be reached over plain http
	// (daemon.json insecure-registries). Without it, only loopback and
	// private addresses fall back to http, as go-containerregistry does.
	Insecure func(host string) bool
	// Transport is the base round tripper; nil is http.DefaultTransport,
	// which honours the proxy environment.
	Transport http.RoundTripper
}

// Login returns "Login Succeeded" when the registry accepts a, and an
// Unauthorized error when it refuses.
func (ra *RegistryAuth) Login(ctx context.Context, a *AuthConfig) (*AuthResponse, error) {
	host := RegistryHost(a.ServerAddress)
	var opts []name.Option
	if ra.Insecure != nil && ra.Insecure(host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return nil, InvalidParameterf("registry %q: %v", a.ServerAddress, err)
	}
	base := ra.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cred := authn.FromConfig(authn.AuthConfig{
		Username: a.Username, Password: a.Password, Auth: a.Auth,
		IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken,
	})
	t, err := transport.NewWithContext(ctx, reg, cred, base, nil)
	if err != nil {
		return nil, loginError(err)
	}
	u := "https://" + reg.RegistryStr() + "/v2/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return nil, loginError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode == http.StatusOK {
		return &AuthResponse{Status: "Login Succeeded"}, nil
	}
	// The URL the request ended at: the scheme transport may have
	// switched to http for an insecure registry.
	err = fmt.Errorf("login attempt to %s failed with status: %d %s", resp.Request.URL, resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, Unauthorized(err)
	}
	return nil, err
}

// loginError marks a refusal from the registry or its token service as
// Unauthorized; other failures (unreachable, TLS) stay what they are.
func loginError(err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return Unauthorized(err)
	}
	return err
}
