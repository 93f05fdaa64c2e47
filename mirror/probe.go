package mirror

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProbeOptions tune a Prober.
type ProbeOptions struct {
	// Image is the repository and tag (or digest) to fetch, as named on the
	// registry: "library/nginx:latest". Required.
	Image string
	// Upstream is the endpoint tags are compared with to find stale
	// mirrors, normally Config.Origin; nil skips the comparison.
	Upstream *Endpoint
	// Transport is the base for connections (its proxy and TLS settings);
	// nil is a clone of http.DefaultTransport.
	Transport *http.Transport
	// Credentials returns the login stored for a registry host, if any.
	Credentials func(host string) (user, password string, ok bool)
	// Resolver looks host names up; nil is net.DefaultResolver.
	Resolver Resolver
	// Platform picks the manifest of an index ("linux/arm64"); "" is this
	// machine's architecture.
	Platform string
	// RangeBytes is how much of a layer the throughput is measured on
	// (default 4 MiB); a smaller layer is fetched whole and verified.
	RangeBytes int64
	// Timeout bounds each step (default 10 s).
	Timeout time.Duration
}

// Resolver is the part of *net.Resolver a probe uses.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Step statuses.
const (
	StepOK      = "ok"
	StepFail    = "fail"
	StepSkip    = "skip"
	StepUnknown = "unknown"
)

// Step is one timed step of a probe.
type Step struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Duration time.Duration `json:"-"`
	Detail   string        `json:"detail,omitempty"`
	Problem  *Problem      `json:"problem,omitempty"`
}

// MarshalJSON adds the duration in milliseconds.
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		plain
		MS float64 `json:"ms"`
	}{plain(s), ms(s.Duration)})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Staleness verdicts of Report.Stale.
const (
	StaleNo      = "no"
	StaleYes     = "yes"
	StaleUnknown = "unknown"
)

// Report is what a probe of one endpoint found.
type Report struct {
	Registry string `json:"registry"`
	Endpoint string `json:"endpoint"`
	Mirror   bool   `json:"mirror"`
	Image    string `json:"image"`
	OK       bool   `json:"ok"`
	// Problem is the failure that ended the probe, or nil.
	Problem *Problem `json:"problem,omitempty"`
	Steps   []Step   `json:"steps"`
	// Digest is what the endpoint serves for the tag.
	Digest         string `json:"digest,omitempty"`
	Upstream       string `json:"upstream,omitempty"`
	UpstreamDigest string `json:"upstreamDigest,omitempty"`
	// Stale is "no", "yes", "unknown" (the upstream could not be asked),
	// or "" (not compared).
	Stale          string  `json:"stale,omitempty"`
	BytesPerSecond float64 `json:"bytesPerSecond,omitempty"`
	// Ranges says whether the endpoint honours Range requests, which a
	// pull needs to resume a blob another endpoint stalled on.
	Ranges *bool         `json:"rangeRequests,omitempty"`
	Total  time.Duration `json:"-"`

	ep Endpoint
}

// MarshalJSON adds the total time in milliseconds.
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		*plain
		TotalMS float64 `json:"totalMs"`
	}{(*plain)(r), ms(r.Total)})
}

// EndpointOf is the endpoint the report is about (zero when its URL did not
// parse).
func (r *Report) EndpointOf() Endpoint { return r.ep }

// Prober checks endpoints step by step. One Prober asks the upstream once
// per image however many endpoints it probes.
type Prober struct {
	cfg  *Config
	opts ProbeOptions

	mu       sync.Mutex
	upstream map[string]*upstreamAnswer
}

type upstreamAnswer struct {
	digest  string
	problem *Problem
	took    time.Duration
}

