package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/runtime/image/layer"
)

// CommitOptions are docker commit's.
type CommitOptions struct {
	// Ref names the new image (repo[:tag]); "" leaves it untagged.
	Ref string
	// Author and Comment (--author, --message) are recorded in the image.
	Author, Comment string
	// Changes are Dockerfile instructions applied to the configuration
	// (--change).
	Changes []string
	// Config, when set, is the configuration the changes apply to instead
	// of the container's (the API's request body); the container's fills in
	// what it leaves unset.
	Config *v1.Config
	// Pause freezes a running container while its changes are read, so the
	// layer is one moment's state.
	Pause bool
}

// Commit makes an image of the container, as docker commit does: its
// image's layers plus one layer of what its processes changed (the upper
// dir, whiteouts and opaque directories back as tar entries), and its
// configuration with opts.Changes applied. A running container is frozen
// (opts.Pause) only while its upper dir is read; a stopped one is read as
// it is. A bad change or name is an ErrInvalid error, found before the
// container is touched.
func (e *Engine) Commit(ctx context.Context, idOrName string, opts CommitOptions) (*image.Image, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	// Held throughout: the container is not stopped, started or removed
	// while its upper dir is read.
	en.op.Lock()
	defer en.op.Unlock()
	c := en.snapshot()
	switch c.State.Status {
	case StatusRemoving:
		return nil, conflictf("You cannot commit container %s which is being removed", c.ID)
	case StatusDead:
		return nil, conflictf("You cannot commit container %s which is Dead", c.ID)
	}
	img, err := e.images.Get(c.Image)
	if errors.Is(err, image.ErrNotFound) {
		return nil, kindf(ErrNotFound, "the image of container %s is gone: %v", shortID(c.ID), err)
	}
	if err != nil {
		return nil, err
	}
	ctrCfg := commitBaseConfig(c, img)
	cfg := cloneConfig(ctrCfg)
	if opts.Config != nil {
		cfg = cloneConfig(*opts.Config)
	}
	if err := applyChanges(&cfg, opts.Changes); err != nil {
		return nil, err
	}
	mergeCommitConfig(&cfg, ctrCfg)
	if opts.Ref != "" {
		ref, err := image.ParseReference(opts.Ref)
		if err != nil {
			return nil, invalidf("%v", err)
		}
		if ref.Digest != "" {
			return nil, invalidf("refusing to create a tag with a digest reference")
		}
	}

	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		thaw := func() {}
		if opts.Pause && c.State.Status == StatusRunning {
			thaw = e.freezeWhileRead(en)
		}
		err := layer.Export(ctx, pw, filepath.Join(c.Dir, upperDir))
		thaw()
		pw.CloseWithError(err)
		exported <- err
	}()
	im, err := e.images.Commit(ctx, pr, image.CommitOptions{
		Parent: img.ID, Config: cfg, ContainerConfig: ctrCfg, Container: c.ID,
		Author: opts.Author, Comment: opts.Comment, CreatedBy: strings.Join(ctrCfg.Cmd, " "), Ref: opts.Ref,
	})
	// A commit that failed early stops the export.
	pr.CloseWithError(errors.New("the commit ended"))
	<-exported
	switch {
	case err == nil:
		return im, nil
	case errors.Is(err, image.ErrInvalidParameter):
		return nil, invalidf("%v", err)
	case errors.Is(err, image.ErrNotFound):
		return nil, kindf(ErrNotFound, "%v", err)
	}
	return nil, fmt.Errorf("committing container %s: %w", shortID(c.ID), err)
}

// freezeWhileRead pauses the running container, as commit --pause does,
// and returns what thaws it. A container that exits meanwhile needs
// neither.
func (e *Engine) freezeWhileRead(en *entry) (thaw func()) {
	dir := en.dir()
	if err := monitorRequest(context.Background(), dir, "pause", false); err != nil {
		return func() {}
	}
	e.refreshState(en)
	return func() {
		if err := monitorRequest(context.Background(), dir, "unpause", false); err != nil && !isGone(err) {
			e.log.Warn("thawing a container after commit", "id", filepath.Base(dir), "err", err)
		}
		e.refreshState(en)
	}
}

// refreshState takes a running container's state from what its monitor
// wrote (paused, running).
func (e *Engine) refreshState(en *entry) {
	st, err := readState(en.dir())
	if err != nil {
		return
	}
	en.mu.Lock()
	if en.c.State.Running() {
		en.c.State = st
	}
	en.mu.Unlock()
}

// commitBaseConfig is the container's configuration as an image
// configuration (Docker's container.Config): what it runs with, its image's
// defaults merged in at create, and the image settings a container does not
// change (exposed ports, health check, shell).
func commitBaseConfig(c *Container, img *image.Image) v1.Config {
	cc := c.Config
	var ic v1.Config
	if img.Config != nil {
		ic = img.Config.Config
	}
	cfg := v1.Config{
		Hostname: cc.Hostname, Domainname: cc.Domainname, User: cc.User, AttachStdin: cc.AttachStdin,
		Tty: cc.Tty, OpenStdin: cc.OpenStdin, StdinOnce: cc.StdinOnce, Env: slices.Clone(cc.Env),
		Cmd: slices.Clone(cc.Cmd), Image: cc.Image, Volumes: maps.Clone(cc.Volumes), WorkingDir: cc.WorkingDir,
		Entrypoint: slices.Clone(cc.Entrypoint), Labels: maps.Clone(cc.Labels), StopSignal: cc.StopSignal,
		ExposedPorts: maps.Clone(ic.ExposedPorts), Shell: slices.Clone(ic.Shell), ArgsEscaped: ic.ArgsEscaped,
	}
	if ic.Healthcheck != nil {
		h := *ic.Healthcheck
		h.Test = slices.Clone(h.Test)
		cfg.Healthcheck = &h
	}
	return cfg
}

// cloneConfig copies c so that changing the copy leaves c alone.
func cloneConfig(c v1.Config) v1.Config {
	c.Cmd, c.Entrypoint, c.Env = slices.Clone(c.Cmd), slices.Clone(c.Entrypoint), slices.Clone(c.Env)
	c.OnBuild, c.Shell = slices.Clone(c.OnBuild), slices.Clone(c.Shell)
	c.Labels, c.Volumes, c.ExposedPorts = maps.Clone(c.Labels), maps.Clone(c.Volumes), maps.Clone(c.ExposedPorts)
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		h.Test = slices.Clone(h.Test)
		c.Healthcheck = &h
	}
	return c
}
