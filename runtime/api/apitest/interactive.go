package apitest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/berthhq/berth/runtime/api"
)

// Interactive is a fake engine for the interactive endpoints, at the HTTP
// level, so that a client's wire behaviour (upgrades, framing, the
// half-close after stdin, resizes) is what is tested: _ping, container
// inspect, start, wait, attach (with stdin), resize, and exec create,
// start (upgraded or detached), inspect and resize. Processes are pretend
// programs, by argv[0]:
//
//	cat           copies stdin to stdout until stdin ends
//	echo ARG...   prints its arguments on stdout
//	warn ARG...   prints its arguments on stderr
//	exit N        exits with status N
//	env           prints "user=U workdir=W privileged=P env=A=1,B=2"
//	size          prints its terminal's size, "H W"
//	anything else is not found: a message on stdout and status 127,
//	              as the engine reports a failed exec
//
// With a TTY a process's stderr joins its stdout on the one raw stream;
// without, output is framed. Every request is recorded (Calls); one the
// fake does not know is a 404 recorded as "UNKNOWN METHOD PATH", so a
// test comparing calls sees it.
type Interactive struct {
	mu    sync.Mutex
	calls []string
	ctrs  []*InteractiveContainer
	execs map[string]*fakeExec
	seq   int
}

// InteractiveContainer is a container of the Interactive fake.
type InteractiveContainer struct {
	ID, Name       string
	Cmd            []string
	Tty, OpenStdin bool
	StdinOnce      bool
	AutoRemove     bool

	running bool
	code    int
	size    [2]uint
	stdinR  *io.PipeReader
	stdinW  *io.PipeWriter
	sinks   []*sink
	exited  chan struct{}
}

type fakeExec struct {
	id      string
	ctr     *InteractiveContainer
	req     api.ExecCreateRequest
	running bool
	code    *int
	size    [2]uint
}

// sink is one attached connection: output goes to it, framed or raw.
type sink struct {
	mu   sync.Mutex
	conn net.Conn
	tty  bool
}

func (s *sink) write(stream byte, p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tty {
		s.conn.Write(p)
		return
	}
	api.WriteFrame(s.conn, stream, p)
}

// NewInteractive is a fake engine with no containers; Add adds them.
func NewInteractive() *Interactive {
	return &Interactive{execs: map[string]*fakeExec{}}
}

// Add adds a container; a running one's process starts now.
func (f *Interactive) Add(c *InteractiveContainer, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c.exited = make(chan struct{})
	c.stdinR, c.stdinW = io.Pipe()
	if c.ID == "" {
		f.seq++
		c.ID = fmt.Sprintf("%064x", f.seq)
	}
	f.ctrs = append(f.ctrs, c)
	if running {
		f.startLocked(c)
	}
}

// Calls returns the requests so far and forgets them.
func (f *Interactive) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// Running says whether the named container runs.
func (f *Interactive) Running(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findLocked(name)
	return c != nil && c.running
}

func (f *Interactive) record(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
}

func (f *Interactive) findLocked(ref string) *InteractiveContainer {
	for _, c := range f.ctrs {
		if c.Name == ref || c.ID == ref || (len(ref) >= 12 && strings.HasPrefix(c.ID, ref)) {
			return c
		}
	}
	return nil
}

