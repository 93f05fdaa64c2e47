package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errNoContainers answers every container and volume route of a server
// built without a ContainerBackend.
var errNoContainers = NotImplemented(errors.New("this Berth engine runs without a container runtime"))

func (s *Server) containerRoutes() {
	c := func(h handlerFunc) handlerFunc {
		if s.containers == nil {
			return func(http.ResponseWriter, *http.Request) error { return errNoContainers }
		}
		return h
	}
	s.route("POST /containers/create", []string{"name", "platform"}, c(s.createContainer))
	s.route("GET /containers/json", []string{"all", "limit", "size", "filters"}, c(s.listContainersHandler))
	s.route("POST /containers/prune", []string{"filters"}, c(s.pruneContainers))
	s.route("GET /containers/{id}/json", []string{"size"}, c(s.inspectContainer))
	s.route("POST /containers/{id}/start", nil, c(s.startContainer))
	s.route("POST /containers/{id}/stop", []string{"t", "signal"}, c(s.stopContainer))
	s.route("POST /containers/{id}/restart", []string{"t", "signal"}, c(s.restartContainer))
	s.route("POST /containers/{id}/kill", []string{"signal"}, c(s.killContainer))
	s.route("POST /containers/{id}/wait", []string{"condition"}, c(s.waitContainer))
	s.route("POST /containers/{id}/pause", nil, c(s.pauseContainer))
	s.route("POST /containers/{id}/unpause", nil, c(s.unpauseContainer))
	s.route("DELETE /containers/{id}", []string{"force", "v", "link"}, c(s.removeContainer))
	s.route("GET /containers/{id}/logs", []string{"follow", "stdout", "stderr", "since", "until", "timestamps", "tail"}, c(s.containerLogs))
	s.route("GET /containers/{id}/top", []string{"ps_args"}, c(s.topContainer))
	s.route("GET /containers/{id}/stats", []string{"stream", "one-shot"}, c(s.containerStats))
	s.route("POST /containers/{id}/attach", []string{"stream", "stdout", "stderr", "logs", "stdin", "detachKeys"}, c(s.attachContainer))

	s.route("GET /volumes", []string{"filters"}, c(s.listVolumes))
	s.route("POST /volumes/create", nil, c(s.createVolume))
	s.route("POST /volumes/prune", []string{"filters"}, c(s.pruneVolumes))
	s.route("GET /volumes/{name}", nil, c(s.inspectVolume))
	s.route("DELETE /volumes/{name}", []string{"force"}, c(s.removeVolume))
}

// noContent answers 204, as dockerd does for lifecycle operations.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createContainer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	name := q.Get("name")
	if name != "" {
		if err := ValidContainerName(name); err != nil {
			return err
		}
		name = strings.TrimPrefix(name, "/")
	}
	platform := q.Get("platform")
	if err := checkPlatform(platform); err != nil {
		return err
	}
	var req ContainerCreateRequest
	if err := decodeStrict(r, &req); err != nil {
		return err
	}
	mounts, err := ValidateCreate(&req)
	if err != nil {
		return err
	}
	resp, err := s.containers.Create(r.Context(), ContainerCreateOptions{Name: name, Platform: platform, Config: &req, Mounts: mounts})
	if err != nil {
		return err
	}
	if resp.Warnings == nil {
		resp.Warnings = []string{}
	}
	return writeJSON(w, http.StatusCreated, resp)
}

// checkPlatform accepts "" or linux/ARCH[/VARIANT].
func checkPlatform(p string) error {
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "linux" || parts[1] == "" {
		return InvalidParameterf("invalid platform %q: linux/ARCH[/VARIANT] (linux/amd64, linux/arm64, linux/arm/v7)", p)
	}
	return nil
}

