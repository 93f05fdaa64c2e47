package container

import (
	"errors"
	"fmt"
	"syscall"
)

// The kinds of failure callers branch on (errors.Is). Each error the engine
// returns carries Docker's wording as its message and one of these as its
// kind, so an API server can pick Docker's status code.
var (
	// ErrNotFound: no such container, volume or image (404).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request is wrong (400).
	ErrInvalid = errors.New("invalid parameter")
	// ErrConflict: the request conflicts with the container's state or a
	// name in use (409).
	ErrConflict = errors.New("conflict")
	// ErrNotModified: already in the state asked for (Docker's 304 for
	// start and stop).
	ErrNotModified = errors.New("not modified")
	// ErrNotImplemented: a feature this engine does not have (yet) (501).
	ErrNotImplemented = errors.New("not implemented")
	// ErrUnsupported: containers do not run on this platform.
	ErrUnsupported = errors.New("containers need Linux")
)

// kindError is a message with a kind; errors.Is(err, kind) holds and any
// wrapped cause stays reachable.
type kindError struct {
	kind  error
	msg   string
	cause error
}

func (e *kindError) Error() string   { return e.msg }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.cause} }

func kindf(kind error, format string, a ...any) error {
	err := fmt.Errorf(format, a...)
	return &kindError{kind: kind, msg: err.Error(), cause: errors.Unwrap(err)}
}

func notFound(idOrName string) error {
	return kindf(ErrNotFound, "No such container: %s", idOrName)
}

func invalidf(format string, a ...any) error { return kindf(ErrInvalid, format, a...) }

func conflictf(format string, a ...any) error { return kindf(ErrConflict, format, a...) }

// Exit codes of a container that could not be started, as Docker's CLI
// reports them.
const (
	ExitEngineError   = 125 // the engine failed (mounts, cgroups, a bad user)
	ExitCannotInvoke  = 126 // the command exists but cannot run
	ExitNotFound      = 127 // the command does not exist
	exitSignalOffset  = 128
	exitUnknownStatus = 255 // a monitor that vanished: the status is lost
)

// StartError is a container that did not start. Its message is the
// runtime's own ("exec: \"/no/such\": stat /no/such: no such file or
// directory"), worded as runc's because the docker CLI maps those words to
// exit codes 127 and 126.
type StartError struct {
	// Code is ExitEngineError, ExitCannotInvoke or ExitNotFound.
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// exitCodeFor classifies an exec error message as the docker CLI does.
func exitCodeFor(msg string) int {
	switch {
	case containsAny(msg, "executable file not found", "no such file or directory"):
		return ExitNotFound
	case containsAny(msg, "permission denied", "is a directory"):
		return ExitCannotInvoke
	}
	return ExitEngineError
}

// waitCode is the exit code Docker reports: the status, or 128+signal.
func waitCode(w syscall.WaitStatus) int {
	switch {
	case w.Exited():
		return w.ExitStatus()
	case w.Signaled():
		return exitSignalOffset + int(w.Signal())
	}
	return exitUnknownStatus
}
