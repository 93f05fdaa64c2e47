package daemon

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/container/cgroup"
	"github.com/berthhq/berth/runtime/image"
)

// ContainerBackend serves the API's container and volume routes from the
// container engine.
type ContainerBackend struct {
	Engine *container.Engine
	// Images is the store the engine runs images from (inspect's
	// GraphDriver lists their layers).
	Images *image.Store
	// DefaultNetwork is what NetworkMode "default" means to the engine.
	DefaultNetwork string
	// StatsInterval is the time between stats samples (default 1s).
	StatsInterval time.Duration
	// CgroupParent is the engine's cgroup parent, removed at Close when
	// no container is left in it; CgroupnsMode is what inspect says of
	// the containers' cgroup namespace.
	CgroupParent, CgroupnsMode string

	execs execTable
	// Bridge is the bridge network (nil when it could not be set up);
	// NetworkWarnings are what its setup says a user must know.
	Bridge          *container.BridgeNetwork
	NetworkWarnings []string
	// NetworksCreated is when the built-in networks were made: the data
	// root's first start.
	NetworksCreated time.Time
	// stopGuard ends the watch on other firewalls (guardForward).
	stopGuard func()
}

var _ api.ContainerBackend = (*ContainerBackend)(nil)

// NewContainerBackend opens the container engine of the data root over
// the image backend's store, makes the store's removals ask the engine
// which images containers use, and reconciles the engine with the host
// (re-adopting live containers, cleaning up after dead ones). It is the
// daemon's NewContainersFunc. Where containers cannot run (not Linux) it
// returns no backend and says so in the log.
func NewContainerBackend(ctx context.Context, cfg *Config, images api.ImageBackend, log *slog.Logger) (api.ContainerBackend, error) {
	ib, ok := images.(*ImageBackend)
	if !ok {
		return nil, fmt.Errorf("the container engine needs Berth's image store, not %T", images)
	}
	parent := CgroupParent(cfg.DataRoot)
	opts := []container.Option{container.WithInit(cfg.Init), container.WithLogger(log), container.WithCgroupParent(parent)}
	// The bridge is the default network; where it cannot be set up (no
	// netlink, no nftables) containers still run, without a network by
	// default, and the daemon says why.
	defaultNetwork := container.NetworkBridge
	bridge, netWarnings, err := setupNetwork(cfg, log)
	if err != nil {
		defaultNetwork = container.NetworkNone
		netWarnings = append(netWarnings, fmt.Sprintf("the bridge network is unavailable (%v): containers run with --network none unless they ask for host", err))
	} else {
		opts = append(opts, container.WithBridgeNetwork(bridge))
	}
	for _, w := range netWarnings {
		log.Warn(w)
	}
	opts = append(opts, container.WithDefaultNetwork(defaultNetwork))
	eng, err := container.New(cfg.DataRoot, ib.Store, opts...)
	if errors.Is(err, container.ErrUnsupported) {
		log.Warn("containers cannot run here; serving images only", "err", err)
		if bridge != nil {
			bridge.Host.Close()
		}
		return nil, nil
	}
	if err != nil {
		if bridge != nil {
			bridge.Host.Close()
		}
		return nil, err
	}
	ib.InUse = eng.ImageInUse
	if err := eng.Reconcile(ctx); err != nil {
		log.Warn("reconciling the containers with the host", "err", err)
	}
	// On v2 each container has its own cgroup namespace; on v1 the
	// engine leaves it the host's.
	nsMode := "host"
	if mode, err := cgroup.DetectMode(); err == nil && mode == cgroup.ModeV2 {
		nsMode = "private"
	}
	b := &ContainerBackend{
		Engine: eng, Images: ib.Store, DefaultNetwork: defaultNetwork, CgroupParent: parent, CgroupnsMode: nsMode,
		Bridge: bridge, NetworkWarnings: netWarnings, NetworksCreated: networksCreated(cfg.DataRoot),
	}
	if bridge != nil {
		b.stopGuard = guardForward(bridge, log)
	}
	return b, nil
}

// CgroupParent is where the daemon of dataRoot puts its containers'
// cgroups: "berth" for the default data root, "berth-" and 12 hex digits
// of the path's SHA-256 for another. The engine takes every cgroup under
// its parent that it does not know for a dead container's leftover and
// kills it, so daemons of two data roots (a test's beside the host's)
// must not share one.
func CgroupParent(dataRoot string) string {
	if filepath.Clean(dataRoot) == DefaultDataRoot {
		return "berth"
	}
	sum := sha256.Sum256([]byte(filepath.Clean(dataRoot)))
	return "berth-" + hex.EncodeToString(sum[:6])
}

