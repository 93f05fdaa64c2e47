package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/distro"
	"github.com/berthhq/berth/runtime/api"
	"github.com/berthhq/berth/runtime/image"
)

// VerifyOptions are the flags of `berth verify`.
type VerifyOptions struct {
	Image   string
	From    string
	Pull    string
	Timeout time.Duration
	JSON    bool
	// imageGiven and pullGiven say the flag was on the command line.
	imageGiven, pullGiven bool
	// Inspect returns berth check's findings, for the hints of a
	// failure; tests answer from a fixture.
	Inspect func(ctx context.Context, dataRoot string) (*distro.Report, error)
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdVerify(streams *IOStreams, g *GlobalOptions, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "verify [OPTIONS]",
		Short: "Run nginx through the engine and check that it serves, on 127.0.0.1 and on the bridge",
		Long: `Run the smoke test the installer ends with: make the image ready (pulled
through the configured mirrors, or loaded with --from), run it as
berth-verify-<random> with port 80 published on a free port of 127.0.0.1,
wait until GET / answers 200 with "Welcome to nginx!", GET / again on the
container's bridge address, then stop and remove the container. The image
stays, as docker keeps what it pulled.

Each phase is reported with its time: image, start, response, bridge,
cleanup. On a failure the report names the phase and why, shows the last
lines of the container's log and the findings of berth check that may
explain it. The container is removed on a failure, on --timeout and on
Ctrl-C too.

--json prints {"ok", "image", "failed", "phases": [{"name", "ms", "ok",
"error", "detail", "skipped"}], "log", "hints": [berth check findings]}.

Exit status: 0 when every phase passed, 1 when one failed, 2 for a usage
error (nothing was done), 3 when the engine cannot be reached, 130 when
interrupted (after the cleanup).`,
		Example: `  berth verify
  berth verify --image nginx:1.22 --json
  berth verify --from /opt/berth/bundle/images.tar --timeout 30s`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.imageGiven = cmd.Flags().Changed("image")
			opts.pullGiven = cmd.Flags().Changed("pull")
			if runF != nil {
				return runF(opts)
			}
			return runVerify(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Image, "image", "nginx", "the nginx image to run; with --from, which of the archive's images")
	f.StringVar(&opts.From, "from", "", "load the image from `FILE` (docker save output or an OCI archive) instead of pulling it")
	f.StringVar(&opts.Pull, "pull", "missing", "pull the image: always, missing (when not present) or never")
	f.DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "give up after this long, for the whole run (the cleanup still happens)")
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

// verifyCleanupTime bounds the cleanup, which runs after --timeout or an
// interrupt has ended everything else.
const verifyCleanupTime = 30 * time.Second

func runVerify(ctx context.Context, opts *VerifyOptions) error {
	spec := verifySpec{Image: opts.Image, From: opts.From, Pull: opts.Pull}
	switch {
	case opts.Timeout <= 0:
		return usageErrorf("--timeout %s: must be positive", opts.Timeout)
	case opts.Pull != "always" && opts.Pull != "missing" && opts.Pull != "never":
		return usageErrorf("invalid --pull %q: must be one of \"always\", \"missing\" or \"never\"", opts.Pull)
	case opts.From != "" && opts.pullGiven:
		return usageErrorf("--pull applies to an image from a registry; --from loads it from %s", opts.From)
	}
	var archive io.Reader
	source := opts.Image
	if opts.From != "" {
		f, err := os.Open(opts.From)
		if err != nil {
			return usageError(fmt.Errorf("cannot read %s: %w", opts.From, unwrapPath(err)))
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return usageErrorf("cannot read %s: it is a directory, not an archive", opts.From)
		}
		archive = f
		source = "image from " + opts.From
	} else if _, err := image.ParseReference(opts.Image); err != nil {
		return usageErrorf("--image: %v", err)
	}

	c := engineClient(opts.Global)
	defer c.Close()
	if _, err := c.Ping(ctx); err != nil {
		return engineError(err)
	}
	plan := verifyPlan(spec)
	v := &verifier{c: c, spec: spec, archive: archive, imageGiven: opts.imageGiven, timeout: opts.Timeout,
		name: "berth-verify-" + randomHex(3), http: newProbeClient(), image: opts.Image}

	out, color := opts.Streams.Out, opts.Streams.Color
	if !opts.JSON {
		verifyHeader(out, source, color)
	}
	results, log, logRead := v.run(ctx, plan, func(p verifyPhase, r phaseResult) {
		if !opts.JSON {
			writePhaseLine(out, p.Title, r, color)
		}
	})
	var checks []distro.Check
	failed := slices.ContainsFunc(results, func(r phaseResult) bool { return !r.OK && !r.Skipped })
	if failed && ctx.Err() == nil {
		checks = verifyFindings(ctx, c, opts.Inspect)
	}
	rep := judgeVerify(plan, source, v.image, results, log, logRead, checks)
	if opts.JSON {
		if err := writeVerifyJSON(out, rep); err != nil {
			return err
		}
	} else {
		writeVerifyTail(out, rep, color)
	}
	// An interrupt that came during the cleanup changed nothing: the
	// verdict stands.
	interrupted := slices.ContainsFunc(results, func(r phaseResult) bool { return r.Error == verifyInterrupted })
	switch {
	case interrupted:
		return ctx.Err()
	case !rep.OK:
		return silentExit(ExitFailure)
	}
	return nil
}

// verifyFindings runs berth check on this host, against the engine's data
// root, for the hints; when it cannot, there are none.
func verifyFindings(ctx context.Context, c *api.Client, inspect func(context.Context, string) (*distro.Report, error)) []distro.Check {
	if inspect == nil {
		inspect = func(ctx context.Context, dataRoot string) (*distro.Report, error) {
			var o []distro.Option
			if dataRoot != "" {
				o = append(o, distro.WithDataRoot(dataRoot))
			}
			return distro.Inspect(ctx, "/", o...)
		}
	}
	dataRoot := ""
	if info, err := c.Info(ctx); err == nil {
		dataRoot = info.DockerRootDir
	}
	rep, err := inspect(ctx, dataRoot)
	if err != nil {
		return nil
	}
	return rep.Checks
}

// verifier does the phases against the engine and remembers what it made,
// so that the cleanup removes exactly that.
type verifier struct {
	c          *api.Client
	spec       verifySpec
	archive    io.Reader
	imageGiven bool
	timeout    time.Duration
	http       *http.Client
	// name is the container's, id its ID once the engine said it.
	// created says the container may exist, so the cleanup must remove
	// it: a create succeeded, or its answer never came.
	name    string
	id      string
	created bool
	started bool
	// gone says the container's exit was seen: there is nothing to stop.
	gone bool
	port int
	// image is what runs: the familiar name once the image phase knows it.
	image string
	// exited delivers the container's exit once it has started.
	exited <-chan api.WaitResult
}

// run does the plan: each phase in turn, the ones after a failure
// skipped, the cleanup always, with its own time when ctx has ended.
// each is told of every phase as it finishes.
func (v *verifier) run(ctx context.Context, plan []verifyPhase, each func(verifyPhase, phaseResult)) (results []phaseResult, log []string, logRead bool) {
	runCtx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	failed := false
	for _, p := range plan {
		var r phaseResult
		switch {
		case p.Name == phaseCleanup:
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), verifyCleanupTime)
			if failed && v.started {
				log, logRead = v.lastLog(cctx), true
			}
			cancel() // ends the wait for the exit before the removal
			r, _ = timed(p.Name, func() (string, error) { return v.cleanup(cctx) })
			ccancel()
		case failed:
			r = phaseResult{Name: p.Name, Skipped: true}
		default:
			var err error
			r, err = timed(p.Name, func() (string, error) { return v.phase(runCtx, p.Name) })
			if err != nil {
				r.Error = v.explain(ctx, runCtx, err)
				failed = true
			}
		}
		results = append(results, r)
		each(p, r)
	}
	return results, log, logRead
}

