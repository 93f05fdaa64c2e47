package apitest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/runtime/api"
)

// The pretend containers' files, for docker cp: every container starts
// with the directories /, /etc and /tmp and the file /etc/hostname (its
// hostname), all owned by root. Symlinks resolve inside the container; a
// read-only rootfs refuses writes (403). The files live beside the
// containers, by backend and container ID.
var fakeFiles = struct {
	sync.Mutex
	m map[*Containers]map[string]map[string]*fakeFile
}{m: map[*Containers]map[string]map[string]*fakeFile{}}

type fakeFile struct {
	mode   fs.FileMode
	data   []byte
	target string // a symlink's
	uid    int
	gid    int
}

var fakeTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// filesOf returns the container's files, made on first use; b.mu is held.
func (b *Containers) filesOf(c *fakeContainer) map[string]*fakeFile {
	fakeFiles.Lock()
	defer fakeFiles.Unlock()
	byID := fakeFiles.m[b]
	if byID == nil {
		byID = map[string]map[string]*fakeFile{}
		fakeFiles.m[b] = byID
	}
	files := byID[c.info.ID]
	if files == nil {
		host := ""
		if c.info.Config != nil {
			host = c.info.Config.Hostname
		}
		files = map[string]*fakeFile{
			"/":             {mode: fs.ModeDir | 0o755},
			"/etc":          {mode: fs.ModeDir | 0o755},
			"/tmp":          {mode: fs.ModeDir | fs.ModeSticky | 0o777},
			"/etc/hostname": {mode: 0o644, data: []byte(host + "\n")},
		}
		byID[c.info.ID] = files
	}
	return files
}

// resolve follows symlinks in the pretend filesystem (followLast: the last
// element's too) and returns the cleaned path.
func resolve(files map[string]*fakeFile, p string, followLast bool) (string, error) {
	todo := strings.Split(path.Clean("/"+p), "/")[1:]
	cur := "/"
	for hops := 0; len(todo) > 0; {
		name := todo[0]
		todo = todo[1:]
		if name == "" {
			continue
		}
		next := path.Join(cur, name)
		f, ok := files[next]
		if ok && f.mode&fs.ModeSymlink != 0 && (len(todo) > 0 || followLast) {
			if hops++; hops > 40 {
				return "", api.InvalidParameterf("%s: too many levels of symbolic links", p)
			}
			base := cur
			if path.IsAbs(f.target) {
				base = "/"
			}
			todo = append(strings.Split(path.Join(base, f.target), "/")[1:], todo...)
			cur = "/"
			continue
		}
		cur = next
	}
	return cur, nil
}

func (b *Containers) fileNotFound(p, ref string) error {
	return api.NotFoundf("Could not find the file %s in container %s", p, ref)
}

func (b *Containers) stat(ref, p string) (*fakeContainer, map[string]*fakeFile, string, *api.ContainerPathStat, error) {
	c, err := b.find(ref)
	if err != nil {
		return nil, nil, "", nil, err
	}
	files := b.filesOf(c)
	asserts := strings.HasSuffix(p, "/") || path.Base(p) == "."
	rp, err := resolve(files, p, asserts)
	if err != nil {
		return nil, nil, "", nil, err
	}
	f, ok := files[rp]
	if !ok {
		return nil, nil, "", nil, b.fileNotFound(p, ref)
	}
	if asserts && !f.mode.IsDir() {
		return nil, nil, "", nil, api.InvalidParameterf("lstat %s: not a directory", p)
	}
	name := path.Base(p)
	if path.Clean("/"+p) == "/" {
		name = "/"
	}
	st := &api.ContainerPathStat{Name: name, Size: int64(len(f.data)), Mode: f.mode, Mtime: fakeTime}
	if f.mode&fs.ModeSymlink != 0 {
		st.LinkTarget, _ = resolve(files, p, true)
	}
	return c, files, rp, st, nil
}

// ContainerStatPath describes a path of the pretend filesystem.
func (b *Containers) ContainerStatPath(ctx context.Context, ref, p string) (*api.ContainerPathStat, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("ContainerStatPath(%s, %s)", ref, p)
	_, _, _, st, err := b.stat(ref, p)
	return st, err
}

