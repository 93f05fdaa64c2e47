package main

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/berthhq/berth/runtime/api"
)

// credentialsFor reads the user's login for registry from Docker's
// config.json (DOCKER_CONFIG, or ~/.docker), credential helpers included,
// to send with a pull as X-Registry-Auth, as the docker CLI does. No login
// is not an error: the pull goes anonymous.
func credentialsFor(registry string) (*api.AuthConfig, error) {
	reg, err := name.NewRegistry(registry)
	if err != nil {
		return nil, usageError(err)
	}
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil {
		return nil, fmt.Errorf("reading credentials for %s: %w", registry, err)
	}
	if a == authn.Anonymous {
		return nil, nil
	}
	cfg, err := a.Authorization()
	if err != nil {
		return nil, fmt.Errorf("reading credentials for %s: %w", registry, err)
	}
	return &api.AuthConfig{
		Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
		IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken, ServerAddress: registry,
	}, nil
}
