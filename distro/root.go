package distro

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// rootFS reads files of a host whose root directory is dir. Symlinks are
// resolved inside dir, as the host itself would resolve them, so an absolute
// link in an offline root never points at the machine running Berth.
type rootFS struct{ dir string }

// errLoop is returned when resolving a path meets too many symlinks.
var errLoop = errors.New("too many levels of symbolic links")

// resolve returns the host path of p (an absolute path on the inspected
// system) with every symlink resolved inside the root. The last element may
// be missing.
func (r rootFS) resolve(p string) (string, error) {
	if r.dir == "/" {
		return path.Clean("/" + p), nil
	}
	rest := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	cur := "/"
	for hops := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		if name == "" || name == "." {
			continue
		}
		if name == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, name)
		fi, err := os.Lstat(filepath.Join(r.dir, next))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			if err != nil && len(rest) > 0 {
				return "", err
			}
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: %w", p, errLoop)
		}
		target, err := os.Readlink(filepath.Join(r.dir, next))
		if err != nil {
			return "", err
		}
		if !path.IsAbs(target) {
			target = path.Join(cur, target)
		}
		rest = append(strings.Split(strings.TrimPrefix(path.Clean(target), "/"), "/"), rest...)
		cur = "/"
	}
	return filepath.Join(r.dir, cur), nil
}

// host returns the host path of p, resolved inside the root; "" if that
// fails.
func (r rootFS) host(p string) string {
	hp, err := r.resolve(p)
	if err != nil {
		return ""
	}
	return hp
}

// read returns the content of p.
func (r rootFS) read(p string) ([]byte, error) {
	hp, err := r.resolve(p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(hp)
}

// text returns the content of p with surrounding space trimmed, "" when it
// cannot be read.
func (r rootFS) text(p string) string {
	b, err := r.read(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// exists reports whether p exists, following symlinks inside the root.
func (r rootFS) exists(p string) bool {
	hp, err := r.resolve(p)
	if err != nil {
		return false
	}
	_, err = os.Stat(hp)
	return err == nil
}

// lexists reports whether p exists without following a final symlink (for
// /proc/self/ns entries, whose targets are not paths).
func (r rootFS) lexists(p string) bool {
	dir, err := r.resolve(path.Dir(p))
	if err != nil {
		return false
	}
	_, err = os.Lstat(filepath.Join(dir, path.Base(p)))
	return err == nil
}

// readlink returns the target of the symlink p, "" if p is not one.
func (r rootFS) readlink(p string) string {
	dir, err := r.resolve(path.Dir(p))
	if err != nil {
		return ""
	}
	t, err := os.Readlink(filepath.Join(dir, path.Base(p)))
	if err != nil {
		return ""
	}
	return t
}

// realpath returns p with every symlink resolved, as a path on the
// inspected system.
func (r rootFS) realpath(p string) string {
	hp, err := r.resolve(p)
	if err != nil {
		return ""
	}
	if r.dir == "/" {
		if rp, err := filepath.EvalSymlinks(hp); err == nil {
			return rp
		}
		return hp
	}
	rel, err := filepath.Rel(r.dir, hp)
	if err != nil {
		return ""
	}
	return "/" + filepath.ToSlash(rel)
}

// list returns the names in directory p, nil when it cannot be read.
func (r rootFS) list(p string) []string {
	hp, err := r.resolve(p)
	if err != nil {
		return nil
	}
	ents, err := os.ReadDir(hp)
	if err != nil {
		return nil
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names
}

// lines returns the lines of p, nil when it cannot be read.
func (r rootFS) lines(p string) []string {
	b, err := r.read(p)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}
