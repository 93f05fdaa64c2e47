package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// sealedExe is the engine's copy of its own binary in a sealed memfd:
// every monitor and init runs from it, never from the binary's file on
// disk, so a container that gets hold of /proc/<pid>/exe cannot write to
// the engine's binary (CVE-2019-5736), and the copy cannot change either
// (no write, grow or shrink; the seals themselves are sealed). One copy
// per engine start, shared by every container.
type sealedExe struct {
	f    *os.File
	path string // /proc/self/fd/<n>, valid in this process
}

// mfdExec is MFD_EXEC (Linux 6.3+): executable even where the
// vm.memfd_noexec sysctl makes memfds non-executable by default.
const mfdExec = 0x10

func sealExecutable(src string) (*sealedExe, error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("sealing a copy of %s: %w", src, err)
	}
	defer in.Close()
	fd, err := unix.MemfdCreate("berth", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|mfdExec)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("berth", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("sealing a copy of %s: memfd_create: %w", src, err)
	}
	f := os.NewFile(uintptr(fd), "memfd:berth")
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing a copy of %s: %w", src, err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing a copy of %s: %w", src, err)
	}
	return &sealedExe{f: f, path: "/proc/self/fd/" + strconv.Itoa(fd)}, nil
}

func (s *sealedExe) close() { s.f.Close() }

// socketAddr is the monitor socket's address: its path, or when that is
// longer than a sockaddr_un holds, the same file reached through an O_PATH
// descriptor of the directory (/proc/self/fd/<n>/monitor.sock). done
// closes that descriptor once the socket is bound or connected.
func socketAddr(dir string) (string, func(), error) {
	p := filepath.Join(dir, monitorSock)
	if len(p) < 100 {
		return p, func() {}, nil
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + monitorSock, func() { unix.Close(fd) }, nil
}
