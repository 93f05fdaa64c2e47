package container

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berthhq/berth/runtime/container/cgroup"
	"github.com/berthhq/berth/runtime/image"
)

// launch is everything a monitor needs to run a container once, computed
// by the daemon (pure: plan) and handed to the monitor over a pipe.
type launch struct {
	ID  string
	Dir string
	// Cgroup: root (/sys/fs/cgroup), mode, parent ("berth") and limits.
	CgroupRoot   string
	CgroupMode   cgroup.Mode
	CgroupParent string
	Resources    cgroup.Resources
	// SpareCgroup is a cgroup made ahead under the parent for a spare
	// monitor, to adopt as the container's ("" to create one).
	SpareCgroup string `json:",omitempty"`
	// LogPath is "" for the none driver.
	LogPath    string
	LogMaxSize int64
	LogMaxFile int
	// Net: the container's veth and published ports, or the namespace it
	// joins (network.go).
	Net *netLaunch `json:",omitempty"`

	// NewNet: the container gets its own network namespace.
	NewNet bool
	// Stdin: the process reads a pipe that attached clients write to
	// (-i); StdinOnce closes it when the first client's input ends.
	Stdin, StdinOnce bool
	// WaitAttach: a client attaches right after the start (docker run
	// attaches first): output waits for it, so that none is missed.
	WaitAttach bool
	Init       initPlan
}

// initPlan is what the init does inside the new namespaces, in order:
// rootfs, mounts, pivot_root, then the process.
type initPlan struct {
	// ImageRoot is <data-root>/image; Lowers are relative to it (l/<short>),
	// topmost first, so the overlay's mount data stays within a page.
	ImageRoot string
	Lowers    []string
	// Upper, Work and Merged are absolute.
	Upper, Work, Merged string
	Mounts              []mountPlan
	MaskedPaths         []string
	ReadonlyPaths       []string
	ReadonlyRootfs      bool
	Privileged          bool
	Hostname            string
	// Loopback: bring lo up (a private network namespace).
	Loopback bool
	// CgroupNS: unshare a cgroup namespace (v2) before mounting cgroup2.
	CgroupNS   bool
	CgroupRoot string
	CgroupPath string // parent/id, for the read-only cgroup mounts (v1)
	// PidsLimit is applied by the init itself right before the command
	// starts, raised by the init's own threads beyond the one process
	// Docker's init counts for, so that a Go init costs the command no
	// more of --pids-limit than tini does. Until then the cgroup has none.
	PidsLimit int64
	Rlimits   []rlimitPlan
	Args      []string
	Env       []string
	User      string
	Cwd       string
	// Caps is the capability set (names) the process keeps.
	Caps            []string
	NoNewPrivileges bool
	Seccomp         bool
	// Init: stay as PID 1 (reap, forward signals) and fork the process;
	// otherwise exec it.
	Init bool
	// Tty: the process gets a terminal made in the container's devpts
	// (its master goes to the monitor), sized Rows x Cols.
	Tty        bool
	Rows, Cols uint16
}

// mountPlan is one mount, in OCI terms: options mix flags (ro, nosuid,
// rbind...) and filesystem data (size=64m, mode=1777).
type mountPlan struct {
	Destination string
	Type        string // bind, tmpfs, proc, sysfs, devpts, mqueue, cgroup
	Source      string
	Options     []string
	// File: the bind source is not a directory, so the target is a file.
	File bool `json:",omitempty"`
	// CopyUp: a volume that gets the image's content at Destination when
	// it is empty.
	CopyUp bool `json:",omitempty"`
}

type rlimitPlan struct {
	Type       int
	Soft, Hard uint64
}

// Docker's masked and read-only paths for an unprivileged container.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// defaultMounts are Docker's (moby's oci.DefaultSpec), /dev/shm sized.
func defaultMounts(shmSize int64, privileged bool) []mountPlan {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	cgOpts := []string{"ro", "nosuid", "noexec", "nodev"}
	if privileged {
		sysOpts = []string{"nosuid", "noexec", "nodev"}
		cgOpts = []string{"nosuid", "noexec", "nodev"}
	}
	if shmSize <= 0 {
		shmSize = defaultShmSize
	}
	return []mountPlan{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgOpts},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", fmt.Sprintf("size=%d", shmSize)}},
	}
}

// hostFacts are what planning needs to know of the host.
type hostFacts struct {
	// HardLimit returns the engine's hard rlimit of a resource (what a
	// container may get without CAP_SYS_RESOURCE); ok false when unlimited
	// or unknown.
	HardLimit func(resource int) (uint64, bool)
}