// timed runs one phase and reports it.
func timed(name string, do func() (string, error)) (phaseResult, error) {
	start := time.Now()
	detail, err := do()
	r := phaseResult{Name: name, MS: time.Since(start).Milliseconds(), OK: err == nil, Detail: detail}
	if err != nil {
		r.Error, r.Detail = err.Error(), ""
	}
	return r, err
}

// verifyInterrupted is the error of the phase Ctrl-C ended.
const verifyInterrupted = "interrupted"

// explain says why a phase failed when the run's time ran out or the user
// interrupted, rather than the bare context error.
func (v *verifier) explain(parent, runCtx context.Context, err error) string {
	var wc *waitCut
	switch {
	case parent.Err() != nil:
		return verifyInterrupted
	case runCtx.Err() != nil && errors.As(err, &wc):
		return fmt.Sprintf("--timeout %s reached: %s", v.timeout, wc.what)
	case runCtx.Err() != nil:
		return fmt.Sprintf("--timeout %s reached", v.timeout)
	}
	return err.Error()
}

func (v *verifier) phase(ctx context.Context, name string) (string, error) {
	switch name {
	case phaseImage:
		return v.prepareImage(ctx)
	case phaseStart:
		return v.start(ctx)
	case phaseResponse:
		u := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(v.port)) + "/"
		tries, err := awaitWelcome(ctx, v.http, u, v.exited)
		if err != nil {
			v.gone = errors.As(err, new(*containerExited))
			return "", err
		}
		return fmt.Sprintf("GET %s: 200 %q (%s)", u, welcomeText, plural(tries, "try", "tries")), nil
	case phaseBridge:
		return v.bridge(ctx)
	}
	return "", fmt.Errorf("verify: no phase %q", name)
}