// NewProber makes a Prober of the configuration's endpoints.
func (c *Config) NewProber(opts ProbeOptions) *Prober {
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.RangeBytes <= 0 {
		opts.RangeBytes = 4 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Platform == "" {
		opts.Platform = "linux/" + runtime.GOARCH
	}
	return &Prober{cfg: c, opts: opts, upstream: map[string]*upstreamAnswer{}}
}

// CheckImage validates a probe image ("repo:tag" or "repo@digest", no
// registry host) and completes Docker Hub's short names ("nginx" is
// "library/nginx:latest" there).
func CheckImage(registry, image string) (string, error) {
	if err := checkProbe(image); err != nil {
		return "", err
	}
	repo, ref := splitImage(image)
	if NormalizeRegistry(registry) == DockerHub && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	if strings.HasPrefix(ref, "sha256:") {
		return repo + "@" + ref, nil
	}
	return repo + ":" + ref, nil
}

// splitImage is "repo:tag" or "repo@digest" apart; the tag defaults to
// latest.
func splitImage(image string) (repo, ref string) {
	if i := strings.Index(image, "@"); i >= 0 {
		return image[:i], image[i+1:]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i], image[i+1:]
	}
	return image, "latest"
}

// ProbeConfig probes an endpoint given as daemon.json would, reporting a
// URL that does not parse (no scheme, a /v2 suffix...) as the probe's
// first, failed step.
func (p *Prober) ProbeConfig(ctx context.Context, registry string, ec EndpointConfig) *Report {
	ep, err := p.cfg.ParseEndpoint(registry, ec)
	if err != nil {
		kind := KindBadURL
		advice := "write the endpoint as https://host[:port][/prefix]"
		if !strings.Contains(ec.URL, "://") {
			kind, advice = KindNoScheme, "write https://"+ec.URL+" (or http://"+ec.URL+" for a plain-http mirror)"
		}
		prob := &Problem{Kind: kind, Message: err.Error(), Advice: advice}
		return &Report{
			Registry: NormalizeRegistry(registry), Endpoint: ec.URL, Mirror: true, Image: p.opts.Image, Problem: prob,
			Steps: []Step{{Name: "url", Status: StepFail, Problem: prob}},
		}
	}
	return p.Probe(ctx, ep)
}

// stepNames are the steps of a probe, in order.
var stepNames = []string{"dns", "connect", "tls", "api", "token", "manifest", "config", "layer", "upstream"}

