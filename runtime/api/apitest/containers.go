package apitest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/runtime/api"
)

// Containers is an in-memory api.ContainerBackend whose containers run
// pretend processes, enough for the docker CLI's flows: the command
//
//	echo ARGS...              prints ARGS, exits 0
//	true, false               exit 0, 1
//	sleep N                   runs N seconds (until stopped or killed)
//	sh -c 'CMD; CMD...'       each CMD one of the above, "echo ... >&2"
//	                          (to stderr) or "exit N"
//	/no/such, nosuch          fails to start: not found (docker run: 127)
//	/etc                      fails to start: permission denied (126)
//
// A signal ends a process with 128+signal. It records every call in
// Calls, and is strict: a request the server should have refused
// (unvalidated, with a non-canonical signal) is an error, never a guess.
type Containers struct {
	// Images resolves image names at create.
	Images *Backend
	// StatsInterval is the time between stats samples (default 50ms).
	StatsInterval time.Duration

	mu         sync.Mutex
	calls      []string
	containers []*fakeContainer
	volumes    map[string]*api.Volume
	execs      map[string]*pretendExec
	seq        int
}

var _ api.ContainerBackend = (*Containers)(nil)

// NewContainers is a backend with no containers, over images.
func NewContainers(images *Backend) *Containers {
	return &Containers{Images: images, volumes: map[string]*api.Volume{}}
}

type fakeContainer struct {
	info    api.ContainerJSON
	mounts  []api.MountSpec
	log     []api.OutputMessage
	pipes   []*pipe
	waiters []waiter
	// signal is the running process's: a signal name ends it.
	signal  chan string
	exited  chan struct{}
	removed bool
}

type waiter struct {
	cond api.WaitCondition
	ch   chan api.ContainerWaitResponse
}

// Calls returns the calls made so far and forgets them.
func (b *Containers) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.calls
	b.calls = nil
	return c
}

func (b *Containers) record(format string, a ...any) {
	b.calls = append(b.calls, fmt.Sprintf(format, a...))
}

// State is the state of the container ref ("" when there is none).
func (b *Containers) State(ref string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.find(ref)
	if err != nil {
		return ""
	}
	return c.info.State.Status
}

