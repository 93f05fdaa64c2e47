package container

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container/caps"
	"github.com/berthhq/berth/runtime/container/cgroup"
	"github.com/berthhq/berth/runtime/image"
)

// trashPrefix names a removed container's directory while it is deleted.
const trashPrefix = ".removed-"

// Engine runs the containers of one data root. Its methods are safe for
// concurrent use. Containers outlive the Engine: Close leaves them
// running, and the next Engine's Reconcile adopts them.
type Engine struct {
	dataRoot string
	root     string // <data-root>/containers
	volRoot  string // <data-root>/volumes
	images   *image.Store
	o        options
	log      *slog.Logger
	self     *sealedExe
	cgMode   cgroup.Mode
	swapAcct bool
	lock     *os.File

	// spare is a monitor started ahead of the next start (spawn_linux.go).
	spareMu     sync.Mutex
	spare       *spareMonitor
	spareExec   *execHelper // an exec helper started ahead (exec_linux.go)
	spareClosed bool

	mu    sync.Mutex
	byID  map[string]*entry
	names map[string]string // name (no slash) → id

	// vmu serialises volume creation and removal against containers
	// taking them into use.
	vmu sync.Mutex

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// entry is one container known to the engine.
type entry struct {
	// op serialises lifecycle operations (start, stop, remove...).
	op sync.Mutex

	mu sync.Mutex // guards what follows
	c  *Container
	// exited is closed at the container's next exit, then replaced;
	// started likewise at its next start.
	exited  chan struct{}
	started chan struct{}
	// attachWanted counts attachments waiting for the next start.
	attachWanted int
	// reaped closes once the last monitor has ended (nil: none pending).
	reaped chan struct{}
	// removed is closed when the container is gone.
	removed chan struct{}
	last    ExitStatus
	// watching: a goroutine waits on the monitor.
	watching bool
	// restartGen changes whenever a pending policy restart is cancelled.
	restartGen int
	restarting bool
	// noRestart: the next exit was asked for (stop, kill): no policy restart.
	noRestart bool
	backoff   time.Duration
	removing  bool
}

func newEntry(c *Container) *entry {
	return &entry{c: c, exited: make(chan struct{}), started: make(chan struct{}), removed: make(chan struct{})}
}

func (en *entry) snapshot() *Container {
	en.mu.Lock()
	defer en.mu.Unlock()
	c := en.c.clone()
	if en.restarting && !c.State.Running() {
		c.State.Status = StatusRestarting
	}
	if en.removing {
		c.State.Status = StatusRemoving
	}
	return c
}

// options are New's settings.
type options struct {
	init           bool
	logger         *slog.Logger
	executable     string
	cgroupRoot     string
	cgroupParent   string
	defaultNetwork string
	resolvConf     string
	hosts          string
	bridge         *BridgeNetwork
}

// Option configures New.
type Option func(*options) error

// WithInit sets whether containers run Berth's init as PID 1 when their
// spec does not say (daemon.json "init"; default true).
func WithInit(on bool) Option { return func(o *options) error { o.init = on; return nil } }

// WithLogger sets where the engine logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithExecutable names the binary that New seals into a memfd and runs as
// every container's monitor and init (default /proc/self/exe). It must
// answer the hidden verbs container-monitor and container-init (see
// MonitorMain and InitMain).
func WithExecutable(path string) Option {
	return func(o *options) error { o.executable = path; return nil }
}

// WithCgroupRoot sets where the cgroup filesystems are mounted (default
// /sys/fs/cgroup).
func WithCgroupRoot(root string) Option {
	return func(o *options) error { o.cgroupRoot = root; return nil }
}

// WithCgroupParent puts the containers' cgroups under parent (default
// "berth") in every hierarchy.
func WithCgroupParent(parent string) Option {
	return func(o *options) error {
		if _, err := cgroup.New("/", cgroup.ModeV2, "x", cgroup.Parent(parent)); err != nil {
			return err
		}
		o.cgroupParent = parent
		return nil
	}
}

// WithDefaultNetwork says what an empty NetworkMode and "default" mean
// (Docker's "bridge", which needs WithBridgeNetwork; an engine without a
// bridge sets "none" to run such containers without a network instead).
func WithDefaultNetwork(mode string) Option {
	return func(o *options) error {
		switch mode {
		case NetworkNone, NetworkHost, NetworkBridge:
			o.defaultNetwork = mode
			return nil
		}
		return fmt.Errorf("invalid default network %q: want none, host or bridge", mode)
	}
}

// WithHostFiles names the host's resolv.conf and hosts files the
// containers' copies are made from (default /etc/resolv.conf, with
// systemd-resolved's upstream list preferred, and /etc/hosts).
func WithHostFiles(resolvConf, hosts string) Option {
	return func(o *options) error { o.resolvConf, o.hosts = resolvConf, hosts; return nil }
}

// New opens the container engine of dataRoot: it takes the engine's lock,
// seals a copy of the executable for the containers' monitors and inits,
// and loads the containers on disk. Call Reconcile next, once.
func New(dataRoot string, images *image.Store, opts ...Option) (*Engine, error) {
	o := options{init: true, executable: "/proc/self/exe", cgroupRoot: "/sys/fs/cgroup", cgroupParent: cgroup.DefaultParent, defaultNetwork: NetworkBridge, hosts: "/etc/hosts"}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if images == nil {
		return nil, errors.New("container engine: no image store")
	}
	e := &Engine{
		dataRoot: dataRoot, root: filepath.Join(dataRoot, "containers"), volRoot: filepath.Join(dataRoot, "volumes"),
		images: images, o: o, log: o.logger, byID: map[string]*entry{}, names: map[string]string{},
	}
	for _, d := range []string{e.root, e.volRoot} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("container engine: %w", err)
		}
	}
	// Containers come and go here as layers do in the store's tmp/.
	image.SpreadSubdirs(e.root)
	lf, err := os.OpenFile(filepath.Join(e.root, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("container engine: %w", err)
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lf.Close()
		return nil, fmt.Errorf("container engine: %s is used by another berth process", dataRoot)
	}
	e.lock = lf
	ok := false
	defer func() {
		if !ok {
			e.release()
		}
	}()
	if e.cgMode, err = cgroup.DetectMode(); err != nil {
		return nil, fmt.Errorf("container engine: %w", err)
	}
	e.swapAcct = swapAccounting(o.cgroupRoot, e.cgMode)
	e.removeSpareCgroups()
	if e.self, err = sealExecutable(o.executable); err != nil {
		return nil, fmt.Errorf("container engine: %w", err)
	}
	if err := e.load(); err != nil {
		return nil, err
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	ok = true
	return e, nil
}

func (e *Engine) release() {
	if e.self != nil {
		e.self.close()
	}
	if e.lock != nil {
		e.lock.Close()
	}
}

// Close stops watching the containers (they keep running) and releases
// the data root.
func (e *Engine) Close() error {
	e.cancel()
	e.wg.Wait()
	e.dropSpare()
	e.release()
	return nil
}

// load reads every container directory; one without a config is what a
// killed Create left, and goes.
func (e *Engine) load() error {
	ents, err := os.ReadDir(e.root)
	if err != nil {
		return fmt.Errorf("container engine: %w", err)
	}
	for _, d := range ents {
		if strings.HasPrefix(d.Name(), trashPrefix) {
			// A removal the last engine did not finish.
			os.RemoveAll(filepath.Join(e.root, d.Name()))
			continue
		}
		if !d.IsDir() || !isID(d.Name()) {
			continue
		}
		dir := filepath.Join(e.root, d.Name())
		var rec record
		if err := readJSON(filepath.Join(dir, configFile), &rec); err != nil {
			e.log.Warn("removing an incomplete container directory", "dir", dir, "err", err)
			os.RemoveAll(dir)
			continue
		}
		c := &rec.Container
		c.Dir = dir
		st, err := readState(dir)
		if err != nil {
			st = State{Status: StatusCreated}
		}
		c.State = st
		en := newEntry(c)
		en.last = ExitStatus{Code: st.ExitCode, OOMKilled: st.OOMKilled, Error: st.Error}
		e.byID[c.ID] = en
		e.names[c.Name] = c.ID
	}
	return nil
}

func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// lookup finds a container by full ID, name (with or without the leading
// slash) or unique ID prefix, as Docker does.
func (e *Engine) lookup(idOrName string) (*entry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if idOrName == "" {
		return nil, notFound(idOrName)
	}
	if en, ok := e.byID[idOrName]; ok {
		return en, nil
	}
	if id, ok := e.names[strings.TrimPrefix(idOrName, "/")]; ok {
		return e.byID[id], nil
	}
	var found *entry
	for id, en := range e.byID {
		if strings.HasPrefix(id, idOrName) {
			if found != nil {
				return nil, invalidf("multiple IDs found with provided prefix: %s", idOrName)
			}
			found = en
		}
	}
	if found == nil {
		return nil, notFound(idOrName)
	}
	return found, nil
}

// Get returns a container by ID, name or unique ID prefix.
func (e *Engine) Get(idOrName string) (*Container, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	return en.snapshot(), nil
}

// List returns the running containers (all: every container), newest
// first.
func (e *Engine) List(all bool) ([]*Container, error) {
	e.mu.Lock()
	ents := make([]*entry, 0, len(e.byID))
	for _, en := range e.byID {
		ents = append(ents, en)
	}
	e.mu.Unlock()
	var out []*Container
	for _, en := range ents {
		c := en.snapshot()
		if all || c.State.Running() || c.State.Status == StatusRestarting {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Create makes a container from spec: its directory, rootfs upper layer,
// volumes and files. It returns Docker's warnings (a clamped ulimit...).
func (e *Engine) Create(ctx context.Context, spec CreateSpec) (*Container, []string, error) {
	if err := spec.validate(); err != nil {
		return nil, nil, err
	}
	network, err := e.network(spec.NetworkMode)
	if err != nil {
		return nil, nil, err
	}
	img, err := e.images.Get(spec.Image)
	if errors.Is(err, image.ErrNotFound) {
		return nil, nil, kindf(ErrNotFound, "No such image: %s", spec.Image)
	}
	if err != nil {
		return nil, nil, err
	}
	if e.cgMode != cgroup.ModeV2 {
		// A start usually follows: its cgroup migration then finds the
		// RCU grace period paid (see warmMigration).
		go warmMigration(e.o.cgroupRoot)
	}
	if _, err := caps.Resolve(spec.CapAdd, spec.CapDrop, spec.Privileged); err != nil {
		return nil, nil, invalidf("%v", err)
	}
	id := newID()
	c := &Container{
		ID: id, Created: time.Now().UTC(), Image: img.ID, Config: spec.Config, HostConfig: spec.HostConfig,
		Driver: "overlay2", State: State{Status: StatusCreated},
	}
	c.HostConfig.NetworkMode = spec.NetworkMode
	if c.HostConfig.NetworkMode == "" {
		c.HostConfig.NetworkMode = NetworkDefault
	}
	if c.HostConfig.LogConfig.Type == "" {
		c.HostConfig.LogConfig.Type = "json-file"
	}
	if err := e.checkNetwork(c, network, &img.Config.Config); err != nil {
		return nil, nil, err
	}
	if network == NetworkHost && c.Config.Hostname == "" {
		c.Config.Hostname, _ = os.Hostname()
	}
	if c.Path, c.Args, err = mergeImage(&c.Config, &img.Config.Config, id); err != nil {
		return nil, nil, err
	}
	// Every clamp is recorded with the container (inspect); Create's
	// caller, who prints them as docker run does, hears only of the
	// limits it asked for itself, not of the defaults on every run.
	_, c.Warnings = rlimits(c.HostConfig.Ulimits, e.facts())
	var warnings []string
	for _, w := range c.Warnings {
		for _, u := range c.HostConfig.Ulimits {
			if strings.HasPrefix(w, "ulimit "+u.Name+":") {
				warnings = append(warnings, w)
			}
		}
	}
	if len(c.Warnings) > len(warnings) {
		e.log.Debug("default ulimits clamped to the host's", "id", id, "warnings", c.Warnings)
	}

	name, err := e.reserveName(spec.Name, id)
	if err != nil {
		return nil, nil, err
	}
	c.Name = name
	c.Dir = filepath.Join(e.root, id)
	c.LogPath = filepath.Join(c.Dir, logFileName(id))
	c.HostnamePath = filepath.Join(c.Dir, hostnameFile)
	c.HostsPath = filepath.Join(c.Dir, hostsFile)
	c.ResolvConfPath = filepath.Join(c.Dir, resolvFile)
	var anon []string
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(c.Dir)
			e.releaseNetwork(c)
			for _, v := range anon {
				os.RemoveAll(filepath.Join(e.volRoot, v))
			}
			e.mu.Lock()
			delete(e.names, name)
			e.mu.Unlock()
		}
	}()
	if err := e.allocateAddress(c, network); err != nil {
		return nil, nil, err
	}
	if err := e.makeDir(c, network, img); err != nil {
		return nil, nil, err
	}
	e.vmu.Lock()
	defer e.vmu.Unlock()
	if c.Mounts, anon, err = e.mounts(c); err != nil {
		return nil, nil, err
	}
	if err := writeJSON(filepath.Join(c.Dir, configFile), record{Container: *c}, false); err != nil {
		return nil, nil, err
	}
	if err := writeState(c.Dir, c.State); err != nil {
		return nil, nil, err
	}
	e.mu.Lock()
	e.byID[id] = newEntry(c)
	e.mu.Unlock()
	ok = true
	return c.clone(), warnings, nil
}

func (e *Engine) reserveName(want, id string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if want != "" {
		name := strings.TrimPrefix(want, "/")
		if other, ok := e.names[name]; ok {
			return "", conflictf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, other)
		}
		e.names[name] = id
		return name, nil
	}
	for i := 0; ; i++ {
		name := randomName(i)
		if _, ok := e.names[name]; !ok {
			e.names[name] = id
			return name, nil
		}
	}
}

// makeDir creates the container's directory, its init layer and the files
// it gets.
func (e *Engine) makeDir(c *Container, network string, img *image.Image) error {
	for _, d := range []string{"", upperDir, workDir, mergedDir} {
		if err := os.Mkdir(filepath.Join(c.Dir, d), 0o700); err != nil {
			return fmt.Errorf("creating the container's directory: %w", err)
		}
	}
	if err := os.Chmod(filepath.Join(c.Dir, upperDir), 0o755); err != nil {
		return err
	}
	if err := makeInitLayer(filepath.Join(c.Dir, initDir), imageLowers(img)); err != nil {
		return err
	}
	files, err := e.etcFiles(c, network)
	if err != nil {
		return err
	}
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("creating the container's files: %w", err)
		}
	}
	return nil
}

