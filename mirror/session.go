package mirror

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Session is one pull's view of a registry's endpoints: which have failed and
// why, the transports used to reach them, and which endpoint served which
// digest. A failed endpoint is not asked again in the session. It is safe for
// concurrent use.
type Session struct {
	cfg       *Config
	registry  string
	endpoints []Endpoint
	fallback  bool
	base      http.RoundTripper
	health    *Health

	mu         sync.Mutex
	state      map[Endpoint]*endpointState
	transports map[Endpoint]*endpointTransport
	clones     map[tlsProfile]*http.Transport
	served     map[string]Endpoint
	retried    map[Endpoint]bool
}

type endpointState struct {
	failure *Failure
	// answered is the scheme that last got an HTTP answer; connErr the last
	// connection failure per scheme. Insecure endpoints are tried over both
	// schemes, and a failure of the one that does not work is not a failure
	// of the endpoint.
	answered string
	connErr  map[string]string
}

// Failure is why an endpoint was passed over.
type Failure struct {
	Endpoint Endpoint
	Reason   string
	// RetryAfter is the server's Retry-After, for a 429 or 503 that sent one.
	RetryAfter time.Duration
	Time       time.Time
}

// SessionOption configures NewSession.
type SessionOption func(*Session)

// WithHealth makes the session consult and feed the circuit breaker h:
// endpoints cooling down are tried after the others, failures open their
// breaker and verified content closes it. Failures that are about the
// content rather than the endpoint (Miss) are not counted.
func WithHealth(h *Health) SessionOption {
	return func(s *Session) { s.health = h }
}

// NewSession starts one pull's view of registry's endpoints. base carries
// proxies and the like; nil means a clone of http.DefaultTransport shared by
// the Config's sessions. An endpoint that needs its own TLS settings gets a
// clone of base, which must then be an *http.Transport; other endpoints use
// base itself, so its connections are reused across sessions.
func (c *Config) NewSession(registry string, base http.RoundTripper, opts ...SessionOption) *Session {
	reg := NormalizeRegistry(registry)
	if base == nil {
		base = c.defaultTransport()
	}
	s := &Session{
		cfg:        c,
		registry:   reg,
		endpoints:  c.Endpoints(reg),
		fallback:   c.Fallback(reg),
		base:       base,
		state:      map[Endpoint]*endpointState{},
		transports: map[Endpoint]*endpointTransport{},
		clones:     map[tlsProfile]*http.Transport{},
		served:     map[string]Endpoint{},
		retried:    map[Endpoint]bool{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (c *Config) defaultTransport() *http.Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.defaultT == nil {
		c.defaultT = http.DefaultTransport.(*http.Transport).Clone()
	}
	return c.defaultT
}

// Registry is the normalised registry the session pulls from.
func (s *Session) Registry() string { return s.registry }

// Candidates are the endpoints not failed in this session, in order; with
// a Health, those cooling down come after the others.
func (s *Session) Candidates() []Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ready, cooling []Endpoint
	for _, ep := range s.endpoints {
		switch {
		case s.failedLocked(ep):
		case s.health != nil && s.health.coolingDown(ep):
			cooling = append(cooling, ep)
		default:
			ready = append(ready, ep)
		}
	}
	return append(ready, cooling...)
}

// CoolingDown lists the endpoints the session's Health holds back, with
// what it remembers of them, so a pull can say why it skipped a mirror.
func (s *Session) CoolingDown() []EndpointHealth {
	if s.health == nil {
		return nil
	}
	var out []EndpointHealth
	for _, ep := range s.endpoints {
		if h := s.health.Get(ep); h.State(s.health.now()) == StateCoolingDown {
			out = append(out, h)
		}
	}
	return out
}

// Fail marks ep failed for the rest of the session, for instance because it
// served bytes whose digest is wrong or stalled below the speed floor, and
// opens its breaker. The first reason given for an endpoint is the one
// kept.
func (s *Session) Fail(ep Endpoint, reason string) {
	s.mu.Lock()
	f := s.failLocked(ep, reason, 0)
	s.mu.Unlock()
	s.record(f)
}

// Miss passes over ep for the rest of the session without holding it
// against the endpoint: it lacks this content (a mirror without the tag) or
// wants credentials, which says nothing of its health.
func (s *Session) Miss(ep Endpoint, reason string) {
	s.mu.Lock()
	s.failLocked(ep, reason, 0)
	s.mu.Unlock()
}

// failLocked records the failure and returns it when it is new, for record
// to pass to the Health once the lock is released.
func (s *Session) failLocked(ep Endpoint, reason string, retryAfter time.Duration) *Failure {
	st := s.stateLocked(ep)
	if st.failure != nil {
		return nil
	}
	// Reasons end up in a one-line error.
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" {
		reason = "failed"
	}
	st.failure = &Failure{Endpoint: ep, Reason: reason, RetryAfter: retryAfter, Time: time.Now()}
	return st.failure
}