// Probe checks and times each step of a pull from ep: DNS, connect, TLS,
// the registry API, the token flow, the probe image's manifest, its config
// blob verified by digest, a ranged GET of a layer for the throughput, and
// whether the tag agrees with the upstream. The first failure ends it.
func (p *Prober) Probe(ctx context.Context, ep Endpoint) *Report {
	r := &probeRun{p: p, ep: ep, scheme: ep.Scheme}
	r.rep = &Report{Registry: ep.Registry, Endpoint: ep.URL, Mirror: ep.Mirror, Image: p.opts.Image, ep: ep}
	repo, ref := splitImage(p.opts.Image)
	r.repo, r.ref = ep.Repository(repo), ref
	if err := r.setup(); err != nil {
		prob := &Problem{Kind: KindTLS, Message: err.Error(), Advice: `fix the endpoint's "ca" setting`}
		r.rep.Steps = append(r.rep.Steps, Step{Name: "tls", Status: StepFail, Problem: prob})
		r.rep.Problem = prob
		return r.rep
	}
	defer r.client.CloseIdleConnections()
	steps := map[string]func(context.Context) stepResult{
		"dns": r.dns, "connect": r.connect, "tls": r.tls, "api": r.api, "token": r.token,
		"manifest": r.manifest, "config": r.config, "layer": r.layer, "upstream": r.upstream,
	}
	for _, name := range stepNames {
		if r.rep.Problem != nil {
			r.rep.Steps = append(r.rep.Steps, Step{Name: name, Status: StepSkip, Detail: "not reached"})
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
		start := time.Now()
		res := steps[name](sctx)
		took := time.Since(start)
		cancel()
		if res.took > 0 {
			took = res.took
		}
		if ctx.Err() != nil && res.status == StepFail {
			res.problem = &Problem{Kind: KindTimeout, Message: "interrupted", Advice: "run it again"}
		}
		if res.status == "" {
			res.status = StepOK
			if res.problem != nil {
				res.status = StepFail
			}
		}
		r.rep.Steps = append(r.rep.Steps, Step{Name: name, Status: res.status, Duration: took, Detail: res.detail, Problem: res.problem})
		if name != "upstream" {
			r.rep.Total += took
		}
		if res.problem != nil && res.status == StepFail {
			r.rep.Problem = res.problem
		}
	}
	r.rep.OK = r.rep.Problem == nil
	return r.rep
}

type stepResult struct {
	status  string
	detail  string
	problem *Problem
	took    time.Duration // when the step's own clock differs from the wall's
}

func fail(p *Problem) stepResult { return stepResult{status: StepFail, problem: p} }
func skip(format string, a ...any) stepResult {
	return stepResult{status: StepSkip, detail: fmt.Sprintf(format, a...)}
}

// probeRun is one Probe.
type probeRun struct {
	p      *Prober
	ep     Endpoint
	rep    *Report
	scheme string
	repo   string // on the endpoint, prefix included
	ref    string

	client *http.Client
	proxy  *url.URL
	epTLS  *tls.Config
	addrs  []net.IPAddr
	conn   net.Conn

	challenge *challenge
	auth      string
	mf        *manifestDoc
}

// setup builds the HTTP client: the endpoint's TLS settings for its host,
// the CA (and insecure only where the configuration says so) elsewhere, as
// a Session does, and names resolved by the Prober's resolver.
func (r *probeRun) setup() error {
	p := r.p
	base := p.opts.Transport
	epTLS, err := tlsProfile{insecure: r.ep.Insecure, caFile: r.ep.CAFile}.tlsConfig(base.TLSClientConfig)
	if err != nil {
		return err
	}
	r.epTLS = epTLS
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := p.lookup(ctx, host)
		if err != nil {
			return nil, err
		}
		return dialAny(ctx, network, ips, port)
	}
	newT := func(insecure bool) (*http.Transport, error) {
		tc, err := tlsProfile{insecure: insecure, caFile: r.ep.CAFile}.tlsConfig(base.TLSClientConfig)
		if err != nil {
			return nil, err
		}
		t := base.Clone()
		t.DialContext, t.DialTLSContext, t.TLSClientConfig = dial, nil, tc
		return t, nil
	}
	epT, err := newT(r.ep.Insecure)
	if err != nil {
		return err
	}
	router := &hostRouter{host: r.ep.Host, ep: epT, others: map[bool]*http.Transport{}, insecure: p.cfg.Insecure, make: newT}
	r.client = &http.Client{Transport: router}
	if base.Proxy != nil {
		req, _ := http.NewRequest(http.MethodGet, r.scheme+"://"+r.ep.Host+"/v2/", nil)
		if u, err := base.Proxy(req); err == nil && u != nil {
			r.proxy = u
		}
	}
	return nil
}

func (p *Prober) lookup(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []net.IPAddr{{IP: net.IP(ip.AsSlice()), Zone: ip.Zone()}}, nil
	}
	return p.opts.Resolver.LookupIPAddr(ctx, host)
}

func dialAny(ctx context.Context, network string, ips []net.IPAddr, port string) (net.Conn, error) {
	var d net.Dialer
	var last error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	if last == nil {
		last = errors.New("no address")
	}
	return nil, last
}

// hostRouter sends the endpoint's requests with its TLS settings and the
// rest (token realm, blob redirects) with the CA only.
type hostRouter struct {
	host     string
	ep       *http.Transport
	insecure func(host string) bool
	make     func(insecure bool) (*http.Transport, error)

	mu     sync.Mutex
	others map[bool]*http.Transport
}