// mounts resolves binds, tmpfs and the image's volumes; the caller holds
// e.vmu. It returns the anonymous volumes it made.
func (e *Engine) mounts(c *Container) ([]MountPoint, []string, error) {
	var out []MountPoint
	var anon []string
	taken := map[string]bool{}
	for _, s := range c.HostConfig.Binds {
		b, _ := parseBind(s)
		if taken[b.Destination] {
			return nil, nil, invalidf("Duplicate mount point: %s", b.Destination)
		}
		taken[b.Destination] = true
		m := MountPoint{Type: "bind", Source: b.Source, Destination: b.Destination, RW: !b.ReadOnly}
		if b.Volume {
			v, err := e.ensureVolume(b.Source, nil)
			if err != nil {
				return nil, nil, err
			}
			m.Type, m.Name, m.Source = "volume", v.Name, v.Mountpoint
		} else if _, err := os.Stat(b.Source); errors.Is(err, fs.ErrNotExist) {
			// docker -v makes a missing host directory.
			if err := os.MkdirAll(b.Source, 0o755); err != nil {
				return nil, nil, invalidf("error while creating mount source path '%s': %v", b.Source, err)
			}
		}
		out = append(out, m)
	}
	for dst, opts := range c.HostConfig.Tmpfs {
		dst = filepath.Clean(dst)
		if taken[dst] {
			return nil, nil, invalidf("Duplicate mount point: %s", dst)
		}
		taken[dst] = true
		out = append(out, MountPoint{Type: "tmpfs", Destination: dst, Options: opts, RW: true})
	}
	for _, dst := range slices.Sorted(maps.Keys(c.Config.Volumes)) {
		dst = filepath.Clean(dst)
		if taken[dst] {
			continue
		}
		taken[dst] = true
		v, err := e.ensureVolume(newID(), map[string]string{anonymousLabel: ""})
		if err != nil {
			return nil, anon, err
		}
		anon = append(anon, v.Name)
		out = append(out, MountPoint{Type: "volume", Name: v.Name, Source: v.Mountpoint, Destination: dst, RW: true, Anonymous: true})
	}
	return out, anon, nil
}

