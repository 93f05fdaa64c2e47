package container

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// attachWaitMax bounds how long output waits for the client that asked
// for it (WaitAttach) before it flows to the log alone.
const attachWaitMax = 10 * time.Second

// stdio is a container's standard streams as its monitor holds them:
// output goes to the json-file log and to every attached client; input
// from clients goes to the process's stdin (a pipe, or the terminal).
type stdio struct {
	log       *jsonLogger // nil with the none log driver
	tty       bool
	stdinOnce bool

	// ready closes when output may flow: at once, or when the client a
	// start waits for has attached.
	ready     chan struct{}
	readyOnce sync.Once

	mu      sync.Mutex
	stdin   *os.File // where input goes: a pipe, or console with -i; nil without
	console *os.File // the terminal's master, with tty
	clients map[*attachClient]struct{}
	closed  bool
}

// attachClient is one attached connection (the engine relays it to an
// API client).
type attachClient struct {
	conn           net.Conn
	stdout, stderr bool
	mu             sync.Mutex // serialises frames
}

func newStdio(log *jsonLogger, tty, stdinOnce, waitAttach bool) *stdio {
	s := &stdio{log: log, tty: tty, stdinOnce: stdinOnce, ready: make(chan struct{}), clients: map[*attachClient]struct{}{}}
	if !waitAttach {
		s.release()
	} else {
		time.AfterFunc(attachWaitMax, s.release)
	}
	return s
}

func (s *stdio) release() { s.readyOnce.Do(func() { close(s.ready) }) }

// pump copies one output stream until it ends: what arrives goes to the
// attached clients at once, and to the log a line an entry.
func (s *stdio) pump(stream byte, r io.Reader) {
	<-s.ready
	name := "stdout"
	if stream == streamStderr {
		name = "stderr"
	}
	buf := make([]byte, 32<<10)
	var line []byte // a partial line, waiting for its end
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			s.broadcast(stream, chunk)
			if s.log != nil {
				now := time.Now()
				for len(chunk) > 0 {
					i := bytes.IndexByte(chunk, '\n')
					if i < 0 {
						line = append(line, chunk...)
						if len(line) >= logLineMax {
							s.log.write(name, line, now)
							line = line[:0]
						}
						break
					}
					if len(line) > 0 {
						line = append(line, chunk[:i+1]...)
						s.log.write(name, line, now)
						line = line[:0]
					} else {
						s.log.write(name, chunk[:i+1], now)
					}
					chunk = chunk[i+1:]
				}
			}
		}
		if err != nil {
			// A terminal's master reads EIO once the last slave closes.
			if len(line) > 0 && s.log != nil {
				s.log.write(name, line, time.Now())
			}
			return
		}
	}
}

// broadcast sends a chunk of output to every client that wants it; a
// client whose connection fails is dropped.
func (s *stdio) broadcast(stream byte, p []byte) {
	s.mu.Lock()
	clients := make([]*attachClient, 0, len(s.clients))
	for c := range s.clients {
		if stream == streamStdout && c.stdout || stream == streamStderr && c.stderr {
			clients = append(clients, c)
		}
	}
	s.mu.Unlock()
	for _, c := range clients {
		if err := c.frame(stream, p); err != nil {
			s.drop(c)
		}
	}
}

func (c *attachClient) frame(stream byte, p []byte) error {
	var hdr [8]byte
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(hdr[:]); err != nil {
		return err
	}
	_, err := c.conn.Write(p)
	return err
}

func (s *stdio) drop(c *attachClient) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	c.conn.Close()
}

// attach serves one client until the container's streams end or the
// client goes: its input (when it asked for stdin) is copied to the
// process's stdin.
func (s *stdio) attach(conn net.Conn, stdin, stdout, stderr bool) {
	c := &attachClient{conn: conn, stdout: stdout, stderr: stderr}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.clients[c] = struct{}{}
	in := s.stdin
	s.mu.Unlock()
	s.release()
	// Input comes framed as output goes (stream 0), an empty frame for
	// its end: a client that goes away without one has detached, and the
	// process's stdin stays open for the next.
	br := bufio.NewReaderSize(conn, 32<<10)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := int64(binary.BigEndian.Uint32(hdr[4:]))
		if !stdin || in == nil {
			if _, err := io.CopyN(io.Discard, br, n); err != nil {
				return
			}
			continue
		}
		if n == 0 {
			if s.stdinOnce && !s.tty {
				// As docker run -i: the process sees EOF.
				s.closeStdin()
			}
			continue
		}
		if _, err := io.CopyN(in, br, n); err != nil {
			return
		}
	}
}

func (s *stdio) closeStdin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stdin != nil && !s.tty {
		s.stdin.Close()
		s.stdin = nil
	}
}

// resize sets the terminal's size.
func (s *stdio) resize(rows, cols uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.console == nil {
		return errors.New("the container has no terminal")
	}
	return resizeConsole(s.console, rows, cols)
}

// close ends every attachment once the output has been pumped, and
// closes the process's input.
func (s *stdio) close() {
	s.release()
	s.mu.Lock()
	s.closed = true
	clients := s.clients
	s.clients = nil
	if s.stdin != nil && s.stdin != s.console {
		s.stdin.Close()
	}
	s.stdin = nil
	s.mu.Unlock()
	for c := range clients {
		c.mu.Lock()
		if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		c.mu.Unlock()
		c.conn.Close()
	}
}
