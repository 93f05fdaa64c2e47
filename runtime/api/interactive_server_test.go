package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
)

// upgrade sends a request that asks for the connection, as the docker CLI
// does, and returns the connection past the 101's headers.
func upgrade(t *testing.T, sock, method, target, body string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := method + " " + target + " HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	if body != "" {
		req += "Content-Type: application/json\r\nContent-Length: " + itoa(len(body)) + "\r\n"
	}
	io.WriteString(conn, req+"\r\n"+body)
	r := bufio.NewReader(conn)
	status, _ := r.ReadString('\n')
	if status != "HTTP/1.1 101 UPGRADED\r\n" {
		rest, _ := io.ReadAll(io.LimitReader(r, 4096))
		t.Fatalf("%s %s: %q %s", method, target, status, rest)
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			return conn, r
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// readFrames reads stdcopy frames until the server closes the stream.
func readFrames(t *testing.T, r io.Reader) string {
	t.Helper()
	done := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	select {
	case b := <-done:
		out, errOut, _ := frames(t, b)
		return out + errOut
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
	return ""
}

// TestAttachStdinAndDetachKeys: what the client types reaches the
// process; its input ending closes the process's stdin; the detach keys
// end the session without closing it.
func TestAttachStdinAndDetachKeys(t *testing.T) {
	s, ctrs := newContainerServer(t)
	sock := serve(t, s)
	mustCreate(t, s, "shell", true, "sh")

	conn, r := upgrade(t, sock, "POST", "/v1.43/containers/shell/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-a,b", "")
	io.WriteString(conn, "hello\n")
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, hdr[7])
	io.ReadFull(r, echo)
	if string(echo) != "stdin: hello\n" {
		t.Errorf("the process got %q", echo)
	}
	io.WriteString(conn, "\x01b and never this")
	if got := readFrames(t, r); got != "" {
		t.Errorf("the detached session carried %q", got)
	}
	if slices.ContainsFunc(ctrs.Calls(), func(c string) bool { return strings.HasPrefix(c, "CloseStdin") }) {
		t.Error("detaching closed the process's stdin")
	}

	conn, r = upgrade(t, sock, "POST", "/v1.43/containers/shell/attach?stream=1&stdin=1&stdout=1", "")
	io.WriteString(conn, "bye\n")
	conn.(*net.UnixConn).CloseWrite()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(ctrs.Calls(), "CloseStdin("+shellID(t, s)+")") {
		if time.Now().After(deadline) {
			t.Fatalf("the end of the client's input did not close stdin: %q", ctrs.Calls())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = r
}

func shellID(t *testing.T, s *api.Server) string {
	t.Helper()
	c := clientFor(t, s)
	ins, err := c.ContainerInspect(context.Background(), "shell", false)
	if err != nil {
		t.Fatal(err)
	}
	return ins.ID
}

// TestExecOnTheWire: create, start hijacked, inspect — the docker CLI's
// exec — and a process that cannot start, said on the stream.
func TestExecOnTheWire(t *testing.T) {
	s, _ := newContainerServer(t)
	sock := serve(t, s)
	mustCreate(t, s, "web", true, "sleep", "100")
	c := clientFor(t, s)
	create := func(cmd ...string) string {
		b, _ := json.Marshal(api.ExecCreateRequest{AttachStdout: true, AttachStderr: true, Cmd: cmd})
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "POST /v1.43/containers/web/exec HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: "+itoa(len(b))+"\r\n\r\n"+string(b))
		r := bufio.NewReader(conn)
		status, _ := r.ReadString('\n')
		if status != "HTTP/1.1 201 Created\r\n" {
			t.Fatalf("exec create: %q", status)
		}
		for {
			l, _ := r.ReadString('\n')
			if l == "\r\n" {
				break
			}
		}
		var id api.IDResponse
		if err := json.NewDecoder(r).Decode(&id); err != nil || len(id.ID) != 64 {
			t.Fatalf("exec create answered %+v %v", id, err)
		}
		return id.ID
	}
	id := create("ls", "-l")
	_, r := upgrade(t, sock, "POST", "/v1.43/exec/"+id+"/start", `{"Detach":false,"Tty":false}`)
	if got := readFrames(t, r); got != "ls -l\n" {
		t.Errorf("exec output %q", got)
	}
	ins, err := c.ExecInspect(context.Background(), id)
	if err != nil || ins.ExitCode == nil || *ins.ExitCode != 0 || ins.Running {
		t.Errorf("inspect after the stream: %+v %v", ins, err)
	}
	// Started twice: a conflict, before any hijack.
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /v1.43/exec/"+id+"/start HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
	if status, _ := bufio.NewReader(conn).ReadString('\n'); status != "HTTP/1.1 409 Conflict\r\n" {
		t.Errorf("second start: %q", status)
	}

	id = create("nosuch")
	_, r = upgrade(t, sock, "POST", "/v1.43/exec/"+id+"/start", `{}`)
	if got := readFrames(t, r); !strings.Contains(got, `exec: "nosuch": executable file not found`) {
		t.Errorf("a process that cannot start: %q", got)
	}
	if ins, err := c.ExecInspect(context.Background(), id); err != nil || ins.ExitCode == nil || *ins.ExitCode != 127 {
		t.Errorf("its exit code: %+v %v", ins, err)
	}
}
