package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

// syncBuffer is a log sink tests read while the daemon writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// reloadingBackend records the configurations Run reloads it with.
type reloadingBackend struct {
	*apitest.Backend
	mu       sync.Mutex
	reloaded []*Config
}

func (b *reloadingBackend) Reload(c *Config) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reloaded = append(b.reloaded, c)
	return nil
}

// blockingPull holds a pull until released, to have a request in flight.
type blockingPull struct {
	*apitest.Backend
	started, release chan struct{}
}

func (b *blockingPull) Pull(ctx context.Context, ref, platform string, auth *api.AuthConfig, progress api.ProgressFunc) error {
	progress(api.JSONMessage{Status: "Pulling from library/busybox", ID: "latest"})
	close(b.started)
	<-b.release
	progress(api.JSONMessage{Status: "Status: Downloaded newer image for busybox:latest"})
	return nil
}

type running struct {
	socket string
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// start runs the daemon on a temporary socket and data root until the test
// ends.
func start(t *testing.T, cfg *Config, images api.ImageBackend, configFile string) *running {
	t.Helper()
	dir, err := os.MkdirTemp("", "berthd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if cfg == nil {
		cfg = DefaultConfig()
	}
	r := &running{socket: filepath.Join(dir, "run", "berth.sock"), log: &syncBuffer{}, done: make(chan error, 1)}
	cfg.DataRoot = filepath.Join(dir, "data")
	cfg.Hosts = []string{"unix://" + r.socket}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	ready := make(chan struct{})
	go func() {
		r.done <- Run(ctx, cfg, Options{
			NewImages:  func(context.Context, *Config) (api.ImageBackend, error) { return images, nil },
			ConfigFile: configFile, Version: "test",
			Logger:          slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
			ShutdownTimeout: 5 * time.Second,
			Ready:           func() { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-r.done:
		t.Fatalf("Run: %v\n%s", err, r.log)
	case <-time.After(20 * time.Second):
		t.Fatal("daemon not ready after 20s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("daemon did not stop")
		}
	})
	return r
}

func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop")
	}
	return nil
}

func TestRunServesTheAPI(t *testing.T) {
	b := apitest.NewBackend(apitest.NewImage("busybox", 1000, time.Now(), "busybox:latest"))
	cfg, err := ParseConfig("daemon.json", []byte(`{"registry-mirrors": ["https://hub.mirror.example"], "insecure-registries": ["10.0.0.0/8", "registry.lan:5000"],
		"mirrors": {"ghcr.io": {"endpoints": [{"url": "https://ghcr.mirror.example"}]}}, "storage-driver": "overlay2"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, cfg, b, "")
	c := api.NewClient(r.socket)
	ctx := context.Background()

	v, err := c.Version(ctx)
	if err != nil || v.Version != "test" || v.APIVersion != "1.43" || v.KernelVersion == "" {
		t.Errorf("version %+v, %v", v, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Images != 1 || info.DockerRootDir != cfg.DataRoot || info.Driver != "overlay2" || info.OSType != "linux" ||
		info.NCPU == 0 || info.MemTotal == 0 || info.KernelVersion == "" || info.CgroupDriver != "cgroupfs" || len(info.ID) != 36 {
		t.Errorf("info %+v", info)
	}
	rc := info.RegistryConfig
	if rc == nil || !slices.Equal(rc.Mirrors, []string{"https://hub.mirror.example"}) ||
		rc.IndexConfigs["ghcr.io"] == nil || !slices.Equal(rc.IndexConfigs["ghcr.io"].Mirrors, []string{"https://ghcr.mirror.example"}) ||
		rc.IndexConfigs["registry.lan:5000"] == nil || rc.IndexConfigs["registry.lan:5000"].Secure ||
		!slices.Contains(rc.InsecureRegistryCIDRs, "10.0.0.0/8") || !rc.IndexConfigs["docker.io"].Official {
		t.Errorf("registry config %+v", rc)
	}
	if !slices.ContainsFunc(info.Warnings, func(w string) bool { return strings.Contains(w, `"storage-driver" is a Docker setting`) }) {
		t.Errorf("warnings %q lack the ignored key", info.Warnings)
	}
	// The engine keeps its identity across restarts.
	id, _ := os.ReadFile(filepath.Join(cfg.DataRoot, "engine-id"))
	if strings.TrimSpace(string(id)) != info.ID {
		t.Errorf("engine-id %q, info ID %q", id, info.ID)
	}
	if fi, err := os.Stat(r.socket); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket %v, %v", fi, err)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("Run returned %v after a clean shutdown", err)
	}
	if _, err := os.Lstat(r.socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after shutdown: %v", err)
	}
}

func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	b := &blockingPull{Backend: apitest.NewBackend(), started: make(chan struct{}), release: make(chan struct{})}
	r := start(t, nil, b, "")
	c := api.NewClient(r.socket)
	ctx := context.Background()
	stream, err := c.ImagePull(ctx, "busybox:latest", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	<-b.started
	r.cancel()
	// New connections are refused while the pull finishes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.Dial("unix", r.socket)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(b.release)
	var statuses []string
	if err := stream.Wait(func(m api.JSONMessage) { statuses = append(statuses, m.Status) }); err != nil {
		t.Errorf("pull in flight: %v", err)
	}
	if len(statuses) != 2 || !strings.HasPrefix(statuses[1], "Status: Downloaded") {
		t.Errorf("pull in flight saw %q", statuses)
	}
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	r.done <- nil
}

func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "daemon.json")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"registry-mirrors": ["https://a.mirror.example"]}`)
	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	b := &reloadingBackend{Backend: apitest.NewBackend()}
	r := start(t, cfg, b, file)
	c := api.NewClient(r.socket)
	mirrors := func() []string {
		info, err := c.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.RegistryConfig.Mirrors
	}
	waitLog := func(s string) {
		t.Helper()
		for i := 0; i < 500 && !strings.Contains(r.log.String(), s); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(r.log.String(), s) {
			t.Fatalf("log lacks %q:\n%s", s, r.log)
		}
	}
	if m := mirrors(); !slices.Equal(m, []string{"https://a.mirror.example"}) {
		t.Fatalf("mirrors at start %q", m)
	}

	write(`{"registry-mirrors": ["https://b.mirror.example"], "data-root": "/elsewhere"}`)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog("configuration reloaded")
	if m := mirrors(); !slices.Equal(m, []string{"https://b.mirror.example"}) {
		t.Errorf("mirrors after reload %q", m)
	}
	if !strings.Contains(r.log.String(), "restart the daemon to apply it") {
		t.Errorf("a changed data-root was not reported:\n%s", r.log)
	}
	b.mu.Lock()
	if len(b.reloaded) != 1 || b.reloaded[0].Mirror.Endpoints("docker.io")[0].URL != "https://b.mirror.example" {
		t.Errorf("backend reloaded with %+v", b.reloaded)
	}
	b.mu.Unlock()
	if info, _ := c.Info(context.Background()); info.DockerRootDir == "/elsewhere" {
		t.Error("data-root changed without a restart")
	}

	write(`{"registry-mirrors": ["https://c.mirror.example"],}`)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitLog("reloading the configuration failed; keeping the current settings")
	if !strings.Contains(r.log.String(), file+":1:") {
		t.Errorf("the failure does not name the file and line:\n%s", r.log)
	}
	if m := mirrors(); !slices.Equal(m, []string{"https://b.mirror.example"}) {
		t.Errorf("mirrors after a broken reload %q, want the previous ones", m)
	}
	b.mu.Lock()
	if len(b.reloaded) != 1 {
		t.Errorf("backend reloaded %d times, want once", len(b.reloaded))
	}
	b.mu.Unlock()
}

func TestRunRefusals(t *testing.T) {
	r := start(t, nil, apitest.NewBackend(), "")
	// A second engine on the same socket.
	cfg := DefaultConfig()
	cfg.DataRoot = t.TempDir()
	cfg.Hosts = []string{r.socket}
	err := Run(context.Background(), cfg, Options{NewImages: func(context.Context, *Config) (api.ImageBackend, error) {
		t.Error("the image backend was opened although the socket is taken")
		return apitest.NewBackend(), nil
	}})
	if err == nil || !strings.Contains(err.Error(), "another engine is already listening on "+r.socket) {
		t.Errorf("second daemon: %v", err)
	}

	// A backend that cannot open: the error, and no socket left behind.
	dir, _ := os.MkdirTemp("", "berthd")
	defer os.RemoveAll(dir)
	cfg = DefaultConfig()
	cfg.DataRoot = filepath.Join(dir, "data")
	sock := filepath.Join(dir, "b.sock")
	cfg.Hosts = []string{sock}
	err = Run(context.Background(), cfg, Options{NewImages: func(context.Context, *Config) (api.ImageBackend, error) {
		return nil, errors.New("store locked by another process")
	}})
	if err == nil || err.Error() != "opening the image store: store locked by another process" {
		t.Errorf("failing backend: %v", err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left: %v", err)
	}
	if err := Run(context.Background(), cfg, Options{}); err == nil {
		t.Error("Run without an image backend succeeded")
	}
}

func TestMissingGroupWarns(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Group = "no-such-group-berth"
	r := start(t, cfg, apitest.NewBackend(), "")
	info, err := api.NewClient(r.socket).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(info.Warnings, func(w string) bool { return strings.Contains(w, `the group "no-such-group-berth" does not exist`) }) {
		t.Errorf("warnings %q", info.Warnings)
	}
}