// rlimits are Docker's defaults with the user's --ulimit on top, each hard
// limit clamped to what the engine itself may grant (a warning each).
func rlimits(user []Ulimit, facts hostFacts) ([]rlimitPlan, []string) {
	byName := map[string]Ulimit{}
	var order []string
	for _, u := range slices.Concat(defaultUlimits, user) {
		if _, ok := byName[u.Name]; !ok {
			order = append(order, u.Name)
		}
		byName[u.Name] = u
	}
	var out []rlimitPlan
	var warnings []string
	for _, name := range order {
		u := byName[name]
		typ := ulimitNames[name]
		soft, hard := toRlim(u.Soft), toRlim(u.Hard)
		if facts.HardLimit != nil {
			if max, ok := facts.HardLimit(typ); ok && hard > max {
				warnings = append(warnings, fmt.Sprintf("ulimit %s: the hard limit %d exceeds what this host grants (%d): using %d", name, u.Hard, max, max))
				hard = max
				soft = min(soft, hard)
			}
		}
		out = append(out, rlimitPlan{Type: typ, Soft: soft, Hard: hard})
	}
	return out, warnings
}

func toRlim(v int64) uint64 {
	if v < 0 {
		return ^uint64(0) // RLIM_INFINITY
	}
	return uint64(v)
}

// mergeImage fills what the user left unset from the image, as Docker's
// create does, and returns the command to run.
func mergeImage(c *Config, img *v1.Config, id string) (pathArg string, args []string, err error) {
	if img == nil {
		img = &v1.Config{}
	}
	c.Env = replaceOrAppendEnv(slices.Clone(img.Env), c.Env)
	if len(c.Entrypoint) == 0 {
		if len(c.Cmd) == 0 {
			c.Cmd = slices.Clone(img.Cmd)
		}
		if c.Entrypoint == nil {
			c.Entrypoint = slices.Clone(img.Entrypoint)
		}
	}
	if c.User == "" {
		c.User = img.User
	}
	if c.WorkingDir == "" {
		c.WorkingDir = img.WorkingDir
	}
	if c.StopSignal == "" {
		c.StopSignal = img.StopSignal
	}
	if len(img.Labels) > 0 {
		labels := map[string]string{}
		for k, v := range img.Labels {
			labels[k] = v
		}
		for k, v := range c.Labels {
			labels[k] = v
		}
		c.Labels = labels
	}
	if len(img.Volumes) > 0 {
		c.Volumes = map[string]struct{}{}
		for v := range img.Volumes {
			c.Volumes[v] = struct{}{}
		}
	}
	if c.Hostname == "" {
		c.Hostname = id[:12]
	}
	if c.WorkingDir != "" && !path.IsAbs(c.WorkingDir) {
		return "", nil, invalidf("the working directory '%s' is invalid, it needs to be an absolute path", c.WorkingDir)
	}
	cmd := slices.Concat(c.Entrypoint, c.Cmd)
	if len(cmd) == 0 {
		return "", nil, invalidf("no command specified")
	}
	return cmd[0], cmd[1:], nil
}

// replaceOrAppendEnv sets each KEY=VALUE of add in env, replacing the same
// key; a bare KEY in add removes it (Docker's ReplaceOrAppendEnvValues).
func replaceOrAppendEnv(env, add []string) []string {
	for _, kv := range add {
		k, _, hasValue := strings.Cut(kv, "=")
		i := slices.IndexFunc(env, func(e string) bool { ek, _, _ := strings.Cut(e, "="); return ek == k })
		switch {
		case i >= 0 && hasValue:
			env[i] = kv
		case i >= 0:
			env = slices.Delete(env, i, i+1)
		case hasValue:
			env = append(env, kv)
		}
	}
	return env
}

// processEnv is the environment the process starts with, as Docker's
// CreateDaemonEnvironment builds it.
func processEnv(c *Container) []string {
	env := []string{"PATH=" + defaultPath, "HOSTNAME=" + c.Config.Hostname}
	if c.Config.Tty {
		env = append(env, "TERM=xterm")
	}
	return replaceOrAppendEnv(env, c.Config.Env)
}

