package mirror

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Health remembers, across pulls, how each endpoint fared: a circuit
// breaker. An endpoint that failed is cooling down for a while (30 s,
// doubling with each failure in a row up to 15 min, and never less than the
// Retry-After it sent); sessions try it after the others until then, and
// normally once the time has passed. A success closes the breaker. Health
// is safe for concurrent use; it is persisted by whoever owns it (the
// daemon, under its data root) through Snapshot and LoadHealth.
type Health struct {
	mu       sync.Mutex
	entries  map[string]*EndpointHealth
	now      func() time.Time
	onChange func()
}

// EndpointHealth is what Health knows of one endpoint.
type EndpointHealth struct {
	Registry string `json:"registry"`
	// Endpoint is the URL as configured ("https://index.docker.io" for
	// Docker Hub itself).
	Endpoint    string    `json:"endpoint"`
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	LastFailure time.Time `json:"lastFailure,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
	// Failures counts failures since the last success.
	Failures int `json:"failures,omitempty"`
	// CoolUntil is when the breaker lets the endpoint be tried first again.
	CoolUntil time.Time `json:"coolUntil,omitzero"`
}

// Health states, as `berth mirror ls` and `berth info` show them.
const (
	StateOK          = "ok"
	StateFailing     = "failing"      // failed last time, cool-down over: tried again
	StateCoolingDown = "cooling-down" // failed; tried after the others until CoolUntil
	StateUnknown     = "unknown"      // never used
)

// State is the breaker's state at now.
func (e EndpointHealth) State(now time.Time) string {
	switch {
	case e.Failures == 0 && !e.LastSuccess.IsZero():
		return StateOK
	case e.Failures == 0:
		return StateUnknown
	case now.Before(e.CoolUntil):
		return StateCoolingDown
	}
	return StateFailing
}

// Describe is the state in words: "ok", "cooling down for 4m (connection
// refused)".
func (e EndpointHealth) Describe(now time.Time) string {
	switch e.State(now) {
	case StateOK:
		return "ok"
	case StateUnknown:
		return "unknown (not used yet)"
	case StateCoolingDown:
		return fmt.Sprintf("cooling down for %s: %s", roundDuration(e.CoolUntil.Sub(now)), e.LastError)
	}
	return "failing: " + e.LastError
}

func roundDuration(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

const (
	coolBase = 30 * time.Second
	coolMax  = 15 * time.Minute
	// healthKeep drops what was last heard of an endpoint this long ago.
	healthKeep = 30 * 24 * time.Hour
)

// HealthOption configures NewHealth.
type HealthOption func(*Health)

// WithHealthClock replaces time.Now (tests).
func WithHealthClock(now func() time.Time) HealthOption {
	return func(h *Health) { h.now = now }
}

// NewHealth is an empty memory.
func NewHealth(opts ...HealthOption) *Health {
	h := &Health{entries: map[string]*EndpointHealth{}, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Load adds what MarshalJSON wrote to h.
func (h *Health) Load(data []byte) error {
	var file struct {
		Endpoints []EndpointHealth `json:"endpoints"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range file.Endpoints {
		if e.Registry == "" || e.Endpoint == "" {
			continue
		}
		e := e
		h.entries[healthKey(e.Registry, e.Endpoint)] = &e
	}
	return nil
}

// MarshalJSON is the persisted form: {"endpoints": [...]}, sorted, without
// entries older than a month.
func (h *Health) MarshalJSON() ([]byte, error) {
	return json.MarshalIndent(struct {
		Endpoints []EndpointHealth `json:"endpoints"`
	}{h.Snapshot()}, "", "  ")
}

// OnChange sets a function called (without locks held) after every change,
// so the owner can persist it.
func (h *Health) OnChange(f func()) {
	h.mu.Lock()
	h.onChange = f
	h.mu.Unlock()
}