// facts are the host facts planning needs.
func (e *Engine) facts() hostFacts {
	return hostFacts{HardLimit: func(res int) (uint64, bool) {
		var r unix.Rlimit
		if err := unix.Getrlimit(res, &r); err != nil || r.Max == unix.RLIM_INFINITY {
			return 0, false
		}
		return r.Max, true
	}}
}

// Start runs a created or stopped container and returns once its command
// runs, or with a *StartError saying why it could not (the container is
// removed then if it has AutoRemove).
func (e *Engine) Start(ctx context.Context, idOrName string) error {
	en, err := e.lookup(idOrName)
	if err != nil {
		return err
	}
	en.op.Lock()
	defer en.op.Unlock()
	en.mu.Lock()
	if en.removing {
		en.mu.Unlock()
		return conflictf("container %s is being removed", shortID(en.c.ID))
	}
	en.restartGen++
	en.restarting = false
	en.mu.Unlock()
	return e.start(ctx, en, false)
}

// start runs the container; the caller holds en.op.
func (e *Engine) start(ctx context.Context, en *entry, byPolicy bool) error {
	c := en.snapshot()
	if c.State.Running() {
		return kindf(ErrNotModified, "container %s is already running", shortID(c.ID))
	}
	img, err := e.images.Get(c.Image)
	if err != nil {
		return kindf(ErrNotFound, "the image of container %s is gone: %v", shortID(c.ID), err)
	}
	keep, err := caps.Resolve(c.HostConfig.CapAdd, c.HostConfig.CapDrop, c.HostConfig.Privileged)
	if err != nil {
		return invalidf("%v", err)
	}
	network, err := e.network(c.HostConfig.NetworkMode)
	if err != nil {
		return err
	}
	c.HostConfig.NetworkMode = network
	netPlan, err := e.startNetwork(en, c, network)
	if err != nil {
		return err
	}
	init := e.o.init
	if c.HostConfig.Init != nil {
		init = *c.HostConfig.Init
	}
	l, err := plan(c, img, planEnv{
		ImageRoot: e.images.Root(), CgroupRoot: e.o.cgroupRoot, CgroupMode: e.cgMode, CgroupParent: e.o.cgroupParent,
		SwapAccounting: e.swapAcct, Facts: e.facts(), Caps: keep, Init: init,
	})
	if err != nil {
		return err
	}
	netPlan.apply(l)
	if !byPolicy {
		en.mu.Lock()
		changed := en.c.ManuallyStopped || en.c.RestartCount != 0
		en.c.ManuallyStopped, en.c.RestartCount = false, 0
		en.backoff = 0
		rec := record{Container: *en.c}
		en.mu.Unlock()
		if changed {
			if err := writeJSON(filepath.Join(c.Dir, configFile), rec, false); err != nil {
				return err
			}
		}
	}
	en.mu.Lock()
	en.noRestart = false
	l.WaitAttach = en.attachWanted > 0
	reaped := en.reaped
	en.mu.Unlock()
	if reaped != nil {
		select {
		case <-reaped:
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	mon, startErr := e.spawnMonitor(ctx, l)
	st, err := readState(c.Dir)
	if err != nil {
		st = State{Status: StatusCreated}
	}
	if startErr != nil {
		var se *StartError
		if !errors.As(startErr, &se) {
			se = &StartError{Code: ExitEngineError, Msg: startErr.Error()}
		}
		if st.Running() || st.Error == "" {
			st = State{Status: StatusCreated, ExitCode: se.Code, Error: se.Msg}
			writeState(c.Dir, st)
		}
		e.cleanupCgroup(c.ID)
		en.mu.Lock()
		en.c.State = st
		en.last = ExitStatus{Code: st.ExitCode, Error: st.Error}
		auto := en.c.HostConfig.AutoRemove
		en.mu.Unlock()
		if auto {
			e.destroy(en, true)
		}
		return se
	}
	if !st.Running() {
		// It ran and exited already; the watcher records that in a
		// moment. Until then it counts as running, so that Wait and
		// Remove wait for the monitor to finish.
		st = State{Status: StatusRunning, StartedAt: st.StartedAt, MonitorPid: mon.Pid}
	}
	en.mu.Lock()
	en.c.State = st
	en.watching = true
	close(en.started)
	en.started = make(chan struct{})
	en.mu.Unlock()
	e.wg.Add(1)
	go e.watch(en, mon, st.MonitorPid)
	return nil
}

// cleanupCgroup removes a container's cgroup, killing what is left in it.
func (e *Engine) cleanupCgroup(id string) {
	m, err := cgroup.New(e.o.cgroupRoot, e.cgMode, id, cgroup.Parent(e.o.cgroupParent))
	if err != nil {
		return
	}
	if pids, err := m.Procs(); err == nil && len(pids) > 0 {
		m.Kill(unix.SIGKILL)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if pids, err := m.Procs(); err != nil || len(pids) == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := m.Destroy(); err != nil {
		e.log.Warn("removing a container's cgroup", "id", id, "err", err)
	}
}

// watch waits for the container's monitor to report the exit (or vanish),
// then records it and applies AutoRemove or the restart policy.
func (e *Engine) watch(en *entry, mon *os.Process, monitorPid int) {
	defer e.wg.Done()
	dir := en.dir()
	if err := monitorRequest(e.ctx, dir, "wait", true); err != nil && e.ctx.Err() != nil {
		// The engine is closing: the container runs on, unwatched.
		en.mu.Lock()
		en.watching = false
		en.mu.Unlock()
		return
	}
	// The exit is recorded first (it is in state.json already), then the
	// monitor reaped: it unmounts the container's tree as it ends, which
	// waits for an RCU grace period. A start waits for the reaping (the
	// next overlay must not meet this one still mounted).
	reaped := make(chan struct{})
	en.mu.Lock()
	en.reaped = reaped
	en.mu.Unlock()
	e.exited(en)
	reapMonitor(mon, monitorPid)
	close(reaped)
}

func (en *entry) dir() string {
	en.mu.Lock()
	defer en.mu.Unlock()
	return en.c.Dir
}

// exited records an exit that the monitor reported (or that its death
// implies) and decides what follows.
func (e *Engine) exited(en *entry) {
	dir := en.dir()
	st, err := readState(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if _, derr := os.Stat(dir); derr != nil {
			return // removed meanwhile
		}
	}
	if err != nil || st.Running() {
		// The monitor died before writing the exit: kill what is left.
		id := filepath.Base(dir)
		e.cleanupCgroup(id)
		e.cleanupNetwork(id)
		prev := st
		st = State{Status: StatusExited, ExitCode: exitUnknownStatus, StartedAt: prev.StartedAt, FinishedAt: time.Now().UTC(),
			Error: "the container's monitor exited unexpectedly; its exit status is lost"}
		writeState(dir, st)
	}
	en.mu.Lock()
	en.c.State = st
	en.last = ExitStatus{Code: st.ExitCode, OOMKilled: st.OOMKilled, Error: st.Error}
	en.watching = false
	close(en.exited)
	en.exited = make(chan struct{})
	c := en.c
	auto, removing := c.HostConfig.AutoRemove, en.removing
	restart, delay := e.shouldRestart(en, st)
	gen := en.restartGen
	if restart {
		en.restarting = true
	}
	en.mu.Unlock()
	switch {
	case removing:
	case auto:
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			en.op.Lock()
			defer en.op.Unlock()
			if !en.snapshot().State.Running() {
				e.destroy(en, true)
			}
		}()
	case restart:
		e.wg.Add(1)
		go e.restartLater(en, gen, delay)
	}
}

// shouldRestart applies the restart policy to an exit, with Docker's
// back-off (100 ms doubling to a minute, reset after 10 s of running).
// The caller holds en.mu.
func (e *Engine) shouldRestart(en *entry, st State) (bool, time.Duration) {
	c := en.c
	if en.noRestart || en.removing {
		return false, 0
	}
	p := c.HostConfig.RestartPolicy
	switch p.Name {
	case RestartAlways:
	case RestartUnlessStopped:
		if c.ManuallyStopped {
			return false, 0
		}
	case RestartOnFailure:
		if st.ExitCode == 0 || p.MaximumRetryCount > 0 && c.RestartCount >= p.MaximumRetryCount {
			return false, 0
		}
	default:
		return false, 0
	}
	if !st.StartedAt.IsZero() && st.FinishedAt.Sub(st.StartedAt) >= 10*time.Second {
		en.backoff = 0
	}
	if en.backoff == 0 {
		en.backoff = 100 * time.Millisecond
	} else {
		en.backoff = min(2*en.backoff, time.Minute)
	}
	return true, en.backoff
}

func (e *Engine) restartLater(en *entry, gen int, delay time.Duration) {
	defer e.wg.Done()
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-e.ctx.Done():
		return
	case <-t.C:
	}
	en.op.Lock()
	defer en.op.Unlock()
	en.mu.Lock()
	if en.restartGen != gen || en.removing || en.c.State.Running() {
		en.mu.Unlock()
		return
	}
	en.restarting = false
	en.c.RestartCount++
	rec := record{Container: *en.c}
	en.mu.Unlock()
	writeJSON(filepath.Join(rec.Dir, configFile), rec, false)
	if err := e.start(e.ctx, en, true); err != nil {
		e.log.Warn("restarting a container by its restart policy", "id", rec.ID, "err", err)
	}
}

// signal sends sig to the container's PID 1 through its monitor.
// thaw: a paused container is thawed after the signal, so that it can act
// on it (stop, and kill with SIGKILL or the stop signal, as Docker's).
func (e *Engine) signal(ctx context.Context, en *entry, sig int, thaw bool) error {
	req := fmt.Sprintf("kill %d", sig)
	if thaw {
		req += " thaw"
	}
	return monitorRequest(ctx, en.dir(), req, false)
}

// exitChan returns the channel closed at the next exit, and whether the
// container runs now.
func (en *entry) exitChan() (<-chan struct{}, bool) {
	en.mu.Lock()
	defer en.mu.Unlock()
	return en.exited, en.c.State.Running()
}

// Stop sends the stop signal (signal, else the container's StopSignal,
// else SIGTERM), waits up to timeout (nil: the container's StopTimeout,
// default 10 s; negative: forever), then kills it. A stopped container
// gives ErrNotModified.
func (e *Engine) Stop(ctx context.Context, idOrName string, timeout *time.Duration, signal string) error {
	en, err := e.lookup(idOrName)
	if err != nil {
		return err
	}
	en.op.Lock()
	defer en.op.Unlock()
	return e.stop(ctx, en, timeout, signal)
}

func (e *Engine) stop(ctx context.Context, en *entry, timeout *time.Duration, signal string) error {
	en.mu.Lock()
	c := en.c
	en.restartGen++
	wasRestarting := en.restarting
	en.restarting = false
	if !c.ManuallyStopped {
		c.ManuallyStopped = true
		writeJSON(filepath.Join(c.Dir, configFile), record{Container: *c}, false)
	}
	running := c.State.Running()
	stopSignal := c.Config.StopSignal
	to := c.Config.stopTimeout()
	en.noRestart = running
	en.mu.Unlock()
	if !running {
		if wasRestarting {
			return nil
		}
		return kindf(ErrNotModified, "container %s is already stopped", shortID(c.ID))
	}
	if signal == "" {
		signal = stopSignal
	}
	sig := 15
	if signal != "" {
		n, err := parseSignal(signal)
		if err != nil {
			return err
		}
		sig = n
	}
	return e.stopWith(ctx, en, sig, timeout, to)
}

func (e *Engine) stopWith(ctx context.Context, en *entry, sig int, timeout *time.Duration, to time.Duration) error {
	if timeout != nil {
		to = *timeout
	}
	exited, running := en.exitChan()
	if !running {
		return nil
	}
	if to != 0 {
		if err := e.signal(ctx, en, sig, true); err != nil && !isGone(err) {
			return fmt.Errorf("stopping container %s: %w", shortID(en.c.ID), err)
		}
		var timer <-chan time.Time
		if to > 0 {
			t := time.NewTimer(to)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-exited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-timer:
		}
	}
	if err := e.signal(ctx, en, 9, true); err != nil && !isGone(err) {
		return fmt.Errorf("killing container %s: %w", shortID(en.c.ID), err)
	}
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill sends a signal (default SIGKILL) to the container's PID 1.
func (e *Engine) Kill(ctx context.Context, idOrName, signal string) error {
	en, err := e.lookup(idOrName)
	if err != nil {
		return err
	}
	sig := 9
	if signal != "" {
		if sig, err = parseSignal(signal); err != nil {
			return err
		}
	}
	en.mu.Lock()
	c := en.c
	if !c.State.Running() {
		en.mu.Unlock()
		return conflictf("Cannot kill container: %s: Container %s is not running", shortID(c.ID), c.ID)
	}
	stopSig, _ := parseSignal(c.Config.StopSignal)
	if stopSig == 0 {
		stopSig = 15
	}
	thaw := sig == 9 || sig == stopSig
	if thaw {
		en.noRestart = true
	}
	if !c.ManuallyStopped {
		c.ManuallyStopped = true
		writeJSON(filepath.Join(c.Dir, configFile), record{Container: *c}, false)
	}
	en.mu.Unlock()
	if err := e.signal(ctx, en, sig, thaw); err != nil {
		if isGone(err) {
			return conflictf("Cannot kill container: %s: Container %s is not running", shortID(c.ID), c.ID)
		}
		return fmt.Errorf("Cannot kill container: %s: %w", shortID(c.ID), err)
	}
	return nil
}

// Restart stops the container (if it runs) and starts it again.
func (e *Engine) Restart(ctx context.Context, idOrName string, timeout *time.Duration) error {
	en, err := e.lookup(idOrName)
	if err != nil {
		return err
	}
	en.op.Lock()
	defer en.op.Unlock()
	if err := e.stop(ctx, en, timeout, ""); err != nil && !errors.Is(err, ErrNotModified) {
		return err
	}
	en.mu.Lock()
	en.restartGen++
	en.restarting = false
	en.mu.Unlock()
	return e.start(ctx, en, false)
}

// Pause freezes the container's processes.
func (e *Engine) Pause(idOrName string) error {
	return e.freeze(idOrName, true)
}

// Unpause thaws them.
func (e *Engine) Unpause(idOrName string) error {
	return e.freeze(idOrName, false)
}

func (e *Engine) freeze(idOrName string, on bool) error {
	en, err := e.lookup(idOrName)
	if err != nil {
		return err
	}
	en.op.Lock()
	defer en.op.Unlock()
	c := en.snapshot()
	switch {
	case !c.State.Running():
		return conflictf("Container %s is not running", c.ID)
	case on && c.State.Paused():
		return conflictf("Container %s is already paused", c.ID)
	case !on && !c.State.Paused():
		return conflictf("Container %s is not paused", c.ID)
	}
	cmd := "unpause"
	if on {
		cmd = "pause"
	}
	if err := monitorRequest(context.Background(), c.Dir, cmd, false); err != nil {
		return fmt.Errorf("%s container %s: %w", cmd, shortID(c.ID), err)
	}
	st, err := readState(c.Dir)
	if err == nil {
		en.mu.Lock()
		if en.c.State.Running() {
			en.c.State = st
		}
		en.mu.Unlock()
	}
	return nil
}

// Remove deletes a container; a running one only with force (killed
// first). volumes also removes its anonymous volumes.
func (e *Engine) Remove(ctx context.Context, idOrName string, force, volumes bool) error {
	en, err := e.lookup(idOrName)
	if err != nil {
		return err
	}
	en.op.Lock()
	defer en.op.Unlock()
	c := en.snapshot()
	if c.State.Status == StatusRemoving {
		return conflictf("removal of container %s is already in progress", shortID(c.ID))
	}
	if c.State.Running() {
		if !force {
			state := "running"
			if c.State.Paused() {
				state = "paused"
			}
			return conflictf("cannot remove container \"/%s\": container is %s: stop the container before removing or force remove", c.Name, state)
		}
		en.mu.Lock()
		en.noRestart = true
		en.removing = true
		en.mu.Unlock()
		zero := time.Duration(0)
		if err := e.stopWith(ctx, en, 9, &zero, 0); err != nil {
			en.mu.Lock()
			en.removing = false
			en.mu.Unlock()
			return err
		}
	}
	return e.destroy(en, volumes)
}

// destroy deletes a stopped container; the caller holds en.op.
func (e *Engine) destroy(en *entry, volumes bool) error {
	en.mu.Lock()
	en.removing = true
	en.restartGen++
	en.restarting = false
	c := en.c
	en.mu.Unlock()
	e.cleanupCgroup(c.ID)
	// The directory leaves the containers' directory at once (a rename)
	// and is deleted in the background: the removal, which waits on it
	// (run --rm), does not wait for some twenty unlinks. What a crash
	// leaves is deleted at the next start (load).
	trash := filepath.Join(e.root, trashPrefix+c.ID)
	if err := os.Rename(c.Dir, trash); err != nil {
		en.mu.Lock()
		en.removing = false
		en.mu.Unlock()
		return fmt.Errorf("removing container %s: %w", shortID(c.ID), err)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := os.RemoveAll(trash); err != nil {
			e.log.Warn("removing a container's directory", "dir", trash, "err", err)
		}
	}()
	e.releaseNetwork(c)
	e.mu.Lock()
	delete(e.byID, c.ID)
	if e.names[c.Name] == c.ID {
		delete(e.names, c.Name)
	}
	e.mu.Unlock()
	if volumes {
		e.vmu.Lock()
		for _, m := range c.Mounts {
			if m.Anonymous {
				if err := e.removeVolumeLocked(m.Name, false); err != nil && !errors.Is(err, ErrNotFound) {
					e.log.Warn("removing an anonymous volume", "volume", m.Name, "err", err)
				}
			}
		}
		e.vmu.Unlock()
	}
	en.mu.Lock()
	close(en.removed)
	en.mu.Unlock()
	return nil
}

// Wait blocks until the condition holds: "not-running" (the default),
// "next-exit" or "removed", and returns the last exit status.
func (e *Engine) Wait(ctx context.Context, idOrName string, condition string) (ExitStatus, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return ExitStatus{}, err
	}
	var ch <-chan struct{}
	en.mu.Lock()
	switch condition {
	case "", "not-running":
		if en.c.State.Running() || en.restarting {
			ch = en.exited
		}
	case "next-exit":
		ch = en.exited
	case "removed":
		ch = en.removed
	default:
		en.mu.Unlock()
		return ExitStatus{}, invalidf("invalid condition: %q: use not-running, next-exit or removed", condition)
	}
	en.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return ExitStatus{}, ctx.Err()
		}
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	return en.last, nil
}

