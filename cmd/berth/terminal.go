package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/berthhq/berth/runtime/api"
)

// defaultDetachKeys is docker's detach sequence.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// errDetached ends a session whose user typed the detach sequence; the
// process goes on. The message is docker's.
var errDetached = errors.New("read escape sequence")

// ctrlKeys are the names of the control characters 0 to 31, as docker
// spells them in a detach sequence.
const ctrlKeys = "@abcdefghijklmnopqrstuvwxyz[\\]^_"

// parseDetachKeys reads a detach sequence as docker does: keys separated by
// commas, each one character, ctrl-<one of a-z @ [ \ ] ^ _>, or DEL.
// "" is the default, ctrl-p,ctrl-q.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = defaultDetachKeys
	}
	var out []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case k == "DEL":
			out = append(out, 127)
		case len(k) == len("ctrl-x") && strings.HasPrefix(k, "ctrl-") && strings.IndexByte(ctrlKeys, k[5]) >= 0:
			out = append(out, byte(strings.IndexByte(ctrlKeys, k[5])))
		default:
			return nil, usageErrorf("invalid detach keys %q: %q is not a key; give keys separated by commas, each a character, ctrl-<a-z, @, [, \\, ], ^ or _> or DEL (default %s)", s, k, defaultDetachKeys)
		}
	}
	return out, nil
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

// escapeProxy passes the user's input on, watching it for the detach
// sequence. Bytes that may begin the sequence are held back until it
// completes (then they are dropped and Read returns errDetached) or
// breaks (then they go on, in order). As docker's, it watches every byte:
// a terminal sends one keystroke per read, a paste many.
type escapeProxy struct {
	r    io.Reader
	keys []byte

	held     int    // how many of keys the input has matched so far
	out      []byte // bytes ready to go on
	err      error  // the input's error, after out
	detached bool
	buf      []byte
}

func newEscapeProxy(r io.Reader, keys []byte) *escapeProxy {
	return &escapeProxy{r: r, keys: keys, buf: make([]byte, 32<<10)}
}

func (p *escapeProxy) Read(b []byte) (int, error) {
	for len(p.out) == 0 {
		switch {
		case p.detached:
			return 0, errDetached
		case p.err != nil:
			return 0, p.err
		}
		n, err := p.r.Read(p.buf)
		p.scan(p.buf[:n])
		if err != nil {
			if !p.detached {
				// The input ended inside a possible sequence: what was
				// held back was typed, not a detach.
				p.out = append(p.out, p.keys[:p.held]...)
				p.held = 0
			}
			p.err = err
		}
		if n == 0 && err == nil {
			return 0, nil
		}
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

// scan moves input to out, holding back a possible sequence.
func (p *escapeProxy) scan(in []byte) {
	for _, c := range in {
		seq := append(p.keys[:p.held:p.held], c)
		// Give up the oldest held bytes until what remains may still
		// begin the sequence (ctrl-p ctrl-p ctrl-q detaches).
		for len(seq) > 0 && !bytes.HasPrefix(p.keys, seq) {
			p.out = append(p.out, seq[0])
			seq = seq[1:]
		}
		p.held = len(seq)
		if p.held == len(p.keys) {
			// Whatever came after the sequence in the same read is not
			// sent: the user has left.
			p.detached, p.held = true, 0
			return
		}
	}
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
