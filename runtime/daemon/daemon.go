package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berthhq/berth/distro"
	"github.com/berthhq/berth/runtime/api"
)

// NewImagesFunc builds the image backend once the data root is ready.
type NewImagesFunc func(ctx context.Context, cfg *Config) (api.ImageBackend, error)

// NewContainersFunc builds the container backend once the image backend
// is open. It may return no backend (nil, nil) where containers cannot
// run; the container routes then answer 501.
type NewContainersFunc func(ctx context.Context, cfg *Config, images api.ImageBackend, log *slog.Logger) (api.ContainerBackend, error)

// Reloader is implemented by an image backend that takes new settings
// (mirrors, insecure registries, max-concurrent-downloads) without a
// restart; Run calls it on SIGHUP with the new, validated configuration.
// An error keeps the old settings.
type Reloader interface {
	Reload(cfg *Config) error
}

// Options are what Run needs besides the configuration.
type Options struct {
	// NewImages builds the image backend; required. A backend that is an
	// io.Closer is closed at shutdown.
	NewImages NewImagesFunc
	// NewContainers builds the container backend; nil serves images
	// alone. A backend that is an io.Closer is closed at shutdown, before
	// the image backend.
	NewContainers NewContainersFunc
	// ConfigFile is reread on SIGHUP ("" disables reloading) and Flags
	// applied to it again.
	ConfigFile string
	Flags      Flags
	// Version, GitCommit and BuildTime describe this build for /version.
	Version, GitCommit, BuildTime string
	// Logger receives the daemon's log; LogLevel, when set, follows the
	// configuration's log-level and debug, at start and on reload.
	Logger   *slog.Logger
	LogLevel *slog.LevelVar
	// ShutdownTimeout bounds how long requests in flight may finish after
	// SIGTERM (default 10s).
	ShutdownTimeout time.Duration
	// Ready, when set, is called once the API is served.
	Ready func()
}

// daemon is one run of the engine.
type daemon struct {
	opts   Options
	log    *slog.Logger
	cfg    atomic.Pointer[Config]
	images api.ImageBackend
	// containers is nil when the daemon runs without a container engine.
	containers api.ContainerBackend

	mu        sync.Mutex
	extraWarn []string
}

func (d *daemon) config() *Config { return d.cfg.Load() }

// warnings are /info's, worded as Docker's: the configuration's and the
// daemon's own.
func (d *daemon) warnings() []string {
	var out []string
	for _, w := range d.config().Warnings {
		out = append(out, "WARNING: "+w)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return append(out, d.extraWarn...)
}

func (d *daemon) warn(msg string) {
	d.log.Warn(msg)
	d.mu.Lock()
	d.extraWarn = append(d.extraWarn, "WARNING: "+msg)
	d.mu.Unlock()
}

// Run is the engine: it prepares the data root, builds the image backend
// and the container backend over it, serves the API on the configured sockets (or those systemd passes),
// reloads the mirror settings on SIGHUP and shuts down gracefully when ctx
// ends or on SIGTERM/SIGINT: no new connections, requests in flight given
// ShutdownTimeout to finish, its sockets removed.
func Run(ctx context.Context, cfg *Config, opts Options) error {
	if opts.NewImages == nil {
		return errors.New("daemon: no image backend (Options.NewImages)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	d := &daemon{opts: opts, log: opts.Logger}
	d.cfg.Store(cfg)
	d.setLevel(cfg)
	for _, w := range cfg.Warnings {
		d.log.Warn(w)
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	if err := os.MkdirAll(cfg.DataRoot, 0o711); err != nil {
		return fmt.Errorf("data root: %w", err)
	}
	id, err := engineID(cfg.DataRoot)
	if err != nil {
		return fmt.Errorf("data root %s: %w", cfg.DataRoot, err)
	}
	setProxyEnv(cfg.Proxies, d.log)

	listeners, err := d.listen(cfg)
	if err != nil {
		return err
	}
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}

	images, err := opts.NewImages(ctx, cfg)
	if err != nil {
		closeAll()
		return fmt.Errorf("opening the image store: %w", err)
	}
	if c, ok := images.(io.Closer); ok {
		defer c.Close()
	}
	d.images = images

	if opts.NewContainers != nil {
		containers, err := opts.NewContainers(ctx, cfg, images, d.log)
		if err != nil {
			closeAll()
			return fmt.Errorf("opening the container engine: %w", err)
		}
		if c, ok := containers.(io.Closer); ok {
			defer c.Close()
		}
		d.containers = containers
		if w, ok := containers.(interface{ Warnings() []string }); ok {
			for _, msg := range w.Warnings() {
				d.extraWarn = append(d.extraWarn, "WARNING: "+msg)
			}
		}
	}

	facts, err := distro.Detect(ctx, "/", distro.WithDataRoot(cfg.DataRoot))
	if err != nil {
		closeAll()
		return fmt.Errorf("reading the host's facts: %w", err)
	}
	hostname, _ := os.Hostname()
	sys := &system{d: d, facts: facts, id: id, hostname: hostname}
	serverOpts := []api.ServerOption{
		api.WithLogger(d.log), api.WithEngineVersion(opts.Version),
		api.WithAuth(&api.RegistryAuth{Insecure: func(host string) bool { return d.config().Mirror.Insecure(host) }}),
	}
	if d.containers != nil {
		serverOpts = append(serverOpts, api.WithContainers(d.containers))
	}
	if n, ok := d.containers.(api.NetworkBackend); ok {
		serverOpts = append(serverOpts, api.WithNetworks(n))
	}
	srv, err := api.NewServer(images, sys, serverOpts...)
	if err != nil {
		closeAll()
		return err
	}

	// Requests get a context that outlives the shutdown signal by the
	// grace period, then ends so that long pulls stop.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() {
			if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		}()
	}
	notify("READY=1\nSTATUS=serving the Engine API", d.log)
	d.log.Info("Berth engine serving the Docker Engine API", "version", opts.Version, "api", api.Version, "sockets", listenerAddrs(listeners), "data-root", cfg.DataRoot)
	if opts.Ready != nil {
		opts.Ready()
	}

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			d.log.Info("shutting down")
			break loop
		case <-hup:
			d.reload()
		case err := <-serveErr:
			runErr = fmt.Errorf("serving the API: %w", err)
			break loop
		}
	}

	notify("STOPPING=1", d.log)
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		d.log.Warn("requests still running at the shutdown deadline; cutting them off", "timeout", opts.ShutdownTimeout)
		cancelRequests()
		hs.Close()
	}
	// Shutdown closed the listeners, which removes the sockets Listen
	// made; systemd's stay with systemd.
	return runErr
}

