package container

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Docker's json-file log: one JSON object a line,
//
//	{"log":"hi\n","stream":"stdout","time":"2026-11-01T10:00:00.123456789Z"}
//
// with the time in UTC and always nine fractional digits (Docker's
// RFC3339NanoFixed). A line longer than the read buffer is split into
// entries without a trailing newline, as Docker splits them.

const (
	logTimeFormat = "2006-01-02T15:04:05.000000000Z07:00"
	// logLineMax is Docker's 16 KiB split size.
	logLineMax = 16 << 10
)

// jsonLogger writes a container's log, rotating by size. Safe for the two
// stream pumps to share.
type jsonLogger struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	size    int64
	maxSize int64
	maxFile int
	buf     []byte
}

func openJSONLog(path string, maxSize int64, maxFile int) (*jsonLogger, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening the container log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &jsonLogger{path: path, f: f, size: fi.Size(), maxSize: maxSize, maxFile: maxFile, buf: make([]byte, 0, 512)}, nil
}

// write appends one entry.
func (l *jsonLogger) write(stream string, msg []byte, t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append(l.buf[:0], `{"log":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"stream":"`...)
	b = append(b, stream...)
	b = append(b, `","time":"`...)
	b = t.UTC().AppendFormat(b, logTimeFormat)
	b = append(b, "\"}\n"...)
	if cap(b) <= 4096 {
		l.buf = b // keep a small buffer; a huge line's is let go
	}
	if l.maxSize > 0 && l.size > 0 && l.size+int64(len(b)) > l.maxSize {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	return err
}

// rotate shifts path.N-1 → path.N … path → path.1 and starts a new file;
// with max-file 1 the file is truncated, as Docker does.
func (l *jsonLogger) rotate() error {
	l.f.Close()
	if l.maxFile > 1 {
		for i := l.maxFile - 1; i > 1; i-- {
			os.Rename(l.path+"."+strconv.Itoa(i-1), l.path+"."+strconv.Itoa(i))
		}
		os.Rename(l.path, l.path+".1")
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("rotating the container log: %w", err)
	}
	l.f, l.size = f, 0
	return nil
}

func (l *jsonLogger) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// pump copies one stream into the log, a line an entry.
func (l *jsonLogger) pump(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, logLineMax)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			l.write(stream, line, time.Now())
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does (HTML characters and
// invalid UTF-8 escaped), without reflection.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// LogOptions select what Logs returns.
type LogOptions struct {
	// Follow keeps reading until the container stops or ctx ends.
	Follow bool
	// Tail is how many of the last entries to start with; negative: all.
	Tail int
	// Since and Until bound the entries' times (zero: no bound).
	Since, Until time.Time
	// Timestamps is for the caller's formatting; entries always carry
	// their time.
	Timestamps bool
	// Stdout and Stderr select the streams; neither selects both.
	Stdout, Stderr bool
}

// LogEntry is one logged chunk: a line with its newline, or a piece of a
// longer line without one.
type LogEntry struct {
	Stream string // "stdout" or "stderr"
	Time   time.Time
	Line   []byte
}

// LogReader yields a container's log entries in order. Next returns
// io.EOF at the end (with Follow: once the container has stopped and
// everything is read), or ctx's error.
type LogReader interface {
	Next() (LogEntry, error)
	Close() error
}

type jsonLine struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// logReader reads the rotated files oldest first, then the live file,
// which it follows when asked.
type logReader struct {
	ctx  context.Context
	opts LogOptions
	path string
	// running tells whether more may be written; exited is closed (or
	// replaced) when the container stops.
	running func() (bool, <-chan struct{})

	queue []LogEntry // tail entries, served first
	files []string   // rotated files still to read, oldest first
	f     *os.File
	br    *bufio.Reader
	part  []byte
	live  bool // f is the live file
}

func newLogReader(ctx context.Context, path string, maxFile int, opts LogOptions, running func() (bool, <-chan struct{})) (*logReader, error) {
	if !opts.Stdout && !opts.Stderr {
		opts.Stdout, opts.Stderr = true, true
	}
	r := &logReader{ctx: ctx, opts: opts, path: path, running: running}
	for i := max(maxFile-1, 0); i >= 1; i-- {
		p := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(p); err == nil {
			r.files = append(r.files, p)
		}
	}
	if opts.Tail >= 0 {
		// Read everything there is now, keep the last Tail entries, and
		// follow from the live file's current end.
		var ring []LogEntry
		for {
			e, err := r.nextRaw(false)
			if err == io.EOF {
				break
			}
			if err != nil {
				r.Close()
				return nil, err
			}
			if opts.Tail == 0 {
				continue
			}
			ring = append(ring, e)
			if len(ring) > opts.Tail {
				ring = ring[1:]
			}
		}
		r.queue = ring
	}
	return r, nil
}

func (r *logReader) Close() error {
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}

func (r *logReader) Next() (LogEntry, error) {
	for {
		var e LogEntry
		if len(r.queue) > 0 {
			e, r.queue = r.queue[0], r.queue[1:]
		} else {
			var err error
			e, err = r.nextRaw(r.opts.Follow)
			if err != nil {
				return LogEntry{}, err
			}
		}
		if !r.opts.Until.IsZero() && e.Time.After(r.opts.Until) {
			return LogEntry{}, io.EOF
		}
		if !r.opts.Since.IsZero() && e.Time.Before(r.opts.Since) {
			continue
		}
		if e.Stream == "stdout" && !r.opts.Stdout || e.Stream == "stderr" && !r.opts.Stderr {
			continue
		}
		return e, nil
	}
}

// nextRaw returns the next entry of the files, unfiltered; with follow it
// waits for more while the container runs.
func (r *logReader) nextRaw(follow bool) (LogEntry, error) {
	for {
		if r.f == nil {
			if err := r.openNext(); err != nil {
				return LogEntry{}, err
			}
		}
		e, ok, err := readLogLine(r.br, &r.part)
		if ok {
			return e, nil
		}
		if err == nil {
			continue // a torn or foreign line: skip it as Docker does
		}
		if err != io.EOF {
			return LogEntry{}, err
		}
		if !r.live {
			r.f.Close()
			r.f, r.part = nil, r.part[:0]
			continue
		}
		if !follow {
			return LogEntry{}, io.EOF
		}
		if r.rotated() {
			r.f.Close()
			r.f, r.part = nil, r.part[:0]
			continue
		}
		running, exited := r.running()
		if !running {
			// One last look: the monitor writes everything before it
			// records the exit.
			if chunk, _ := r.br.ReadBytes('\n'); len(chunk) > 0 {
				r.part = append(r.part, chunk...)
				continue
			}
			return LogEntry{}, io.EOF
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return LogEntry{}, r.ctx.Err()
		case <-exited:
		case <-t.C:
		}
		t.Stop()
	}
}

func (r *logReader) openNext() error {
	p := r.path
	if len(r.files) > 0 {
		p, r.files = r.files[0], r.files[1:]
	} else {
		r.live = true
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		if r.live {
			// No log (driver none, or never started): an empty one.
			f, err = os.Open(os.DevNull)
		} else {
			return nil
		}
	}
	if err != nil {
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

// rotated reports whether the live file was replaced since it was opened.
func (r *logReader) rotated() bool { return logReplaced(r.f, r.br, r.path) }

// readLogLine reads the next json-file entry of a file that may still be
// written: a line without its newline yet is kept in part until the rest
// arrives. ok is false with a nil error for a torn or foreign line, which
// readers skip as Docker does; err is io.EOF when no whole line is there.
func readLogLine(br *bufio.Reader, part *[]byte) (e LogEntry, ok bool, err error) {
	chunk, err := br.ReadBytes('\n')
	*part = append(*part, chunk...)
	if err != nil {
		return LogEntry{}, false, err
	}
	line := *part
	*part = (*part)[:0]
	var j jsonLine
	if json.Unmarshal(line, &j) != nil {
		return LogEntry{}, false, nil
	}
	return LogEntry{Stream: j.Stream, Time: j.Time, Line: []byte(j.Log)}, true, nil
}

// logReplaced reports whether the live log at path is no longer the file f
// reads (rotated away), or was truncated below what has been read.
func logReplaced(f *os.File, br *bufio.Reader, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	if err1 != nil || err2 != nil {
		return false
	}
	if !os.SameFile(a, b) {
		return true
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return false
	}
	return b.Size() < off-int64(br.Buffered())
}