func (h *hostRouter) RoundTrip(req *http.Request) (*http.Response, error) {
	if canonicalHost(req.URL.Host, req.URL.Scheme) == canonicalHost(h.host, req.URL.Scheme) {
		return h.ep.RoundTrip(req)
	}
	insecure := h.insecure(req.URL.Host)
	h.mu.Lock()
	t, ok := h.others[insecure]
	if !ok {
		var err error
		if t, err = h.make(insecure); err != nil {
			h.mu.Unlock()
			return nil, err
		}
		h.others[insecure] = t
	}
	h.mu.Unlock()
	return t.RoundTrip(req)
}

func (h *hostRouter) CloseIdleConnections() {
	h.ep.CloseIdleConnections()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.others {
		t.CloseIdleConnections()
	}
}

func (r *probeRun) dns(ctx context.Context) stepResult {
	if r.proxy != nil {
		return skip("through the proxy %s", r.proxy.Redacted())
	}
	name := hostname(r.ep.Host)
	if _, err := netip.ParseAddr(name); err == nil {
		r.addrs, _ = r.p.lookup(ctx, name)
		return skip("%s is an IP address", name)
	}
	addrs, err := r.p.opts.Resolver.LookupIPAddr(ctx, name)
	if err == nil && len(addrs) == 0 {
		err = &net.DNSError{Err: "no address", Name: name, IsNotFound: true}
	}
	if err != nil {
		return fail(classifyErr(err, r.ep, r.p.opts.Timeout))
	}
	r.addrs = addrs
	var shown []string
	for _, a := range addrs[:min(len(addrs), 3)] {
		shown = append(shown, a.String())
	}
	if len(addrs) > 3 {
		shown = append(shown, fmt.Sprintf("and %d more", len(addrs)-3))
	}
	return stepResult{detail: strings.Join(shown, ", ")}
}

func (r *probeRun) port() string {
	if _, port, err := net.SplitHostPort(r.ep.Host); err == nil {
		return port
	}
	if r.scheme == "http" {
		return "80"
	}
	return "443"
}

func (r *probeRun) connect(ctx context.Context) stepResult {
	if r.proxy != nil {
		return skip("through the proxy")
	}
	c, err := dialAny(ctx, "tcp", r.addrs, r.port())
	if err != nil {
		return fail(classifyErr(err, r.ep, r.p.opts.Timeout))
	}
	r.conn = c
	return stepResult{detail: c.RemoteAddr().String()}
}

func (r *probeRun) tls(ctx context.Context) stepResult {
	if r.conn != nil {
		defer r.conn.Close()
	}
	if r.proxy != nil {
		return skip("through the proxy")
	}
	if r.scheme == "http" {
		return skip("plain http")
	}
	cfg := r.epTLS.Clone()
	cfg.ServerName = hostname(r.ep.Host)
	tc := tls.Client(r.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		prob := classifyErr(err, r.ep, r.p.opts.Timeout)
		if prob.Kind == KindPlainHTTP && r.ep.Insecure {
			// As Docker does for insecure registries.
			r.scheme = "http"
			return skip("the server speaks plain http; allowed, the endpoint is insecure")
		}
		return fail(prob)
	}
	st := tc.ConnectionState()
	detail := tls.VersionName(st.Version)
	if len(st.PeerCertificates) > 0 {
		c := st.PeerCertificates[0]
		name := c.Subject.CommonName
		if len(c.DNSNames) > 0 {
			name = c.DNSNames[0]
		} else if len(c.IPAddresses) > 0 {
			name = c.IPAddresses[0].String()
		}
		detail += fmt.Sprintf(", certificate for %s until %s", name, c.NotAfter.Format("2006-01-02"))
	}
	if cfg.InsecureSkipVerify {
		detail += ", not verified (insecure)"
	} else {
		detail += ", verified"
	}
	return stepResult{detail: detail}
}

// url is a path on the endpoint.
func (r *probeRun) url(path string) string { return r.scheme + "://" + r.ep.Host + path }

func (r *probeRun) get(ctx context.Context, u string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "berth-mirror-test")
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	return r.client.Do(req)
}

