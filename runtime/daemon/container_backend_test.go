package daemon

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/container/cgroup"
)

func TestCreateSpec(t *testing.T) {
	tests := []struct {
		name string
		req  api.ContainerCreateRequest
		// mounts as ValidateCreate merges them
		mounts []api.MountSpec
		want   container.CreateSpec
	}{
		{
			name: "the docker CLI's plain run",
			req:  api.ContainerCreateRequest{ContainerConfig: api.ContainerConfig{Image: "busybox", Cmd: []string{"echo", "hi"}}, HostConfig: &api.HostConfig{NetworkMode: "default", AutoRemove: true}},
			want: container.CreateSpec{Config: container.Config{Image: "busybox", Cmd: []string{"echo", "hi"}}, HostConfig: container.HostConfig{NetworkMode: "default", AutoRemove: true}},
		},
		{
			name: "empty entrypoint",
			req:  api.ContainerCreateRequest{ContainerConfig: api.ContainerConfig{Image: "busybox", Entrypoint: []string{""}}, HostConfig: &api.HostConfig{}},
			want: container.CreateSpec{Config: container.Config{Image: "busybox", Entrypoint: []string{}}},
		},
		{
			name: "limits, security and policies",
			req: api.ContainerCreateRequest{
				ContainerConfig: api.ContainerConfig{
					Image: "nginx:1.22", Env: []string{"A=1"}, User: "101", WorkingDir: "/srv", Hostname: "h",
					Labels: map[string]string{"k": "v"}, StopSignal: "SIGQUIT", StopTimeout: ptr(3),
				},
				HostConfig: &api.HostConfig{
					RestartPolicy: api.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}, Init: ptr(false),
					LogConfig: api.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m"}},
					CapAdd:    []string{"CAP_NET_ADMIN"}, CapDrop: []string{"ALL"}, ReadonlyRootfs: true,
					SecurityOpt: []string{"no-new-privileges", "apparmor=unconfined", "label:disable", "seccomp=unconfined"},
					Resources:   api.Resources{Memory: 32 << 20, MemorySwap: -1, NanoCPUs: 5e8, CPUShares: 512, PidsLimit: ptr(int64(5))},
				},
			},
			want: container.CreateSpec{
				Config: container.Config{
					Image: "nginx:1.22", Env: []string{"A=1"}, User: "101", WorkingDir: "/srv", Hostname: "h",
					Labels: map[string]string{"k": "v"}, StopSignal: "SIGQUIT", StopTimeout: ptr(3),
				},
				HostConfig: container.HostConfig{
					RestartPolicy: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}, Init: ptr(false),
					LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m"}},
					CapAdd:    []string{"CAP_NET_ADMIN"}, CapDrop: []string{"ALL"}, ReadonlyRootfs: true,
					SecurityOpt: []string{"no-new-privileges", "seccomp=unconfined"},
					Resources:   cgroup.Resources{MemoryBytes: 32 << 20, MemorySwapBytes: -1, NanoCPUs: 5e8, CPUShares: 512, PidsLimit: 5},
				},
			},
		},
		{
			name: "unlimited pids",
			req:  api.ContainerCreateRequest{ContainerConfig: api.ContainerConfig{Image: "busybox"}, HostConfig: &api.HostConfig{Resources: api.Resources{PidsLimit: ptr(int64(-1))}}},
			want: container.CreateSpec{Config: container.Config{Image: "busybox"}},
		},
		{
			name: "mounts",
			req:  api.ContainerCreateRequest{ContainerConfig: api.ContainerConfig{Image: "busybox"}, HostConfig: &api.HostConfig{}},
			mounts: []api.MountSpec{
				{Type: "bind", Source: "/srv/a", Target: "/a"},
				{Type: "bind", Source: "/srv/b", Target: "/b", ReadOnly: true, Propagation: "rslave"},
				{Type: "volume", Source: "data", Target: "/data", NoCopy: true},
				{Type: "volume", Target: "/anon"},
				{Type: "tmpfs", Target: "/t", TmpfsSize: 64 << 20, TmpfsMode: 0o1777, Options: []string{"noexec"}},
				{Type: "tmpfs", Target: "/u", ReadOnly: true},
			},
			want: container.CreateSpec{
				Config: container.Config{Image: "busybox", Volumes: map[string]struct{}{"/anon": {}}},
				HostConfig: container.HostConfig{
					Binds: []string{"/srv/a:/a", "/srv/b:/b:ro,rslave", "data:/data:nocopy"},
					Tmpfs: map[string]string{"/t": "size=67108864,mode=1777,noexec", "/u": "ro"},
				},
			},
		},
		{
			name: "network",
			req: api.ContainerCreateRequest{
				ContainerConfig: api.ContainerConfig{Image: "nginx", ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}}},
				HostConfig: &api.HostConfig{
					NetworkMode:  "default",
					PortBindings: map[string][]api.PortBinding{"80": {{HostIP: "127.0.0.1", HostPort: "8080"}}, "53/udp": {{}}},
					DNS:          []string{"192.0.2.53"}, ExtraHosts: []string{"db:192.0.2.7"}, PublishAllPorts: true,
				},
				NetworkingConfig: &api.NetworkingConfig{EndpointsConfig: map[string]*api.EndpointSettings{"default": {IPAMConfig: &api.EndpointIPAMConfig{IPv4Address: "10.213.0.9"}}}},
			},
			want: container.CreateSpec{
				Config: container.Config{Image: "nginx", ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}}},
				HostConfig: container.HostConfig{
					NetworkMode: "default",
					NetworkOptions: container.NetworkOptions{
						PortBindings:    map[string][]container.PortBinding{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}}, "53/udp": {{}}},
						PublishAllPorts: true, DNS: []string{"192.0.2.53"}, ExtraHosts: []string{"db:192.0.2.7"}, IPv4Address: "10.213.0.9",
					},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := createSpec(api.ContainerCreateOptions{Name: "n", Config: &tt.req, Mounts: tt.mounts})
			tt.want.Name = "n"
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("createSpec:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestContainerError(t *testing.T) {
	tests := []struct {
		err    error
		status int
	}{
		{fmt.Errorf("No such container: x: %w", container.ErrNotFound), 404},
		{fmt.Errorf("bad: %w", container.ErrInvalid), 400},
		{fmt.Errorf("name in use: %w", container.ErrConflict), 409},
		{fmt.Errorf("already running: %w", container.ErrNotModified), 304},
		{fmt.Errorf("no -t yet: %w", container.ErrNotImplemented), 501},
		{&container.StartError{Code: container.ExitNotFound, Msg: `exec: "/no/such": stat /no/such: no such file or directory`}, 400},
		{&container.StartError{Code: container.ExitCannotInvoke, Msg: `exec: "/etc": permission denied`}, 400},
		{&container.StartError{Code: container.ExitEngineError, Msg: "mounting the rootfs: no space left"}, 500},
		{errors.New("disk on fire"), 500},
	}
	for _, tt := range tests {
		got := containerError(tt.err)
		if s := api.StatusCode(got); s != tt.status || got.Error() != tt.err.Error() {
			t.Errorf("%v: status %d, message %q; want %d and the same words", tt.err, s, got, tt.status)
		}
	}
	if containerError(nil) != nil {
		t.Error("nil is no error")
	}
}

