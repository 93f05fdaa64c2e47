package mirror

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Stall is the speed floor of a pull: an endpoint that delivers fewer than
// BytesPerSecond×Window bytes of a blob in any Window is abandoned for the
// next one, which resumes the blob where it stopped. A mirror that trickles
// is worse than one that refuses: without a floor the pull never ends.
type Stall struct {
	BytesPerSecond int64
	Window         time.Duration
}

// DefaultStall is 64 KiB/s over 10 s: far below any working mirror, far
// above one that has stopped sending.
var DefaultStall = Stall{BytesPerSecond: 64 << 10, Window: 10 * time.Second}

// Enabled reports whether the floor applies.
func (s Stall) Enabled() bool { return s.BytesPerSecond > 0 && s.Window > 0 }

func (s Stall) String() string {
	if !s.Enabled() {
		return "off"
	}
	return fmt.Sprintf("%s over %s", Rate(float64(s.BytesPerSecond)), s.Window)
}

func (s Stall) validate() error {
	switch {
	case s.BytesPerSecond < 0:
		return fmt.Errorf("stall floor %d bytes per second: must be 0 (off) or more", s.BytesPerSecond)
	case s.BytesPerSecond > 0 && s.Window <= 0:
		return fmt.Errorf("stall window %s: must be positive", s.Window)
	}
	return nil
}

// Rate formats bytes per second in binary units: "64 KiB/s", "12.5 MiB/s".
func Rate(bps float64) string {
	units := []string{"B/s", "KiB/s", "MiB/s", "GiB/s"}
	i := 0
	for bps >= 1024 && i < len(units)-1 {
		bps /= 1024
		i++
	}
	if bps == float64(int64(bps)) || bps >= 100 {
		return fmt.Sprintf("%.0f %s", bps, units[i])
	}
	return fmt.Sprintf("%.1f %s", bps, units[i])
}

// StallError is a body abandoned for being slower than the floor.
type StallError struct {
	Stall Stall
	// Rate is what arrived in the last window, in bytes per second.
	Rate float64
}

func (e *StallError) Error() string {
	return fmt.Sprintf("stalled: %s over the last %s, below the floor of %s", Rate(e.Rate), e.Stall.Window, Rate(float64(e.Stall.BytesPerSecond)))
}

// Watch returns r, failing with a *StallError (and closing r, which ends a
// blocked Read) once a Window passes in which fewer bytes arrived than the
// floor allows. The caller must Close what Watch returns.
func (s Stall) Watch(r io.ReadCloser) io.ReadCloser {
	if !s.Enabled() {
		return r
	}
	w := &stallReader{r: r, stall: s, done: make(chan struct{})}
	go w.watch()
	return w
}

type stallReader struct {
	r     io.ReadCloser
	stall Stall
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	n       int64
	stalled *StallError
}

func (w *stallReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.mu.Lock()
	w.n += int64(n)
	stalled := w.stalled
	w.mu.Unlock()
	if stalled != nil {
		// What the closed body says (use of closed connection) is not why.
		return n, stalled
	}
	return n, err
}

func (w *stallReader) Close() error {
	w.once.Do(func() { close(w.done) })
	return w.r.Close()
}

// watch samples the byte count ten times a window and compares each sample
// with the one a window earlier.
func (w *stallReader) watch() {
	tick := max(w.stall.Window/10, time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	type sample struct {
		at time.Time
		n  int64
	}
	samples := []sample{{at: time.Now()}}
	floor := float64(w.stall.BytesPerSecond)
	for {
		select {
		case <-w.done:
			return
		case now := <-t.C:
			w.mu.Lock()
			n := w.n
			w.mu.Unlock()
			samples = append(samples, sample{now, n})
			// Keep the newest sample at least a window old as the base.
			for len(samples) > 2 && now.Sub(samples[1].at) >= w.stall.Window {
				samples = samples[1:]
			}
			base := samples[0]
			span := now.Sub(base.at)
			if span < w.stall.Window {
				continue
			}
			rate := float64(n-base.n) / span.Seconds()
			if rate < floor {
				w.mu.Lock()
				w.stalled = &StallError{Stall: w.stall, Rate: rate}
				w.mu.Unlock()
				w.r.Close()
				return
			}
		}
	}
}