func (s *Session) record(f *Failure) {
	if f != nil && s.health != nil {
		s.health.Failure(f.Endpoint, f.Reason, f.RetryAfter)
	}
}

// RetryLater is the failed endpoint that asked, with Retry-After, to be
// asked again soonest, if it has not been retried in this session yet, and
// how long it asked to wait from now.
func (s *Session) RetryLater() (Endpoint, time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *Failure
	for _, ep := range s.endpoints {
		st := s.state[ep]
		if st == nil || st.failure == nil || st.failure.RetryAfter <= 0 || s.retried[ep] {
			continue
		}
		if best == nil || st.failure.Time.Add(st.failure.RetryAfter).Before(best.Time.Add(best.RetryAfter)) {
			best = st.failure
		}
	}
	if best == nil {
		return Endpoint{}, 0, false
	}
	return best.Endpoint, max(time.Until(best.Time.Add(best.RetryAfter)), 0), true
}

// Retry makes ep a candidate again, once per session: the puller waited
// the Retry-After it sent.
func (s *Session) Retry(ep Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.state[ep]; st != nil && !s.retried[ep] {
		s.retried[ep] = true
		st.failure = nil
		st.connErr = map[string]string{}
	}
}

func (s *Session) stateLocked(ep Endpoint) *endpointState {
	st := s.state[ep]
	if st == nil {
		st = &endpointState{connErr: map[string]string{}}
		s.state[ep] = st
	}
	return st
}

// Failed reports whether ep has failed in this session.
func (s *Session) Failed(ep Endpoint) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failedLocked(ep)
}

func (s *Session) failedLocked(ep Endpoint) bool {
	st := s.state[ep]
	return st != nil && st.failure != nil
}

// Failures lists the endpoints that failed in this session and why, in the
// order of Config.Endpoints, so a pull that succeeded can still say which
// mirrors it passed over.
func (s *Session) Failures() []Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Failure
	for _, ep := range s.endpoints {
		if st := s.state[ep]; st != nil && st.failure != nil {
			out = append(out, *st.failure)
		}
	}
	return out
}

// Err is nil while a candidate remains, and otherwise an *AllFailedError
// naming every endpoint and why it was passed over.
func (s *Session) Err() error {
	if len(s.Candidates()) > 0 {
		return nil
	}
	err := &AllFailedError{Registry: s.registry, Failures: s.Failures()}
	if !s.fallback {
		origin := s.cfg.origin(s.registry)
		err.FallbackDisabled = &origin
	}
	return err
}

// Served records that ep served the content with this digest; the puller
// calls it once the digest is verified, so `pull` can say where each layer
// came from.
func (s *Session) Served(digest string, ep Endpoint) {
	s.mu.Lock()
	s.served[digest] = ep
	s.mu.Unlock()
	if s.health != nil {
		s.health.Success(ep)
	}
}

// ServedBy is the endpoint recorded by Served for digest.
func (s *Session) ServedBy(digest string) (Endpoint, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, ok := s.served[digest]
	return ep, ok
}

// AllFailedError is a pull that ran out of endpoints.
type AllFailedError struct {
	Registry string
	Failures []Failure
	// FallbackDisabled is the registry itself when fallback is false.
	FallbackDisabled *Endpoint
}

func (e *AllFailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "every endpoint for %s failed: ", e.Registry)
	parts := make([]string, 0, len(e.Failures)+1)
	for _, f := range e.Failures {
		parts = append(parts, fmt.Sprintf("%s (%s)", f.Endpoint, f.Reason))
	}
	if e.FallbackDisabled != nil {
		parts = append(parts, fmt.Sprintf("%s (fallback disabled)", e.FallbackDisabled))
	}
	b.WriteString(strings.Join(parts, "; "))
	return b.String()
}

// FailedError is returned, without a request being sent, for a request to an
// endpoint that already failed in the session.
type FailedError struct {
	Endpoint Endpoint
	Reason   string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%s failed earlier in this pull (%s)", e.Endpoint, e.Reason)
}
