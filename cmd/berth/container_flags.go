package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// ContainerFlags are the flags create and run share: docker's, those Berth
// implements.
type ContainerFlags struct {
	Name        string
	Env         []string
	EnvFiles    []string
	Workdir     string
	User        string
	Hostname    string
	Entrypoint  string
	Labels      []string
	Volumes     []string
	Tmpfs       []string
	Restart     string
	StopSignal  string
	StopTimeout int
	Init        bool
	LogOpts     []string
	Memory      string
	MemorySwap  string
	CPUs        string
	CPUShares   int64
	PidsLimit   int64
	CapAdd      []string
	CapDrop     []string
	Privileged  bool
	ReadOnly    bool
	SecurityOpt []string
	Network     string
	Platform    string
	Pull        string
	AutoRemove  bool
	TTY         bool
	Interactive bool
	Publish     []string
	PublishAll  bool
	Expose      []string
	IP          string
	DNS         []string
	DNSSearch   []string
	DNSOptions  []string
	AddHosts    []string

	// changed says whether a flag was given (cobra's Changed).
	changed func(string) bool
}

func (f *ContainerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.Name, "name", "", "assign a name to the container")
	fl.StringArrayVarP(&f.Env, "env", "e", nil, "set environment variables (KEY=VALUE, or KEY to take it from here)")
	fl.StringArrayVar(&f.EnvFiles, "env-file", nil, "read in a file of environment variables")
	fl.StringVarP(&f.Workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&f.User, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	fl.StringVarP(&f.Hostname, "hostname", "h", "", "container host name")
	fl.StringVar(&f.Entrypoint, "entrypoint", "", "overwrite the default ENTRYPOINT of the image")
	fl.StringArrayVarP(&f.Labels, "label", "l", nil, "set meta data on a container (KEY=VALUE)")
	fl.StringArrayVarP(&f.Volumes, "volume", "v", nil, "bind mount a volume (/host:/ctr[:ro], name:/ctr[:ro], /ctr)")
	fl.StringArrayVar(&f.Tmpfs, "tmpfs", nil, "mount a tmpfs directory (/path[:size=64m,mode=1777])")
	fl.StringVar(&f.Restart, "restart", "no", "restart policy: no, on-failure[:max-retries], always, unless-stopped")
	fl.StringVar(&f.StopSignal, "stop-signal", "", "signal to stop the container")
	fl.IntVar(&f.StopTimeout, "stop-timeout", 0, "timeout (in seconds) to stop a container")
	fl.BoolVar(&f.Init, "init", true, "run an init inside the container that forwards signals and reaps processes (--init=false: the image's process is PID 1)")
	fl.StringArrayVar(&f.LogOpts, "log-opt", nil, "log driver options (max-size=10m, max-file=3)")
	fl.StringVarP(&f.Memory, "memory", "m", "", "memory limit (64m, 1g)")
	fl.StringVar(&f.MemorySwap, "memory-swap", "", "memory plus swap limit: a size, or -1 for unlimited swap")
	fl.StringVar(&f.CPUs, "cpus", "", "number of CPUs (1.5)")
	fl.Int64VarP(&f.CPUShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fl.Int64Var(&f.PidsLimit, "pids-limit", 0, "tune container pids limit (-1 for unlimited)")
	fl.StringArrayVar(&f.CapAdd, "cap-add", nil, "add Linux capabilities")
	fl.StringArrayVar(&f.CapDrop, "cap-drop", nil, "drop Linux capabilities")
	fl.BoolVar(&f.Privileged, "privileged", false, "give extended privileges to this container")
	fl.BoolVar(&f.ReadOnly, "read-only", false, "mount the container's root filesystem as read only")
	fl.StringArrayVar(&f.SecurityOpt, "security-opt", nil, "security options (no-new-privileges, seccomp=unconfined)")
	fl.StringVar(&f.Network, "network", "default", "connect a container to a network: bridge (the default), none, host or container:<name|id>")
	fl.StringVar(&f.Platform, "platform", "", "set platform if the image is multi-platform (linux/arm64)")
	fl.StringVar(&f.Pull, "pull", "missing", "pull image before running: always, missing, never")
	fl.BoolVar(&f.AutoRemove, "rm", false, "automatically remove the container when it exits")
	fl.BoolVarP(&f.TTY, "tty", "t", false, "allocate a pseudo-TTY")
	fl.BoolVarP(&f.Interactive, "interactive", "i", false, "keep STDIN open even if not attached")
	fl.StringArrayVarP(&f.Publish, "publish", "p", nil, "publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/tcp|udp], ranges allowed)")
	fl.BoolVarP(&f.PublishAll, "publish-all", "P", false, "publish all exposed ports to random ports")
	fl.StringArrayVar(&f.Expose, "expose", nil, "expose a port or a range of ports (80, 8000-8010/udp)")
	fl.StringVar(&f.IP, "ip", "", "IPv4 address on the bridge (e.g., 10.213.0.50)")
	fl.StringArrayVar(&f.DNS, "dns", nil, "set custom DNS servers")
	fl.StringArrayVar(&f.DNSSearch, "dns-search", nil, "set custom DNS search domains")
	fl.StringArrayVar(&f.DNSOptions, "dns-option", nil, "set DNS options")
	fl.StringArrayVar(&f.AddHosts, "add-host", nil, "add a custom host-to-IP mapping (host:ip, or host:host-gateway)")
	f.changed = func(name string) bool { return fl.Changed(name) }
}

// request builds the create request the docker CLI would send, after
// checking what berth can check without the engine.
func (f *ContainerFlags) request(image string, args []string, detach bool) (*api.ContainerCreateRequest, error) {
	switch f.Pull {
	case "always", "missing", "never":
	default:
		return nil, usageErrorf("invalid pull option: %q: must be one of \"always\", \"missing\" or \"never\"", f.Pull)
	}
	req := &api.ContainerCreateRequest{HostConfig: &api.HostConfig{}}
	c, h := &req.ContainerConfig, req.HostConfig
	c.Image = image
	if len(args) > 0 {
		c.Cmd = args
	}
	c.Hostname, c.WorkingDir, c.User, c.StopSignal = f.Hostname, f.Workdir, f.User, f.StopSignal
	c.AttachStdout, c.AttachStderr = !detach, !detach
	// As the docker CLI: -i keeps stdin open; run attaches it (not with
	// -d) for one session, which closes the container's stdin when it ends.
	c.Tty, c.OpenStdin = f.TTY, f.Interactive
	c.AttachStdin = f.Interactive && !detach
	c.StdinOnce = c.AttachStdin
	if f.changed("entrypoint") {
		c.Entrypoint = []string{f.Entrypoint}
	}
	if f.changed("stop-timeout") {
		t := f.StopTimeout
		c.StopTimeout = &t
	}
	if f.StopSignal != "" {
		if _, _, err := api.ParseSignal(f.StopSignal); err != nil {
			return nil, usageErrorf("--stop-signal: %v", err)
		}
	}
	if f.Workdir != "" && !path.IsAbs(f.Workdir) {
		return nil, usageErrorf("the working directory '%s' is invalid, it needs to be an absolute path", f.Workdir)
	}
	env, err := f.environment()
	if err != nil {
		return nil, err
	}
	c.Env = env
	c.Labels = map[string]string{}
	for _, l := range f.Labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, usageErrorf("invalid label %q: KEY=VALUE", l)
		}
		c.Labels[k] = v
	}
	c.Volumes = map[string]struct{}{}
	for _, v := range f.Volumes {
		// A single path is an anonymous volume, in Config.Volumes as the
		// docker CLI sends it; the engine parses the rest (Binds).
		if !strings.Contains(v, ":") {
			if !path.IsAbs(v) {
				return nil, usageErrorf("invalid volume %q: a path in the container must be absolute", v)
			}
			c.Volumes[v] = struct{}{}
			continue
		}
		if _, err := api.ParseBind(v); err != nil {
			return nil, usageError(err)
		}
		h.Binds = append(h.Binds, v)
	}
	for _, t := range f.Tmpfs {
		dst, opts, _ := strings.Cut(t, ":")
		if _, err := api.ParseTmpfs(dst, opts); err != nil {
			return nil, usageError(err)
		}
		if h.Tmpfs == nil {
			h.Tmpfs = map[string]string{}
		}
		h.Tmpfs[dst] = opts
	}
	if h.RestartPolicy, err = parseRestart(f.Restart); err != nil {
		return nil, err
	}
	if f.AutoRemove && h.RestartPolicy.Name != "no" {
		return nil, usageErrorf("conflicting options: cannot specify both --restart and --rm")
	}
	h.AutoRemove = f.AutoRemove
	if f.changed("init") {
		v := f.Init
		h.Init = &v
	}
	h.LogConfig.Config = map[string]string{}
	for _, o := range f.LogOpts {
		k, v, ok := strings.Cut(o, "=")
		if !ok || k == "" {
			return nil, usageErrorf("invalid --log-opt %q: KEY=VALUE", o)
		}
		h.LogConfig.Config[k] = v
	}
	if f.Memory != "" {
		if h.Memory, err = api.ParseBytes(f.Memory); err != nil {
			return nil, usageErrorf("-m/--memory: invalid size %q (64m, 1g)", f.Memory)
		}
	}
	switch f.MemorySwap {
	case "":
	case "-1":
		h.MemorySwap = -1
	default:
		if h.MemorySwap, err = api.ParseBytes(f.MemorySwap); err != nil {
			return nil, usageErrorf("--memory-swap: invalid size %q (a size, or -1 for unlimited swap)", f.MemorySwap)
		}
	}
	if f.CPUs != "" {
		n, err := strconv.ParseFloat(f.CPUs, 64)
		if err != nil || n <= 0 {
			return nil, usageErrorf("--cpus: invalid value %q: a positive number of CPUs (1.5)", f.CPUs)
		}
		h.NanoCPUs = int64(n * 1e9)
	}
	h.CPUShares = f.CPUShares
	if f.changed("pids-limit") {
		v := f.PidsLimit
		h.PidsLimit = &v
	}
	h.CapAdd, h.CapDrop = f.CapAdd, f.CapDrop
	h.Privileged, h.ReadonlyRootfs, h.SecurityOpt = f.Privileged, f.ReadOnly, f.SecurityOpt
	if err := f.networking(req); err != nil {
		return nil, err
	}
	if f.Platform != "" {
		if err := checkPlatformFlag(f.Platform); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func checkPlatformFlag(p string) error {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "linux" || parts[1] == "" {
		return usageErrorf("invalid --platform %q: linux/ARCH[/VARIANT] (linux/amd64, linux/arm64, linux/arm/v7)", p)
	}
	return nil
}

// parseRestart reads --restart as docker does.
func parseRestart(s string) (api.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := api.RestartPolicy{Name: name}
	switch name {
	case "", "no", "always", "unless-stopped":
		if hasCount {
			return p, usageErrorf("invalid restart policy %q: maximum retry count can only be used with 'on-failure'", s)
		}
		if name == "" {
			p.Name = "no"
		}
	case "on-failure":
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return p, usageErrorf("invalid restart policy %q: maximum retry count must be a positive integer", s)
			}
			p.MaximumRetryCount = n
		}
	default:
		return p, usageErrorf("invalid restart policy %q: no, on-failure[:max-retries], always or unless-stopped", s)
	}
	return p, nil
}

// environment is --env-file then -e, as docker merges them: "KEY" alone
// takes KEY from berth's environment, or is dropped when unset.
func (f *ContainerFlags) environment() ([]string, error) {
	var out []string
	add := func(kv, where string) error {
		k, _, hasValue := strings.Cut(kv, "=")
		if strings.TrimSpace(k) == "" {
			return usageErrorf("invalid environment variable %q%s", kv, where)
		}
		if !hasValue {
			v, ok := os.LookupEnv(k)
			if !ok {
				return nil
			}
			kv = k + "=" + v
		}
		out = append(out, kv)
		return nil
	}
	for _, file := range f.EnvFiles {
		fh, err := os.Open(file)
		if err != nil {
			return nil, usageErrorf("--env-file: %v", err)
		}
		sc := bufio.NewScanner(fh)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimLeft(sc.Text(), " \t")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if err := add(line, fmt.Sprintf(" in %s line %d", file, n)); err != nil {
				fh.Close()
				return nil, err
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, usageErrorf("--env-file %s: %v", file, err)
		}
	}
	for _, e := range f.Env {
		if err := add(e, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}
