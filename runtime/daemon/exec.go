package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/container"
)

// execKeep is how long a finished exec can still be inspected (the docker
// CLI inspects it right after its stream ends, for the exit code).
const execKeep = 5 * time.Minute

// execTable is the daemon's execs: created, started once, inspected. A
// finished exec is forgotten execKeep after it ended, one whose container
// is gone at once. Execs live in the daemon: one that runs when the
// daemon restarts runs on, unseen.
type execTable struct {
	mu   sync.Mutex
	byID map[string]*execRecord
}

type execRecord struct {
	id, container string
	req           api.ExecCreateRequest

	mu       sync.Mutex
	started  bool
	running  bool
	exitCode *int
	pid      int
	proc     *container.Process
	ended    time.Time
}

func (t *execTable) add(r *execRecord, exists func(id string) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID == nil {
		t.byID = map[string]*execRecord{}
	}
	now := time.Now()
	for id, old := range t.byID {
		old.mu.Lock()
		stale := !old.running && (!old.ended.IsZero() && now.Sub(old.ended) > execKeep || !exists(old.container))
		old.mu.Unlock()
		if stale {
			delete(t.byID, id)
		}
	}
	t.byID[r.id] = r
}

func (t *execTable) get(id string) (*execRecord, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byID[id]
	if !ok {
		return nil, api.NotFoundf("No such exec instance: %s", id)
	}
	return r, nil
}

func (b *ContainerBackend) ExecCreate(ctx context.Context, ref string, req api.ExecCreateRequest) (string, error) {
	c, err := b.Engine.Get(ref)
	if err != nil {
		return "", containerError(err)
	}
	switch {
	case c.State.Paused():
		return "", api.Conflictf("Container %s is paused, unpause the container before exec", c.ID)
	case !c.State.Running():
		return "", api.Conflictf("Container %s is not running", c.ID)
	}
	var raw [32]byte
	rand.Read(raw[:])
	r := &execRecord{id: hex.EncodeToString(raw[:]), container: c.ID, req: req}
	b.execs.add(r, func(id string) bool { _, err := b.Engine.Get(id); return err == nil })
	return r.id, nil
}

func (b *ContainerBackend) ExecInspect(ctx context.Context, id string) (*api.ExecInspect, error) {
	r, err := b.execs.get(id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	privileged := r.req.Privileged
	return &api.ExecInspect{
		ID: r.id, ContainerID: r.container, Running: r.running, ExitCode: r.exitCode, Pid: r.pid,
		DetachKeys: r.req.DetachKeys, OpenStdin: r.req.AttachStdin, OpenStdout: r.req.AttachStdout, OpenStderr: r.req.AttachStderr,
		ProcessConfig: api.ExecProcessConfig{
			Tty: r.req.Tty, Entrypoint: r.req.Cmd[0], Arguments: append([]string{}, r.req.Cmd[1:]...),
			Privileged: &privileged, User: r.req.User,
		},
	}, nil
}

func (b *ContainerBackend) ExecStart(ctx context.Context, id string, detach bool, size *[2]uint) (*api.AttachStream, error) {
	r, err := b.execs.get(id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return nil, api.Conflictf("exec %s has already been started", id)
	}
	r.started = true
	r.mu.Unlock()
	if size == nil {
		size = r.req.ConsoleSize
	}
	cfg := container.ExecConfig{
		Cmd: r.req.Cmd, Env: r.req.Env, User: r.req.User, WorkingDir: r.req.WorkingDir,
		Privileged: r.req.Privileged, Tty: r.req.Tty, Stdin: r.req.AttachStdin && !detach,
	}
	if size != nil {
		cfg.Rows, cfg.Cols = uint16(min(size[0], 65535)), uint16(min(size[1], 65535))
	}
	// The process outlives the request that starts it.
	p, err := b.Engine.Exec(context.WithoutCancel(ctx), r.container, cfg)
	if err != nil {
		code := container.ExitCannotInvoke
		var se *container.StartError
		if errors.As(err, &se) && se.Code != container.ExitEngineError {
			code = se.Code
		}
		r.mu.Lock()
		r.exitCode = &code
		r.ended = time.Now()
		r.mu.Unlock()
		return nil, containerError(err)
	}
	r.mu.Lock()
	r.running, r.pid, r.proc = true, p.Pid, p
	r.mu.Unlock()

	out := make(chan api.OutputMessage, 16)
	var pumps sync.WaitGroup
	pump := func(stream string, rd io.Reader) {
		defer pumps.Done()
		buf := make([]byte, 32<<10)
		drop := detach
		for {
			n, err := rd.Read(buf)
			if n > 0 && !drop {
				m := api.OutputMessage{Stream: stream, Time: time.Now(), Data: append([]byte(nil), buf[:n]...)}
				select {
				case out <- m:
				case <-ctx.Done():
					// The client has gone or detached: the output is
					// read on and dropped, so the process never blocks.
					drop = true
				}
			}
			if err != nil {
				return
			}
		}
	}
	outputs := map[string]*os.File{"stdout": p.Stdout, "stderr": p.Stderr}
	if p.Console != nil {
		// A terminal's output is one stream.
		outputs = map[string]*os.File{"stdout": p.Console}
	}
	for stream, f := range outputs {
		if f != nil {
			pumps.Add(1)
			go pump(stream, f)
		}
	}
	go func() {
		pumps.Wait()
		code := p.Wait()
		r.mu.Lock()
		r.running, r.exitCode, r.ended, r.proc = false, &code, time.Now(), nil
		r.mu.Unlock()
		close(out)
	}()
	if detach {
		return nil, nil
	}
	st := &api.AttachStream{OutputStream: api.OutputStream{TTY: r.req.Tty, Messages: out}}
	switch {
	case !cfg.Stdin:
	case p.Console != nil:
		st.Stdin = consoleInput{p.Console}
	default:
		st.Stdin = p.Stdin
	}
	return st, nil
}

// consoleInput is a terminal's input: the end of the client's input does
// not close the terminal (the process would lose it).
type consoleInput struct{ f *os.File }

func (c consoleInput) Write(p []byte) (int, error) { return c.f.Write(p) }
func (c consoleInput) Close() error                { return nil }

func (b *ContainerBackend) ExecResize(ctx context.Context, id string, height, width uint) error {
	r, err := b.execs.get(id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return api.Conflictf("exec %s is not running", id)
	}
	return containerError(p.Resize(uint16(min(height, 65535)), uint16(min(width, 65535))))
}
