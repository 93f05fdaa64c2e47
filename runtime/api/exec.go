package api

import "context"

// ExecBackend runs processes in running containers (docker exec). An exec
// is created with an ID, started once, then inspected for its status;
// the backend keeps it until some time after it has exited, or until its
// container is removed.
type ExecBackend interface {
	// ExecCreate records a process to run in the container and returns
	// the exec's ID. Not running or paused is a Conflict.
	ExecCreate(ctx context.Context, ref string, req ExecCreateRequest) (string, error)
	// ExecInspect describes an exec; an unknown ID is NotFound ("No such
	// exec instance: <id>").
	ExecInspect(ctx context.Context, id string) (*ExecInspect, error)
	// ExecStart starts the process; a second start is a Conflict. With
	// detach the stream is nil. Otherwise the output channel closes once
	// the process has exited and its status is recorded (ExecInspect
	// shows it then), or when ctx ends (the process runs on). A process
	// that cannot start is a *container start error*: its message says
	// why as Docker's does, and the exec's exit code is 126 or 127.
	ExecStart(ctx context.Context, id string, detach bool, consoleSize *[2]uint) (*AttachStream, error)
	// ExecResize sets the size of the exec's terminal.
	ExecResize(ctx context.Context, id string, height, width uint) error
}