func (f *Interactive) container(w http.ResponseWriter, ref string) *InteractiveContainer {
	f.mu.Lock()
	c := f.findLocked(ref)
	f.mu.Unlock()
	if c == nil {
		writeError(w, http.StatusNotFound, "No such container: "+ref)
	}
	return c
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

// ServeHTTP answers the interactive endpoints.
func (f *Interactive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", api.Version)
	if r.URL.Path == "/_ping" {
		io.WriteString(w, "OK")
		return
	}
	p := versionPrefix.ReplaceAllString(r.URL.Path, "/")
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(parts) == 3 {
		key := r.Method + " " + parts[0] + " " + parts[2]
		switch key {
		case "GET containers json":
			f.inspect(w, parts[1])
			return
		case "POST containers start":
			f.start(w, parts[1])
			return
		case "POST containers wait":
			f.wait(w, r, parts[1])
			return
		case "POST containers attach":
			f.attach(w, r, parts[1])
			return
		case "POST containers resize":
			f.resize(w, r, parts[1], "")
			return
		case "POST containers exec":
			f.execCreate(w, r, parts[1])
			return
		case "POST exec start":
			f.execStart(w, r, parts[1])
			return
		case "GET exec json":
			f.execInspect(w, parts[1])
			return
		case "POST exec resize":
			f.resize(w, r, "", parts[1])
			return
		}
	}
	f.record("UNKNOWN %s %s", r.Method, r.URL.Path)
	writeError(w, http.StatusNotFound, "page not found")
}

func (f *Interactive) inspect(w http.ResponseWriter, ref string) {
	c := f.container(w, ref)
	if c == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	status := "exited"
	if c.running {
		status = "running"
	}
	writeJSON(w, http.StatusOK, api.ContainerJSON{
		ID: c.ID, Name: "/" + c.Name,
		State:      &api.ContainerState{Status: status, Running: c.running, ExitCode: c.code},
		Config:     &api.ContainerConfig{Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce, Cmd: c.Cmd},
		HostConfig: &api.HostConfig{AutoRemove: c.AutoRemove},
	})
}

func (f *Interactive) start(w http.ResponseWriter, ref string) {
	c := f.container(w, ref)
	if c == nil {
		return
	}
	f.record("ContainerStart(%s)", c.Name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.running {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	f.startLocked(c)
	w.WriteHeader(http.StatusNoContent)
}

// startLocked runs the container's process; its output goes to whoever
// is attached at the time.
func (f *Interactive) startLocked(c *InteractiveContainer) {
	c.running = true
	out := func(stream byte) io.Writer {
		return writerFunc(func(p []byte) (int, error) {
			f.mu.Lock()
			sinks := slices.Clone(c.sinks)
			f.mu.Unlock()
			for _, s := range sinks {
				if c.Tty {
					stream = api.StreamStdout
				}
				s.write(stream, p)
			}
			return len(p), nil
		})
	}
	go func() {
		code := runPretend(c.Cmd, api.ExecCreateRequest{}, &c.size, &f.mu, c.stdinR, out(api.StreamStdout), out(api.StreamStderr))
		f.mu.Lock()
		c.running, c.code = false, code
		sinks := c.sinks
		c.sinks = nil
		close(c.exited)
		f.mu.Unlock()
		for _, s := range sinks {
			s.conn.Close()
		}
	}()
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

func (f *Interactive) wait(w http.ResponseWriter, r *http.Request, ref string) {
	c := f.container(w, ref)
	if c == nil {
		return
	}
	f.record("ContainerWait(%s, %s)", c.Name, r.URL.Query().Get("condition"))
	f.mu.Lock()
	exited := c.exited
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	select {
	case <-exited:
	case <-r.Context().Done():
		return
	}
	f.mu.Lock()
	code := c.code
	f.mu.Unlock()
	json.NewEncoder(w).Encode(api.ContainerWaitResponse{StatusCode: code})
}

// upgrade hijacks the connection and answers as the engine does.
func upgrade(w http.ResponseWriter, r *http.Request, tty bool) (net.Conn, *bufio.Reader, error) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	ct := api.MediaTypeMultiplexedStream
	if tty {
		ct = api.MediaTypeRawStream
	}
	status := "HTTP/1.1 200 OK\r\n"
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
		status = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	}
	fmt.Fprintf(buf, "%sContent-Type: %s\r\n\r\n", status, ct)
	if err := buf.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, buf.Reader, nil
}

func (f *Interactive) attach(w http.ResponseWriter, r *http.Request, ref string) {
	c := f.container(w, ref)
	if c == nil {
		return
	}
	q := r.URL.Query()
	f.record("ContainerAttach(%s, stream=%s, stdin=%s, stdout=%s, stderr=%s, detachKeys=%q)", c.Name, q.Get("stream"), q.Get("stdin"), q.Get("stdout"), q.Get("stderr"), q.Get("detachKeys"))
	if q.Get("stdin") == "1" && !c.OpenStdin {
		// The engine attaches no stdin to a container without one.
		writeError(w, http.StatusBadRequest, "fake: stdin=1 for a container without OpenStdin")
		return
	}
	conn, in, err := upgrade(w, r, c.Tty)
	if err != nil {
		return
	}
	s := &sink{conn: conn, tty: c.Tty}
	f.mu.Lock()
	select {
	case <-c.exited:
		// Its process has ended: nothing more will come.
		f.mu.Unlock()
		conn.Close()
		return
	default:
	}
	c.sinks = append(c.sinks, s)
	f.mu.Unlock()
	if q.Get("stdin") != "1" {
		return
	}
	go func() {
		io.Copy(c.stdinW, in)
		if c.StdinOnce {
			c.stdinW.Close()
		}
	}()
}

func (f *Interactive) resize(w http.ResponseWriter, r *http.Request, ref, execID string) {
	q := r.URL.Query()
	h, herr := strconv.ParseUint(q.Get("h"), 10, 32)
	wd, werr := strconv.ParseUint(q.Get("w"), 10, 32)
	if herr != nil || werr != nil {
		writeError(w, http.StatusBadRequest, "fake: resize needs h and w")
		return
	}
	size := [2]uint{uint(h), uint(wd)}
	if execID != "" {
		f.mu.Lock()
		e := f.execs[execID]
		if e != nil {
			e.size = size
		}
		f.mu.Unlock()
		if e == nil {
			writeError(w, http.StatusNotFound, "No such exec instance: "+execID)
			return
		}
		f.record("ExecResize(%s, %d, %d)", execID, h, wd)
	} else {
		c := f.container(w, ref)
		if c == nil {
			return
		}
		f.mu.Lock()
		c.size = size
		f.mu.Unlock()
		f.record("ContainerResize(%s, %d, %d)", c.Name, h, wd)
	}
	w.WriteHeader(http.StatusOK)
}

func consoleString(s *[2]uint) string {
	if s == nil {
		return "none"
	}
	return fmt.Sprintf("%dx%d", s[0], s[1])
}

func (f *Interactive) execCreate(w http.ResponseWriter, r *http.Request, ref string) {
	c := f.container(w, ref)
	if c == nil {
		return
	}
	var req api.ExecCreateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "fake: "+err.Error())
		return
	}
	f.record("ExecCreate(%s, %q, tty=%t, stdin=%t, stdout=%t, stderr=%t, user=%q, workdir=%q, env=%q, privileged=%t, detachKeys=%q, console=%s)",
		c.Name, req.Cmd, req.Tty, req.AttachStdin, req.AttachStdout, req.AttachStderr, req.User, req.WorkingDir, req.Env, req.Privileged, req.DetachKeys, consoleString(req.ConsoleSize))
	f.mu.Lock()
	defer f.mu.Unlock()
	if !c.running {
		writeError(w, http.StatusConflict, fmt.Sprintf("container %s is not running", c.ID))
		return
	}
	f.seq++
	e := &fakeExec{id: fmt.Sprintf("exec%d", f.seq), ctr: c, req: req}
	if req.ConsoleSize != nil {
		e.size = *req.ConsoleSize
	}
	f.execs[e.id] = e
	writeJSON(w, http.StatusCreated, api.IDResponse{ID: e.id})
}