// Snapshot lists every endpoint's health, sorted by registry and URL.
func (h *Health) Snapshot() []EndpointHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	out := make([]EndpointHealth, 0, len(h.entries))
	for k, e := range h.entries {
		if now.Sub(latest(e)) > healthKeep {
			delete(h.entries, k)
			continue
		}
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b EndpointHealth) int {
		return strings.Compare(a.Registry+" "+a.Endpoint, b.Registry+" "+b.Endpoint)
	})
	return out
}

func latest(e *EndpointHealth) time.Time {
	if e.LastFailure.After(e.LastSuccess) {
		return e.LastFailure
	}
	return e.LastSuccess
}

// Get is the health of ep (zero when never used).
func (h *Health) Get(ep Endpoint) EndpointHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := h.entries[healthKey(ep.Registry, ep.URL)]; e != nil {
		return *e
	}
	return EndpointHealth{Registry: ep.Registry, Endpoint: ep.URL}
}

// coolingDown reports whether ep's breaker is open now.
func (h *Health) coolingDown(ep Endpoint) bool {
	return h.Get(ep).State(h.now()) == StateCoolingDown
}

// Success closes ep's breaker.
func (h *Health) Success(ep Endpoint) {
	h.mu.Lock()
	e := h.entryLocked(ep)
	changed := e.Failures > 0 || e.LastSuccess.IsZero() || h.now().Sub(e.LastSuccess) > time.Second
	e.LastSuccess, e.Failures, e.CoolUntil = h.now(), 0, time.Time{}
	f := h.onChange
	h.mu.Unlock()
	if changed && f != nil {
		f()
	}
}

// Failure opens ep's breaker for the cool-down, or for retryAfter if the
// server asked for longer.
func (h *Health) Failure(ep Endpoint, reason string, retryAfter time.Duration) {
	h.mu.Lock()
	e := h.entryLocked(ep)
	now := h.now()
	e.Failures++
	e.LastFailure, e.LastError = now, reason
	cool := coolBase
	for i := 1; i < e.Failures && cool < coolMax; i++ {
		cool *= 2
	}
	cool = max(min(cool, coolMax), retryAfter)
	e.CoolUntil = now.Add(cool)
	f := h.onChange
	h.mu.Unlock()
	if f != nil {
		f()
	}
}

func (h *Health) entryLocked(ep Endpoint) *EndpointHealth {
	k := healthKey(ep.Registry, ep.URL)
	e := h.entries[k]
	if e == nil {
		e = &EndpointHealth{Registry: ep.Registry, Endpoint: ep.URL}
		h.entries[k] = e
	}
	return e
}

func healthKey(registry, url string) string {
	if k, ok := endpointKey(url); ok {
		url = k
	}
	return NormalizeRegistry(registry) + " " + url
}

// EndpointStatus is one configured endpoint with its remembered health, as
// `berth mirror ls` and `berth info` list them.
type EndpointStatus struct {
	Endpoint Endpoint
	// Used is false for the registry itself when fallback is off.
	Used   bool
	Health EndpointHealth
	State  string
}

// Status lists the endpoints of every registry that has mirror settings, in
// pull order, the registry itself last, with what snapshot says of each.
func (c *Config) Status(snapshot []EndpointHealth, now time.Time) []EndpointStatus {
	byKey := map[string]EndpointHealth{}
	for _, e := range snapshot {
		byKey[healthKey(e.Registry, e.Endpoint)] = e
	}
	var out []EndpointStatus
	for _, reg := range c.Registries() {
		eps := c.Endpoints(reg)
		used := true
		if !c.Fallback(reg) {
			eps = append(eps, c.origin(reg))
		}
		for _, ep := range eps {
			if !ep.Mirror {
				used = c.Fallback(reg)
			}
			h, ok := byKey[healthKey(ep.Registry, ep.URL)]
			if !ok {
				h = EndpointHealth{Registry: ep.Registry, Endpoint: ep.URL}
			}
			out = append(out, EndpointStatus{Endpoint: ep, Used: used, Health: h, State: h.State(now)})
		}
	}
	return out
}