// Close stops watching the containers, which keep running, and removes
// the cgroup parent when none is left in it.
func (b *ContainerBackend) Close() error {
	err := b.Engine.Close()
	if b.stopGuard != nil {
		b.stopGuard()
	}
	if b.Bridge != nil {
		// The bridge, its rules and the containers' veths stay: the
		// containers outlive the daemon, and the next one adopts them.
		b.Bridge.Host.Close()
	}
	if b.CgroupParent != "" {
		dirs, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", b.CgroupParent))
		for _, d := range append(dirs, filepath.Join(cgroupRoot, b.CgroupParent)) {
			// rmdir: a parent that still holds a container stays.
			os.Remove(d)
		}
	}
	return err
}

// cgroupRoot is where the cgroup filesystems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// containerError maps the engine's errors to the API's kinds; the
// messages are already Docker's.
func containerError(err error) error {
	var se *container.StartError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		// dockerd answers 400 when the command cannot be found or run,
		// 500 otherwise; the docker CLI reads the words either way.
		if se.Code == container.ExitNotFound || se.Code == container.ExitCannotInvoke {
			return api.InvalidParameter(err)
		}
		return err
	case errors.Is(err, container.ErrNotFound):
		return api.NotFound(err)
	case errors.Is(err, container.ErrInvalid):
		return api.InvalidParameter(err)
	case errors.Is(err, container.ErrConflict):
		return api.Conflict(err)
	case errors.Is(err, container.ErrNotModified):
		return api.NotModified(err)
	case errors.Is(err, container.ErrNotImplemented), errors.Is(err, container.ErrUnsupported):
		return api.NotImplemented(err)
	}
	return err
}

func (b *ContainerBackend) Create(ctx context.Context, opts api.ContainerCreateOptions) (*api.ContainerCreateResponse, error) {
	req := opts.Config
	if req == nil || req.HostConfig == nil {
		return nil, api.InvalidParameterf("a create request needs its configuration")
	}
	// Docker's words for a missing image, with the tag it implies: the
	// docker CLI pulls on this answer and tries again.
	img, err := b.Images.Get(req.Image)
	if errors.Is(err, image.ErrNotFound) {
		name := req.Image
		if r, perr := image.ParseReference(req.Image); perr == nil {
			name = r.Familiar()
		}
		return nil, api.NotFoundf("No such image: %s", name)
	}
	if err != nil {
		return nil, apiError(err, req.Image)
	}
	if err := checkImagePlatform(img, req.Image, opts.Platform); err != nil {
		return nil, err
	}
	spec := createSpec(opts)
	c, warnings, err := b.Engine.Create(ctx, spec)
	if err != nil {
		return nil, containerError(err)
	}
	if warnings == nil {
		warnings = []string{}
	}
	return &api.ContainerCreateResponse{ID: c.ID, Warnings: warnings}, nil
}

// checkImagePlatform refuses an image of another platform than the one
// asked for, as dockerd does (the docker CLI then pulls the right one).
func checkImagePlatform(img *image.Image, ref, platform string) error {
	if platform == "" || img.Config == nil {
		return nil
	}
	want, err := image.ParsePlatform(platform)
	if err != nil {
		return api.InvalidParameter(err)
	}
	c := img.Config
	if c.OS == want.OS && c.Architecture == want.Architecture && (want.Variant == "" || c.Variant == want.Variant) {
		return nil
	}
	have := c.OS + "/" + c.Architecture
	if c.Variant != "" {
		have += "/" + c.Variant
	}
	return api.NotFoundf("image with reference %s was found but its platform (%s) does not match the specified platform (%s)", ref, have, platform)
}

