package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/distro"
	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/atomicfile"
)

// system answers /info and /version from the daemon's configuration, the
// image backend and the host's facts (detected once, at start).
type system struct {
	d        *daemon
	facts    *distro.Facts
	id       string
	hostname string
}

var _ api.SystemBackend = (*system)(nil)

func (s *system) Version(ctx context.Context) (*api.VersionResponse, error) {
	o := s.d.opts
	return &api.VersionResponse{
		Version: o.Version, GitCommit: o.GitCommit, GoVersion: runtime.Version(),
		Os: runtime.GOOS, Arch: runtime.GOARCH, KernelVersion: s.facts.Kernel.Release, BuildTime: o.BuildTime,
	}, nil
}

func (s *system) Info(ctx context.Context) (*api.InfoResponse, error) {
	c := s.d.config()
	imgs, err := s.d.images.List(ctx, api.ImageListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("counting images: %w", err)
	}
	f := s.facts
	info := &api.InfoResponse{
		ID:     s.id,
		Images: len(imgs),
		Driver: "overlay2",
		// The network drivers and the local volume driver are the
		// container engine's (below); json-file is the log format.
		Plugins:            api.PluginsInfo{Volume: []string{}, Network: []string{}, Log: []string{"json-file"}},
		Debug:              c.Debug,
		NFd:                openFiles(),
		NGoroutines:        runtime.NumGoroutine(),
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		LoggingDriver:      "json-file",
		CgroupDriver:       "cgroupfs",
		CgroupVersion:      cgroupVersion(f.Cgroup.Mode),
		KernelVersion:      f.Kernel.Release,
		OperatingSystem:    f.Distro.Pretty,
		OSVersion:          f.Distro.Version,
		OSType:             "linux",
		Architecture:       f.ArchInfo.Machine,
		IndexServerAddress: api.DockerHubServer,
		RegistryConfig:     registryConfig(c),
		NCPU:               runtime.NumCPU(),
		MemTotal:           int64(f.Environment.MemTotalBytes),
		DockerRootDir:      c.DataRoot,
		HTTPProxy:          maskProxy(proxyValue(c.Proxies.HTTPProxy, "HTTP_PROXY")),
		HTTPSProxy:         maskProxy(proxyValue(c.Proxies.HTTPSProxy, "HTTPS_PROXY")),
		NoProxy:            proxyValue(c.Proxies.NoProxy, "NO_PROXY"),
		Name:               s.hostname,
		Labels:             []string{},
		ServerVersion:      s.d.opts.Version,
		Swarm:              api.SwarmInfo{LocalNodeState: "inactive"},
		Warnings:           slices.Clone(s.d.warnings()),
	}
	if s.d.containers != nil {
		list, err := s.d.containers.List(ctx, false)
		if err != nil {
			return nil, fmt.Errorf("counting containers: %w", err)
		}
		info.Plugins.Volume = []string{"local"}
		info.Plugins.Network = []string{"bridge", "host", "null"}
		info.Containers = len(list)
		for _, c := range list {
			switch {
			case c.State.Paused:
				info.ContainersPaused++
			case c.State.Running:
				info.ContainersRunning++
			default:
				info.ContainersStopped++
			}
		}
	}
	if f.Storage.FSType != "" {
		info.DriverStatus = append(info.DriverStatus, [2]string{"Backing Filesystem", f.Storage.FSType})
	}
	if f.Storage.DType == "yes" || f.Storage.DType == "no" {
		info.DriverStatus = append(info.DriverStatus, [2]string{"Supports d_type", fmt.Sprint(f.Storage.DType == "yes")})
	}
	if info.DriverStatus == nil {
		info.DriverStatus = [][2]string{}
	}
	mh, warning := s.mirrorHealth()
	info.MirrorHealth = mh
	if warning != "" {
		info.Warnings = append(info.Warnings, "WARNING: "+warning)
	}
	if info.Warnings == nil {
		info.Warnings = []string{}
	}
	return info, nil
}

// mirrorHealth lists the configured endpoints with their health, when the
// backend remembers it and mirrors are configured.
func (s *system) mirrorHealth() ([]api.MirrorHealth, string) {
	c := s.d.config()
	mh, ok := s.d.images.(mirrorHealther)
	if !ok || c.Mirror == nil || len(c.Mirror.Registries()) == 0 {
		return nil, ""
	}
	snap, warning := mh.MirrorHealth()
	return MirrorHealth(c.Mirror, snap, time.Now()), warning
}

// mirrorHealther is an image backend that remembers its mirrors' health.
type mirrorHealther interface {
	MirrorHealth() (snapshot []mirror.EndpointHealth, warning string)
}

func cgroupVersion(mode string) string {
	switch mode {
	case distro.CgroupV2:
		return "2"
	case distro.CgroupV1, distro.CgroupHybrid:
		return "1"
	}
	return ""
}

// registryConfig is Docker's RegistryConfig: Docker Hub's mirrors, the
// insecure CIDRs (loopback always, as Docker lists it), and an index entry
// for every registry with mirrors or marked insecure.
func registryConfig(c *Config) *api.ServiceConfig {
	sc := &api.ServiceConfig{
		InsecureRegistryCIDRs: []string{"::1/128", "127.0.0.0/8"},
		IndexConfigs:          map[string]*api.IndexInfo{},
		Mirrors:               []string{},
	}
	index := func(name string) *api.IndexInfo {
		if ii := sc.IndexConfigs[name]; ii != nil {
			return ii
		}
		ii := &api.IndexInfo{Name: name, Mirrors: []string{}, Secure: true, Official: name == mirror.DockerHub}
		sc.IndexConfigs[name] = ii
		return ii
	}
	index(mirror.DockerHub)
	for _, raw := range c.InsecureRegistries {
		entry := strings.TrimPrefix(strings.TrimPrefix(raw, "http://"), "https://")
		if strings.Contains(entry, "/") {
			if !slices.Contains(sc.InsecureRegistryCIDRs, entry) {
				sc.InsecureRegistryCIDRs = append(sc.InsecureRegistryCIDRs, entry)
			}
			continue
		}
		index(mirror.NormalizeRegistry(entry)).Secure = false
	}
	if c.Mirror != nil {
		for _, reg := range c.Mirror.Registries() {
			for _, ep := range c.Mirror.Endpoints(reg) {
				if !ep.Mirror {
					continue
				}
				ii := index(reg)
				ii.Mirrors = append(ii.Mirrors, ep.URL)
				if reg == mirror.DockerHub {
					sc.Mirrors = append(sc.Mirrors, ep.URL)
				}
			}
		}
	}
	return sc
}

// proxyValue is the daemon.json proxy, else the environment's.
func proxyValue(configured, env string) string {
	if configured != "" {
		return configured
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return os.Getenv(strings.ToLower(env))
}

// maskProxy hides a proxy URL's credentials, as dockerd does.
func maskProxy(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return v
	}
	u.User = url.UserPassword("xxxxx", "xxxxx")
	return u.String()
}

// openFiles counts the daemon's open file descriptors (0 when unknown).
func openFiles() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}

// engineID reads the engine's identity from the data root, creating it at
// the first start: a random UUID, as dockerd's.
func engineID(dataRoot string) (string, error) {
	path := filepath.Join(dataRoot, "engine-id")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", err
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	if err := atomicfile.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
}