// Logs reads the container's json-file log.
func (e *Engine) Logs(ctx context.Context, idOrName string, opts LogOptions) (LogReader, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	c := en.snapshot()
	lc, _ := parseLogConfig(c.HostConfig.LogConfig)
	if lc.Type == "none" {
		return nil, kindf(ErrNotImplemented, "configured logging driver does not support reading")
	}
	return newLogReader(ctx, c.LogPath, lc.MaxFile, opts, func() (bool, <-chan struct{}) {
		ch, running := en.exitChan()
		return running, ch
	})
}

// Stats reads the container's cgroup figures.
func (e *Engine) Stats(ctx context.Context, idOrName string) (*cgroup.Stats, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	c := en.snapshot()
	if !c.State.Running() {
		return nil, conflictf("Container %s is not running", c.ID)
	}
	m, err := cgroup.New(e.o.cgroupRoot, e.cgMode, c.ID, cgroup.Parent(e.o.cgroupParent))
	if err != nil {
		return nil, err
	}
	return m.Stats()
}

// Top runs ps on the host (psArgs, default -ef) and keeps the container's
// processes, as Docker's top does: the titles and one row per process.
func (e *Engine) Top(idOrName string, psArgs string) ([]string, [][]string, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, nil, err
	}
	c := en.snapshot()
	if !c.State.Running() {
		return nil, nil, conflictf("Container %s is not running", c.ID)
	}
	if psArgs == "" {
		psArgs = "-ef"
	}
	m, err := cgroup.New(e.o.cgroupRoot, e.cgMode, c.ID, cgroup.Parent(e.o.cgroupParent))
	if err != nil {
		return nil, nil, err
	}
	pids, err := m.Procs()
	if err != nil {
		return nil, nil, err
	}
	out, err := runCommand(context.Background(), "ps", strings.Fields(psArgs)...)
	if err != nil {
		return nil, nil, err
	}
	return parsePS(out, pids)
}