func (r *probeRun) api(ctx context.Context) stepResult {
	resp, err := r.get(ctx, r.url("/v2/"), nil)
	if err != nil {
		return fail(classifyErr(err, r.ep, r.p.opts.Timeout))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return stepResult{detail: "registry API v2"}
	case http.StatusUnauthorized:
		ch := parseChallenge(resp.Header.Get("WWW-Authenticate"))
		if ch == nil {
			return fail(&Problem{Kind: KindAuth, Message: "401 without a usable WWW-Authenticate challenge", Advice: "log in to it: berth login " + r.ep.Host})
		}
		r.challenge = ch
		return stepResult{detail: "registry API v2, asks for " + ch.scheme + " authentication"}
	case http.StatusNotFound:
		return fail(&Problem{Kind: KindNotRegistry, Message: "404 Not Found: no registry API at " + r.url("/v2/"),
			Advice: "check the URL: Berth adds /v2 itself, and a prefix-style mirror has its prefix in the path (https://m.example/docker.io)"})
	}
	return fail(classifyStatus(resp, r.ep, "the registry API"))
}

func (r *probeRun) token(ctx context.Context) stepResult {
	if r.challenge == nil {
		return skip("no authentication asked")
	}
	var user, pass string
	var haveCreds bool
	if r.p.opts.Credentials != nil {
		user, pass, haveCreds = r.p.opts.Credentials(r.ep.Host)
	}
	if r.challenge.scheme == "basic" {
		if !haveCreds {
			return skip("asks for a password; none stored (berth login %s)", r.ep.Host)
		}
		r.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
		return stepResult{detail: "password of " + user}
	}
	tok, prob := fetchToken(ctx, r.client, r.challenge, r.repo, user, pass, haveCreds, r.ep, r.p.opts.Timeout)
	if prob != nil {
		return fail(prob)
	}
	r.auth = "Bearer " + tok
	who := "anonymous token"
	if haveCreds {
		who = "token for " + user
	}
	return stepResult{detail: who + " from " + r.challenge.params["realm"]}
}

// challenge is a parsed WWW-Authenticate.
type challenge struct {
	scheme string // "bearer" or "basic"
	params map[string]string
}

func parseChallenge(h string) *challenge {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	scheme = strings.ToLower(scheme)
	if scheme != "bearer" && scheme != "basic" {
		return nil
	}
	ch := &challenge{scheme: scheme, params: map[string]string{}}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				ch.params[k] = v[1:]
				break
			}
			ch.params[k], rest = v[1:end+1], v[end+2:]
		} else {
			val, after, _ := strings.Cut(v, ",")
			ch.params[k], rest = strings.TrimSpace(val), after
		}
	}
	if scheme == "bearer" && ch.params["realm"] == "" {
		return nil
	}
	return ch
}

func fetchToken(ctx context.Context, client *http.Client, ch *challenge, repo, user, pass string, haveCreds bool, ep Endpoint, timeout time.Duration) (string, *Problem) {
	u, err := url.Parse(ch.params["realm"])
	if err != nil || u.Host == "" {
		return "", &Problem{Kind: KindAuth, Message: fmt.Sprintf("the token realm %q is not a URL", ch.params["realm"]), Advice: "the mirror is misconfigured; use another"}
	}
	q := u.Query()
	if s := ch.params["service"]; s != "" {
		q.Set("service", s)
	}
	q.Set("scope", "repository:"+repo+":pull")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", &Problem{Kind: KindAuth, Message: err.Error()}
	}
	if haveCreds {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		prob := classifyErr(err, Endpoint{Host: u.Host, URL: u.Scheme + "://" + u.Host, Mirror: ep.Mirror}, timeout)
		prob.Message = "token service " + u.Host + ": " + prob.Message
		return "", prob
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		msg := "the token service refuses anonymous access"
		if haveCreds {
			msg = "the token service refuses the stored login of " + user
		}
		return "", &Problem{Kind: KindAuth, Message: "authentication required: " + msg, Advice: "log in to it: berth login " + ep.Host}
	default:
		return "", classifyStatus(resp, ep, "a token")
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil || body.Token+body.AccessToken == "" {
		return "", &Problem{Kind: KindAuth, Message: "the token service answered without a token", Advice: "the mirror is misconfigured; use another"}
	}
	if body.Token != "" {
		return body.Token, nil
	}
	return body.AccessToken, nil
}