func (s *Server) listContainersHandler(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := ParseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	if err := checkFilters(f, containerListFilters); err != nil {
		return err
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil {
			return InvalidParameterf("invalid limit %q: a number", v)
		}
	}
	list, err := s.containers.List(r.Context(), boolValue(q, "size"))
	if err != nil {
		return err
	}
	out, err := s.listContainers(r.Context(), list, boolValue(q, "all"), limit, f, time.Now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) inspectContainer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.containers.Inspect(r.Context(), r.PathValue("id"), boolValue(r.URL.Query(), "size"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) startContainer(w http.ResponseWriter, r *http.Request) error {
	if err := s.containers.Start(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// stopOptions reads t and signal.
func stopOptions(r *http.Request) (StopOptions, error) {
	q := r.URL.Query()
	var o StopOptions
	if v := q.Get("t"); v != "" {
		t, err := strconv.Atoi(v)
		if err != nil || t < -1 {
			return o, InvalidParameterf("invalid value for t: %q (seconds, or -1 to wait forever)", v)
		}
		o.Timeout = &t
	}
	if v := q.Get("signal"); v != "" {
		name, _, err := ParseSignal(v)
		if err != nil {
			return o, err
		}
		o.Signal = name
	}
	return o, nil
}

func (s *Server) stopContainer(w http.ResponseWriter, r *http.Request) error {
	o, err := stopOptions(r)
	if err != nil {
		return err
	}
	if err := s.containers.Stop(r.Context(), r.PathValue("id"), o); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) restartContainer(w http.ResponseWriter, r *http.Request) error {
	o, err := stopOptions(r)
	if err != nil {
		return err
	}
	if err := s.containers.Restart(r.Context(), r.PathValue("id"), o); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) killContainer(w http.ResponseWriter, r *http.Request) error {
	sig := "SIGKILL"
	if v := r.URL.Query().Get("signal"); v != "" {
		name, _, err := ParseSignal(v)
		if err != nil {
			return err
		}
		sig = name
	}
	if err := s.containers.Kill(r.Context(), r.PathValue("id"), sig); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) pauseContainer(w http.ResponseWriter, r *http.Request) error {
	if err := s.containers.Pause(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) unpauseContainer(w http.ResponseWriter, r *http.Request) error {
	if err := s.containers.Unpause(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) removeContainer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if boolValue(q, "link") {
		return InvalidParameterf("link=1 removes a legacy link; Berth has no links")
	}
	if err := s.containers.Remove(r.Context(), r.PathValue("id"), RemoveOptions{Force: boolValue(q, "force"), Volumes: boolValue(q, "v")}); err != nil {
		return err
	}
	return noContent(w)
}

// waitContainer registers the wait, answers the header at once (docker
// run starts the container only after that), then the result when it
// comes.
func (s *Server) waitContainer(w http.ResponseWriter, r *http.Request) error {
	cond := WaitCondition(r.URL.Query().Get("condition"))
	switch cond {
	case "":
		cond = WaitNotRunning
	case WaitNotRunning, WaitNextExit, WaitRemoved:
	default:
		return InvalidParameterf("invalid condition: %q: not-running, next-exit or removed", cond)
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ch, err := s.containers.Wait(ctx, r.PathValue("id"), cond)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil {
		return nil
	}
	select {
	case res, ok := <-ch:
		if !ok {
			res = ContainerWaitResponse{StatusCode: -1, Error: &WaitExitError{Message: "the engine stopped waiting"}}
		}
		_ = json.NewEncoder(w).Encode(res)
	case <-ctx.Done():
	}
	return nil
}

// logsOptions reads the parameters of GET /containers/{id}/logs.
func logsOptions(r *http.Request) (LogsOptions, bool, error) {
	q := r.URL.Query()
	o := LogsOptions{Follow: boolValue(q, "follow"), Stdout: boolValue(q, "stdout"), Stderr: boolValue(q, "stderr"), Tail: -1}
	if !o.Stdout && !o.Stderr {
		return o, false, InvalidParameterf("Bad parameters: you must choose at least one stream")
	}
	now := time.Now()
	for _, b := range []struct {
		key string
		t   *time.Time
	}{{"since", &o.Since}, {"until", &o.Until}} {
		if v := q.Get(b.key); v != "" && v != "0" {
			t, err := parseTime(v, now)
			if err != nil {
				return o, false, InvalidParameterf("invalid value for %s: %v", b.key, err)
			}
			*b.t = t
		}
	}
	if v := q.Get("tail"); v != "" && v != "all" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, false, InvalidParameterf("invalid value for tail: %q (a number of lines, or all)", v)
		}
		if n >= 0 {
			o.Tail = n
		}
	}
	return o, boolValue(q, "timestamps"), nil
}

// RFC3339NanoFixed is the timestamp logs --timestamps prints: always
// nine fractional digits, so the lines align.
const RFC3339NanoFixed = "2006-01-02T15:04:05.000000000Z07:00"

func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) error {
	opts, timestamps, err := logsOptions(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out, err := s.containers.Logs(ctx, r.PathValue("id"), opts)
	if err != nil {
		return err
	}
	ct := MediaTypeMultiplexedStream
	if out.TTY {
		ct = MediaTypeRawStream
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	fw := &frameWriter{w: w, rc: http.NewResponseController(w), tty: out.TTY, timestamps: timestamps}
	_ = fw.flush()
	fw.copy(ctx, out.Messages)
	return nil
}

// frameWriter writes output messages as Docker's stream: stdcopy frames
// unless the container has a TTY, each line after a timestamp when asked.
type frameWriter struct {
	mu         sync.Mutex
	w          io.Writer
	rc         *http.ResponseController // nil for a hijacked connection
	tty        bool
	timestamps bool
}

func (f *frameWriter) write(m OutputMessage) error {
	data := m.Data
	if f.timestamps {
		data = append([]byte(m.Time.UTC().Format(RFC3339NanoFixed)+" "), data...)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tty {
		_, err := f.w.Write(data)
		return err
	}
	stream := StreamStdout
	if m.Stream == "stderr" {
		stream = StreamStderr
	}
	return WriteFrame(f.w, stream, data)
}

func (f *frameWriter) flush() error {
	if f.rc == nil {
		return nil
	}
	return f.rc.Flush()
}

// copy writes messages until the channel closes, ctx ends or a write
// fails, flushing whenever no message is waiting.
func (f *frameWriter) copy(ctx context.Context, msgs <-chan OutputMessage) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-msgs:
			if !ok {
				return f.flush()
			}
			if err := f.write(m); err != nil {
				return err
			}
			if len(msgs) == 0 {
				if err := f.flush(); err != nil {
					return err
				}
			}
		}
	}
}

func (s *Server) topContainer(w http.ResponseWriter, r *http.Request) error {
	top, err := s.containers.Top(r.Context(), r.PathValue("id"), r.URL.Query().Get("ps_args"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, top)
}

// containerStats streams samples with the previous one's CPU beside each,
// as docker stats computes percentages from the pair. stream=0 answers
// one sample: the second the backend sends (so that CPU use has a
// baseline), or the first with one-shot=1.
func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	stream := !q.Has("stream") || boolValue(q, "stream")
	oneShot := boolValue(q, "one-shot")
	if oneShot && stream {
		return InvalidParameterf("one-shot is only valid with stream=0")
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ch, err := s.containers.Stats(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	send := func(st StatsJSON) bool {
		return enc.Encode(st) == nil && rc.Flush() == nil
	}
	var prev *StatsJSON
	for {
		select {
		case <-ctx.Done():
			return nil
		case st, ok := <-ch:
			if !ok {
				if !stream && prev != nil {
					send(*prev)
				}
				return nil
			}
			if prev != nil {
				st.PreRead, st.PreCPUStats = prev.Read, prev.CPUStats
			}
			first := prev == nil
			prev = &st
			if !stream && first && !oneShot && !st.Read.IsZero() {
				continue
			}
			if !send(st) || !stream {
				return nil
			}
		}
	}
}

// pruneContainers removes the containers that are not running and match
// the filters, with the backend's Remove: a container that started
// meanwhile refuses and is skipped.
func (s *Server) pruneContainers(w http.ResponseWriter, r *http.Request) error {
	f, err := ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := checkFilters(f, containerPruneFilters); err != nil {
		return err
	}
	until, err := untilFilter(f, time.Now())
	if err != nil {
		return err
	}
	list, err := s.containers.List(r.Context(), true)
	if err != nil {
		return err
	}
	rep := &ContainersPruneReport{ContainersDeleted: []string{}}
	for _, c := range list {
		if running(c) || (!until.IsZero() && !parseRFC3339(c.Created).Before(until)) ||
			!labelsMatch(f["label"], containerLabels(c)) || (len(f["label!"]) > 0 && anyLabel(f["label!"], containerLabels(c))) {
			continue
		}
		if err := s.containers.Remove(r.Context(), c.ID, RemoveOptions{}); err != nil {
			s.log.Info("prune: container not removed", "id", c.ID, "err", err)
			continue
		}
		rep.ContainersDeleted = append(rep.ContainersDeleted, c.ID)
		if c.SizeRw != nil && *c.SizeRw > 0 {
			rep.SpaceReclaimed += uint64(*c.SizeRw)
		}
	}
	return writeJSON(w, http.StatusOK, rep)
}

// untilFilter reads prune's until (one value).
func untilFilter(f map[string][]string, now time.Time) (time.Time, error) {
	vals := f["until"]
	switch len(vals) {
	case 0:
		return time.Time{}, nil
	case 1:
		t, err := parseTime(vals[0], now)
		if err != nil {
			return time.Time{}, InvalidParameterf("invalid filter 'until=%s': %v", vals[0], err)
		}
		return t, nil
	}
	return time.Time{}, InvalidParameterf("invalid filter 'until': give one value")
}

// anyLabel says whether one of the label filters matches (label!=).
func anyLabel(values []string, labels map[string]string) bool {
	for _, v := range values {
		if labelsMatch([]string{v}, labels) {
			return true
		}
	}
	return false
}

// attachContainer is POST /containers/{id}/attach: the connection is
// hijacked (101 UPGRADED when the client asked for the upgrade, as docker
// run does) and carries the container's output, framed unless it has a
// terminal, until its process exits; with stdin=1 the client's input
// goes to the process, until the detach keys. logs=1 first replays the
// log up to the moment of attaching.
func (s *Server) attachContainer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	stream, logs := boolValue(q, "stream"), boolValue(q, "logs")
	if !stream && !logs {
		return InvalidParameterf("attach needs stream=1 or logs=1")
	}
	keys, err := ParseDetachKeys(q.Get("detachKeys"))
	if err != nil {
		return err
	}
	opts := AttachOptions{Stdin: boolValue(q, "stdin"), Stdout: boolValue(q, "stdout"), Stderr: boolValue(q, "stderr")}
	// Not the request's context: net/http ends that when the client
	// half-closes, as the docker CLI does at once. relay notices a
	// client that has really gone.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	id := r.PathValue("id")
	var live *AttachStream
	var past *OutputStream
	attached := time.Now()
	if stream {
		if live, err = s.containers.Attach(ctx, id, opts); err != nil {
			return err
		}
	}
	if logs && (opts.Stdout || opts.Stderr) {
		if past, err = s.containers.Logs(ctx, id, LogsOptions{Stdout: opts.Stdout, Stderr: opts.Stderr, Until: attached, Tail: -1}); err != nil {
			return err
		}
	}
	tty := (live != nil && live.TTY) || (past != nil && past.TTY)
	conn, buf, err := hijack(w, r, tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	var stdin io.WriteCloser
	var out *OutputStream
	if live != nil {
		stdin, out = live.Stdin, &live.OutputStream
	}
	relay(ctx, cancel, conn, buf.Reader, tty, stdin, keys, past, out)
	return nil
}
