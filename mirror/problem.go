package mirror

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Problem kinds: why an endpoint fails a probe, stable for --json.
const (
	KindNoScheme     = "no-scheme"
	KindBadURL       = "bad-url"
	KindDNS          = "dns"
	KindRefused      = "refused"
	KindTimeout      = "timeout"
	KindUnreachable  = "unreachable"
	KindTLS          = "tls"
	KindPlainHTTP    = "plain-http"
	KindNotRegistry  = "not-a-registry"
	KindAuth         = "auth-required"
	KindForbidden    = "forbidden"
	KindRateLimited  = "rate-limited"
	KindNotFound     = "not-found"
	KindServerError  = "server-error"
	KindWrongContent = "wrong-content"
	KindStale        = "stale-tag"
	KindSlow         = "slow"
)

// Problem is why a probe step failed, in words a user understands, and
// what to do about it.
type Problem struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Advice  string `json:"advice"`
	// RetryAfter is what a 429 or 503 asked for.
	RetryAfter time.Duration `json:"-"`
}

// MarshalJSON adds retryAfterSeconds.
func (p *Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	return json.Marshal(struct {
		*plain
		RetryAfterSeconds float64 `json:"retryAfterSeconds,omitempty"`
	}{(*plain)(p), p.RetryAfter.Seconds()})
}

func (p *Problem) Error() string { return p.Message }

// classifyErr names a failure to connect, resolve, handshake or read.
func classifyErr(err error, ep Endpoint, timeout time.Duration) *Problem {
	host := ep.Host
	var (
		dnsErr    *net.DNSError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		netErr    net.Error
		stall     *StallError
	)
	switch {
	case errors.As(err, &stall):
		return &Problem{Kind: KindSlow, Message: stall.Error(),
			Advice: "pulls abandon an endpoint this slow; rank a faster mirror first (berth mirror rank --apply)"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Problem{Kind: KindRefused, Message: "connection refused: nothing listens on " + host,
			Advice: "the mirror is down or the port is wrong; if it stays down, remove it (berth mirror rm " + ep.URL + ")"}
	case errors.As(err, &dnsErr):
		msg := "DNS: " + dnsErr.Err + " looking up " + dnsErr.Name
		if dnsErr.IsNotFound {
			msg = "DNS: no such host " + dnsErr.Name
		}
		return &Problem{Kind: KindDNS, Message: msg,
			Advice: "check the host name; a mirror whose name no longer resolves is gone (berth mirror rm " + ep.URL + ")"}
	case errors.As(err, &unknownCA):
		return tlsProblem("certificate signed by unknown authority", `trust its CA ("ca": "/path/ca.pem" on the endpoint, or --ca) or, on a network you trust, mark it "insecure": true`)
	case errors.As(err, &hostErr):
		return tlsProblem(strings.TrimPrefix(hostErr.Error(), "x509: "), "use the host name the certificate names")
	case errors.As(err, &invalid):
		return tlsProblem(strings.TrimPrefix(invalid.Error(), "x509: "), "the mirror's operator must fix its certificate; until then use another mirror")
	case errors.As(err, &verifyErr):
		return tlsProblem(strings.TrimPrefix(verifyErr.Err.Error(), "x509: "), `trust its CA ("ca": "/path/ca.pem") or use another mirror`)
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return &Problem{Kind: KindPlainHTTP, Message: "TLS: the server speaks plain http, not https",
			Advice: "write http://" + host + " (plain http: only on a network you trust)"}
	case errors.As(err, &netErr) && netErr.Timeout():
		msg := "timed out"
		if timeout > 0 {
			msg += " after " + timeout.String()
		}
		return &Problem{Kind: KindTimeout, Message: msg,
			Advice: "a firewall may drop the traffic, or the mirror is overloaded; try again later or use another mirror"}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Problem{Kind: KindUnreachable, Message: "the connection was closed by the server (" + describe(err) + ")",
			Advice: "something between here and the mirror cuts the connection (a firewall, a proxy); try another mirror"}
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return &Problem{Kind: KindUnreachable, Message: describe(err),
			Advice: "this machine has no route to the mirror; check the network or use another mirror"}
	}
	var tlsAlert tls.AlertError
	if errors.As(err, &tlsAlert) {
		return tlsProblem("handshake failed: "+tlsAlert.Error(), "the server refuses this client's TLS; use another mirror")
	}
	return &Problem{Kind: KindUnreachable, Message: describe(err), Advice: "check the URL and the network"}
}

func tlsProblem(msg, advice string) *Problem {
	return &Problem{Kind: KindTLS, Message: "TLS: " + msg, Advice: advice}
}

// classifyStatus names an HTTP answer that is not the content asked for.
// what is what was asked ("library/nginx:latest").
func classifyStatus(resp *http.Response, ep Endpoint, what string) *Problem {
	code := resp.StatusCode
	status := fmt.Sprintf("%d %s", code, http.StatusText(code))
	if detail := registryError(resp); detail != "" {
		status += " (" + detail + ")"
	}
	switch {
	case code == http.StatusUnauthorized:
		return &Problem{Kind: KindAuth, Message: "authentication required: " + status,
			Advice: "log in to it: berth login " + ep.Host}
	case code == http.StatusForbidden && ep.Mirror:
		return &Problem{Kind: KindForbidden, Message: fmt.Sprintf("%s: %s is not in the mirror's allowlist", status, what),
			Advice: "this mirror serves only some repositories: probe one it serves (--image), or pull this one from another endpoint"}
	case code == http.StatusForbidden:
		return &Problem{Kind: KindForbidden, Message: status + ": the registry refuses " + what,
			Advice: "check the repository name and your login (berth login " + ep.Host + ")"}
	case code == http.StatusTooManyRequests:
		after := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		msg := status + ": rate-limited"
		advice := "log in (berth login " + ep.Host + ") for a higher limit, or rank another mirror first"
		if after > 0 {
			msg += ", retry after " + after.String()
			advice = "wait " + after.String() + ", " + advice
		}
		return &Problem{Kind: KindRateLimited, Message: msg, Advice: advice, RetryAfter: after}
	case code == http.StatusNotFound && ep.Mirror:
		return &Problem{Kind: KindNotFound, Message: status + ": the mirror does not have " + what,
			Advice: "a pull-through mirror fetches on first use, a static one may not carry it: probe an image it has (--image), or check the URL's prefix"}
	case code == http.StatusNotFound:
		return &Problem{Kind: KindNotFound, Message: status + ": no " + what,
			Advice: "check the image name (--image)"}
	case code >= 500:
		after := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		msg := status + ": the server is failing"
		if after > 0 {
			msg += ", retry after " + after.String()
		}
		return &Problem{Kind: KindServerError, Message: msg, RetryAfter: after,
			Advice: "try again later; meanwhile pulls use the next endpoint"}
	}
	return &Problem{Kind: KindNotRegistry, Message: "unexpected answer " + status + " to a request for " + what,
		Advice: "check that the URL is a registry mirror (Berth adds /v2 itself)"}
}

// registryError is the first error of a registry's JSON error body:
// "DENIED: requested access to the resource is denied".
func registryError(resp *http.Response) string {
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &body) != nil || len(body.Errors) == 0 {
		return ""
	}
	e := body.Errors[0]
	msg := strings.Join(strings.Fields(e.Message), " ")
	switch {
	case e.Code == "":
		return msg
	case msg == "":
		return e.Code
	}
	return e.Code + ": " + msg
}