// manifestDoc is the part of an image manifest or index a probe reads.
type manifestDoc struct {
	SchemaVersion int        `json:"schemaVersion"`
	MediaType     string     `json:"mediaType"`
	Config        descriptor `json:"config"`
	Layers        []descriptor
	Manifests     []struct {
		descriptor
		Platform *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"manifests"`
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

func (m *manifestDoc) isIndex() bool {
	return len(m.Manifests) > 0 || strings.Contains(m.MediaType, "index") || strings.Contains(m.MediaType, "list")
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func short(d string) string {
	h := strings.TrimPrefix(d, "sha256:")
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// fetchManifest gets a manifest and checks what can be checked: the body
// against the digest asked for, and against the one the server states.
func (r *probeRun) fetchManifest(ctx context.Context, ref string) (*manifestDoc, string, *Problem) {
	resp, err := r.get(ctx, r.url("/v2/"+r.repo+"/manifests/"+ref), http.Header{"Accept": {manifestAccept}})
	if err != nil {
		return nil, "", classifyErr(err, r.ep, r.p.opts.Timeout)
	}
	defer resp.Body.Close()
	what := r.p.opts.Image
	if resp.StatusCode != http.StatusOK {
		return nil, "", classifyStatus(resp, r.ep, what)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, "", classifyErr(err, r.ep, r.p.opts.Timeout)
	}
	got := sha256Hex(body)
	if strings.HasPrefix(ref, "sha256:") && got != ref {
		return nil, "", wrongContent("the manifest", got, ref, r.ep)
	}
	if stated := resp.Header.Get("Docker-Content-Digest"); strings.HasPrefix(stated, "sha256:") && stated != got {
		return nil, "", wrongContent("the manifest", got, stated, r.ep)
	}
	var m manifestDoc
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", &Problem{Kind: KindNotRegistry, Message: "the manifest of " + what + " is not JSON",
			Advice: "check that the URL is a registry mirror"}
	}
	if m.SchemaVersion == 1 {
		return nil, "", &Problem{Kind: KindNotRegistry, Message: what + " has a Docker schema 1 manifest, which pulls refuse",
			Advice: "probe another image (--image)"}
	}
	return &m, got, nil
}

func wrongContent(what, got, want string, ep Endpoint) *Problem {
	return &Problem{Kind: KindWrongContent, Message: fmt.Sprintf("wrong content: %s hashes to %s, not %s", what, got, want),
		Advice: "the mirror serves corrupt or altered data; pulls reject it, but remove it: berth mirror rm " + ep.URL}
}

func (r *probeRun) manifest(ctx context.Context) stepResult {
	m, d, prob := r.fetchManifest(ctx, r.ref)
	if prob != nil {
		return fail(prob)
	}
	r.rep.Digest = d
	detail := d
	if m.isIndex() {
		goos, arch, variant := splitPlatform(r.p.opts.Platform)
		var child string
		for _, e := range m.Manifests {
			if e.Platform == nil || e.Platform.OS == "unknown" {
				continue
			}
			if e.Platform.OS == goos && e.Platform.Architecture == arch && (variant == "" || e.Platform.Variant == variant) {
				child = e.Digest
				break
			}
			if child == "" {
				child = e.Digest // any image, to go on measuring
			}
		}
		if child == "" {
			return fail(&Problem{Kind: KindNotRegistry, Message: "the index of " + r.p.opts.Image + " lists no image", Advice: "probe another image (--image)"})
		}
		cm, cd, prob := r.fetchManifest(ctx, child)
		if prob != nil {
			return fail(prob)
		}
		m = cm
		detail = fmt.Sprintf("%s (index; image %s)", d, short(cd))
	}
	if m.Config.Digest == "" {
		return fail(&Problem{Kind: KindNotRegistry, Message: r.p.opts.Image + " is not an image (no config)", Advice: "probe an image (--image)"})
	}
	r.mf = m
	return stepResult{detail: detail}
}

func splitPlatform(p string) (goos, arch, variant string) {
	parts := strings.SplitN(p, "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return parts[0], parts[1], parts[2]
}

func (r *probeRun) blob(ctx context.Context, d descriptor, header http.Header) (*http.Response, *Problem) {
	resp, err := r.get(ctx, r.url("/v2/"+r.repo+"/blobs/"+d.Digest), header)
	if err != nil {
		return nil, classifyErr(err, r.ep, r.p.opts.Timeout)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		defer resp.Body.Close()
		return nil, classifyStatus(resp, r.ep, "blob "+short(d.Digest)+" of "+r.p.opts.Image)
	}
	return resp, nil
}

func (r *probeRun) config(ctx context.Context) stepResult {
	resp, prob := r.blob(ctx, r.mf.Config, nil)
	if prob != nil {
		return fail(prob)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fail(classifyErr(err, r.ep, r.p.opts.Timeout))
	}
	if got := sha256Hex(b); got != r.mf.Config.Digest {
		return fail(wrongContent("the image config", got, r.mf.Config.Digest, r.ep))
	}
	return stepResult{detail: fmt.Sprintf("%s verified (%d bytes)", short(r.mf.Config.Digest), len(b))}
}

func (r *probeRun) layer(ctx context.Context) stepResult {
	if len(r.mf.Layers) == 0 {
		return skip("the image has no layers")
	}
	l := r.mf.Layers[0]
	for _, c := range r.mf.Layers {
		if c.Size > l.Size {
			l = c
		}
	}
	n := r.p.opts.RangeBytes
	if l.Size > 0 {
		n = min(n, l.Size)
	}
	whole := l.Size > 0 && n == l.Size
	start := time.Now()
	resp, prob := r.blob(ctx, l, http.Header{"Range": {fmt.Sprintf("bytes=0-%d", n-1)}})
	if prob != nil {
		return fail(prob)
	}
	defer resp.Body.Close()
	ranges := resp.StatusCode == http.StatusPartialContent
	if ranges && !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes 0-") {
		return fail(&Problem{Kind: KindWrongContent, Message: "wrong content: asked for bytes 0-, got " + resp.Header.Get("Content-Range"),
			Advice: "the mirror mishandles Range requests; pulls that resume through it would fail: use another mirror"})
	}
	r.rep.Ranges = &ranges
	h := sha256.New()
	got, err := io.Copy(h, io.LimitReader(resp.Body, n))
	took := time.Since(start)
	rate := float64(got) / took.Seconds()
	r.rep.BytesPerSecond = rate
	partial := got < n
	if err != nil && ctx.Err() == nil {
		return stepResult{status: StepFail, took: took, problem: classifyErr(err, r.ep, r.p.opts.Timeout)}
	}
	stall := r.p.cfg.Stall()
	if partial && ctx.Err() == nil {
		return stepResult{status: StepFail, took: took, problem: &Problem{Kind: KindWrongContent,
			Message: fmt.Sprintf("wrong content: the layer ended after %d of %d bytes", got, n), Advice: "the mirror serves truncated blobs; remove it: berth mirror rm " + r.ep.URL}}
	}
	detail := fmt.Sprintf("%s in %s: %s", sizeString(got), took.Round(time.Millisecond), Rate(rate))
	if partial {
		detail = fmt.Sprintf("only %s of %s in %s: %s", sizeString(got), sizeString(n), took.Round(time.Millisecond), Rate(rate))
	}
	if (partial || took > time.Second) && stall.Enabled() && rate < float64(stall.BytesPerSecond) {
		return stepResult{status: StepFail, detail: detail, took: took, problem: &Problem{Kind: KindSlow,
			Message: fmt.Sprintf("too slow: %s, below the floor of %s at which pulls abandon an endpoint", Rate(rate), Rate(float64(stall.BytesPerSecond))),
			Advice:  "rank a faster mirror first (berth mirror rank --apply), or remove this one"}}
	}
	if partial {
		return stepResult{status: StepFail, detail: detail, took: took, problem: &Problem{Kind: KindSlow,
			Message: fmt.Sprintf("stalled: only %s of %s arrived in %s", sizeString(got), sizeString(n), r.p.opts.Timeout),
			Advice:  "pulls abandon an endpoint that stops sending; rank a faster mirror first (berth mirror rank --apply), or remove this one"}}
	}
	if whole {
		if d := "sha256:" + hex.EncodeToString(h.Sum(nil)); d != l.Digest {
			return stepResult{status: StepFail, detail: detail, took: took, problem: wrongContent("layer "+short(l.Digest), d, l.Digest, r.ep)}
		}
		detail += ", verified"
	}
	if ranges {
		detail += "; Range requests honoured"
	} else {
		detail += "; no Range requests: a pull resuming here re-reads the blob from its start"
	}
	return stepResult{detail: detail, took: took}
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10) + " B"
}

func (r *probeRun) upstream(ctx context.Context) stepResult {
	up := r.p.opts.Upstream
	switch {
	case !r.ep.Mirror:
		return skip("this is the registry itself")
	case up == nil:
		return skip("no upstream to compare the tag with")
	case strings.HasPrefix(r.ref, "sha256:"):
		return skip("probing by digest: nothing can be stale")
	}
	r.rep.Upstream = up.URL
	if !r.ep.Can(Resolve) {
		return skip("pull-only mirror: tags are resolved upstream")
	}
	a := r.p.upstreamDigest(ctx)
	if a.problem != nil {
		r.rep.Stale = StaleUnknown
		return stepResult{status: StepUnknown, took: a.took, detail: "stale or not: unknown, the upstream cannot be asked (" + a.problem.Message + ")"}
	}
	r.rep.UpstreamDigest = a.digest
	if a.digest != r.rep.Digest {
		r.rep.Stale = StaleYes
		return stepResult{status: StepFail, took: a.took, problem: &Problem{Kind: KindStale,
			Message: fmt.Sprintf("stale tag: the mirror serves %s as %s, the upstream has %s", r.p.opts.Image, short(r.rep.Digest), short(a.digest)),
			Advice:  `the mirror has not refreshed the tag, so pulls by tag through it get an old image; ask its operator, or give it "capabilities": ["pull"] so tags are resolved upstream`}}
	}
	r.rep.Stale = StaleNo
	return stepResult{took: a.took, detail: "the tag matches " + up.URL}
}

// upstreamDigest asks the upstream for the tag's digest, once per Prober.
func (p *Prober) upstreamDigest(ctx context.Context) *upstreamAnswer {
	up := *p.opts.Upstream
	p.mu.Lock()
	defer p.mu.Unlock()
	key := up.URL + " " + p.opts.Image
	if a, ok := p.upstream[key]; ok {
		return &upstreamAnswer{digest: a.digest, problem: a.problem}
	}
	start := time.Now()
	r := &probeRun{p: p, ep: up, scheme: up.Scheme}
	r.rep = &Report{}
	repo, ref := splitImage(p.opts.Image)
	r.repo, r.ref = up.Repository(repo), ref
	a := &upstreamAnswer{}
	if err := r.setup(); err != nil {
		a.problem = &Problem{Message: err.Error()}
	} else {
		defer r.client.CloseIdleConnections()
		for _, f := range []func(context.Context) stepResult{r.api, r.token} {
			if res := f(ctx); res.problem != nil {
				a.problem = res.problem
				break
			}
		}
		if a.problem == nil {
			_, a.digest, a.problem = r.fetchManifest(ctx, r.ref)
		}
	}
	a.took = time.Since(start)
	p.upstream[key] = a
	return a
}
