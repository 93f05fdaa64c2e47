package daemon

import (
	"context"
	"errors"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/image"
)

// Changes is docker diff's answer: the engine's changes in the API's terms.
func (b *ContainerBackend) Changes(ctx context.Context, ref string) ([]api.ContainerChange, error) {
	changes, err := b.Engine.Changes(ref)
	if err != nil {
		return nil, containerError(err)
	}
	var out []api.ContainerChange
	for _, c := range changes {
		out = append(out, api.ContainerChange{Path: c.Path, Kind: int(c.Kind)})
	}
	return out, nil
}

// Commit is docker commit: the engine makes the image in the store.
func (b *ContainerBackend) Commit(ctx context.Context, opts api.CommitOptions) (string, error) {
	co := container.CommitOptions{
		Ref: opts.Ref, Author: opts.Author, Comment: opts.Comment, Changes: opts.Changes, Pause: opts.Pause,
	}
	if opts.Config != nil {
		cfg := imageConfig(opts.Config)
		co.Config = &cfg
	}
	im, err := b.Engine.Commit(ctx, opts.Container, co)
	if errors.Is(err, image.ErrInvalidParameter) {
		return "", api.InvalidParameter(err)
	}
	if err != nil {
		return "", containerError(err)
	}
	return im.ID, nil
}

// imageConfig is a request's container configuration as an image's.
func imageConfig(c *api.ContainerConfig) v1.Config {
	cfg := v1.Config{
		Hostname: c.Hostname, Domainname: c.Domainname, User: c.User, AttachStdin: c.AttachStdin,
		AttachStdout: c.AttachStdout, AttachStderr: c.AttachStderr, ExposedPorts: c.ExposedPorts, Tty: c.Tty,
		OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce, Env: c.Env, Cmd: c.Cmd, ArgsEscaped: c.ArgsEscaped,
		Image: c.Image, Volumes: c.Volumes, WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint,
		NetworkDisabled: c.NetworkDisabled, MacAddress: c.MacAddress, OnBuild: c.OnBuild, Labels: c.Labels,
		StopSignal: c.StopSignal, Shell: c.Shell,
	}
	if h := c.Healthcheck; h != nil {
		cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	return cfg
}