// createSpec is the engine's form of a validated create request.
func createSpec(opts api.ContainerCreateOptions) container.CreateSpec {
	req, h := opts.Config, opts.Config.HostConfig
	entrypoint := req.Entrypoint
	if len(entrypoint) == 1 && entrypoint[0] == "" {
		// --entrypoint "": no entrypoint at all, as dockerd reads it.
		entrypoint = []string{}
	}
	spec := container.CreateSpec{
		Name: opts.Name,
		Config: container.Config{
			Image: req.Image, Cmd: req.Cmd, Entrypoint: entrypoint, Env: req.Env, User: req.User,
			WorkingDir: req.WorkingDir, Hostname: req.Hostname, Domainname: req.Domainname, Labels: req.Labels,
			Tty: req.Tty, OpenStdin: req.OpenStdin, StdinOnce: req.StdinOnce, AttachStdin: req.AttachStdin,
			ConsoleSize: h.ConsoleSize, StopSignal: req.StopSignal, StopTimeout: req.StopTimeout,
		},
		HostConfig: container.HostConfig{
			RestartPolicy:  container.RestartPolicy{Name: h.RestartPolicy.Name, MaximumRetryCount: h.RestartPolicy.MaximumRetryCount},
			AutoRemove:     h.AutoRemove,
			Init:           h.Init,
			LogConfig:      container.LogConfig{Type: h.LogConfig.Type, Config: h.LogConfig.Config},
			NetworkMode:    h.NetworkMode,
			Resources:      resources(h.Resources),
			CapAdd:         h.CapAdd,
			CapDrop:        h.CapDrop,
			Privileged:     h.Privileged,
			ReadonlyRootfs: h.ReadonlyRootfs,
			SecurityOpt:    securityOpts(h.SecurityOpt),
			NetworkOptions: networkOptions(req),
		},
	}
	spec.ExposedPorts = req.ExposedPorts
	for _, m := range opts.Mounts {
		switch m.Type {
		case "bind", "volume":
			if m.Type == "volume" && m.Source == "" {
				if spec.Volumes == nil {
					spec.Volumes = map[string]struct{}{}
				}
				spec.Volumes[m.Target] = struct{}{}
				continue
			}
			var o []string
			if m.ReadOnly {
				o = append(o, "ro")
			}
			if m.Propagation != "" {
				o = append(o, m.Propagation)
			}
			if m.NoCopy {
				o = append(o, "nocopy")
			}
			bind := m.Source + ":" + m.Target
			if len(o) > 0 {
				bind += ":" + strings.Join(o, ",")
			}
			spec.Binds = append(spec.Binds, bind)
		case "tmpfs":
			var o []string
			if m.TmpfsSize > 0 {
				o = append(o, "size="+strconv.FormatInt(m.TmpfsSize, 10))
			}
			if m.TmpfsMode != 0 {
				o = append(o, "mode="+strconv.FormatUint(uint64(m.TmpfsMode), 8))
			}
			if m.ReadOnly {
				o = append(o, "ro")
			}
			o = append(o, m.Options...)
			if spec.Tmpfs == nil {
				spec.Tmpfs = map[string]string{}
			}
			spec.Tmpfs[m.Target] = strings.Join(o, ",")
		}
	}
	return spec
}

// resources are the limits the engine applies; PidsLimit 0 and -1 both
// mean none, as Docker reads them.
func resources(r api.Resources) cgroup.Resources {
	out := cgroup.Resources{MemoryBytes: r.Memory, MemorySwapBytes: r.MemorySwap, NanoCPUs: r.NanoCPUs, CPUShares: r.CPUShares}
	if r.PidsLimit != nil && *r.PidsLimit > 0 {
		out.PidsLimit = *r.PidsLimit
	}
	return out
}

// securityOpts drops the options that ask for what Berth does anyway (no
// AppArmor profile, no SELinux label); the engine knows the rest.
func securityOpts(opts []string) []string {
	var out []string
	for _, o := range opts {
		switch strings.Replace(o, ":", "=", 1) {
		case "apparmor=unconfined", "label=disable":
			continue
		}
		out = append(out, o)
	}
	return out
}

func (b *ContainerBackend) Start(ctx context.Context, ref string) error {
	return containerError(b.Engine.Start(ctx, ref))
}

// stopTimeout converts the API's seconds (-1: forever) for the engine.
func stopTimeout(t *int) *time.Duration {
	if t == nil {
		return nil
	}
	d := time.Duration(*t) * time.Second
	if *t < 0 {
		d = -1
	}
	return &d
}

func (b *ContainerBackend) Stop(ctx context.Context, ref string, opts api.StopOptions) error {
	return containerError(b.Engine.Stop(ctx, ref, stopTimeout(opts.Timeout), opts.Signal))
}