// listen opens the configured sockets, or takes those systemd passes.
func (d *daemon) listen(cfg *Config) ([]net.Listener, error) {
	passed, err := systemdListeners()
	if err != nil {
		return nil, err
	}
	paths, wantSystemd := cfg.Sockets()
	if len(passed) > 0 {
		d.log.Info("using the sockets systemd passed", "count", len(passed))
		return passed, nil
	}
	if wantSystemd && len(paths) == 0 {
		return nil, errors.New(`hosts has "fd://" but systemd passed no socket (is berth.socket enabled?)`)
	}
	if cfg.Group != "" && !api.GroupExists(cfg.Group) {
		d.warn(fmt.Sprintf("the group %q does not exist: the socket is root's alone (groupadd %s, then restart)", cfg.Group, cfg.Group))
	}
	var out []net.Listener
	for _, p := range paths {
		l, err := api.Listen(p, cfg.Group)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func listenerAddrs(ls []net.Listener) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Addr().String())
	}
	return out
}

// reload rereads the configuration file. A file that does not parse, or
// settings the backend refuses, leave everything as it was.
func (d *daemon) reload() {
	if d.opts.ConfigFile == "" {
		d.log.Info("SIGHUP: no configuration file to reload")
		return
	}
	if err := d.reloadFrom(d.opts.ConfigFile); err != nil {
		d.log.Error("reloading the configuration failed; keeping the current settings", "err", err)
	}
}

func (d *daemon) reloadFrom(path string) error {
	next, err := LoadConfig(path)
	if err != nil {
		return err
	}
	if err := next.ApplyFlags(d.opts.Flags); err != nil {
		return err
	}
	cur := d.config()
	if r, ok := d.images.(Reloader); ok {
		if err := r.Reload(next); err != nil {
			return err
		}
	}
	// Only these take effect without a restart; the rest keep their
	// running values (and say so).
	for key, changed := range map[string]bool{
		"data-root": next.DataRoot != cur.DataRoot, "hosts": !slices.Equal(next.Hosts, cur.Hosts),
		"group": next.Group != cur.Group, "bip": next.BIP != cur.BIP, "proxies": next.Proxies != cur.Proxies,
		"ip-forward": next.IPForward != cur.IPForward, "init": next.Init != cur.Init,
	} {
		if changed {
			d.log.Warn("setting changed in the configuration file; restart the daemon to apply it", "key", key)
		}
	}
	applied := *next
	applied.DataRoot, applied.Hosts, applied.Group, applied.BIP = cur.DataRoot, cur.Hosts, cur.Group, cur.BIP
	applied.Proxies, applied.IPForward, applied.Init = cur.Proxies, cur.IPForward, cur.Init
	d.cfg.Store(&applied)
	d.setLevel(&applied)
	for _, w := range applied.Warnings {
		d.log.Warn(w)
	}
	d.log.Info("configuration reloaded", "file", path, "mirrored registries", applied.Mirror.Registries())
	return nil
}

// setLevel follows log-level, with debug meaning debug.
func (d *daemon) setLevel(c *Config) {
	if d.opts.LogLevel == nil {
		return
	}
	lvl := slog.LevelInfo
	switch c.LogLevel {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error", "fatal":
		lvl = slog.LevelError
	}
	if c.Debug {
		lvl = slog.LevelDebug
	}
	d.opts.LogLevel.Set(lvl)
}

// setProxyEnv makes daemon.json's proxies the process's, as dockerd does,
// so every registry connection (http.ProxyFromEnvironment) uses them. It
// must run before the first request: the environment is read once.
func setProxyEnv(p Proxies, log *slog.Logger) {
	for _, kv := range []struct{ value, upper, lower string }{
		{p.HTTPProxy, "HTTP_PROXY", "http_proxy"},
		{p.HTTPSProxy, "HTTPS_PROXY", "https_proxy"},
		{p.NoProxy, "NO_PROXY", "no_proxy"},
	} {
		if kv.value == "" {
			continue
		}
		if env := os.Getenv(kv.upper) + os.Getenv(kv.lower); env != "" {
			log.Info("daemon.json proxies override the environment", "variable", kv.upper)
		}
		os.Setenv(kv.upper, kv.value)
		os.Setenv(kv.lower, kv.value)
	}
}