func (f *Interactive) execStart(w http.ResponseWriter, r *http.Request, id string) {
	var req api.ExecStartRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "fake: "+err.Error())
		return
	}
	f.record("ExecStart(%s, detach=%t, tty=%t, console=%s, upgrade=%q)", id, req.Detach, req.Tty, consoleString(req.ConsoleSize), r.Header.Get("Upgrade"))
	f.mu.Lock()
	e := f.execs[id]
	switch {
	case e == nil:
		f.mu.Unlock()
		writeError(w, http.StatusNotFound, "No such exec instance: "+id)
		return
	case e.running || e.code != nil:
		f.mu.Unlock()
		writeError(w, http.StatusConflict, "Error: Exec command "+id+" has already run")
		return
	}
	e.running = true
	if req.ConsoleSize != nil {
		e.size = *req.ConsoleSize
	}
	f.mu.Unlock()
	finish := func(code int) {
		f.mu.Lock()
		e.running, e.code = false, &code
		f.mu.Unlock()
	}
	if req.Detach {
		go finish(runPretend(e.req.Cmd, e.req, &e.size, &f.mu, strings.NewReader(""), io.Discard, io.Discard))
		w.WriteHeader(http.StatusOK)
		return
	}
	conn, in, err := upgrade(w, r, e.req.Tty)
	if err != nil {
		return
	}
	s := &sink{conn: conn, tty: e.req.Tty}
	var stdin io.Reader = strings.NewReader("")
	if e.req.AttachStdin {
		stdin = in
	}
	out := func(stream byte, on bool) io.Writer {
		return writerFunc(func(p []byte) (int, error) {
			if on {
				if e.req.Tty {
					stream = api.StreamStdout
				}
				s.write(stream, p)
			}
			return len(p), nil
		})
	}
	code := runPretend(e.req.Cmd, e.req, &e.size, &f.mu, stdin, out(api.StreamStdout, e.req.AttachStdout), out(api.StreamStderr, e.req.AttachStderr))
	// The exit code is recorded before the stream ends, as the engine
	// does, so that an inspect after the end sees it.
	finish(code)
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	conn.Close()
}

