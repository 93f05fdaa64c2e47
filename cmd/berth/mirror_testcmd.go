package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/daemon"
	"github.com/berthhq/berth/runtime/image"
)

// probeResolver replaces the system's resolver in tests, so that no test
// asks a real DNS server.
var probeResolver mirror.Resolver

// MirrorTestOptions are the flags of `berth mirror test` (and, but for the
// endpoints, of `rank`).
type MirrorTestOptions struct {
	Endpoints []string
	Registry  string
	Image     string
	Upstream  string
	Platform  string
	Timeout   time.Duration
	Insecure  bool
	CA        string
	JSON      bool
	Mirror    *MirrorOptions
	Streams   *IOStreams
}

func newCmdMirrorTest(streams *IOStreams, mo *MirrorOptions, runF func(*MirrorTestOptions) error) *cobra.Command {
	opts := &MirrorTestOptions{Mirror: mo, Streams: streams}
	cmd := &cobra.Command{
		Use:   "test [OPTIONS] [ENDPOINT...]",
		Short: "Check and time each step of a pull from mirrors, and say what is wrong",
		Long: `Check mirrors from this machine (no engine needed), step by step, each timed:
DNS, connect, TLS, the registry API (GET /v2/), the token flow, the probe
image's manifest, its config blob verified by digest, a ranged GET of a layer
for the throughput, and whether the tag agrees with the upstream registry (a
stale mirror; "unknown" when the upstream cannot be reached). A failure is
named in words (no scheme, DNS, refused, TLS, not in the allowlist,
rate-limited with its Retry-After, auth required, stale tag, wrong content,
too slow) with what to do.

Without ENDPOINTs, the configured mirrors of every registry (or --registry) are
tested. The probe image is the registry's "probe", else library/nginx:latest
for Docker Hub; the upstream is the registry itself (--upstream URL to name
another, "none" to skip the comparison). Exit status 1 when an endpoint fails.`,
		Example: `  berth mirror test
  berth mirror test https://mirror.gcr.io
  berth mirror test --registry ghcr.io --image owner/app:1.0 https://m.example/ghcr.io
  berth mirror test --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoints = args
			if runF != nil {
				return runF(opts)
			}
			return runMirrorTest(cmd.Context(), opts)
		},
	}
	addProbeFlags(cmd, opts)
	f := cmd.Flags()
	f.BoolVar(&opts.Insecure, "insecure", false, "for ENDPOINTs given here: allow plain http and skip TLS verification")
	f.StringVar(&opts.CA, "ca", "", "for ENDPOINTs given here: PEM file of CA certificates to trust")
	return cmd
}

func addProbeFlags(cmd *cobra.Command, opts *MirrorTestOptions) {
	f := cmd.Flags()
	f.StringVar(&opts.Registry, "registry", "", "the registry mirrored (default: every registry with mirrors; docker.io for ENDPOINTs)")
	f.StringVar(&opts.Image, "image", "", "probe image as REPO:TAG on the registry (default: the registry's \"probe\", library/nginx:latest for docker.io)")
	f.StringVar(&opts.Upstream, "upstream", "", "registry URL to compare tags with (default: the registry itself; \"none\" to skip)")
	f.StringVar(&opts.Platform, "platform", "", "platform whose image is measured in a multi-platform index (default: this machine's)")
	f.DurationVar(&opts.Timeout, "timeout", 10*time.Second, "time allowed for each step")
	f.BoolVar(&opts.JSON, "json", false, "print the reports as JSON")
}

// probeTarget is one registry's endpoints to probe.
type probeTarget struct {
	registry  string
	endpoints []mirror.EndpointConfig
}

func runMirrorTest(ctx context.Context, opts *MirrorTestOptions) error {
	_, cfg, err := readConfigFile(opts.Mirror.ConfigFile)
	if err != nil {
		return err
	}
	var targets []probeTarget
	if len(opts.Endpoints) > 0 {
		reg := opts.Registry
		if reg == "" {
			reg = mirror.DockerHub
		}
		t := probeTarget{registry: reg}
		for _, u := range opts.Endpoints {
			t.endpoints = append(t.endpoints, mirror.EndpointConfig{URL: u, Insecure: opts.Insecure, CA: opts.CA})
		}
		targets = append(targets, t)
	} else {
		if opts.Insecure || opts.CA != "" {
			return usageErrorf("--insecure and --ca are for ENDPOINTs given on the command line; configured mirrors keep their own settings")
		}
		if targets, err = configuredTargets(cfg, opts.Mirror.ConfigFile, opts.Registry); err != nil {
			return err
		}
	}
	reports, err := probeTargets(ctx, cfg, targets, opts)
	if err != nil {
		return err
	}
	ok := true
	for _, r := range reports {
		ok = ok && r.OK
	}
	if opts.JSON {
		b, err := json.MarshalIndent(struct {
			OK        bool             `json:"ok"`
			Endpoints []*mirror.Report `json:"endpoints"`
		}{ok, reports}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.Streams.Out, "%s\n", b)
	} else {
		for i, r := range reports {
			if i > 0 {
				fmt.Fprintln(opts.Streams.Out)
			}
			writeProbeReport(opts.Streams.Out, r)
		}
		failed := 0
		for _, r := range reports {
			if !r.OK {
				failed++
			}
		}
		fmt.Fprintf(opts.Streams.Out, "\n%d tested: %d ok, %d failing\n", len(reports), len(reports)-failed, failed)
	}
	if !ok {
		return silentExit(ExitFailure)
	}
	return nil
}

// configuredTargets are the mirrors of daemon.json, for one registry or
// all.
func configuredTargets(cfg *daemon.Config, file, registry string) ([]probeTarget, error) {
	regs := cfg.Mirror.Registries()
	if registry != "" {
		regs = []string{mirror.NormalizeRegistry(registry)}
	}
	var out []probeTarget
	for _, reg := range regs {
		t := probeTarget{registry: reg}
		for _, ep := range cfg.Mirror.Endpoints(reg) {
			if ep.Mirror {
				t.endpoints = append(t.endpoints, endpointConfigOf(ep))
			}
		}
		if len(t.endpoints) > 0 {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		where := "any registry"
		if registry != "" {
			where = mirror.NormalizeRegistry(registry)
		}
		return nil, usageErrorf("%s has no mirrors in %s; add one (berth mirror add URL) or name the endpoints to test", where, file)
	}
	return out, nil
}

// endpointConfigOf turns a parsed endpoint back into its settings.
func endpointConfigOf(ep mirror.Endpoint) mirror.EndpointConfig {
	ec := mirror.EndpointConfig{URL: ep.URL, Insecure: ep.Insecure && ep.Scheme == "https", CA: ep.CAFile}
	if ep.Capabilities != mirror.Pull|mirror.Resolve {
		if ep.Can(mirror.Pull) {
			ec.Capabilities = append(ec.Capabilities, "pull")
		}
		if ep.Can(mirror.Resolve) {
			ec.Capabilities = append(ec.Capabilities, "resolve")
		}
	}
	return ec
}

// probeTargets probes the endpoints one after the other (together they
// would share the bandwidth they measure).
func probeTargets(ctx context.Context, cfg *daemon.Config, targets []probeTarget, opts *MirrorTestOptions) ([]*mirror.Report, error) {
	if opts.Upstream != "" && opts.Upstream != "none" && len(targets) > 1 {
		return nil, usageErrorf("--upstream names one registry's upstream; give --registry too (mirrors are configured for %d registries)", len(targets))
	}
	var reports []*mirror.Report
	for _, t := range targets {
		image := opts.Image
		if image == "" {
			image = cfg.Mirror.Probe(t.registry)
		}
		if image == "" && mirror.NormalizeRegistry(t.registry) == mirror.DockerHub {
			image = "library/nginx:latest"
		}
		if image == "" {
			return nil, usageErrorf("%s has no probe image: give --image REPO:TAG, or set \"probe\" in its \"mirrors\" entry", t.registry)
		}
		image, err := mirror.CheckImage(t.registry, image)
		if err != nil {
			return nil, usageError(fmt.Errorf("--image: %w", err))
		}
		po := mirror.ProbeOptions{
			Image: image, Timeout: opts.Timeout, Platform: opts.Platform, Resolver: probeResolver,
			Credentials: dockerCredentials,
		}
		if po.Platform == "" {
			po.Platform = hostPlatform()
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
		po.Transport = tr
		switch opts.Upstream {
		case "none":
		case "":
			up := cfg.Mirror.Origin(t.registry)
			po.Upstream = &up
		default:
			up, err := cfg.Mirror.ParseEndpoint(t.registry, mirror.EndpointConfig{URL: opts.Upstream})
			if err != nil {
				return nil, usageError(fmt.Errorf("--upstream: %w", err))
			}
			up.Mirror = false
			po.Upstream = &up
		}
		prober := cfg.Mirror.NewProber(po)
		for _, ec := range t.endpoints {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			reports = append(reports, prober.ProbeConfig(ctx, t.registry, ec))
		}
	}
	return reports, nil
}

// dockerCredentials is the login `berth login` stored for host.
func dockerCredentials(host string) (string, string, bool) {
	reg, err := name.NewRegistry(host)
	if err != nil {
		return "", "", false
	}
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil || a == authn.Anonymous {
		return "", "", false
	}
	cfg, err := a.Authorization()
	if err != nil || cfg.Username == "" {
		return "", "", false
	}
	return cfg.Username, cfg.Password, true
}

// writeProbeReport prints one endpoint's steps as a table, then the verdict and
// what to do.
func writeProbeReport(w io.Writer, r *mirror.Report) {
	fmt.Fprintf(w, "%s  (%s, %s)\n", r.Endpoint, r.Registry, r.Image)
	tw := tabwriter.NewWriter(w, 4, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tTIME\tRESULT\tDETAIL")
	for _, s := range r.Steps {
		if s.Status == mirror.StepSkip && s.Detail == "not reached" {
			continue
		}
		detail := s.Detail
		result := s.Status
		if s.Problem != nil {
			result = "FAIL"
			detail = s.Problem.Message
		}
		took := "-"
		if s.Status != mirror.StepSkip || s.Duration > 0 {
			took = durationString(s.Duration)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.Name, took, result, detail)
	}
	tw.Flush()
	if r.OK {
		verdict := "ok"
		if r.BytesPerSecond > 0 {
			verdict += ": " + mirror.Rate(r.BytesPerSecond)
		}
		verdict += ", " + durationString(r.Total) + " in all"
		if r.Stale == mirror.StaleUnknown {
			verdict += "; whether its tags are stale is unknown"
		}
		fmt.Fprintf(w, "  => %s\n", verdict)
		return
	}
	fmt.Fprintf(w, "  => %s: %s\n", r.Problem.Kind, r.Problem.Message)
	if r.Problem.Advice != "" {
		fmt.Fprintf(w, "     what to do: %s\n", r.Problem.Advice)
	}
}

func durationString(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// hostPlatform is this machine's platform as an index names it.
func hostPlatform() string {
	p := image.HostPlatform()
	return strings.TrimSuffix(p.OS+"/"+p.Architecture+"/"+p.Variant, "/")
}
