package container

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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

// Attach returns the container's output from this moment on: what its
// process writes now if it runs, or after the start that follows if it
// does not, until that process exits (then the reader gives io.EOF after
// the last entry), the container is removed, or ctx ends. It follows the
// json-file log from its current end, so a container whose log driver is
// none has nothing to attach to, and the reader only waits for the exit.
func (e *Engine) Attach(ctx context.Context, idOrName string, stdout, stderr bool) (LogReader, error) {
	en, err := e.lookup(idOrName)
	if err != nil {
		return nil, err
	}
	en.mu.Lock()
	c := en.c
	exited, removed := en.exited, en.removed
	path := c.LogPath
	lc, _ := parseLogConfig(c.HostConfig.LogConfig)
	en.mu.Unlock()
	if lc.Type == "none" {
		path = ""
	}
	if !stdout && !stderr {
		stdout, stderr = true, true
	}
	r := &attachReader{ctx: ctx, path: path, exited: exited, removed: removed, stdout: stdout, stderr: stderr}
	if path != "" {
		// Everything written from now on lies past the current end.
		if fi, err := os.Stat(path); err == nil {
			r.offset = fi.Size()
		}
	}
	return r, nil
}

// An attached reader looks for new output soon after the last, then
// less and less often while the container is quiet; its exit is noticed
// at once.
const (
	attachPollMin = 5 * time.Millisecond
	attachPollMax = 100 * time.Millisecond
)

// attachReader follows the live log file from an offset, across the
// start that may follow and through rotations, until the exit.
type attachReader struct {
	ctx             context.Context
	path            string
	exited, removed <-chan struct{}
	stdout, stderr  bool
	offset          int64 // where reading starts in the file first opened
	f               *os.File
	br              *bufio.Reader
	part            []byte
	done            bool // the process exited: read to the end, then EOF
	poll            time.Duration
}

func (r *attachReader) Close() error {
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}

func (r *attachReader) Next() (LogEntry, error) {
	for {
		e, err := r.next()
		if err != nil {
			return LogEntry{}, err
		}
		if e.Stream == "stdout" && !r.stdout || e.Stream == "stderr" && !r.stderr {
			continue
		}
		return e, nil
	}
}

func (r *attachReader) next() (LogEntry, error) {
	for {
		if r.f == nil && r.path != "" {
			if err := r.open(); err != nil {
				return LogEntry{}, err
			}
		}
		if r.f != nil {
			e, ok, err := readLogLine(r.br, &r.part)
			if ok || err == nil {
				r.poll = 0
			}
			if ok {
				return e, nil
			}
			if err == nil {
				continue // a torn or foreign line, as Logs skips it
			}
			if !errors.Is(err, io.EOF) {
				return LogEntry{}, fmt.Errorf("reading the container log: %w", err)
			}
			if r.replaced() {
				r.f.Close()
				r.f, r.offset, r.part = nil, 0, r.part[:0]
				continue
			}
		}
		if r.done {
			return LogEntry{}, io.EOF
		}
		r.poll = min(max(2*r.poll, attachPollMin), attachPollMax)
		t := time.NewTimer(r.poll)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return LogEntry{}, r.ctx.Err()
		case <-r.exited:
			// The monitor wrote everything before it recorded the exit:
			// one more pass to the end of the file.
			r.done = true
		case <-r.removed:
			r.done = true
		case <-t.C:
		}
		t.Stop()
	}
}

// open opens the live file, positioned at the offset; a file that does
// not exist yet (never started) is waited for.
func (r *attachReader) open() error {
	f, err := os.Open(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the container log: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() < r.offset {
		r.offset = 0 // truncated (rotated with max-file 1) since the attach
	}
	if _, err := f.Seek(r.offset, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("reading the container log: %w", err)
	}
	r.f = f
	if r.br == nil {
		r.br = bufio.NewReaderSize(f, 32<<10)
	} else {
		r.br.Reset(f)
	}
	return nil
}

// replaced reports whether the live file was rotated away or truncated
// since it was opened.
func (r *attachReader) replaced() bool { return logReplaced(r.f, r.br, r.path) }
