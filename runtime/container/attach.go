package container

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// WaitChan is Wait split in two, for callers that must act between
// registering and the answer (docker run attaches and waits, then
// starts): the condition's interest is registered before it returns, and
// the channel delivers the exit status once, then closes. When ctx ends
// first the channel closes without a value.
func (e *Engine) WaitChan(ctx context.Context, idOrName, condition string) (<-chan ExitStatus, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	var ch <-chan struct{}
	en.mu.Lock()
	switch condition {
	case "", "not-running":
		if en.c.State.Running() || en.restarting {
			ch = en.exited
		}
	case "next-exit":
		ch = en.exited
	case "removed":
		ch = en.removed
	default:
		en.mu.Unlock()
		return nil, invalidf("invalid condition: %q: use not-running, next-exit or removed", condition)
	}
	en.mu.Unlock()
	out := make(chan ExitStatus, 1)
	go func() {
		defer close(out)
		if ch != nil {
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
		}
		en.mu.Lock()
		st := en.last
		en.mu.Unlock()
		out <- st
	}()
	return out, nil
}

// Stream numbers on an attach connection, as Docker's stdcopy frames
// them: a header of the stream, three zero bytes and the big-endian
// length, then the data.
const (
	streamStdout byte = 1
	streamStderr byte = 2
)

// AttachOptions say which of a container's streams an attachment
// carries.
type AttachOptions struct {
	Stdin, Stdout, Stderr bool
}

// Attach connects to the container's streams from this moment on: to its
// running process, or, when it does not run, to the process of the start
// that follows (that start then holds the output until the attachment is
// there, so a command that is quick to finish is not missed). The
// attachment is registered before Attach returns; it ends (Next gives
// io.EOF after the last output) when that process exits, the container is
// removed, or ctx ends.
func (e *Engine) Attach(ctx context.Context, idOrName string, opts AttachOptions) (*Attachment, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	en.mu.Lock()
	c := en.c
	var started <-chan struct{}
	if !c.State.Running() {
		en.attachWanted++
		started = en.started
	}
	removed, dir := en.removed, c.Dir
	a := &Attachment{TTY: c.Config.Tty, ready: make(chan struct{})}
	en.mu.Unlock()
	go func() {
		if started != nil {
			var err error
			select {
			case <-started:
			case <-removed:
				err = io.EOF
			case <-ctx.Done():
				err = ctx.Err()
			}
			en.mu.Lock()
			en.attachWanted--
			en.mu.Unlock()
			if err != nil {
				a.connected(nil, nil, err)
				return
			}
		}
		conn, br, err := dialAttach(ctx, dir, opts)
		a.connected(conn, br, err)
	}()
	context.AfterFunc(ctx, func() { a.Close() })
	return a, nil
}

// dialAttach asks the container's monitor for its streams; a monitor that
// is gone means the process has exited: nothing more to read.
func dialAttach(ctx context.Context, dir string, opts AttachOptions) (net.Conn, *bufio.Reader, error) {
	addr, done, err := socketAddr(dir)
	if err != nil {
		return nil, nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", addr)
	done()
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, io.EOF
	}
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	req := "attach " + flag(opts.Stdin) + " " + flag(opts.Stdout) + " " + flag(opts.Stderr) + "\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, nil, io.EOF
	}
	br := bufio.NewReaderSize(conn, 32<<10)
	line, err := br.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ok" {
		conn.Close()
		return nil, nil, io.EOF
	}
	return conn, br, nil
}

// Attachment is a live connection to a container's streams: Next reads
// its output, Write feeds its stdin (when attached with Stdin).
type Attachment struct {
	// TTY says the process has a terminal: its output is one raw stream.
	TTY bool

	ready  chan struct{} // closed once connected, or failed
	conn   net.Conn
	br     *bufio.Reader
	err    error
	once   sync.Once
	closed atomic.Bool
	wmu    sync.Mutex
}

func (a *Attachment) connected(conn net.Conn, br *bufio.Reader, err error) {
	a.once.Do(func() {
		if conn != nil && a.closed.Load() {
			conn.Close()
			conn, err = nil, net.ErrClosed
		}
		a.conn, a.br, a.err = conn, br, err
		close(a.ready)
	})
}

// Next returns the next chunk of output, as the process wrote it (not
// split in lines), or io.EOF once the process has exited and everything
// it wrote is read.
func (a *Attachment) Next() (LogEntry, error) {
	<-a.ready
	if a.err != nil {
		return LogEntry{}, a.err
	}
	var hdr [8]byte
	if _, err := io.ReadFull(a.br, hdr[:]); err != nil {
		return LogEntry{}, a.endErr(err)
	}
	data := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
	if _, err := io.ReadFull(a.br, data); err != nil {
		return LogEntry{}, a.endErr(err)
	}
	stream := "stdout"
	if hdr[0] == streamStderr {
		stream = "stderr"
	}
	return LogEntry{Stream: stream, Time: time.Now().UTC(), Line: data}, nil
}

func (a *Attachment) endErr(err error) error {
	if a.closed.Load() {
		return net.ErrClosed
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return io.EOF
	}
	return err
}

// Write sends input to the process's stdin; it waits for the
// connection, which a container that has not started yet does not have.
func (a *Attachment) Write(p []byte) (int, error) {
	<-a.ready
	if a.err != nil {
		return 0, a.err
	}
	for n := 0; n < len(p); {
		chunk := p[n:min(len(p), n+32<<10)]
		if err := a.frame(chunk); err != nil {
			return n, err
		}
		n += len(chunk)
	}
	return len(p), nil
}

// CloseWrite ends the input: a container with StdinOnce sees EOF. (Close
// without it detaches, and the process's stdin stays open.)
func (a *Attachment) CloseWrite() error {
	<-a.ready
	if a.err != nil {
		return a.err
	}
	return a.frame(nil)
}

func (a *Attachment) frame(p []byte) error {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	a.wmu.Lock()
	defer a.wmu.Unlock()
	if _, err := a.conn.Write(hdr[:]); err != nil {
		return err
	}
	_, err := a.conn.Write(p)
	return err
}

// Close detaches; the container runs on.
func (a *Attachment) Close() error {
	a.closed.Store(true)
	a.connected(nil, nil, net.ErrClosed)
	if a.conn != nil {
		return a.conn.Close()
	}
	return nil
}

// Resize sets the size of the container's terminal.
func (e *Engine) Resize(ctx context.Context, idOrName string, rows, cols uint16) error {
	en, err := e.lookup(idOrName)
	if err != nil {
		return err
	}
	en.mu.Lock()
	running, tty, dir, id := en.c.State.Running(), en.c.Config.Tty, en.c.Dir, en.c.ID
	en.mu.Unlock()
	if !running {
		return conflictf("Container %s is not running", id)
	}
	if !tty {
		return invalidf("container %s has no terminal (it was created without -t)", shortID(id))
	}
	err = monitorRequest(ctx, dir, fmt.Sprintf("resize %d %d", rows, cols), false)
	if isGone(err) {
		return conflictf("Container %s is not running", id)
	}
	return err
}
