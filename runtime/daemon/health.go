package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/atomicfile"
)

// MirrorHealthFile is where, under the data root, the engine keeps what
// its mirror circuit breaker remembers across pulls and restarts.
const MirrorHealthFile = "mirror-health.json"

// healthStore persists a mirror.Health: every change is written, a burst
// of changes once, atomically.
type healthStore struct {
	path    string
	health  *mirror.Health
	kick    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once

	mu  sync.Mutex
	err error // the last failure to read or write, for /info's warnings
}

// openHealth loads <dataRoot>/mirror-health.json (a missing or damaged
// file is an empty memory: the breaker's state is advice, not data).
func openHealth(dataRoot string) (*healthStore, error) {
	hs := &healthStore{
		path: filepath.Join(dataRoot, MirrorHealthFile), health: mirror.NewHealth(),
		kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}),
	}
	data, err := os.ReadFile(hs.path)
	switch {
	case err == nil:
		if err := hs.health.Load(data); err != nil {
			hs.err = fmt.Errorf("%s is damaged (%v); the mirrors' health starts afresh", hs.path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading %s: %w", hs.path, err)
	}
	hs.health.OnChange(func() {
		select {
		case hs.kick <- struct{}{}:
		default:
		}
	})
	go hs.run()
	return hs, nil
}

func (hs *healthStore) run() {
	defer close(hs.stopped)
	for {
		select {
		case <-hs.kick:
			hs.save()
		case <-hs.done:
			select {
			case <-hs.kick:
				hs.save()
			default:
			}
			return
		}
	}
}

func (hs *healthStore) save() {
	b, err := hs.health.MarshalJSON()
	if err == nil {
		err = atomicfile.WriteFile(hs.path, append(b, '\n'), 0o600)
	}
	hs.mu.Lock()
	hs.err = err
	hs.mu.Unlock()
}

// warning is the last read or write failure, or "".
func (hs *healthStore) warning() string {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.err == nil {
		return ""
	}
	return "mirror health: " + hs.err.Error()
}

// Close writes what is pending and stops.
func (hs *healthStore) Close() {
	hs.once.Do(func() { close(hs.done) })
	<-hs.stopped
}

// ReadMirrorHealth reads what the engine remembers of its mirrors from the
// data root, for `berth mirror ls` without a running engine.
func ReadMirrorHealth(dataRoot string) ([]mirror.EndpointHealth, error) {
	data, err := os.ReadFile(filepath.Join(dataRoot, MirrorHealthFile))
	if err != nil {
		return nil, err
	}
	h := mirror.NewHealth()
	if err := h.Load(data); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dataRoot, MirrorHealthFile), err)
	}
	return h.Snapshot(), nil
}

// MirrorHealth lists the configured endpoints with what snapshot says of
// them, as /info carries it.
func MirrorHealth(c *mirror.Config, snapshot []mirror.EndpointHealth, now time.Time) []api.MirrorHealth {
	var out []api.MirrorHealth
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, st := range c.Status(snapshot, now) {
		h := st.Health
		m := api.MirrorHealth{
			Registry: st.Endpoint.Registry, Endpoint: st.Endpoint.URL, Mirror: st.Endpoint.Mirror, Used: st.Used,
			State: st.State, LastSuccess: stamp(h.LastSuccess), LastFailure: stamp(h.LastFailure),
			LastError: h.LastError, Failures: h.Failures,
		}
		if st.State == mirror.StateCoolingDown {
			m.CoolUntil = stamp(h.CoolUntil)
		}
		out = append(out, m)
	}
	return out
}
