package container

import (
	"slices"
	"time"

	"github.com/berthhq/berth/runtime/network"
)

// Container is one container as inspect shows it: its configuration (the
// image's defaults merged in), its state, and where its files are.
type Container struct {
	ID string
	// Name has no leading slash.
	Name    string
	Created time.Time
	// Image is the image ID (sha256:...); Config.Image the name as given.
	Image      string
	Config     Config
	HostConfig HostConfig
	// Path and Args are the command that runs (entrypoint and cmd joined).
	Path string
	Args []string
	// Mounts are the resolved binds, volumes and tmpfs mounts.
	Mounts []MountPoint
	State  State
	// RestartCount counts restarts by the restart policy since the last
	// start by a user.
	RestartCount int
	// ManuallyStopped is set by Stop and Kill and cleared by Start: the
	// unless-stopped policy and the restart at engine start honour it.
	ManuallyStopped bool
	// Driver is the storage driver ("overlay2", as Docker names it).
	Driver string
	// Dir is the container's directory; LogPath and the *Path files are in it.
	Dir            string
	LogPath        string
	HostnamePath   string
	HostsPath      string
	ResolvConfPath string
	// Warnings are what Create said (a clamped ulimit, ...).
	Warnings []string `json:",omitempty"`
	// IPAddress is the container's address on the bridge, held from
	// create to remove.
	IPAddress string `json:",omitempty"`
}

// Container states, as Docker names them.
const (
	StatusCreated    = "created"
	StatusRunning    = "running"
	StatusPaused     = "paused"
	StatusRestarting = "restarting"
	StatusRemoving   = "removing"
	StatusExited     = "exited"
	StatusDead       = "dead"
)

// State is a container's run state (state.json).
type State struct {
	Status string
	// Pid is the host PID of the container's PID 1 while it runs.
	Pid       int
	ExitCode  int
	OOMKilled bool
	// Error is why the last start failed, or what went wrong at exit.
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	// MonitorPid is the host PID of the container's monitor while it runs.
	MonitorPid int `json:",omitempty"`
	// Network is the container's attachment to the bridge while it runs,
	// its published ports resolved.
	Network *network.Endpoint `json:",omitempty"`
}

// Running reports whether the container's processes exist (paused counts).
func (s State) Running() bool {
	return s.Status == StatusRunning || s.Status == StatusPaused
}

// Paused reports whether the container is frozen.
func (s State) Paused() bool { return s.Status == StatusPaused }

// ExitStatus is what Wait returns.
type ExitStatus struct {
	Code      int
	OOMKilled bool
	// Error is set when the container failed to start or its status was
	// lost.
	Error string
}

// clone returns a copy that shares nothing mutable with c.
func (c *Container) clone() *Container {
	d := *c
	d.Config.Cmd = slices.Clone(c.Config.Cmd)
	d.Config.Entrypoint = slices.Clone(c.Config.Entrypoint)
	d.Config.Env = slices.Clone(c.Config.Env)
	d.Args = slices.Clone(c.Args)
	d.Mounts = slices.Clone(c.Mounts)
	d.Warnings = slices.Clone(c.Warnings)
	return &d
}

// record is config.v2.json: the container as the engine owns it. State is
// kept apart (state.json) because the monitor writes it.
type record struct {
	Container
	State *State `json:"State,omitempty"` // never written; hides Container.State
}
