package image

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
)

// spool is a file being downloaded that a reader may follow while it
// grows: the unpacker reads a layer as its bytes arrive, and the compressed
// blob is kept for save without a second copy. A download that turns out
// wrong starts over (reset): readers of the old bytes get errSpoolReset and
// the unpacker begins again.
type spool struct {
	f *os.File

	mu   sync.Mutex
	cond *sync.Cond
	n    int64 // bytes written
	gen  int   // incremented by reset
	done bool
	err  error
}

// errSpoolReset is what a reader of bytes that were thrown away gets.
var errSpoolReset = errors.New("the download started over")

func newSpool(path string) (*spool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	sp := &spool{f: f}
	sp.cond = sync.NewCond(&sp.mu)
	return sp, nil
}

// Write appends to the file and wakes the reader.
func (sp *spool) Write(p []byte) (int, error) {
	n, err := sp.f.Write(p)
	sp.mu.Lock()
	sp.n += int64(n)
	sp.mu.Unlock()
	sp.cond.Broadcast()
	return n, err
}

// written is the number of bytes in the file so far.
func (sp *spool) written() int64 {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.n
}

// reset throws the bytes away for a new download. Only the downloader
// calls it, never concurrently with Write.
func (sp *spool) reset() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err := sp.f.Truncate(0); err != nil {
		return err
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sp.n = 0
	sp.gen++
	sp.cond.Broadcast()
	return nil
}

// generation identifies the current download for restarted.
func (sp *spool) generation() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.gen
}

// restarted waits until the download of generation gen ends or starts
// over, and reports whether it started over.
func (sp *spool) restarted(gen int) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for sp.gen == gen && !sp.done {
		sp.cond.Wait()
	}
	return sp.gen != gen
}

// finish marks the download over, with its error if it failed.
func (sp *spool) finish(err error) {
	sp.mu.Lock()
	if !sp.done {
		sp.done, sp.err = true, err
	}
	sp.mu.Unlock()
	sp.cond.Broadcast()
}

// wait blocks until the download is over and returns its error.
func (sp *spool) wait() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for !sp.done {
		sp.cond.Wait()
	}
	return sp.err
}

// reader follows the file from the start. It returns io.EOF once the
// download finished and every byte was read, the download's error if it
// failed, and errSpoolReset if it started over. Cancelling ctx ends a wait.
func (sp *spool) reader(ctx context.Context) io.Reader {
	stop := context.AfterFunc(ctx, func() { sp.finish(ctx.Err()) })
	return &spoolReader{sp: sp, gen: sp.generation(), stop: stop}
}

type spoolReader struct {
	sp   *spool
	gen  int
	off  int64
	stop func() bool
}

func (r *spoolReader) Read(p []byte) (int, error) {
	sp := r.sp
	sp.mu.Lock()
	for sp.gen == r.gen && sp.n == r.off && !sp.done {
		sp.cond.Wait()
	}
	if sp.gen != r.gen {
		sp.mu.Unlock()
		r.stop()
		return 0, errSpoolReset
	}
	avail, done, err := sp.n-r.off, sp.done, sp.err
	sp.mu.Unlock()
	if avail == 0 {
		r.stop()
		if done && err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > avail {
		p = p[:avail]
	}
	n, rerr := sp.f.ReadAt(p, r.off)
	if sp.generation() != r.gen {
		// Truncated under the read: what was read is not to be used.
		r.stop()
		return 0, errSpoolReset
	}
	r.off += int64(n)
	if rerr == io.EOF && n > 0 {
		rerr = nil
	}
	return n, rerr
}

func (sp *spool) close() error { return sp.f.Close() }
