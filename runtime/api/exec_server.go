package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

func (s *Server) execRoutes() {
	c := func(h handlerFunc) handlerFunc {
		if s.containers == nil {
			return func(http.ResponseWriter, *http.Request) error { return errNoContainers }
		}
		return h
	}
	s.route("POST /containers/{id}/resize", []string{"h", "w"}, c(s.resizeContainer))
	s.route("POST /containers/{id}/exec", nil, c(s.createExec))
	s.route("POST /exec/{id}/start", nil, c(s.startExec))
	s.route("POST /exec/{id}/resize", []string{"h", "w"}, c(s.resizeExec))
	s.route("GET /exec/{id}/json", nil, c(s.inspectExec))
}

// consoleSize reads resize's h and w.
func consoleSize(r *http.Request) (uint, uint, error) {
	q := r.URL.Query()
	h, err1 := strconv.ParseUint(q.Get("h"), 10, 16)
	w, err2 := strconv.ParseUint(q.Get("w"), 10, 16)
	if err1 != nil || err2 != nil {
		return 0, 0, InvalidParameterf("invalid terminal size h=%q w=%q: two numbers from 0 to 65535", q.Get("h"), q.Get("w"))
	}
	return uint(h), uint(w), nil
}

func (s *Server) resizeContainer(w http.ResponseWriter, r *http.Request) error {
	h, wd, err := consoleSize(r)
	if err != nil {
		return err
	}
	if err := s.containers.Resize(r.Context(), r.PathValue("id"), h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) resizeExec(w http.ResponseWriter, r *http.Request) error {
	h, wd, err := consoleSize(r)
	if err != nil {
		return err
	}
	if err := s.containers.ExecResize(r.Context(), r.PathValue("id"), h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) createExec(w http.ResponseWriter, r *http.Request) error {
	var req ExecCreateRequest
	if err := decodeStrict(r, &req); err != nil {
		return err
	}
	if len(req.Cmd) == 0 {
		return InvalidParameterf("No exec command specified")
	}
	if _, err := ParseDetachKeys(req.DetachKeys); err != nil {
		return err
	}
	for _, e := range req.Env {
		if k, _, _ := strings.Cut(e, "="); k == "" {
			return InvalidParameterf("invalid environment variable: %q", e)
		}
	}
	id, err := s.containers.ExecCreate(r.Context(), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, IDResponse{ID: id})
}

func (s *Server) inspectExec(w http.ResponseWriter, r *http.Request) error {
	ins, err := s.containers.ExecInspect(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ins)
}

// startExec is POST /exec/{id}/start: detached, it starts the process and
// answers; otherwise the connection is hijacked first and then carries
// the process's streams. A process that cannot start is said on the
// stream, as dockerd does, and the exec's exit code (126, 127) tells the
// client the rest.
func (s *Server) startExec(w http.ResponseWriter, r *http.Request) error {
	var req ExecStartRequest
	if r.ContentLength != 0 {
		if err := decodeStrict(r, &req); err != nil {
			return err
		}
	}
	id := r.PathValue("id")
	ins, err := s.containers.ExecInspect(r.Context(), id)
	if err != nil {
		return err
	}
	if req.Detach {
		if _, err := s.containers.ExecStart(r.Context(), id, true, req.ConsoleSize); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	keys, err := ParseDetachKeys(ins.DetachKeys)
	if err != nil {
		return err
	}
	if ins.Running || ins.ExitCode != nil {
		return Conflictf("exec %s has already been started", id)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	tty := ins.ProcessConfig.Tty
	conn, buf, err := hijack(w, r, tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := s.containers.ExecStart(ctx, id, false, req.ConsoleSize)
	if err != nil {
		fw := &frameWriter{w: conn, tty: tty}
		msg := err.Error()
		if tty {
			msg += "\r"
		}
		fw.write(OutputMessage{Stream: "stderr", Data: []byte(msg + "\n")})
		closeWrite(conn)
		return nil
	}
	relay(ctx, cancel, conn, buf.Reader, tty, st.Stdin, keys, &st.OutputStream)
	return nil
}

// hijack takes the connection over for a stream: 101 UPGRADED when the
// client asked for the upgrade (as the docker CLI does), 200 otherwise,
// with the stream's media type.
func hijack(w http.ResponseWriter, r *http.Request, tty bool) (net.Conn, *bufio.ReadWriter, error) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijacking the connection: %w", err)
	}
	ct := MediaTypeMultiplexedStream
	if tty {
		ct = MediaTypeRawStream
	}
	status := "HTTP/1.1 200 OK\r\n"
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
		status = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	}
	h := w.Header().Clone()
	h.Set("Content-Type", ct)
	io.WriteString(buf, status)
	h.Write(buf)
	io.WriteString(buf, "\r\n")
	if err := buf.Flush(); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("hijacking the connection: %w", err)
	}
	return conn, buf, nil
}

// relay carries a hijacked session: the streams' output to the client in
// order, and the client's input to stdin through the detach keys. The
// client's input ending closes stdin; the detach keys end the session
// (cancel) and leave the process running. Without stdin, the input is
// read only to notice a client that has gone: the docker CLI half-closes
// its side at once, so EOF is no goodbye.
func relay(ctx context.Context, cancel context.CancelFunc, conn net.Conn, in *bufio.Reader, tty bool, stdin io.WriteCloser, keys []byte, streams ...*OutputStream) {
	go func() {
		if stdin == nil {
			if _, err := io.Copy(io.Discard, in); err != nil && !errors.Is(err, net.ErrClosed) {
				cancel()
			}
			return
		}
		r := NewEscapeReader(in, keys)
		buf := make([]byte, 32<<10)
		writable := true
		for {
			n, err := r.Read(buf)
			if n > 0 && writable {
				// A process that stopped reading does not end the
				// session: its output may still come.
				_, werr := stdin.Write(buf[:n])
				writable = werr == nil
			}
			switch {
			case err == nil:
				continue
			case errors.Is(err, io.EOF):
				stdin.Close()
			case !errors.Is(err, net.ErrClosed):
				// Detached, or the client has gone.
				cancel()
			}
			return
		}
	}()
	fw := &frameWriter{w: conn, tty: tty}
	for _, st := range streams {
		if st == nil {
			continue
		}
		if err := fw.copy(ctx, st.Messages); err != nil {
			return
		}
	}
	closeWrite(conn)
}

func closeWrite(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}