// plan turns a container and its image into a launch (no side effects).
func plan(c *Container, img *image.Image, e planEnv) (*launch, error) {
	sec, err := parseSecurityOpts(c.HostConfig.SecurityOpt)
	if err != nil {
		return nil, err
	}
	lc, err := parseLogConfig(c.HostConfig.LogConfig)
	if err != nil {
		return nil, err
	}
	l := &launch{
		ID: c.ID, Dir: c.Dir, CgroupRoot: e.CgroupRoot, CgroupMode: e.CgroupMode, CgroupParent: e.CgroupParent,
		Resources: c.HostConfig.Resources, LogMaxSize: lc.MaxSize, LogMaxFile: lc.MaxFile,
	}
	if lc.Type == "json-file" {
		l.LogPath = c.LogPath
	}
	r := &l.Resources
	if r.MemoryBytes > 0 && r.MemorySwapBytes == 0 && e.SwapAccounting {
		r.MemorySwapBytes = 2 * r.MemoryBytes // Docker's default: as much swap as memory
	}
	if c.HostConfig.Privileged {
		r.Devices = cgroup.AllowAllDevices()
	}
	network := c.HostConfig.NetworkMode
	l.NewNet = network != NetworkHost

	p := &l.Init
	p.ImageRoot = e.ImageRoot
	p.Lowers = initLayerLowers(c.Dir)
	for i := len(img.Layers) - 1; i >= 0; i-- {
		p.Lowers = append(p.Lowers, filepath.Join("l", img.Layers[i].Link))
	}
	p.Upper, p.Work, p.Merged = filepath.Join(c.Dir, upperDir), filepath.Join(c.Dir, workDir), filepath.Join(c.Dir, mergedDir)
	p.Privileged = c.HostConfig.Privileged
	if !p.Privileged {
		p.MaskedPaths, p.ReadonlyPaths = maskedPaths, readonlyPaths
	}
	p.ReadonlyRootfs = c.HostConfig.ReadonlyRootfs
	p.Hostname = c.Config.Hostname
	p.Loopback = l.NewNet
	p.CgroupNS = e.CgroupMode == cgroup.ModeV2
	p.CgroupRoot = e.CgroupRoot
	p.CgroupPath = path.Join(e.CgroupParent, c.ID)
	if r.PidsLimit > 0 {
		p.PidsLimit, r.PidsLimit = r.PidsLimit, 0
	}
	p.Rlimits, _ = rlimits(c.HostConfig.Ulimits, e.Facts)
	p.Args = slices.Concat([]string{c.Path}, c.Args)
	p.Env = processEnv(c)
	p.User = c.Config.User
	p.Cwd = c.Config.WorkingDir
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	p.Caps = e.Caps
	p.NoNewPrivileges = sec.NoNewPrivileges
	p.Seccomp = !sec.Unconfined && !c.HostConfig.Privileged
	p.Init = e.Init
	p.Tty = c.Config.Tty
	p.Rows, p.Cols = uint16(c.Config.ConsoleSize[0]), uint16(c.Config.ConsoleSize[1])
	l.Stdin, l.StdinOnce = c.Config.OpenStdin, c.Config.StdinOnce
	p.Mounts = containerMounts(c)
	return l, nil
}

// planEnv is the engine's side of planning.
type planEnv struct {
	ImageRoot      string
	CgroupRoot     string
	CgroupMode     cgroup.Mode
	CgroupParent   string
	SwapAccounting bool
	Facts          hostFacts
	// Caps is the resolved capability set; Init whether the init runs.
	Caps []string
	Init bool
}

// containerMounts are Docker's defaults, then the user's mounts (a user
// mount replaces a default at the same place), shallowest first, then the
// container's hostname, hosts and resolv.conf unless the user mounts those.
func containerMounts(c *Container) []mountPlan {
	user := map[string]bool{}
	var mine []mountPlan
	for _, m := range c.Mounts {
		user[m.Destination] = true
		switch m.Type {
		case "tmpfs":
			opts := []string{"nosuid", "nodev", "noexec"}
			if m.Options != "" {
				opts = append(opts, strings.Split(m.Options, ",")...)
			}
			mine = append(mine, mountPlan{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs", Options: opts})
		default:
			opts := []string{"rbind", "rprivate"}
			if !m.RW {
				opts = append(opts, "ro")
			}
			mine = append(mine, mountPlan{Destination: m.Destination, Type: "bind", Source: m.Source, Options: opts, CopyUp: m.Type == "volume"})
		}
	}
	var out []mountPlan
	for _, m := range defaultMounts(c.HostConfig.ShmSize, c.HostConfig.Privileged) {
		if !user[m.Destination] {
			out = append(out, m)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool {
		return strings.Count(mine[i].Destination, "/") < strings.Count(mine[j].Destination, "/")
	})
	out = append(out, mine...)
	for _, f := range []struct{ dst, src string }{
		{"/etc/resolv.conf", c.ResolvConfPath}, {"/etc/hostname", c.HostnamePath}, {"/etc/hosts", c.HostsPath},
	} {
		if !user[f.dst] && f.src != "" {
			out = append(out, mountPlan{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"rbind", "rprivate"}, File: true})
		}
	}
	return out
}