// prepareImage loads the archive, or finds or pulls the image.
func (v *verifier) prepareImage(ctx context.Context) (string, error) {
	if v.spec.From != "" {
		return v.load(ctx)
	}
	ref, err := image.ParseReference(v.spec.Image)
	if err != nil {
		return "", err
	}
	v.image = ref.Familiar()
	if v.spec.Pull != "always" {
		_, err := v.c.ImageInspect(ctx, ref.String())
		switch {
		case err == nil:
			return v.image + " is present", nil
		case !errors.Is(err, api.ErrNotFound):
			return "", fmt.Errorf("inspecting %s: %w", v.image, err)
		case v.spec.Pull == "never":
			return "", fmt.Errorf("%s is not present, and --pull is never", v.image)
		}
	}
	auth, err := credentialsFor(ref.Registry)
	if err != nil {
		return "", err
	}
	stream, err := v.c.ImagePull(ctx, ref.String(), "", auth)
	if err != nil {
		return "", fmt.Errorf("pulling %s: %w", v.image, err)
	}
	defer stream.Close()
	var servedBy []string
	err = stream.Wait(func(m api.JSONMessage) {
		if ep, ok := strings.CutPrefix(m.Status, "Download complete from "); ok {
			ep, _, _ = strings.Cut(ep, " (")
			if !slices.Contains(servedBy, ep) {
				servedBy = append(servedBy, ep)
			}
		}
	})
	if err != nil {
		return "", fmt.Errorf("pulling %s: %w", v.image, err)
	}
	if len(servedBy) > 0 {
		return "pulled " + v.image + " from " + strings.Join(servedBy, ", "), nil
	}
	return "pulled " + v.image, nil
}

// load sends the archive to the engine and picks the image to run among
// those it names.
func (v *verifier) load(ctx context.Context) (string, error) {
	stream, err := v.c.ImageLoad(ctx, v.archive, true)
	if err != nil {
		return "", fmt.Errorf("loading %s: %w", v.spec.From, err)
	}
	defer stream.Close()
	var loaded []string
	err = stream.Wait(func(m api.JSONMessage) {
		line := strings.TrimSpace(m.Stream)
		for _, p := range []string{"Loaded image: ", "Loaded image ID: "} {
			if name, ok := strings.CutPrefix(line, p); ok {
				loaded = append(loaded, name)
			}
		}
	})
	if err != nil {
		return "", fmt.Errorf("loading %s: %w", v.spec.From, err)
	}
	img, err := chooseLoaded(loaded, v.spec.Image, v.imageGiven)
	if err != nil {
		return "", err
	}
	v.image = img
	return fmt.Sprintf("loaded %s from %s", img, v.spec.From), nil
}

