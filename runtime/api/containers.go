package api

import (
	"context"
	"io"
	"time"
)

// ContainerBackend is what the server needs from the container engine, in
// the API's terms. A container is named by the user's reference: a full
// or unique-prefix ID, or a name with or without its leading "/"; a
// reference that matches nothing is NotFound ("No such container: x"), an
// ambiguous prefix InvalidParameter. Errors are this package's typed
// errors; anything else is a 500.
//
// The server validates requests before calling (ValidateCreate, signal
// names, wait conditions, filters), computes ps's summaries, filters and
// statuses from ContainerJSON, and does all framing: the backend hands out
// channels of output and samples, never bytes on the wire.
type ContainerBackend interface {
	// Create makes a container; it does not start it. The image must be
	// present (NotFound "No such image: busybox:latest" otherwise: the
	// docker CLI pulls and retries on that answer). A name in use is a
	// Conflict.
	Create(ctx context.Context, opts ContainerCreateOptions) (*ContainerCreateResponse, error)
	// Start starts a created or exited container. Already running is
	// NotModified. A process that cannot be started is an error whose
	// text says why as Docker's does ("exec: \"/no/such\": stat
	// /no/such: no such file or directory", "permission denied"): the
	// docker CLI maps those words to exit codes 127 and 126. A container
	// with AutoRemove that fails to start is removed before Start returns.
	Start(ctx context.Context, ref string) error
	// Stop sends the stop signal, waits up to the timeout, then kills.
	// Already stopped is NotModified.
	Stop(ctx context.Context, ref string, opts StopOptions) error
	// Restart stops (as Stop, when running) and starts the container.
	Restart(ctx context.Context, ref string, opts StopOptions) error
	// Kill sends signal (a name from ParseSignal: "SIGKILL") to the
	// container's process. Not running is a Conflict.
	Kill(ctx context.Context, ref, signal string) error
	// Pause freezes every process of the container; Unpause thaws them.
	// Not running, already paused, or not paused are Conflicts.
	Pause(ctx context.Context, ref string) error
	Unpause(ctx context.Context, ref string) error
	// Remove deletes a container that is not running (Conflict
	// otherwise, unless Force, which kills it first). Volumes removes its
	// anonymous volumes too.
	Remove(ctx context.Context, ref string, opts RemoveOptions) error
	// Wait registers interest in the container reaching condition and
	// returns at once, registered: docker run starts the container right
	// after, and an exit between the two must not be missed. The channel
	// delivers one answer (the exit code) and is closed; errors before
	// registration (NotFound) are returned directly. When ctx ends the
	// backend may stop waiting; the server has gone by then.
	Wait(ctx context.Context, ref string, condition WaitCondition) (<-chan ContainerWaitResponse, error)
	// Inspect describes one container; size asks for SizeRw and
	// SizeRootFs.
	Inspect(ctx context.Context, ref string, size bool) (*ContainerJSON, error)
	// List describes every container, in any order; the server filters,
	// sorts and summarises.
	List(ctx context.Context, size bool) ([]*ContainerJSON, error)
	// Logs returns the container's log from the json-file log, filtered
	// by opts; with Follow, the channel stays open for new output until
	// the container stops or ctx ends. The backend closes the channel.
	Logs(ctx context.Context, ref string, opts LogsOptions) (*OutputStream, error)
	// Attach connects to the container's streams from this moment on:
	// its running process, or the process of the start that follows. The
	// output channel is closed after the last output once that process
	// exits, or when ctx ends (which detaches: the container runs on).
	// Output is registered before Attach returns, so nothing written
	// after it is lost. With opts.Stdin, Stdin feeds the process's input;
	// closing it ends the input (a StdinOnce container sees EOF).
	Attach(ctx context.Context, ref string, opts AttachOptions) (*AttachStream, error)
	// Resize sets the size of the container's terminal. Not running is a
	// Conflict; a container without a terminal InvalidParameter.
	Resize(ctx context.Context, ref string, height, width uint) error
	// Top runs ps with psArgs ("" = "-ef") and keeps the container's
	// processes.
	Top(ctx context.Context, ref, psArgs string) (*ContainerTopResponse, error)
	// Stats sends a sample now and then about every second, until the
	// container stops or ctx ends; then it closes the channel. A
	// container that is not running gets one zero sample (Read zero).
	// The server fills PreRead and PreCPUStats.
	Stats(ctx context.Context, ref string) (<-chan StatsJSON, error)

	VolumeBackend
	ArchiveBackend
	CommitBackend
	ExecBackend
}