func (b *ContainerBackend) Restart(ctx context.Context, ref string, opts api.StopOptions) error {
	if opts.Signal == "" {
		return containerError(b.Engine.Restart(ctx, ref, stopTimeout(opts.Timeout)))
	}
	// The engine's restart stops with the container's own signal; another
	// one is a stop, then a start.
	if err := b.Engine.Stop(ctx, ref, stopTimeout(opts.Timeout), opts.Signal); err != nil && !errors.Is(err, container.ErrNotModified) {
		return containerError(err)
	}
	return containerError(b.Engine.Start(ctx, ref))
}

func (b *ContainerBackend) Kill(ctx context.Context, ref, signal string) error {
	return containerError(b.Engine.Kill(ctx, ref, signal))
}

func (b *ContainerBackend) Pause(ctx context.Context, ref string) error {
	return containerError(b.Engine.Pause(ref))
}

func (b *ContainerBackend) Unpause(ctx context.Context, ref string) error {
	return containerError(b.Engine.Unpause(ref))
}

func (b *ContainerBackend) Remove(ctx context.Context, ref string, opts api.RemoveOptions) error {
	return containerError(b.Engine.Remove(ctx, ref, opts.Force, opts.Volumes))
}

func (b *ContainerBackend) Wait(ctx context.Context, ref string, condition api.WaitCondition) (<-chan api.ContainerWaitResponse, error) {
	ch, err := b.Engine.WaitChan(ctx, ref, string(condition))
	if err != nil {
		return nil, containerError(err)
	}
	out := make(chan api.ContainerWaitResponse, 1)
	go func() {
		defer close(out)
		// Like dockerd, the answer carries the exit code alone: the
		// docker CLI takes an Error as a failure of waiting (125).
		if st, ok := <-ch; ok {
			out <- api.ContainerWaitResponse{StatusCode: st.Code}
		}
	}()
	return out, nil
}

func (b *ContainerBackend) Inspect(ctx context.Context, ref string, size bool) (*api.ContainerJSON, error) {
	c, err := b.Engine.Get(ref)
	if err != nil {
		return nil, containerError(err)
	}
	return b.containerJSON(c, size), nil
}

func (b *ContainerBackend) List(ctx context.Context, size bool) ([]*api.ContainerJSON, error) {
	list, err := b.Engine.List(true)
	if err != nil {
		return nil, containerError(err)
	}
	out := make([]*api.ContainerJSON, 0, len(list))
	for _, c := range list {
		out = append(out, b.containerJSON(c, size))
	}
	return out, nil
}

// zeroTime is how inspect shows a time that has not happened.
const zeroTime = "0001-01-01T00:00:00Z"