// Volumes are the names of the volumes the backend holds.
func (b *Containers) Volumes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for n := range b.volumes {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// find resolves a reference: full ID, name, unique ID prefix.
func (b *Containers) find(ref string) (*fakeContainer, error) {
	for _, c := range b.containers {
		if c.info.ID == ref || c.info.Name == "/"+strings.TrimPrefix(ref, "/") {
			return c, nil
		}
	}
	var found *fakeContainer
	for _, c := range b.containers {
		if ref != "" && strings.HasPrefix(c.info.ID, ref) {
			if found != nil {
				return nil, api.InvalidParameterf("multiple IDs found with provided prefix: %s", ref)
			}
			found = c
		}
	}
	if found == nil {
		return nil, api.NotFoundf("No such container: %s", ref)
	}
	return found, nil
}

var names = [][]string{{"admiring", "brave", "clever", "dreamy", "eager"}, {"turing", "hopper", "lovelace", "ritchie", "thompson"}}

const zeroTime = "0001-01-01T00:00:00Z"

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Create makes a container from a validated request.
func (b *Containers) Create(ctx context.Context, opts api.ContainerCreateOptions) (*api.ContainerCreateResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	req := opts.Config
	if req == nil || req.HostConfig == nil || req.NetworkingConfig == nil {
		return nil, errors.New("apitest: Create of an unvalidated request (ValidateCreate fills HostConfig and NetworkingConfig)")
	}
	b.record("Create(name=%s, image=%s, cmd=%q, platform=%q)", opts.Name, req.Image, append(slices.Clone(req.Entrypoint), req.Cmd...), opts.Platform)
	img, err := b.Images.lookup(req.Image)
	if err != nil {
		return nil, api.NotFoundf("No such image: %s", Normalize(req.Image))
	}
	b.seq++
	name := opts.Name
	if name == "" {
		name = names[0][b.seq%5] + "_" + names[1][(b.seq/5)%5]
	}
	for _, c := range b.containers {
		if c.info.Name == "/"+name {
			return nil, api.Conflictf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, c.info.ID)
		}
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("container %d %s", b.seq, name)))
	id := hex.EncodeToString(sum[:])

	cfg := req.ContainerConfig
	cfg.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, cfg.Env...)
	if len(cfg.Cmd) == 0 && len(cfg.Entrypoint) == 0 {
		cfg.Cmd = []string{"sh"}
	}
	if cfg.Hostname == "" {
		cfg.Hostname = id[:12]
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	argv := append(slices.Clone(cfg.Entrypoint), cfg.Cmd...)
	hc := *req.HostConfig
	if hc.NetworkMode == "" || hc.NetworkMode == "default" {
		hc.NetworkMode = "none"
	}
	var mounts []api.MountPoint
	for _, m := range opts.Mounts {
		if m.Type == "tmpfs" {
			// As dockerd: --tmpfs mounts are in HostConfig, not Mounts.
			continue
		}
		mp := api.MountPoint{Type: m.Type, Source: m.Source, Destination: m.Target, RW: !m.ReadOnly}
		if m.ReadOnly {
			mp.Mode = "ro"
		}
		switch m.Type {
		case "bind":
			mp.Propagation = "rprivate"
			if m.Propagation != "" {
				mp.Propagation = m.Propagation
			}
		case "volume":
			v := b.volume(m.Source, m.Source == "")
			mp.Name, mp.Source, mp.Driver, mp.Mode = v.Name, v.Mountpoint, "local", "z"
		}
		mounts = append(mounts, mp)
	}
	if mounts == nil {
		mounts = []api.MountPoint{}
	}
	dir := "/var/lib/berth/containers/" + id
	c := &fakeContainer{mounts: opts.Mounts, info: api.ContainerJSON{
		ID: id, Created: rfc3339(time.Now()), Path: argv[0], Args: argv[1:],
		State: &api.ContainerState{Status: "created", StartedAt: zeroTime, FinishedAt: zeroTime},
		Image: img.ID, ResolvConfPath: dir + "/resolv.conf", HostnamePath: dir + "/hostname", HostsPath: dir + "/hosts",
		LogPath: dir + "/" + id + "-json.log", Name: "/" + name, Driver: "overlay2", Platform: "linux",
		HostConfig: &hc, Config: &cfg, Mounts: mounts,
		GraphDriver: api.GraphDriverData{Name: "overlay2", Data: map[string]string{"MergedDir": dir + "/merged", "UpperDir": dir + "/diff", "WorkDir": dir + "/work"}},
		NetworkSettings: &api.NetworkSettings{Ports: map[string][]api.PortBinding{}, SandboxKey: "/var/run/berth/netns/" + id[:12],
			Networks: map[string]*api.EndpointSettings{hc.NetworkMode: {NetworkID: hc.NetworkMode}}},
	}}
	b.containers = append(b.containers, c)
	var warnings []string
	if hc.Memory > 0 && hc.MemorySwap == 0 {
		warnings = append(warnings, "apitest: a memory limit without a swap limit")
	}
	return &api.ContainerCreateResponse{ID: id, Warnings: warnings}, nil
}

// volume returns the named volume, creating it (anonymous ones with a
// generated name and the anonymous label).
func (b *Containers) volume(name string, anonymous bool) *api.Volume {
	if v, ok := b.volumes[name]; ok && name != "" {
		return v
	}
	labels := map[string]string{}
	if anonymous {
		sum := sha256.Sum256([]byte(fmt.Sprintf("volume %d", len(b.volumes)+b.seq*1000)))
		name = hex.EncodeToString(sum[:])
		labels[api.AnonymousVolumeLabel] = ""
	}
	v := &api.Volume{CreatedAt: time.Now().UTC().Format(time.RFC3339), Driver: "local", Labels: labels,
		Mountpoint: "/var/lib/berth/volumes/" + name + "/_data", Name: name, Options: nil, Scope: "local"}
	b.volumes[name] = v
	return v
}

// step is one thing a pretend process does: write a line, sleep (until a
// signal), or exit with a status.
type step struct {
	stream string
	text   string
	sleep  time.Duration
	exit   int
	isExit bool
}

