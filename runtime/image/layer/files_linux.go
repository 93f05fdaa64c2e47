package layer

import (
	"archive/tar"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Small regular files are created and written by a few workers while the main
// loop reads on: creating a file is the slow part of unpacking on some
// filesystems (ext4 without a journal scans for an inode that was not deleted
// recently), and files of different directories are created in parallel.
//
// The main loop still resolves every parent in tar order (resolveParent: the
// security checks are unchanged) and hands the worker a duplicate of the parent
// directory's fd and the base name; the worker does what file does, with the
// same calls in the same order. Ordering is kept by name: while a file is
// pending, any entry that names it, that names a directory above a pending
// file, or that passes through it waits for the workers first (a barrier), and
// so do hard links, whiteouts and the root entry, whatever they name. So no
// entry sees a name whose creation is in flight, and a pending file's name is
// untouched until its worker is done. Apply waits for the workers before the
// directory times, and before it returns, with an error or not.

// fileWorkers is the number of workers; 0 writes every file in the main loop.
var fileWorkers = 4

// smallFile is the largest file handed to a worker: its content is buffered.
const smallFile = 64 << 10

// fileQueue bounds the files buffered for the workers.
const fileQueue = 32

var smallBuffers = sync.Pool{New: func() any {
	b := make([]byte, smallFile)
	return &b
}}

// fileJob is a regular file for a worker to create and write.
type fileJob struct {
	idx  int    // entry index, for the error that Apply reports
	name string // the entry's name as the tar has it
	pfd  int    // a duplicate of the parent directory's fd; the worker closes it
	base string
	meta fileMeta
	bufp *[]byte
	data []byte
}

// fileMeta is what file sets after the content, copied from the header.
type fileMeta struct {
	uid, gid int
	perm     uint32
	xattrs   [][2]string
	ts       [2]unix.Timespec
}

func metaOf(hdr *tar.Header) fileMeta {
	m := fileMeta{uid: hdr.Uid, gid: hdr.Gid, perm: perm(hdr), ts: times(hdr)}
	for k, v := range hdr.PAXRecords {
		if x, ok := strings.CutPrefix(k, paxXattrPrefix); ok {
			m.xattrs = append(m.xattrs, [2]string{x, v})
		}
	}
	return m
}

// pool is the workers of one Apply.
type pool struct {
	jobs chan *fileJob
	wg   sync.WaitGroup // the workers
	busy sync.WaitGroup // the jobs queued or running

	mu     sync.Mutex
	err    error // of the earliest failed entry
	errIdx int
	failed bool

	// pendFiles are the names of the files queued since the last barrier,
	// pendDirs the directories above them.
	pendFiles map[string]struct{}
	pendDirs  map[string]struct{}
}

func newPool(n int) *pool {
	p := &pool{
		jobs:      make(chan *fileJob, fileQueue),
		pendFiles: map[string]struct{}{},
		pendDirs:  map[string]struct{}{},
	}
	p.wg.Add(n)
	for range n {
		go p.work()
	}
	return p
}

func (p *pool) work() {
	defer p.wg.Done()
	for j := range p.jobs {
		err := j.run()
		smallBuffers.Put(j.bufp)
		if err != nil {
			p.mu.Lock()
			if !p.failed || j.idx < p.errIdx {
				p.err, p.errIdx, p.failed = &EntryError{Name: j.name, Err: err}, j.idx, true
			}
			p.mu.Unlock()
		}
		p.busy.Done()
	}
}

// submit queues j; name is the cleaned name of the file.
func (p *pool) submit(j *fileJob, name string) {
	p.pendFiles[name] = struct{}{}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			p.pendDirs[name[:i]] = struct{}{}
		}
	}
	p.busy.Add(1)
	p.jobs <- j
}

// conflicts reports whether the entry name must wait for the pending files:
// it is one of them, a directory above one, or passes through one.
func (p *pool) conflicts(name string) bool {
	if len(p.pendFiles) == 0 {
		return false
	}
	if _, ok := p.pendFiles[name]; ok {
		return true
	}
	if _, ok := p.pendDirs[name]; ok {
		return true
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			if _, ok := p.pendFiles[name[:i]]; ok {
				return true
			}
		}
	}
	return false
}

// barrier waits until every queued file is written.
func (p *pool) barrier() {
	if len(p.pendFiles) == 0 {
		return
	}
	p.busy.Wait()
	clear(p.pendFiles)
	clear(p.pendDirs)
}

// hasFailed reports whether a worker failed.
func (p *pool) hasFailed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// stop waits for the workers and ends them. It returns the error of the
// earliest failed file and its entry index.
func (p *pool) stop() (error, int) {
	close(p.jobs)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err, p.errIdx
}

// run creates and writes the file, as file does.
func (j *fileJob) run() error {
	defer unix.Close(j.pfd)
	var fd int
	err := createAt(j.pfd, j.base, func() (err error) {
		fd, err = unix.Openat(j.pfd, j.base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return fmt.Errorf("creating file: %w", err)
	}
	defer unix.Close(fd)
	for b := j.data; len(b) > 0; {
		m, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("writing file: %w", err)
		}
		b = b[m:]
	}
	return setFileMeta(fd, j.pfd, j.base, &j.meta)
}

// setFileMeta sets the owner, mode, xattrs and times of the regular file fd,
// named base in pfd, after its content.
func setFileMeta(fd, pfd int, base string, m *fileMeta) error {
	if err := unix.Fchown(fd, m.uid, m.gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	// After chown, which clears setuid and setgid.
	if err := unix.Fchmod(fd, m.perm); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for _, x := range m.xattrs {
		if err := ignoreUnsupported(unix.Fsetxattr(fd, x[0], []byte(x[1]), 0), false); err != nil {
			return fmt.Errorf("setting xattr %q: %w", x[0], err)
		}
	}
	if err := unix.UtimesNanoAt(pfd, base, m.ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// queueFile reads the content of the small regular file base in pfd and
// queues it for the workers.
func (a *applier) queueFile(pfd int, base, name string, hdr *tar.Header, r io.Reader) error {
	bufp := smallBuffers.Get().(*[]byte)
	data := (*bufp)[:hdr.Size]
	n, err := io.ReadFull(r, data)
	a.stats.Size += int64(n)
	if err != nil {
		smallBuffers.Put(bufp)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("reading content: %w", err)
	}
	dfd, err := unix.FcntlInt(uintptr(pfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		smallBuffers.Put(bufp)
		return fmt.Errorf("duplicating directory fd: %w", err)
	}
	a.pool.submit(&fileJob{idx: a.stats.Entries, name: hdr.Name, pfd: dfd, base: base, meta: metaOf(hdr), bufp: bufp, data: data}, name)
	return nil
}