// ContainerArchivePath returns a path of the pretend filesystem as docker
// cp's tar stream.
func (b *Containers) ContainerArchivePath(ctx context.Context, ref, p string) (io.ReadCloser, *api.ContainerPathStat, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("ContainerArchivePath(%s, %s)", ref, p)
	_, files, rp, st, err := b.stat(ref, p)
	if err != nil {
		return nil, nil, err
	}
	prefix := strings.TrimSuffix(st.Name, "/")
	var paths []string
	for k := range files {
		if k == rp || st.Mode.IsDir() && strings.HasPrefix(k, strings.TrimSuffix(rp, "/")+"/") {
			paths = append(paths, k)
		}
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, k := range paths {
		f := files[k]
		name := prefix + strings.TrimPrefix(k, strings.TrimSuffix(rp, "/"))
		hdr := &tar.Header{Name: name, Mode: int64(f.mode.Perm()), Uid: f.uid, Gid: f.gid, ModTime: fakeTime}
		switch {
		case f.mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, strings.TrimSuffix(name, "/")+"/"
		case f.mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.target
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, nil, err
		}
		tw.Write(f.data)
	}
	if err := tw.Close(); err != nil {
		return nil, nil, err
	}
	return io.NopCloser(&buf), st, nil
}

// ContainerExtractToDir writes a tar stream into a directory of the
// pretend filesystem: regular files, directories and symlinks; a name
// that leaves the directory is refused before anything is written.
func (b *Containers) ContainerExtractToDir(ctx context.Context, ref, p string, content io.Reader, opts api.CopyToContainerOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("ContainerExtractToDir(%s, %s, noOverwriteDirNonDir=%t, copyUIDGID=%t)", ref, p, opts.NoOverwriteDirNonDir, opts.CopyUIDGID)
	c, err := b.find(ref)
	if err != nil {
		return err
	}
	files := b.filesOf(c)
	dir, err := resolve(files, p, true)
	if err != nil {
		return err
	}
	if f, ok := files[dir]; !ok {
		return b.fileNotFound(p, ref)
	} else if !f.mode.IsDir() {
		return api.InvalidParameterf("extraction point is not a directory")
	}
	if c.info.HostConfig != nil && c.info.HostConfig.ReadonlyRootfs {
		return api.Forbidden(errors.New("container rootfs is marked read-only"))
	}
	type entry struct {
		hdr  *tar.Header
		data []byte
	}
	var entries []entry
	tr := tar.NewReader(content)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return api.InvalidParameterf("reading the archive: %v", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if name == ".." || strings.HasPrefix(name, "../") {
			return api.InvalidParameterf("archive entry %q: the name leaves the destination directory", hdr.Name)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return api.InvalidParameterf("reading the archive: %v", err)
		}
		entries = append(entries, entry{hdr, data})
	}
	for _, e := range entries {
		name := path.Join(dir, strings.TrimPrefix(e.hdr.Name, "/"))
		if name == dir {
			continue
		}
		if _, ok := files[path.Dir(name)]; !ok {
			files[path.Dir(name)] = &fakeFile{mode: fs.ModeDir | 0o755}
		}
		old, exists := files[name]
		isDir := e.hdr.Typeflag == tar.TypeDir
		if exists && opts.NoOverwriteDirNonDir && old.mode.IsDir() != isDir {
			if isDir {
				return api.InvalidParameterf("cannot overwrite non-directory %q with directory", name)
			}
			return api.InvalidParameterf("cannot overwrite directory %q with non-directory", name)
		}
		f := &fakeFile{mode: fs.FileMode(e.hdr.Mode).Perm(), data: e.data, uid: e.hdr.Uid, gid: e.hdr.Gid}
		switch e.hdr.Typeflag {
		case tar.TypeDir:
			f.mode |= fs.ModeDir
		case tar.TypeSymlink:
			f.mode |= fs.ModeSymlink
			f.target = e.hdr.Linkname
		case tar.TypeReg:
		default:
			return api.InvalidParameterf("archive entry %q: the pretend filesystem holds no type %q", e.hdr.Name, e.hdr.Typeflag)
		}
		files[name] = f
	}
	return nil
}