// VolumeBackend is what the server needs for named volumes.
type VolumeBackend interface {
	// VolumeCreate makes a volume (a generated name when opts.Name is "");
	// creating an existing name returns it unchanged, as Docker does.
	VolumeCreate(ctx context.Context, opts VolumeCreateOptions) (*Volume, error)
	// VolumeList returns every volume; the server filters.
	VolumeList(ctx context.Context) ([]*Volume, error)
	VolumeInspect(ctx context.Context, name string) (*Volume, error)
	// VolumeRemove deletes a volume: NotFound ("no such volume") unless
	// force, Conflict when a container uses it.
	VolumeRemove(ctx context.Context, name string, force bool) error
}

// ContainerCreateOptions is a validated create request.
type ContainerCreateOptions struct {
	// Name is "" (the engine picks one) or a valid name without "/".
	Name string
	// Platform is "" (the host's) or "os/arch[/variant]".
	Platform string
	// Config is the request as the client sent it, HostConfig and
	// NetworkingConfig never nil; inspect echoes it.
	Config *ContainerCreateRequest
	// Mounts are Binds, Tmpfs and HostConfig.Mounts parsed and merged,
	// destinations unique, in the order given.
	Mounts []MountSpec
}

// MountSpec is one mount a container asks for, whatever flag said it.
type MountSpec struct {
	// Type is "bind", "volume" or "tmpfs".
	Type string
	// Source is the host path of a bind, the name of a volume ("" for an
	// anonymous volume); empty for tmpfs.
	Source string
	// Target is the absolute path in the container.
	Target   string
	ReadOnly bool
	// Propagation is a bind's: "", "private", "rprivate", "shared",
	// "rshared", "slave", "rslave".
	Propagation string
	// NoCopy keeps the image's content out of a new volume.
	NoCopy bool
	// TmpfsSize is a tmpfs's size in bytes (0: the kernel's default);
	// TmpfsMode its mode (0: 1777).
	TmpfsSize int64
	TmpfsMode uint32
	// Options are other mount flags of a tmpfs ("noexec", "nosuid"...).
	Options []string
}

// StopOptions are the parameters of stop and restart.
type StopOptions struct {
	// Signal is "" (the container's StopSignal, else SIGTERM) or a
	// name from ParseSignal.
	Signal string
	// Timeout is seconds to wait before SIGKILL; nil is the container's
	// StopTimeout (default 10); -1 waits forever.
	Timeout *int
}

// RemoveOptions are the parameters of DELETE /containers/{id}.
type RemoveOptions struct {
	Force   bool
	Volumes bool
}

// WaitCondition is what POST /containers/{id}/wait waits for.
type WaitCondition string

// Docker's wait conditions.
const (
	// WaitNotRunning returns at once for a container that is not running.
	WaitNotRunning WaitCondition = "not-running"
	// WaitNextExit waits for the next exit, even of a container not yet
	// started (docker run registers it before start).
	WaitNextExit WaitCondition = "next-exit"
	// WaitRemoved waits until the container is removed (docker run --rm).
	WaitRemoved WaitCondition = "removed"
)

// LogsOptions are the parameters of GET /containers/{id}/logs the backend
// applies (the server handles timestamps and framing).
type LogsOptions struct {
	Follow bool
	Stdout bool
	Stderr bool
	// Since and Until bound the entries' times; zero is unbounded.
	Since, Until time.Time
	// Tail is how many last lines to give; -1 is all.
	Tail int
}

// AttachOptions say which streams attach carries.
type AttachOptions struct {
	Stdin  bool
	Stdout bool
	Stderr bool
}

// AttachStream is a live attachment to a process: its output, and its
// input when it was asked for.
type AttachStream struct {
	OutputStream
	// Stdin is nil unless the attachment carries input.
	Stdin io.WriteCloser
}

// OutputStream is a container's output as the backend delivers it.
type OutputStream struct {
	// TTY says the container has a terminal: its output is one raw
	// stream, sent without stdcopy framing.
	TTY bool
	// Messages are closed by the backend at the end.
	Messages <-chan OutputMessage
}

// OutputMessage is one chunk of output: a log line with its newline, or
// what the process wrote, for attach.
type OutputMessage struct {
	// Stream is "stdout" or "stderr".
	Stream string
	// Time is when the process wrote it (the log's time); logs
	// --timestamps prints it.
	Time time.Time
	Data []byte
}
