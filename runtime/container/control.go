package container

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthhq/berth/runtime/container/cgroup"
)

// The monitor's control socket (<container dir>/monitor.sock) takes one
// request a connection, a line each way:
//
//	wait          no answer until the container has exited and its final
//	              state is written; then "ok" and the connection closes
//	kill <signo>  signal the container's PID 1 → "ok" | "err <message>"
//	pause         freeze the cgroup → "ok" | "err <message>"
//	unpause       thaw it           → "ok" | "err <message>"
//	ping          → "ok <pid>"
//	resize <h> <w>  size the terminal → "ok" | "err <message>"
//	attach <in> <out> <err>  (each 0 or 1) → "ok", then the connection
//	              carries the container's output as Docker's stdcopy
//	              frames (stream 1 or 2, a terminal's as 1) until its
//	              process exits, and takes input framed the same way
//	              (stream 0; an empty frame ends the input, which closes
//	              a StdinOnce process's stdin); closing it detaches
//
// A monitor that is gone (no socket, connection refused, or a closed
// connection without an answer) means the container is not running.

// errMonitorGone says the monitor no longer answers; errNotRunning is its
// answer once the container has exited (it may linger a moment).
var (
	errMonitorGone = errors.New("the container's monitor is gone")
	errNotRunning  = errors.New("the container is not running")
)

func isGone(err error) bool { return errors.Is(err, errMonitorGone) }

// monitorRequest sends one request and waits for the answer; wait requests
// also wait for the monitor to close the connection.
func monitorRequest(ctx context.Context, dir, req string, wait bool) error {
	addr, done, err := socketAddr(dir)
	if errors.Is(err, syscall.ENOENT) {
		return errMonitorGone
	}
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", addr)
	done()
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return errMonitorGone
		}
		return fmt.Errorf("reaching the container's monitor: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := conn.Write([]byte(req + "\n")); err != nil {
		return errMonitorGone
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		// A wait whose monitor closed without answering: it died, or
		// finished; the caller reads state.json either way.
		return errMonitorGone
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "err "); ok {
		if msg == errNotRunning.Error() {
			return errMonitorGone
		}
		return errors.New(msg)
	}
	if wait {
		io.Copy(io.Discard, conn)
	}
	return nil
}

// monitorAlive reports whether the container's monitor answers.
func monitorAlive(dir string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return monitorRequest(ctx, dir, "ping", false) == nil
}

// reapMonitor collects the exit of a monitor this process started (mon),
// or of one it adopted as a child subreaper (pid); anything else is not
// ours to wait for.
func reapMonitor(mon *os.Process, pid int) {
	if mon != nil {
		mon.Wait()
		return
	}
	if pid > 0 {
		var ws unix.WaitStatus
		for i := 0; i < 50; i++ {
			got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
			if got == pid || err != nil {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// runCommand runs a host command; its error names the command and carries
// its standard error.
func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
		}
		return nil, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}

// parsePS keeps the rows of ps output whose PID is one of pids, merging
// the overhanging columns of a command line into the last title, as
// Docker's top does.
func parsePS(out []byte, pids []int) ([]string, [][]string, error) {
	lines := strings.Split(string(out), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, nil, errors.New("ps printed nothing")
	}
	titles := strings.Fields(lines[0])
	pidIndex := -1
	for i, t := range titles {
		if t == "PID" {
			pidIndex = i
		}
	}
	if pidIndex < 0 {
		return nil, nil, invalidf("Couldn't find PID field in ps output")
	}
	want := map[int]bool{}
	for _, p := range pids {
		want[p] = true
	}
	var rows [][]string
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= pidIndex {
			continue
		}
		pid, err := strconv.Atoi(f[pidIndex])
		if err != nil || !want[pid] {
			continue
		}
		if len(f) > len(titles) {
			f = append(f[:len(titles)-1], strings.Join(f[len(titles)-1:], " "))
		}
		rows = append(rows, f)
	}
	return titles, rows, nil
}

// swapAccounting says whether the memory controller limits memory plus
// swap (v1 memory.memsw.*; v2 memory.swap.max).
func swapAccounting(root string, mode cgroup.Mode) bool {
	if mode == cgroup.ModeV2 {
		m, _ := filepath.Glob(filepath.Join(root, "*", "memory.swap.max"))
		return len(m) > 0
	}
	return exists(filepath.Join(root, "memory", "memory.memsw.limit_in_bytes"))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