func (f *Interactive) execInspect(w http.ResponseWriter, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.execs[id]
	if e == nil {
		writeError(w, http.StatusNotFound, "No such exec instance: "+id)
		return
	}
	var entry string
	var args []string
	if len(e.req.Cmd) > 0 {
		entry, args = e.req.Cmd[0], e.req.Cmd[1:]
	}
	writeJSON(w, http.StatusOK, api.ExecInspect{
		ID: e.id, ContainerID: e.ctr.ID, Running: e.running, ExitCode: e.code, DetachKeys: e.req.DetachKeys,
		OpenStdin: e.req.AttachStdin, OpenStdout: e.req.AttachStdout, OpenStderr: e.req.AttachStderr,
		ProcessConfig: api.ExecProcessConfig{Tty: e.req.Tty, Entrypoint: entry, Arguments: args, User: e.req.User},
	})
}

// runPretend runs one pretend program (see Interactive) and returns its
// status. size is read under mu.
func runPretend(argv []string, cfg api.ExecCreateRequest, size *[2]uint, mu *sync.Mutex, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(argv) == 0 {
		fmt.Fprintln(stdout, "fake: no command")
		return 126
	}
	switch argv[0] {
	case "cat":
		io.Copy(stdout, stdin)
		return 0
	case "echo":
		fmt.Fprintln(stdout, strings.Join(argv[1:], " "))
		return 0
	case "warn":
		fmt.Fprintln(stderr, strings.Join(argv[1:], " "))
		return 0
	case "exit":
		if len(argv) == 2 {
			if n, err := strconv.Atoi(argv[1]); err == nil {
				return n
			}
		}
		return 2
	case "env":
		fmt.Fprintf(stdout, "user=%s workdir=%s privileged=%t env=%s\n", cfg.User, cfg.WorkingDir, cfg.Privileged, strings.Join(cfg.Env, ","))
		return 0
	case "size":
		mu.Lock()
		s := *size
		mu.Unlock()
		fmt.Fprintf(stdout, "%d %d\n", s[0], s[1])
		return 0
	}
	fmt.Fprintf(stdout, "OCI runtime exec failed: exec failed: unable to start container process: exec: %q: executable file not found in $PATH: unknown\r\n", argv[0])
	return 127
}