func TestContainerJSON(t *testing.T) {
	started := time.Date(2026, 11, 1, 10, 0, 0, 123, time.UTC)
	c := &container.Container{
		ID: "0123456789ab" + "0123456789abcdef0123456789abcdef0123456789abcdef0123", Name: "web", Created: started.Add(-time.Second),
		Image: "sha256:abc", Path: "nginx", Args: nil, Driver: "overlay2", Dir: "/var/lib/berth/containers/x",
		Config: container.Config{Image: "nginx:1.22", Hostname: "0123456789ab"},
		HostConfig: container.HostConfig{
			NetworkMode: "default", Resources: cgroup.Resources{PidsLimit: 5},
			Tmpfs: map[string]string{"/t": ""},
		},
		Mounts: []container.MountPoint{
			{Type: "bind", Source: "/srv", Destination: "/srv", RW: false},
			{Type: "volume", Name: "data", Source: "/var/lib/berth/volumes/data/_data", Destination: "/data", RW: true},
			{Type: "tmpfs", Destination: "/t", RW: true},
		},
		State: container.State{Status: container.StatusPaused, Pid: 42, StartedAt: started},
	}
	b := &ContainerBackend{DefaultNetwork: container.NetworkNone}
	got := b.containerJSON(c, false)
	wantState := api.ContainerState{Status: "paused", Running: true, Paused: true, Pid: 42, StartedAt: "2026-11-01T10:00:00.000000123Z", FinishedAt: "0001-01-01T00:00:00Z"}
	if *got.State != wantState {
		t.Errorf("state %+v\nwant  %+v", *got.State, wantState)
	}
	if got.Name != "/web" || got.Args == nil || got.HostConfig.RestartPolicy.Name != "no" || *got.HostConfig.PidsLimit != 5 || got.HostConfig.NetworkMode != "default" {
		t.Errorf("inspect: %+v, host config %+v", got, got.HostConfig)
	}
	if _, ok := got.NetworkSettings.Networks["none"]; !ok || len(got.NetworkSettings.Networks) != 1 {
		t.Errorf("networks %v, want none alone", got.NetworkSettings.Networks)
	}
	wantMounts := []api.MountPoint{
		{Type: "bind", Source: "/srv", Destination: "/srv", Mode: "ro", Propagation: "rprivate"},
		{Type: "volume", Name: "data", Source: "/var/lib/berth/volumes/data/_data", Destination: "/data", Driver: "local", Mode: "z", RW: true},
	}
	if !reflect.DeepEqual(got.Mounts, wantMounts) {
		t.Errorf("mounts %+v\nwant   %+v", got.Mounts, wantMounts)
	}
	if got.GraphDriver.Data["UpperDir"] != "/var/lib/berth/containers/x/diff" {
		t.Errorf("graph driver %v", got.GraphDriver)
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "cpu  100 5 50 1000 10 1 2 3 7 0\ncpu0 50 2 25 500 5 0 1 1 3 0\ncpu1 50 3 25 500 5 1 1 2 4 0\nintr 12345\nctxt 99\n"
	total, cpus := parseProcStat([]byte(stat))
	// user..steal: 100+5+50+1000+10+1+2+3 ticks of 10 ms.
	if total != 1171*10_000_000 || cpus != 2 {
		t.Errorf("total %d, cpus %d", total, cpus)
	}
}

func TestCgroupParent(t *testing.T) {
	if p := CgroupParent("/var/lib/berth/"); p != "berth" {
		t.Errorf("default data root: %q", p)
	}
	a, b := CgroupParent("/tmp/a/data"), CgroupParent("/tmp/b/data")
	if a == b || !regexp.MustCompile(`^berth-[0-9a-f]{12}$`).MatchString(a) || CgroupParent("/tmp/a/data/") != a {
		t.Errorf("parents of other data roots: %q %q", a, b)
	}
}
