package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/api/apitest"
)

// TestMain lets the test binary play the daemon that systemd starts with a
// passed socket (see TestSocketActivation).
func TestMain(m *testing.M) {
	if os.Getenv("BERTH_TEST_ACTIVATED") == "1" {
		os.Exit(activatedDaemon())
	}
	os.Exit(m.Run())
}

// activatedDaemon runs Run as a systemd service would: LISTEN_FDS set,
// NOTIFY_SOCKET set, stopped by SIGTERM.
func activatedDaemon() int {
	cfg := DefaultConfig()
	dir := os.Getenv("BERTH_TEST_DIR")
	cfg.DataRoot = filepath.Join(dir, "data")
	// Where the daemon would listen without systemd: it must not.
	cfg.Hosts = []string{"unix://" + filepath.Join(dir, "own.sock")}
	err := Run(context.Background(), cfg, Options{
		NewImages: func(context.Context, *Config) (api.ImageBackend, error) { return apitest.NewBackend(), nil },
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestSocketActivation(t *testing.T) {
	dir, err := os.MkdirTemp("", "berthsd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// The socket systemd would own.
	sockPath := filepath.Join(dir, "berth.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	lf, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	// systemd's notification socket.
	notifyPath := filepath.Join(dir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	// LISTEN_PID must be the daemon's own pid: exec keeps the shell's.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" -test.run=^$`, self)
	cmd.Env = append(os.Environ(), "BERTH_TEST_ACTIVATED=1", "BERTH_TEST_DIR="+dir, "LISTEN_FDS=1", "NOTIFY_SOCKET="+notifyPath)
	cmd.ExtraFiles = []*os.File{lf} // fd 3, SD_LISTEN_FDS_START
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()

	readNotify := func() string {
		t.Helper()
		buf := make([]byte, 1024)
		notify.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := notify.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v\n%s", err, stderr.String())
		}
		return string(buf[:n])
	}
	if msg := readNotify(); !strings.HasPrefix(msg, "READY=1") {
		t.Fatalf("first notification %q, want READY=1", msg)
	}
	v, err := api.NewClient(sockPath).Version(context.Background())
	if err != nil || v.APIVersion != "1.43" {
		t.Fatalf("API on the passed socket: %+v, %v", v, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "own.sock")); !os.IsNotExist(err) {
		t.Errorf("the daemon made its own socket although systemd passed one: %v", err)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if msg := readNotify(); msg != "STOPPING=1" {
		t.Errorf("notification at SIGTERM %q, want STOPPING=1", msg)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("daemon exited with %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}
	// The socket is systemd's: it stays for the next activation.
	if _, err := os.Lstat(sockPath); err != nil {
		t.Errorf("the passed socket was removed: %v", err)
	}
}