// plan turns argv into steps, or the error a real engine's start gives.
func plan(argv []string) ([]step, error) {
	cmd := path.Base(argv[0])
	switch {
	case argv[0] == "/etc":
		return nil, fmt.Errorf("failed to create task for container: exec: %q: permission denied", argv[0])
	case strings.HasPrefix(argv[0], "/") && !slices.Contains([]string{"echo", "true", "false", "sleep", "sh"}, cmd):
		return nil, fmt.Errorf("failed to create task for container: exec: %q: stat %s: no such file or directory", argv[0], argv[0])
	}
	switch cmd {
	case "sh":
		if len(argv) >= 3 && argv[1] == "-c" {
			var steps []step
			for _, part := range strings.Split(argv[2], ";") {
				s, ok := shellStep(strings.TrimSpace(part))
				if !ok {
					steps = append(steps, step{stream: "stderr", text: fmt.Sprintf("sh: %s: not found\n", strings.Fields(part)[0])}, step{isExit: true, exit: 127})
					break
				}
				steps = append(steps, s...)
			}
			return steps, nil
		}
		return nil, nil
	case "echo", "true", "false", "sleep":
		s, _ := shellStep(strings.Join(argv, " "))
		return s, nil
	}
	return nil, fmt.Errorf("failed to create task for container: exec: %q: executable file not found in $PATH", argv[0])
}

func shellStep(cmd string) ([]step, bool) {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return nil, true
	}
	switch f[0] {
	case "echo":
		stream := "stdout"
		if f[len(f)-1] == ">&2" {
			stream, f = "stderr", f[:len(f)-1]
		}
		text := strings.Join(f[1:], " ")
		text = strings.Trim(text, `'"`)
		return []step{{stream: stream, text: text + "\n"}}, true
	case "true":
		return nil, true
	case "false":
		return []step{{isExit: true, exit: 1}}, true
	case "exit":
		n := 0
		if len(f) > 1 {
			n, _ = strconv.Atoi(f[1])
		}
		return []step{{isExit: true, exit: n}}, true
	case "sleep":
		sec := 1.0
		if len(f) > 1 {
			sec, _ = strconv.ParseFloat(f[1], 64)
		}
		return []step{{sleep: time.Duration(sec * float64(time.Second))}}, true
	}
	return nil, false
}

// Start runs the container's pretend process.
func (b *Containers) Start(ctx context.Context, ref string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Start(%s)", ref)
	c, err := b.find(ref)
	if err != nil {
		return err
	}
	st := c.info.State
	if st.Running {
		return api.NotModified(fmt.Errorf("container %s is already running", ref))
	}
	steps, err := plan(append([]string{c.info.Path}, c.info.Args...))
	if err != nil {
		st.Status, st.Error, st.ExitCode = "created", err.Error(), 127
		if strings.Contains(err.Error(), "permission denied") {
			st.ExitCode = 126
		}
		if c.info.HostConfig.AutoRemove {
			b.removeLocked(c, true)
		}
		return err
	}
	now := time.Now()
	st.Status, st.Running, st.Paused, st.Error, st.Pid = "running", true, false, "", 4242+b.seq
	st.StartedAt, st.FinishedAt, st.ExitCode = rfc3339(now), zeroTime, 0
	c.signal = make(chan string, 1)
	c.exited = make(chan struct{})
	go b.run(c, steps, c.signal, c.exited)
	return nil
}

