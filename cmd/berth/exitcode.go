package main

import (
	"errors"
	"fmt"

	"github.com/berthhq/berth/runtime/api"
)

// Exit codes of every berth command, in one place. Scripts (cloud-init,
// Ansible) branch on them; they never change meaning.
//
//	0    success; for check and verify, the host is ready
//	1    the command ran and the answer is no: a required check failed, or
//	     the operation failed
//	2    usage: an unknown flag or command, a malformed argument, an input
//	     that cannot be read (a missing --root); nothing was changed
//	3    the engine could not be reached: no daemon listens on the socket
//	     (-H, BERTH_HOST), or its permissions keep the user out
//	125  run: berth or the engine failed, so the container did not run
//	     (a bad flag, no engine, a missing image, a failed start), as
//	     docker run says it; run leaves 1-3 to the container
//	126  run, exec: the command cannot be invoked (permission denied)
//	127  run, exec: the command was not found
//	130  interrupted (SIGINT or SIGTERM) before finishing
//
// Otherwise run, start -a and attach exit with the container's own
// status, exec with its command's. attach and exec detached from with
// the detach keys exit 1, as docker's; run and start, 0.
const (
	ExitOK           = 0
	ExitFailure      = 1
	ExitUsage        = 2
	ExitUnavailable  = 3
	ExitEngine       = 125
	ExitCannotInvoke = 126
	ExitNotFound     = 127
	ExitInterrupted  = 130
)

// exitError carries the exit code a failure maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as the user's mistake: exit code 2.
func usageError(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: ExitUsage, err: err}
}

// usageErrorf is usageError with a format.
func usageErrorf(format string, a ...any) error { return usageError(fmt.Errorf(format, a...)) }

// silentExit ends the command with code and no message: the command has
// already said what it had to (check's report).
type silentExit int

func (s silentExit) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// exitCode maps an error returned by a command to its exit code.
func exitCode(err error) int {
	var ee *exitError
	var se silentExit
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &se):
		return int(se)
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, api.ErrUnavailable):
		return ExitUnavailable
	}
	return ExitFailure
}