// verifyRequest is the create request of `run -d -p 127.0.0.1:port:80
// --network bridge image`, as the docker CLI sends it.
func verifyRequest(img string, port int) *api.ContainerCreateRequest {
	return &api.ContainerCreateRequest{
		ContainerConfig: api.ContainerConfig{
			Image:        img,
			ExposedPorts: map[string]struct{}{"80/tcp": {}},
		},
		HostConfig: &api.HostConfig{
			NetworkMode:   "bridge",
			PortBindings:  map[string][]api.PortBinding{"80/tcp": {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(port)}}},
			RestartPolicy: api.RestartPolicy{Name: "no"},
		},
	}
}

// portTries is how often start picks another port when the one it chose
// was taken between choosing and publishing.
const portTries = 3

// start creates and starts the container on a free port of 127.0.0.1.
func (v *verifier) start(ctx context.Context) (string, error) {
	for try := 1; ; try++ {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		v.port = port
		resp, err := v.c.ContainerCreate(ctx, v.name, "", verifyRequest(v.image, port))
		if err != nil {
			// An engine that answered made nothing (and a name taken by
			// another container must not be removed); one that did not
			// answer may have made it.
			var ae *api.Error
			v.created = !errors.As(err, &ae)
			return "", fmt.Errorf("creating %s: %w", v.name, err)
		}
		v.id, v.created = resp.ID, true
		err = v.c.ContainerStart(ctx, v.id)
		if err == nil {
			break
		}
		if try < portTries && portTaken(err) {
			if rerr := v.c.ContainerRemove(ctx, v.id, api.RemoveOptions{Force: true}); rerr != nil {
				return "", fmt.Errorf("removing %s to publish another port: %w", v.name, rerr)
			}
			v.id, v.created = "", false
			continue
		}
		return "", fmt.Errorf("starting %s: %w", v.name, err)
	}
	v.started = true
	// Registered after the start, "not-running" answers at once for a
	// container that has already exited and otherwise at its exit.
	if ch, err := v.c.ContainerWait(ctx, v.id, api.WaitNotRunning); err == nil {
		v.exited = ch
	}
	return fmt.Sprintf("%s, 127.0.0.1:%d->80/tcp", v.name, v.port), nil
}

// portTaken recognises a start that failed because another process took
// the port after freePort let it go.
func portTaken(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "address already in use") || strings.Contains(msg, "port is already allocated")
}

// freePort is a port of 127.0.0.1 nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// bridge asks nginx again, on the container's own address.
func (v *verifier) bridge(ctx context.Context) (string, error) {
	info, err := v.c.ContainerInspect(ctx, v.id, false)
	if err != nil {
		return "", fmt.Errorf("inspecting %s: %w", v.name, err)
	}
	ip := bridgeAddress(info)
	if ip == "" {
		return "", fmt.Errorf("%s has no address on the bridge network (NetworkSettings.Networks.bridge.IPAddress is empty)", v.name)
	}
	u := "http://" + net.JoinHostPort(ip, "80") + "/"
	tries, err := awaitWelcome(ctx, v.http, u, v.exited)
	if err != nil {
		v.gone = errors.As(err, new(*containerExited))
		return "", err
	}
	return fmt.Sprintf("GET %s: 200 (%s)", u, plural(tries, "try", "tries")), nil
}

// bridgeAddress is the container's IPv4 address on the bridge network.
func bridgeAddress(info *api.ContainerJSON) string {
	ns := info.NetworkSettings
	if ns == nil {
		return ""
	}
	if e := ns.Networks["bridge"]; e != nil && e.IPAddress != "" {
		return e.IPAddress
	}
	return ns.IPAddress
}

// verifyLogLines is how much of the container's log a failure shows.
const verifyLogLines = 20

// lastLog is the end of the container's output, both streams in order.
func (v *verifier) lastLog(ctx context.Context) []string {
	body, err := v.c.ContainerLogs(ctx, v.id, api.ContainerLogsOptions{Stdout: true, Stderr: true, Tail: strconv.Itoa(verifyLogLines)})
	if err != nil {
		return []string{"(the log could not be read: " + err.Error() + ")"}
	}
	defer body.Close()
	var buf bytes.Buffer
	lw := &limitedWriter{w: &buf, n: 64 << 10}
	if _, err := api.StdCopy(lw, lw, body); err != nil && !errors.Is(err, errLimit) {
		return []string{"(the log could not be read: " + err.Error() + ")"}
	}
	var lines []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > verifyLogLines {
		lines = lines[len(lines)-verifyLogLines:]
	}
	return lines
}