// PruneFilter selects what Prune removes.
type PruneFilter struct {
	// Until keeps containers created at or after it (zero: no bound).
	Until time.Time
	// Labels (key or key=value) must all match; NotLabels must not.
	Labels, NotLabels []string
}

// Prune removes every stopped container the filter selects, and returns
// their IDs and the bytes their writable layers held.
func (e *Engine) Prune(ctx context.Context, f PruneFilter) ([]string, uint64, error) {
	list, err := e.List(true)
	if err != nil {
		return nil, 0, err
	}
	var ids []string
	var freed uint64
	for _, c := range list {
		if c.State.Running() || c.State.Status == StatusRestarting || c.State.Status == StatusRemoving {
			continue
		}
		if !f.Until.IsZero() && !c.Created.Before(f.Until) {
			continue
		}
		if !image.MatchLabels(c.Config.Labels, f.Labels, f.NotLabels) {
			continue
		}
		size := dirSize(filepath.Join(c.Dir, upperDir))
		if err := e.Remove(ctx, c.ID, false, false); err != nil {
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
				continue
			}
			return ids, freed, err
		}
		ids = append(ids, c.ID)
		freed += size
	}
	return ids, freed, nil
}

// ImageInUse says why an image cannot be removed: a container uses it.
func (e *Engine) ImageInUse(imageID string) string {
	list, _ := e.List(true)
	stopped := ""
	for _, c := range list {
		if c.Image != imageID {
			continue
		}
		if c.State.Running() {
			return "image is being used by running container " + shortID(c.ID)
		}
		if stopped == "" {
			stopped = "image is being used by stopped container " + shortID(c.ID)
		}
	}
	return stopped
}

func dirSize(dir string) uint64 {
	var n uint64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += uint64(fi.Size())
			}
		}
		return nil
	})
	return n
}
