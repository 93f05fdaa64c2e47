package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/berthhq/berth/runtime/api"
)

// hijackSession joins the user's streams to a hijacked connection
// (attach, exec start), as the docker CLI does: the process's output to Out
// (and ErrOut, when the engine frames the two apart), the user's input to
// the process when stdin is attached. With a terminal, the user's one is
// raw for the session, and the detach sequence ends it with the process
// left running.
type hijackSession struct {
	streams *IOStreams
	hj      *api.HijackedResponse
	// stdin sends the user's input; without it, the input side is
	// half-closed at once.
	stdin bool
	// tty: the process has a terminal.
	tty  bool
	keys []byte
}

// errHangup ends a raw session whose terminal hung up or was asked to
// quit: berth leaves, its terminal restored.
type errHangup struct{ sig os.Signal }

func (e errHangup) Error() string { return fmt.Sprintf("the session ended on %v", e.sig) }

// run streams until the output ends, the user detaches (errDetached) or
// interrupt delivers (nil disables it). It returns the output's error, if
// any; the terminal is restored on every way out.
func (s *hijackSession) run(interrupt <-chan struct{}) (err error) {
	restore := func() {}
	var in io.Reader
	var hangup chan os.Signal
	if s.stdin {
		in = s.streams.In
		if s.tty {
			if restore, err = rawTerminal(in); err != nil {
				return err
			}
			in = api.NewEscapeReader(in, s.keys)
			// In raw mode, these would end berth with the terminal left
			// raw; end the session instead.
			hangup = make(chan os.Signal, 1)
			signal.Notify(hangup, syscall.SIGHUP, syscall.SIGQUIT)
			defer signal.Stop(hangup)
		}
	}
	defer restore()

	outputDone := make(chan error, 1)
	go func() {
		defer restoreOnPanic(restore)
		var err error
		if s.hj.Multiplexed {
			_, err = api.StdCopy(s.streams.Out, s.streams.ErrOut, s.hj.Reader)
		} else {
			_, err = io.Copy(s.streams.Out, s.hj.Reader)
		}
		// What berth prints next must not land on a raw terminal.
		restore()
		if err != nil {
			err = &outputError{err}
		}
		outputDone <- err
	}()
	inputDone := make(chan error, 1)
	go func() {
		defer restoreOnPanic(restore)
		if in != nil {
			_, err := io.Copy(s.hj.Conn, in)
			if errors.Is(err, errDetached) {
				restore()
				inputDone <- errDetached
				return
			}
		}
		// The end of the user's input is the end of the process's stdin;
		// its output goes on.
		_ = s.hj.CloseWrite()
		inputDone <- nil
	}()

	select {
	case err := <-outputDone:
		return err
	case err := <-inputDone:
		if err != nil {
			return err
		}
		select {
		case err := <-outputDone:
			return err
		case <-interrupt:
			return errInterrupted
		case sig := <-hangup:
			return errHangup{sig}
		}
	case <-interrupt:
		return errInterrupted
	case sig := <-hangup:
		return errHangup{sig}
	}
}

// errInterrupted ends a session that berth's own interrupt cut short.
var errInterrupted = errors.New("interrupted")

// outputError is a failure of the process's output stream: the engine
// went away, or sent something that is not a stream.
type outputError struct{ err error }

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }
