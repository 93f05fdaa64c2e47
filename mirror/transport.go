package mirror

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tlsProfile is what makes an endpoint need its own http.Transport.
type tlsProfile struct {
	insecure bool
	caFile   string
}

// Transport is the RoundTripper for requests to ep, the same value for every
// call with the same endpoint. Requests to other hosts (token realms, blob
// redirects to a CDN) are sent but never fail ep. Requests to ep's host:
//
//   - are refused without being sent once ep has failed (*FailedError);
//   - are refused if they would downgrade a secure https endpoint to http;
//   - mark ep failed on a connection failure (refused, DNS, TLS, timeout) and
//     on 5xx, 403 and 429 answers, which are still returned to the caller.
//
// 401 is the token flow and 404 is the caller's to judge (a mirror missing a
// tag may fall through to the next endpoint without having failed). A request
// whose own context ended is the caller giving up, not ep failing.
//
// For an Insecure endpoint both schemes are allowed, as Docker does, and
// go-containerregistry tries https before http; a connection failure marks it
// only once the scheme that answered before stops answering, or both fail.
func (s *Session) Transport(ep Endpoint) http.RoundTripper {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.transports[ep]; ok {
		return t
	}
	next, err := s.roundTripperLocked(tlsProfile{insecure: ep.Insecure, caFile: ep.CAFile})
	t := &endpointTransport{s: s, ep: ep, next: next, setupErr: err}
	s.transports[ep] = t
	return t
}

// roundTripperLocked is base, or a clone of it with the profile's TLS
// settings, one per profile and session.
func (s *Session) roundTripperLocked(p tlsProfile) (http.RoundTripper, error) {
	if p == (tlsProfile{}) {
		return s.base, nil
	}
	if t, ok := s.clones[p]; ok {
		return t, nil
	}
	bt, ok := s.base.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("cannot apply TLS settings: the base transport is a %T, not an *http.Transport", s.base)
	}
	tc, err := p.tlsConfig(bt.TLSClientConfig)
	if err != nil {
		return nil, err
	}
	t := bt.Clone()
	t.TLSClientConfig = tc
	s.clones[p] = t
	return t, nil
}

// tlsConfig is base (nil for the defaults) with the profile applied.
func (p tlsProfile) tlsConfig(base *tls.Config) (*tls.Config, error) {
	tc := &tls.Config{}
	if base != nil {
		tc = base.Clone()
	}
	if p.insecure {
		tc.InsecureSkipVerify = true
	}
	if p.caFile != "" {
		pem, err := os.ReadFile(p.caFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("CA file %s: %w", p.caFile, err)
		}
		pool := tc.RootCAs
		if pool != nil {
			pool = pool.Clone()
		} else if pool, err = x509.SystemCertPool(); err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", p.caFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

type endpointTransport struct {
	s        *Session
	ep       Endpoint
	next     http.RoundTripper
	setupErr error
}

func (t *endpointTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	scheme := req.URL.Scheme
	if canonicalHost(req.URL.Host, scheme) != canonicalHost(t.ep.Host, scheme) {
		return t.elsewhere(req)
	}
	if err := t.check(scheme); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		if req.Context().Err() == nil && !errors.Is(err, context.Canceled) {
			t.s.connFailure(t.ep, scheme, describe(err))
		}
		return nil, err
	}
	t.s.answer(t.ep, scheme, resp)
	return resp, nil
}

// elsewhere sends a request for another host: a token realm, or a blob
// redirect to a CDN. The endpoint's CA is trusted there too (a private PKI
// usually signs its token service as well), but verification is skipped only
// if that host is itself insecure: an insecure mirror must not turn off
// verification of the realm its credentials go to.
func (t *endpointTransport) elsewhere(req *http.Request) (*http.Response, error) {
	t.s.mu.Lock()
	rt, err := t.s.roundTripperLocked(tlsProfile{insecure: t.s.cfg.Insecure(req.URL.Host), caFile: t.ep.CAFile})
	t.s.mu.Unlock()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%s: %w", req.URL.Host, err)
	}
	return rt.RoundTrip(req)
}

// check refuses a request that must not be sent.
func (t *endpointTransport) check(scheme string) error {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.state[t.ep]; st != nil && st.failure != nil {
		return &FailedError{Endpoint: t.ep, Reason: st.failure.Reason}
	}
	if t.setupErr != nil {
		// A CA file that cannot be read is the configuration's fault, not
		// the endpoint's: its breaker is left alone.
		s.failLocked(t.ep, t.setupErr.Error(), 0)
		return fmt.Errorf("%s: %w", t.ep, t.setupErr)
	}
	if !t.ep.Insecure && scheme != t.ep.Scheme {
		return fmt.Errorf("%s is %s only; refusing a %s request (mark it \"insecure\" to allow plain http)", t.ep, t.ep.Scheme, scheme)
	}
	return nil
}

func (s *Session) connFailure(ep Endpoint, scheme, reason string) {
	s.mu.Lock()
	f := s.connFailureLocked(ep, scheme, reason)
	s.mu.Unlock()
	s.record(f)
}

func (s *Session) connFailureLocked(ep Endpoint, scheme, reason string) *Failure {
	if !ep.Insecure {
		return s.failLocked(ep, reason, 0)
	}
	st := s.stateLocked(ep)
	st.connErr[scheme] = reason
	other := "http"
	if scheme == "http" {
		other = "https"
	}
	switch {
	case st.answered == scheme:
		return s.failLocked(ep, reason, 0)
	case st.answered == "" && st.connErr[other] != "":
		if r := st.connErr[ep.Scheme]; r != "" {
			reason = r
		}
		return s.failLocked(ep, reason, 0)
	}
	return nil
}

// answer records that scheme works for ep and fails ep on an answer that
// means "not from here".
func (s *Session) answer(ep Endpoint, scheme string, resp *http.Response) {
	s.mu.Lock()
	f := s.answerLocked(ep, scheme, resp)
	s.mu.Unlock()
	s.record(f)
}

func (s *Session) answerLocked(ep Endpoint, scheme string, resp *http.Response) *Failure {
	s.stateLocked(ep).answered = scheme
	code := resp.StatusCode
	status := strconv.Itoa(code)
	if text := http.StatusText(code); text != "" {
		status += " " + text
	}
	switch {
	case code == http.StatusForbidden:
		if ep.Mirror {
			status += ", not in the mirror's allowlist?"
		}
		// An allowlist refuses some repositories and serves others: the
		// endpoint is passed over in this pull, its breaker left alone.
		s.failLocked(ep, status, 0)
		return nil
	case code == http.StatusTooManyRequests || code >= 500:
		after := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		if after > 0 {
			status += ", retry after " + after.String()
		}
		return s.failLocked(ep, status, after)
	}
	return nil
}

// retryAfter parses Retry-After: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// describe turns a transport error into a reason a user understands.
func describe(err error) string {
	var (
		dnsErr      *net.DNSError
		unknownCA   x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
		alertErr    tls.AlertError
		netErr      net.Error
		verifyErr   *tls.CertificateVerificationError
		systemRoots x509.SystemRootsError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "DNS: no such host " + dnsErr.Name
		}
		if dnsErr.IsTimeout {
			return "DNS: timeout looking up " + dnsErr.Name
		}
		return "DNS: " + dnsErr.Err
	case errors.As(err, &unknownCA):
		return "TLS: certificate signed by unknown authority"
	case errors.As(err, &hostErr), errors.As(err, &invalidErr), errors.As(err, &systemRoots):
		return "TLS: " + strings.TrimPrefix(unwrapAll(err).Error(), "x509: ")
	case errors.As(err, &verifyErr):
		return "TLS: " + strings.TrimPrefix(verifyErr.Err.Error(), "x509: ")
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "TLS: the server speaks plain http; write an http:// URL"
	case errors.As(err, &alertErr):
		return "TLS: handshake failed: " + alertErr.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	}
	return unwrapAll(err).Error()
}

// unwrapAll is the innermost error of a single-wrap chain: the cause without
// the "Get https://...: dial tcp ...:" decoration around it.
func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