var errLimit = errors.New("log longer than shown")

// limitedWriter keeps the first n bytes and then fails, so a log of
// very long lines cannot fill memory.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		l.w.Write(p[:l.n])
		l.n = 0
		return 0, errLimit
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// cleanup stops and removes the container, if a create was sent; a
// container the engine never made is no failure.
func (v *verifier) cleanup(ctx context.Context) (string, error) {
	if !v.created {
		return "nothing to remove", nil
	}
	ref := v.id
	if ref == "" {
		ref = v.name
	}
	stopped := false
	if v.started && !v.gone {
		// As docker stop: the image's stop signal (nginx's SIGQUIT lets
		// it finish), then SIGKILL after 10 s; rm -f covers the rest.
		t := 10
		stopped = v.c.ContainerStop(ctx, ref, api.StopOptions{Timeout: &t}) == nil
	}
	err := v.c.ContainerRemove(ctx, ref, api.RemoveOptions{Force: true})
	switch {
	case errors.Is(err, api.ErrNotFound):
		return v.name + " was not created", nil
	case err != nil:
		return "", fmt.Errorf("removing %s: %w (remove it with: berth rm -f %s)", v.name, err, v.name)
	case v.gone:
		return "removed " + v.name + ", which had exited", nil
	case stopped:
		return "stopped and removed " + v.name, nil
	}
	return "removed " + v.name, nil
}

// newProbeClient is the HTTP client of the GETs: no proxy from the
// environment (the addresses are this host's), no redirect followed (a
// GET goes nowhere but where verify sends it), one connection per try.
func newProbeClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			DisableKeepAlives: true,
		},
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// containerExited is a wait the container's exit ended.
type containerExited struct {
	status int
	url    string
	last   error
}

func (e *containerExited) Error() string {
	return fmt.Sprintf("the container exited with status %d before GET %s answered (last try: %v)", e.status, e.url, e.last)
}

// waitCut is a wait that ctx ended, saying what it was waiting for.
type waitCut struct {
	what string
	err  error
}

func (e *waitCut) Error() string { return e.what }
func (e *waitCut) Unwrap() error { return e.err }

// awaitWelcome asks u until nginx's page comes back. A refused or reset
// connection is tried again (the server is still starting); any HTTP
// answer is final; the container's exit or ctx ends the wait. It returns
// how many GETs it took.
func awaitWelcome(ctx context.Context, hc *http.Client, u string, exited <-chan api.WaitResult) (int, error) {
	// Short, since the time to the first answer is what the installer
	// and the bench measure; a refused connection on this host costs
	// microseconds.
	const first, most = time.Millisecond, 5 * time.Millisecond
	delay := first
	var last error
	for tries := 1; ; tries++ {
		status, body, err := probe(ctx, hc, u)
		switch {
		case err == nil && status == http.StatusOK && strings.Contains(body, welcomeText):
			return tries, nil
		case err == nil && status == http.StatusOK:
			return tries, fmt.Errorf("GET %s answered 200 without %q: is the image nginx?", u, welcomeText)
		case err == nil:
			return tries, fmt.Errorf("GET %s answered %d %s, not 200", u, status, http.StatusText(status))
		}
		last = err
		select {
		case r, ok := <-exited:
			if ok && r.Err == nil {
				return tries, &containerExited{status: r.Response.StatusCode, url: u, last: last}
			}
			// The wait itself failed: go on without it.
			exited = nil
		case <-ctx.Done():
			return tries, &waitCut{what: fmt.Sprintf("no answer from %s after %s (last try: %v)", u, plural(tries, "try", "tries"), last), err: ctx.Err()}
		case <-time.After(delay):
		}
		delay = min(2*delay, most)
	}
}

// probe is one GET of u: the status and the start of the body.
func probe(ctx context.Context, hc *http.Client, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "", fmt.Errorf("reading the answer of %s: %w", u, err)
	}
	return resp.StatusCode, string(body), nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on Linux; a clock is random enough
		// for a name that only has to differ from a concurrent run's.
		return strconv.FormatInt(time.Now().UnixNano()%(1<<24), 16)
	}
	return hex.EncodeToString(b)
}