func apiTime(t time.Time) string {
	if t.IsZero() {
		return zeroTime
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// network is the network a container is on: its NetworkMode, with
// "default" resolved.
func (b *ContainerBackend) network(mode string) string {
	switch mode {
	case "", container.NetworkDefault:
		if b.DefaultNetwork != "" {
			return b.DefaultNetwork
		}
		return container.NetworkNone
	}
	return mode
}

// containerJSON is docker inspect's view of a container.
func (b *ContainerBackend) containerJSON(c *container.Container, size bool) *api.ContainerJSON {
	st := c.State
	restarting := st.Status == container.StatusRestarting
	state := &api.ContainerState{
		Status: st.Status, Running: st.Running() || restarting, Paused: st.Paused(), Restarting: restarting,
		OOMKilled: st.OOMKilled, Dead: st.Status == container.StatusDead, ExitCode: st.ExitCode, Error: st.Error,
		StartedAt: apiTime(st.StartedAt), FinishedAt: apiTime(st.FinishedAt),
	}
	if st.Running() {
		state.Pid = st.Pid
	}
	logPath := c.LogPath
	if c.HostConfig.LogConfig.Type == "none" {
		logPath = ""
	}
	out := &api.ContainerJSON{
		ID: c.ID, Created: apiTime(c.Created), Path: c.Path, Args: c.Args, State: state, Image: c.Image,
		ResolvConfPath: c.ResolvConfPath, HostnamePath: c.HostnamePath, HostsPath: c.HostsPath, LogPath: logPath,
		Name: "/" + c.Name, RestartCount: c.RestartCount, Driver: c.Driver, Platform: "linux",
		HostConfig: hostConfig(c, b.CgroupnsMode), GraphDriver: b.graphDriver(c), Mounts: mountPoints(c.Mounts),
		Config: containerConfigOf(c), NetworkSettings: b.networkSettings(c),
	}
	if out.Args == nil {
		out.Args = []string{}
	}
	if size {
		rw := dirSize(filepath.Join(c.Dir, "diff"))
		root := rw
		if img, err := b.image(c.Image); err == nil {
			root += img.Size
		}
		out.SizeRw, out.SizeRootFs = &rw, &root
	}
	return out
}

func containerConfigOf(c *container.Container) *api.ContainerConfig {
	cc := c.Config
	labels := cc.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return &api.ContainerConfig{
		Hostname: cc.Hostname, Domainname: cc.Domainname, User: cc.User, Tty: cc.Tty, OpenStdin: cc.OpenStdin,
		StdinOnce: cc.StdinOnce, AttachStdin: cc.AttachStdin,
		Env: cc.Env, Cmd: cc.Cmd, Image: cc.Image, Volumes: cc.Volumes, WorkingDir: cc.WorkingDir,
		Entrypoint: cc.Entrypoint, Labels: labels, StopSignal: cc.StopSignal, StopTimeout: cc.StopTimeout,
		ExposedPorts: cc.ExposedPorts,
	}
}

// hostConfig is the container's HostConfig as inspect shows it, with
// dockerd's defaults for what Berth does not make configurable.
func hostConfig(c *container.Container, cgroupns string) *api.HostConfig {
	h := c.HostConfig
	restart := api.RestartPolicy{Name: h.RestartPolicy.Name, MaximumRetryCount: h.RestartPolicy.MaximumRetryCount}
	if restart.Name == "" {
		restart.Name = container.RestartNo
	}
	logCfg := api.LogConfig{Type: h.LogConfig.Type, Config: h.LogConfig.Config}
	if logCfg.Type == "" {
		logCfg.Type = "json-file"
	}
	if logCfg.Config == nil {
		logCfg.Config = map[string]string{}
	}
	network := h.NetworkMode
	if network == "" {
		network = container.NetworkDefault
	}
	shm := h.ShmSize
	if shm == 0 {
		shm = 64 << 20
	}
	out := &api.HostConfig{
		Binds: h.Binds, LogConfig: logCfg, NetworkMode: network, RestartPolicy: restart, AutoRemove: h.AutoRemove,
		CapAdd: h.CapAdd, CapDrop: h.CapDrop, Privileged: h.Privileged, ReadonlyRootfs: h.ReadonlyRootfs,
		SecurityOpt: h.SecurityOpt, Tmpfs: h.Tmpfs, IpcMode: "private", CgroupnsMode: cgroupns, ShmSize: shm, Init: h.Init,
		Resources: api.Resources{
			Memory: h.Resources.MemoryBytes, MemorySwap: h.Resources.MemorySwapBytes,
			NanoCPUs: h.Resources.NanoCPUs, CPUShares: h.Resources.CPUShares,
		},
	}
	setNetworkOptions(out, h.NetworkOptions)
	if h.Resources.PidsLimit > 0 {
		n := h.Resources.PidsLimit
		out.PidsLimit = &n
	}
	for _, u := range h.Ulimits {
		out.Ulimits = append(out.Ulimits, &api.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	return out
}

// mountPoints are inspect's Mounts: binds and volumes (tmpfs mounts are
// in HostConfig.Tmpfs, as dockerd shows them).
func mountPoints(ms []container.MountPoint) []api.MountPoint {
	out := []api.MountPoint{}
	for _, m := range ms {
		mp := api.MountPoint{Type: m.Type, Source: m.Source, Destination: m.Destination, RW: m.RW}
		switch m.Type {
		case "tmpfs":
			continue
		case "bind":
			mp.Propagation = "rprivate"
			if !m.RW {
				mp.Mode = "ro"
			}
		case "volume":
			mp.Name, mp.Driver, mp.Mode = m.Name, "local", "z"
			if !m.RW {
				mp.Mode = "ro"
			}
		}
		out = append(out, mp)
	}
	return out
}

// image is a container's image, if the store still has it.
func (b *ContainerBackend) image(id string) (*image.Image, error) {
	if b.Images == nil {
		return nil, image.ErrNotFound
	}
	return b.Images.Get(id)
}

// graphDriver is overlay2's description of the rootfs: the image's layer
// directories (topmost first) under the container's upper dir.
func (b *ContainerBackend) graphDriver(c *container.Container) api.GraphDriverData {
	data := map[string]string{
		"UpperDir": filepath.Join(c.Dir, "diff"), "WorkDir": filepath.Join(c.Dir, "work"), "MergedDir": filepath.Join(c.Dir, "merged"),
	}
	if img, err := b.image(c.Image); err == nil {
		var lowers []string
		for i := len(img.Layers) - 1; i >= 0; i-- {
			lowers = append(lowers, img.Layers[i].Dir)
		}
		data["LowerDir"] = strings.Join(lowers, ":")
	}
	return api.GraphDriverData{Name: "overlay2", Data: data}
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// outputStream hands a log reader's entries out as messages, closing the
// reader and the channel at its end or when ctx ends.
func outputStream(ctx context.Context, r container.LogReader, stdout, stderr bool) *api.OutputStream {
	ch := make(chan api.OutputMessage, 64)
	go func() {
		defer close(ch)
		defer r.Close()
		for {
			e, err := r.Next()
			if err != nil {
				return
			}
			if e.Stream == "stdout" && !stdout || e.Stream == "stderr" && !stderr {
				continue
			}
			select {
			case ch <- api.OutputMessage{Stream: e.Stream, Time: e.Time, Data: e.Line}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return &api.OutputStream{Messages: ch}
}

func (b *ContainerBackend) Logs(ctx context.Context, ref string, opts api.LogsOptions) (*api.OutputStream, error) {
	r, err := b.Engine.Logs(ctx, ref, container.LogOptions{
		Follow: opts.Follow, Tail: opts.Tail, Since: opts.Since, Until: opts.Until, Stdout: opts.Stdout, Stderr: opts.Stderr,
	})
	if err != nil {
		return nil, containerError(err)
	}
	return outputStream(ctx, r, opts.Stdout, opts.Stderr), nil
}

func (b *ContainerBackend) Attach(ctx context.Context, ref string, opts api.AttachOptions) (*api.AttachStream, error) {
	a, err := b.Engine.Attach(ctx, ref, container.AttachOptions{Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr})
	if err != nil {
		return nil, containerError(err)
	}
	st := &api.AttachStream{OutputStream: *outputStream(ctx, a, opts.Stdout, opts.Stderr)}
	st.TTY = a.TTY
	if opts.Stdin {
		st.Stdin = attachStdin{a}
	}
	return st, nil
}

// attachStdin is an attachment's input: Close ends it (EOF for a
// StdinOnce container), and leaves the output flowing.
type attachStdin struct{ a *container.Attachment }

func (s attachStdin) Write(p []byte) (int, error) { return s.a.Write(p) }
func (s attachStdin) Close() error                { return s.a.CloseWrite() }

func (b *ContainerBackend) Resize(ctx context.Context, ref string, height, width uint) error {
	return containerError(b.Engine.Resize(ctx, ref, uint16(min(height, 65535)), uint16(min(width, 65535))))
}

func (b *ContainerBackend) Top(ctx context.Context, ref, psArgs string) (*api.ContainerTopResponse, error) {
	titles, rows, err := b.Engine.Top(ref, psArgs)
	if err != nil {
		return nil, containerError(err)
	}
	if rows == nil {
		rows = [][]string{}
	}
	return &api.ContainerTopResponse{Titles: titles, Processes: rows}, nil
}

func (b *ContainerBackend) Stats(ctx context.Context, ref string) (<-chan api.StatsJSON, error) {
	c, err := b.Engine.Get(ref)
	if err != nil {
		return nil, containerError(err)
	}
	ch := make(chan api.StatsJSON, 1)
	if !c.State.Running() {
		ch <- api.StatsJSON{ID: c.ID, Name: "/" + c.Name}
		close(ch)
		return ch, nil
	}
	every := b.StatsInterval
	if every <= 0 {
		every = time.Second
	}
	go func() {
		defer close(ch)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			st, err := b.Engine.Stats(ctx, c.ID)
			if err != nil {
				// Stopped (a Conflict), or gone.
				return
			}
			select {
			case ch <- statsJSON(c, st, time.Now()):
			case <-ctx.Done():
				return
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// statsJSON is one sample in the API's shape, with the host's CPU time
// and memory beside the cgroup's figures, as docker stats computes
// percentages from them.
func statsJSON(c *container.Container, st *cgroup.Stats, now time.Time) api.StatsJSON {
	out := api.StatsJSON{
		Read: now, ID: c.ID, Name: "/" + c.Name,
		PidsStats: api.PidsStats{Current: st.Pids.Current, Limit: st.Pids.Limit},
		CPUStats: api.CPUStats{
			CPUUsage: api.CPUUsage{
				TotalUsage: st.CPU.TotalNanos, PercpuUsage: st.CPU.PerCPUNanos,
				UsageInKernelmode: st.CPU.SystemNanos, UsageInUsermode: st.CPU.UserNanos,
			},
			ThrottlingData: api.ThrottlingData{Periods: st.CPU.Periods, ThrottledPeriods: st.CPU.ThrottledPeriods, ThrottledTime: st.CPU.ThrottledNanos},
		},
		MemoryStats: api.MemoryStats{Usage: st.Memory.Usage, MaxUsage: st.Memory.MaxUsage, Failcnt: st.Memory.Failcnt, Limit: st.Memory.Limit, Stats: maps.Clone(st.Memory.Stat)},
	}
	out.CPUStats.SystemUsage, out.CPUStats.OnlineCPUs = hostCPU()
	if out.MemoryStats.Limit == 0 {
		out.MemoryStats.Limit = hostMemory()
	}
	for _, d := range st.IO {
		out.BlkioStats.IoServiceBytesRecursive = append(out.BlkioStats.IoServiceBytesRecursive,
			api.BlkioStatEntry{Major: d.Major, Minor: d.Minor, Op: "read", Value: d.ReadBytes},
			api.BlkioStatEntry{Major: d.Major, Minor: d.Minor, Op: "write", Value: d.WriteBytes})
		out.BlkioStats.IoServicedRecursive = append(out.BlkioStats.IoServicedRecursive,
			api.BlkioStatEntry{Major: d.Major, Minor: d.Minor, Op: "read", Value: d.ReadOps},
			api.BlkioStatEntry{Major: d.Major, Minor: d.Minor, Op: "write", Value: d.WriteOps})
	}
	return out
}

// clockTicks is USER_HZ, 100 on every architecture Linux exports to
// user space.
const clockTicks = 100

// hostCPU is the host's CPU time since boot in nanoseconds (the "cpu"
// line of /proc/stat, as dockerd sums it) and the number of online CPUs.
func hostCPU() (uint64, uint32) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	return parseProcStat(b)
}

func parseProcStat(b []byte) (uint64, uint32) {
	var total uint64
	var cpus uint32
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			cpus++
			continue
		}
		// user nice system idle iowait irq softirq steal; guest time is
		// already in user.
		for _, v := range f[1:min(len(f), 9)] {
			n, _ := strconv.ParseUint(v, 10, 64)
			total += n
		}
	}
	return total * (1e9 / clockTicks), cpus
}

// hostMemory is MemTotal in bytes: the limit docker stats shows for a
// container without one.
func hostMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

func apiVolume(v *container.Volume) *api.Volume {
	out := &api.Volume{
		CreatedAt: v.CreatedAt.Format(time.RFC3339), Driver: v.Driver, Mountpoint: v.Mountpoint,
		Name: v.Name, Scope: v.Scope,
	}
	// dockerd shows null for a volume without labels or options.
	if len(v.Labels) > 0 {
		out.Labels = v.Labels
	}
	if len(v.Options) > 0 {
		out.Options = v.Options
	}
	return out
}

func (b *ContainerBackend) VolumeCreate(ctx context.Context, opts api.VolumeCreateOptions) (*api.Volume, error) {
	v, err := b.Engine.CreateVolume(opts.Name, opts.Labels, opts.DriverOpts)
	if err != nil {
		return nil, containerError(err)
	}
	return apiVolume(v), nil
}

func (b *ContainerBackend) VolumeList(ctx context.Context) ([]*api.Volume, error) {
	vols, err := b.Engine.ListVolumes()
	if err != nil {
		return nil, containerError(err)
	}
	out := make([]*api.Volume, 0, len(vols))
	for _, v := range vols {
		out = append(out, apiVolume(v))
	}
	slices.SortFunc(out, func(a, b *api.Volume) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (b *ContainerBackend) VolumeInspect(ctx context.Context, name string) (*api.Volume, error) {
	v, err := b.Engine.InspectVolume(name)
	if err != nil {
		return nil, containerError(err)
	}
	return apiVolume(v), nil
}

func (b *ContainerBackend) VolumeRemove(ctx context.Context, name string, force bool) error {
	return containerError(b.Engine.RemoveVolume(name, force))
}
