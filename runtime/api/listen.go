package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// SocketMode is the mode of the engine's socket: its owner (root) and its
// group may connect.
const SocketMode fs.FileMode = 0o660

// Listen creates the unix socket at path and listens on it. The socket is
// bound under a temporary name in the same directory, given mode 0660 and
// the group (when it exists in /etc/group), then renamed over path, so path
// never exists with the wrong owner or mode and a stale socket is replaced
// without a moment where path is missing. A missing directory is created
// 0755 (/run/berth). A live socket at path (another engine answers) or a
// path that is not a socket is refused. Closing the listener removes the
// socket, unless something else has replaced it meanwhile.
//
// When group does not exist, the socket is left in the caller's group and
// the returned error is nil; GroupExists tells the caller so it can warn.
func Listen(path, group string) (net.Listener, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("socket %s: the path must be absolute", path)
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the socket directory: %w", err)
		}
		// MkdirAll's mode passes through the umask.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the socket directory: %w", err)
		}
	}
	if err := checkStale(path); err != nil {
		return nil, err
	}
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		var unknown user.UnknownGroupError
		switch {
		case errors.As(err, &unknown):
		case err != nil:
			return nil, fmt.Errorf("socket group %q: %w", group, err)
		default:
			if gid, err = strconv.Atoi(g.Gid); err != nil {
				return nil, fmt.Errorf("socket group %q: gid %q: %w", group, g.Gid, err)
			}
		}
	}

	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", filepath.Base(path), os.Getpid()))
	_ = os.Remove(tmp)
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	ul := l.(*net.UnixListener)
	// The name changes under the listener; removal is ours (Close below).
	ul.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		ul.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(tmp, SocketMode); err != nil {
		return fail(err)
	}
	if gid >= 0 {
		if err := os.Chown(tmp, -1, gid); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &socketListener{UnixListener: ul, path: path, fi: fi}, nil
}

// GroupExists reports whether group is in the group database, for the
// daemon's warning when its socket group is missing.
func GroupExists(group string) bool {
	_, err := user.LookupGroup(group)
	return err == nil
}

// checkStale refuses to replace anything at path but a socket nobody
// answers on.
func checkStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; remove it or choose another path (-H)", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("another engine is already listening on %s; stop it first or choose another path (-H)", path)
	}
	return nil
}

// socketListener removes its socket file on Close when the file is still
// the one it created.
type socketListener struct {
	*net.UnixListener
	path string
	fi   fs.FileInfo
	once sync.Once
}

// Addr is the socket's final path, not the temporary name it was bound to.
func (l *socketListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.fi) {
			if rerr := os.Remove(l.path); rerr != nil && err == nil {
				err = rerr
			}
		}
	})
	return err
}