// run plays the steps, then records the exit.
func (b *Containers) run(c *fakeContainer, steps []step, signal <-chan string, exited chan struct{}) {
	code := 0
play:
	for _, s := range steps {
		switch {
		case s.isExit:
			code = s.exit
			break play
		case s.text != "":
			b.mu.Lock()
			m := api.OutputMessage{Stream: s.stream, Time: time.Now(), Data: []byte(s.text)}
			c.log = append(c.log, m)
			for _, p := range c.pipes {
				p.push(m)
			}
			b.mu.Unlock()
		case s.sleep > 0:
			select {
			case sig := <-signal:
				_, n, _ := api.ParseSignal(sig)
				code = 128 + n
				break play
			case <-time.After(s.sleep):
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st := c.info.State
	st.Status, st.Running, st.Paused, st.Pid, st.ExitCode, st.FinishedAt = "exited", false, false, 0, code, rfc3339(time.Now())
	for _, p := range c.pipes {
		p.close()
	}
	c.pipes = nil
	b.notify(c, func(w waiter) bool { return w.cond != api.WaitRemoved })
	close(exited)
	if c.info.HostConfig.AutoRemove {
		b.removeLocked(c, true)
	}
}

// notify answers the waiters that done selects.
func (b *Containers) notify(c *fakeContainer, done func(waiter) bool) {
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if done(w) {
			w.ch <- api.ContainerWaitResponse{StatusCode: c.info.State.ExitCode}
			close(w.ch)
			continue
		}
		keep = append(keep, w)
	}
	c.waiters = keep
}

// signalLocked ends the running process with sig and waits for its exit
// without holding the lock.
func (b *Containers) signalLocked(c *fakeContainer, sig string) {
	if _, n, _ := api.ParseSignal(sig); n == 17 || n == 18 || n == 23 || n == 28 {
		return // SIGCHLD, SIGCONT, SIGURG, SIGWINCH are ignored by default.
	}
	exited := c.exited
	select {
	case c.signal <- sig:
	default:
	}
	b.mu.Unlock()
	<-exited
	b.mu.Lock()
}

// checkSignal refuses what the server should have canonicalised.
func checkSignal(sig string) error {
	if name, _, err := api.ParseSignal(sig); err != nil || name != sig {
		return fmt.Errorf("apitest: signal %q is not canonical (the server passes ParseSignal's name)", sig)
	}
	return nil
}

// Stop signals the container with its stop signal.
func (b *Containers) Stop(ctx context.Context, ref string, opts api.StopOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := "nil"
	if opts.Timeout != nil {
		t = strconv.Itoa(*opts.Timeout)
	}
	b.record("Stop(%s, signal=%q, t=%s)", ref, opts.Signal, t)
	if opts.Signal != "" {
		if err := checkSignal(opts.Signal); err != nil {
			return err
		}
	}
	c, err := b.find(ref)
	if err != nil {
		return err
	}
	if !c.info.State.Running {
		return api.NotModified(fmt.Errorf("container %s is already stopped", ref))
	}
	sig := opts.Signal
	if sig == "" {
		sig = "SIGTERM"
		if s := c.info.Config.StopSignal; s != "" {
			sig, _, _ = api.ParseSignal(s)
		}
	}
	b.signalLocked(c, sig)
	return nil
}

// Restart stops (when running) and starts the container.
func (b *Containers) Restart(ctx context.Context, ref string, opts api.StopOptions) error {
	if err := b.Stop(ctx, ref, opts); err != nil && !errors.Is(err, api.ErrNotModified) {
		return err
	}
	return b.Start(ctx, ref)
}

// Kill signals a running container.
func (b *Containers) Kill(ctx context.Context, ref, signal string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Kill(%s, %s)", ref, signal)
	if err := checkSignal(signal); err != nil {
		return err
	}
	c, err := b.find(ref)
	if err != nil {
		return err
	}
	if !c.info.State.Running {
		return api.Conflictf("Cannot kill container: %s: container %s is not running", ref, c.info.ID)
	}
	b.signalLocked(c, signal)
	return nil
}

// Pause marks a running container paused.
func (b *Containers) Pause(ctx context.Context, ref string) error {
	return b.setPaused(ref, true)
}

// Unpause marks a paused container running.
func (b *Containers) Unpause(ctx context.Context, ref string) error {
	return b.setPaused(ref, false)
}

func (b *Containers) setPaused(ref string, paused bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	verb := map[bool]string{true: "Pause", false: "Unpause"}[paused]
	b.record("%s(%s)", verb, ref)
	c, err := b.find(ref)
	if err != nil {
		return err
	}
	st := c.info.State
	switch {
	case !st.Running:
		return api.Conflictf("Container %s is not running", c.info.ID)
	case paused && st.Paused:
		return api.Conflictf("Container %s is already paused", c.info.ID)
	case !paused && !st.Paused:
		return api.Conflictf("Container %s is not paused", c.info.ID)
	}
	st.Paused = paused
	st.Status = map[bool]string{true: "paused", false: "running"}[paused]
	return nil
}

// Remove deletes a stopped container, or kills one with Force.
func (b *Containers) Remove(ctx context.Context, ref string, opts api.RemoveOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Remove(%s, force=%t, v=%t)", ref, opts.Force, opts.Volumes)
	c, err := b.find(ref)
	if err != nil {
		return err
	}
	if c.info.State.Running {
		if !opts.Force {
			return api.Conflictf("cannot remove container %q: container is running: stop the container before removing or force remove", "/"+strings.TrimPrefix(c.info.Name, "/"))
		}
		auto := c.info.HostConfig.AutoRemove
		c.info.HostConfig.AutoRemove = false
		b.signalLocked(c, "SIGKILL")
		c.info.HostConfig.AutoRemove = auto
	}
	if !c.removed {
		b.removeLocked(c, opts.Volumes)
	}
	return nil
}

// removeLocked forgets the container, its anonymous volumes with
// volumes, and answers the waiters.
func (b *Containers) removeLocked(c *fakeContainer, volumes bool) {
	c.removed = true
	b.containers = slices.DeleteFunc(b.containers, func(x *fakeContainer) bool { return x == c })
	if volumes {
		for _, m := range c.info.Mounts {
			if v, ok := b.volumes[m.Name]; ok && m.Type == "volume" {
				if _, anon := v.Labels[api.AnonymousVolumeLabel]; anon {
					delete(b.volumes, m.Name)
				}
			}
		}
	}
	for _, p := range c.pipes {
		p.close()
	}
	c.pipes = nil
	b.notify(c, func(waiter) bool { return true })
}

// Wait registers a waiter.
func (b *Containers) Wait(ctx context.Context, ref string, cond api.WaitCondition) (<-chan api.ContainerWaitResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Wait(%s, %s)", ref, cond)
	if !slices.Contains([]api.WaitCondition{api.WaitNotRunning, api.WaitNextExit, api.WaitRemoved}, cond) {
		return nil, fmt.Errorf("apitest: wait condition %q the server should have refused", cond)
	}
	c, err := b.find(ref)
	if err != nil {
		return nil, err
	}
	ch := make(chan api.ContainerWaitResponse, 1)
	if cond == api.WaitNotRunning && !c.info.State.Running {
		ch <- api.ContainerWaitResponse{StatusCode: c.info.State.ExitCode}
		close(ch)
		return ch, nil
	}
	c.waiters = append(c.waiters, waiter{cond: cond, ch: ch})
	return ch, nil
}

// snapshot is a deep copy of the container's description.
func snapshot(c *fakeContainer) *api.ContainerJSON {
	b, _ := json.Marshal(c.info)
	var out api.ContainerJSON
	_ = json.Unmarshal(b, &out)
	return &out
}

// Inspect describes a container; sizes are fixed.
func (b *Containers) Inspect(ctx context.Context, ref string, size bool) (*api.ContainerJSON, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Inspect(%s, size=%t)", ref, size)
	c, err := b.find(ref)
	if err != nil {
		return nil, err
	}
	out := snapshot(c)
	if size {
		rw, rootfs := int64(12), int64(4_261_000)
		out.SizeRw, out.SizeRootFs = &rw, &rootfs
	}
	return out, nil
}

// List describes every container.
func (b *Containers) List(ctx context.Context, size bool) ([]*api.ContainerJSON, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("List(size=%t)", size)
	var out []*api.ContainerJSON
	for _, c := range b.containers {
		s := snapshot(c)
		if size {
			rw, rootfs := int64(12), int64(4_261_000)
			s.SizeRw, s.SizeRootFs = &rw, &rootfs
		}
		out = append(out, s)
	}
	return out, nil
}

// Logs replays the container's output and, with Follow, what comes until
// it exits.
func (b *Containers) Logs(ctx context.Context, ref string, opts api.LogsOptions) (*api.OutputStream, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Logs(%s, follow=%t, stdout=%t, stderr=%t, tail=%d, since=%t, until=%t)", ref, opts.Follow, opts.Stdout, opts.Stderr, opts.Tail, !opts.Since.IsZero(), !opts.Until.IsZero())
	c, err := b.find(ref)
	if err != nil {
		return nil, err
	}
	p := newPipe(ctx, opts.Stdout, opts.Stderr)
	var past []api.OutputMessage
	for _, m := range c.log {
		if (!opts.Since.IsZero() && m.Time.Before(opts.Since)) || (!opts.Until.IsZero() && m.Time.After(opts.Until)) || !p.wants(m) {
			continue
		}
		past = append(past, m)
	}
	if opts.Tail >= 0 && len(past) > opts.Tail {
		past = past[len(past)-opts.Tail:]
	}
	for _, m := range past {
		p.push(m)
	}
	if opts.Follow && c.info.State.Running {
		c.pipes = append(c.pipes, p)
	} else {
		p.close()
	}
	return &api.OutputStream{Messages: p.out}, nil
}

// Attach delivers the container's output from now on; what an attached
// client writes to its stdin comes back on stdout ("stdin: ..."), as if
// the process echoed it.
func (b *Containers) Attach(ctx context.Context, ref string, opts api.AttachOptions) (*api.AttachStream, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Attach(%s, stdin=%t, stdout=%t, stderr=%t)", ref, opts.Stdin, opts.Stdout, opts.Stderr)
	c, err := b.find(ref)
	if err != nil {
		return nil, err
	}
	p := newPipe(ctx, opts.Stdout, opts.Stderr)
	c.pipes = append(c.pipes, p)
	st := &api.AttachStream{OutputStream: api.OutputStream{Messages: p.out}}
	if opts.Stdin {
		st.Stdin = &echoStdin{b: b, id: c.info.ID, p: p}
	}
	return st, nil
}

// echoStdin is a fake process's stdin: each write comes back as output.
type echoStdin struct {
	b  *Containers
	id string
	p  *pipe
}

func (e *echoStdin) Write(data []byte) (int, error) {
	e.p.push(api.OutputMessage{Stream: "stdout", Time: time.Now(), Data: append([]byte("stdin: "), data...)})
	return len(data), nil
}

func (e *echoStdin) Close() error {
	e.b.mu.Lock()
	defer e.b.mu.Unlock()
	e.b.record("CloseStdin(%s)", e.id)
	return nil
}

// Resize records the size of a running container's terminal.
func (b *Containers) Resize(ctx context.Context, ref string, height, width uint) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Resize(%s, %d, %d)", ref, height, width)
	c, err := b.find(ref)
	if err != nil {
		return err
	}
	if !c.info.State.Running {
		return api.Conflictf("Container %s is not running", c.info.ID)
	}
	return nil
}

// Top lists the pretend process.
func (b *Containers) Top(ctx context.Context, ref, psArgs string) (*api.ContainerTopResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("Top(%s, %q)", ref, psArgs)
	c, err := b.find(ref)
	if err != nil {
		return nil, err
	}
	if !c.info.State.Running {
		return nil, api.Conflictf("container %s is not running", c.info.ID)
	}
	cmd := strings.Join(append([]string{c.info.Path}, c.info.Args...), " ")
	return &api.ContainerTopResponse{
		Titles:    []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"},
		Processes: [][]string{{"root", strconv.Itoa(c.info.State.Pid), "4200", "0", "12:00", "?", "00:00:00", cmd}},
	}, nil
}

// Stats sends growing CPU use (1% of one CPU) at StatsInterval.
func (b *Containers) Stats(ctx context.Context, ref string) (<-chan api.StatsJSON, error) {
	b.mu.Lock()
	b.record("Stats(%s)", ref)
	c, err := b.find(ref)
	if err != nil {
		b.mu.Unlock()
		return nil, err
	}
	id, name, running, limit := c.info.ID, c.info.Name, c.info.State.Running, uint64(c.info.HostConfig.Memory)
	exited := c.exited
	b.mu.Unlock()
	if limit == 0 {
		limit = 8 << 30
	}
	interval := b.StatsInterval
	if interval == 0 {
		interval = 50 * time.Millisecond
	}
	ch := make(chan api.StatsJSON)
	go func() {
		defer close(ch)
		if !running {
			select {
			case ch <- api.StatsJSON{Name: name, ID: id}:
			case <-ctx.Done():
			}
			return
		}
		for i := uint64(1); ; i++ {
			st := api.StatsJSON{
				Read: time.Now(), Name: name, ID: id, NumProcs: 0,
				PidsStats: api.PidsStats{Current: 1},
				CPUStats: api.CPUStats{
					CPUUsage:    api.CPUUsage{TotalUsage: i * 20_000_000, UsageInUsermode: i * 10_000_000, UsageInKernelmode: i * 10_000_000},
					SystemUsage: i * 2_000_000_000, OnlineCPUs: 2,
				},
				MemoryStats: api.MemoryStats{Usage: 2 << 20, Limit: limit, Stats: map[string]uint64{"total_inactive_file": 1 << 20}},
				BlkioStats: api.BlkioStats{IoServiceBytesRecursive: []api.BlkioStatEntry{
					{Major: 8, Minor: 0, Op: "read", Value: 4096}, {Major: 8, Minor: 0, Op: "write", Value: 0},
				}},
			}
			select {
			case ch <- st:
			case <-ctx.Done():
				return
			case <-exited:
				return
			}
			select {
			case <-time.After(interval):
			case <-ctx.Done():
				return
			case <-exited:
				return
			}
		}
	}()
	return ch, nil
}

// VolumeCreate makes a volume, or returns the existing one.
func (b *Containers) VolumeCreate(ctx context.Context, opts api.VolumeCreateOptions) (*api.Volume, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("VolumeCreate(%s, driver=%s)", opts.Name, opts.Driver)
	if opts.Driver != "local" {
		return nil, fmt.Errorf("apitest: volume driver %q the server should have refused or defaulted", opts.Driver)
	}
	v := b.volume(opts.Name, opts.Name == "")
	for k, val := range opts.Labels {
		v.Labels[k] = val
	}
	cp := *v
	return &cp, nil
}

// VolumeList returns every volume.
func (b *Containers) VolumeList(ctx context.Context) ([]*api.Volume, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("VolumeList")
	var out []*api.Volume
	for _, v := range b.volumes {
		cp := *v
		out = append(out, &cp)
	}
	return out, nil
}

// VolumeInspect describes one volume.
func (b *Containers) VolumeInspect(ctx context.Context, name string) (*api.Volume, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("VolumeInspect(%s)", name)
	v, ok := b.volumes[name]
	if !ok {
		return nil, api.NotFoundf("get %s: no such volume", name)
	}
	cp := *v
	return &cp, nil
}

// VolumeRemove deletes a volume no container uses.
func (b *Containers) VolumeRemove(ctx context.Context, name string, force bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("VolumeRemove(%s, force=%t)", name, force)
	if _, ok := b.volumes[name]; !ok {
		if force {
			return nil
		}
		return api.NotFoundf("get %s: no such volume", name)
	}
	var users []string
	for _, c := range b.containers {
		for _, m := range c.info.Mounts {
			if m.Type == "volume" && m.Name == name {
				users = append(users, c.info.ID)
			}
		}
	}
	if len(users) > 0 {
		return api.Conflictf("remove %s: volume is in use - [%s]", name, strings.Join(users, ", "))
	}
	delete(b.volumes, name)
	return nil
}

// pipe delivers messages to one reader in order without ever blocking
// the writer: a slow client cannot stall the pretend process.
type pipe struct {
	mu             sync.Mutex
	queue          []api.OutputMessage
	closed         bool
	wake           chan struct{}
	out            chan api.OutputMessage
	stdout, stderr bool
}

func newPipe(ctx context.Context, stdout, stderr bool) *pipe {
	p := &pipe{wake: make(chan struct{}, 1), out: make(chan api.OutputMessage), stdout: stdout, stderr: stderr}
	go p.pump(ctx)
	return p
}

func (p *pipe) wants(m api.OutputMessage) bool {
	return (m.Stream == "stdout" && p.stdout) || (m.Stream == "stderr" && p.stderr)
}

func (p *pipe) push(m api.OutputMessage) {
	if !p.wants(m) {
		return
	}
	p.mu.Lock()
	p.queue = append(p.queue, m)
	p.mu.Unlock()
	p.poke()
}

func (p *pipe) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.poke()
}

func (p *pipe) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *pipe) pump(ctx context.Context) {
	defer close(p.out)
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			m := p.queue[0]
			p.queue = p.queue[1:]
			p.mu.Unlock()
			select {
			case p.out <- m:
			case <-ctx.Done():
				return
			}
			continue
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		select {
		case <-p.wake:
		case <-ctx.Done():
			return
		}
	}
}
