package apitest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berthhq/berth/runtime/api"
)

// pretendExec is an exec of a pretend container: its process prints its
// command line and exits 0, or 127 when the command is "nosuch".
type pretendExec struct {
	id, container string
	req           api.ExecCreateRequest
	started       bool
	exitCode      *int
}

// ExecCreate records an exec in a running container.
func (b *Containers) ExecCreate(ctx context.Context, ref string, req api.ExecCreateRequest) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("ExecCreate(%s, %q)", ref, req.Cmd)
	c, err := b.find(ref)
	if err != nil {
		return "", err
	}
	if !c.info.State.Running {
		return "", api.Conflictf("Container %s is not running", c.info.ID)
	}
	if b.execs == nil {
		b.execs = map[string]*pretendExec{}
	}
	id := fmt.Sprintf("%064x", len(b.execs)+1)
	b.execs[id] = &pretendExec{id: id, container: c.info.ID, req: req}
	return id, nil
}

func (b *Containers) findExec(id string) (*pretendExec, error) {
	x, ok := b.execs[id]
	if !ok {
		return nil, api.NotFoundf("No such exec instance: %s", id)
	}
	return x, nil
}

// ExecInspect describes a recorded exec.
func (b *Containers) ExecInspect(ctx context.Context, id string) (*api.ExecInspect, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	x, err := b.findExec(id)
	if err != nil {
		return nil, err
	}
	return &api.ExecInspect{
		ID: x.id, ContainerID: x.container, ExitCode: x.exitCode, DetachKeys: x.req.DetachKeys,
		OpenStdin: x.req.AttachStdin, OpenStdout: x.req.AttachStdout, OpenStderr: x.req.AttachStderr,
		ProcessConfig: api.ExecProcessConfig{Tty: x.req.Tty, Entrypoint: x.req.Cmd[0], Arguments: x.req.Cmd[1:], User: x.req.User},
	}, nil
}

// ExecStart runs the pretend process: its command line on stdout, then
// its exit.
func (b *Containers) ExecStart(ctx context.Context, id string, detach bool, size *[2]uint) (*api.AttachStream, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("ExecStart(%s, detach=%t)", id, detach)
	x, err := b.findExec(id)
	if err != nil {
		return nil, err
	}
	if x.started {
		return nil, api.Conflictf("exec %s has already been started", id)
	}
	x.started = true
	code := 0
	if x.req.Cmd[0] == "nosuch" {
		code = 127
		x.exitCode = &code
		return nil, fmt.Errorf("exec: %q: executable file not found in $PATH", x.req.Cmd[0])
	}
	x.exitCode = &code
	if detach {
		return nil, nil
	}
	out := make(chan api.OutputMessage, 1)
	out <- api.OutputMessage{Stream: "stdout", Time: time.Now(), Data: []byte(strings.Join(x.req.Cmd, " ") + "\n")}
	close(out)
	return &api.AttachStream{OutputStream: api.OutputStream{TTY: x.req.Tty, Messages: out}}, nil
}

// ExecResize records the size of an exec's terminal.
func (b *Containers) ExecResize(ctx context.Context, id string, height, width uint) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("ExecResize(%s, %d, %d)", id, height, width)
	_, err := b.findExec(id)
	return err
}
