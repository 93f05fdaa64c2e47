package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/berthhq/berth/runtime/api"
)

// errDetached ends a session whose user typed the detach sequence; the
// process goes on.
var errDetached = api.ErrDetached

// parseDetachKeys reads a detach sequence (api.ParseDetachKeys); a bad one
// is the user's mistake.
func parseDetachKeys(s string) ([]byte, error) {
	keys, err := api.ParseDetachKeys(s)
	if err != nil {
		return nil, usageError(err)
	}
	return keys, nil
}

// detachKeys is the sequence a command uses: its --detach-keys, else
// config.json's detachKeys as the docker CLI reads it, else "" (the
// engine's default). A config.json that cannot be read is warned about,
// as docker does, and left aside.
func detachKeys(flag string, streams *IOStreams) string {
	if flag != "" {
		return flag
	}
	cfg, err := loadDockerConfig()
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "WARNING: Error loading config file: %v\n", err)
		return ""
	}
	var keys string
	if raw, ok := cfg.raw["detachKeys"]; ok {
		if err := json.Unmarshal(raw, &keys); err != nil {
			fmt.Fprintf(streams.ErrOut, "WARNING: Error loading config file: %s: detachKeys: %v\n", cfg.path, err)
			return ""
		}
	}
	return keys
}

// isTTY says whether f is a terminal (a character device alone is not:
// /dev/null is one).
func isTTY(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// checkTTY refuses a terminal session on input that is not a terminal, as
// docker does (status 1): raw mode and the detach keys need one.
func checkTTY(in io.Reader, attachStdin, tty bool) error {
	if tty && attachStdin && !isTTY(in) {
		return &exitError{code: ExitFailure, err: errors.New("the input device is not a TTY")}
	}
	return nil
}

// terminalSize is out's size in rows and columns, when out is a terminal.
func terminalSize(out io.Writer) (height, width uint, ok bool) {
	f, isFile := out.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return 0, 0, false
	}
	w, h, err := term.GetSize(int(f.Fd()))
	if err != nil || w <= 0 || h <= 0 {
		return 0, 0, false
	}
	return uint(h), uint(w), true
}

// rawTerminal puts in into raw mode when it is a terminal, so that every
// key (Ctrl-C included) goes to the process, and returns the function that
// restores it; restoring twice is harmless. NORAW leaves the terminal as
// it is, as with docker.
func rawTerminal(in io.Reader) (restore func(), err error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("NORAW") != "" {
		return func() {}, nil
	}
	fd := int(f.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("setting the terminal %s to raw mode: %w", f.Name(), err)
	}
	return sync.OnceFunc(func() { _ = term.Restore(fd, state) }), nil
}

// restoreOnPanic restores the terminal before a panic in a session's
// goroutine ends berth, then lets the panic go on.
func restoreOnPanic(restore func()) {
	if r := recover(); r != nil {
		restore()
		panic(r)
	}
}

// monitorSize gives the process's terminal the size of out's, now and
// after every SIGWINCH, as docker does, until the returned stop is called.
// The first resize is retried a few times: a process that has just
// started may not have its terminal yet. Nothing happens when out is not
// a terminal.
func monitorSize(ctx context.Context, out, errOut io.Writer, resize func(ctx context.Context, height, width uint) error) (stop func()) {
	if _, _, ok := terminalSize(out); !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	apply := func() error {
		h, w, ok := terminalSize(out)
		if !ok {
			return nil
		}
		return resize(ctx, h, w)
	}
	go func() {
		err := apply()
		for try := 1; err != nil && try <= 10 && ctx.Err() == nil; try++ {
			time.Sleep(time.Duration(try) * 10 * time.Millisecond)
			err = apply()
		}
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(errOut, "failed to resize tty, using default size")
		}
		for {
			select {
			case <-winch:
				_ = apply()
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		cancel()
	}
}

// proxySignals forwards every signal berth receives to the container
// until stop is called, as docker's --sig-proxy: the ones that concern
// berth alone (a child's exit, a closed pipe, the Go runtime's preemption)
// aside. Signals go by name, so a client on macOS sends Linux's.
func proxySignals(ctx context.Context, c *api.Client, id string) (stop func()) {
	sigs := make(chan os.Signal, 128)
	signal.Notify(sigs)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for {
			select {
			case s := <-sigs:
				n, ok := s.(syscall.Signal)
				if !ok || n == syscall.SIGCHLD || n == syscall.SIGPIPE || n == syscall.SIGURG {
					continue
				}
				if name := unix.SignalName(n); name != "" {
					_ = c.ContainerKill(ctx, id, name)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		cancel()
	}
}
