package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// Set at link time by the Makefile and goreleaser:
// -X main.version=... -X main.commit=... -X main.buildTime=...
var (
	version   = "dev"
	commit    = ""
	buildTime = ""
)

// ClientVersion uses the field names of `docker version`'s Client section,
// so the same --format templates work.
type ClientVersion struct {
	Version string
	// APIVersion is the API version the client speaks: the one negotiated
	// with the engine when one answered.
	APIVersion string `json:"ApiVersion"`
	GitCommit  string
	GoVersion  string
	Os         string
	Arch       string
	BuildTime  string `json:",omitempty"`
}

// VersionInfo is what `berth version` prints: the client's version and,
// when an engine answers, the engine's (nil otherwise), with docker's
// field names.
type VersionInfo struct {
	Client ClientVersion
	Server *api.VersionResponse
}

// VersionOptions are the flags of `berth version`.
type VersionOptions struct {
	Format string
	Out    io.Writer
	Global *GlobalOptions
}

func newCmdVersion(streams *IOStreams, g *GlobalOptions, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{Out: streams.Out, Global: g}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the Berth version, of this client and of the engine",
		Long: `Show the version of this client and of the engine it talks to (-H). When no
engine answers, the client's part is printed, a note goes to standard error
and the exit status is 1, as with docker version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runVersion(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "", "format the output with a Go template ('{{.Client.Version}}') or 'json'")
	return cmd
}

func currentVersion() VersionInfo {
	c := ClientVersion{
		Version: version, APIVersion: api.Version, GitCommit: commit, GoVersion: runtime.Version(),
		Os: runtime.GOOS, Arch: runtime.GOARCH, BuildTime: buildTime,
	}
	if c.GitCommit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 7 {
					c.GitCommit = s.Value[:7]
				}
			}
		}
	}
	if c.GitCommit == "" {
		c.GitCommit = "unknown"
	}
	return VersionInfo{Client: c}
}

func runVersion(ctx context.Context, opts *VersionOptions) error {
	v := currentVersion()
	var serverErr error
	if opts.Global != nil {
		c := engineClient(opts.Global)
		defer c.Close()
		if v.Server, serverErr = c.Version(ctx); serverErr == nil {
			v.Client.APIVersion, _ = c.APIVersion(ctx)
		}
	}
	if err := printVersion(opts, v); err != nil {
		return err
	}
	if serverErr != nil {
		// docker version's status when the daemon does not answer.
		return &exitError{code: ExitFailure, err: engineError(serverErr)}
	}
	return nil
}

func printVersion(opts *VersionOptions, v VersionInfo) error {
	switch opts.Format {
	case "":
	case "json", "{{json .}}":
		return json.NewEncoder(opts.Out).Encode(v)
	default:
		return executeTemplate(opts.Out, opts.Format, v)
	}
	c := v.Client
	fmt.Fprintf(opts.Out, "Client: Berth\n Version:     %s\n API version: %s\n Git commit:  %s\n Go version:  %s\n OS/Arch:     %s/%s\n", c.Version, c.APIVersion, c.GitCommit, c.GoVersion, c.Os, c.Arch)
	if c.BuildTime != "" {
		fmt.Fprintf(opts.Out, " Built:       %s\n", c.BuildTime)
	}
	s := v.Server
	if s == nil {
		return nil
	}
	fmt.Fprintf(opts.Out, "\nServer: %s\n", s.Platform.Name)
	for _, comp := range s.Components {
		fmt.Fprintf(opts.Out, " %s:\n  Version:      %s\n", comp.Name, comp.Version)
		if comp.Name != "Engine" {
			continue
		}
		d := comp.Details
		fmt.Fprintf(opts.Out, "  API version:  %s (minimum version %s)\n  Go version:   %s\n  Git commit:   %s\n", d["ApiVersion"], d["MinAPIVersion"], d["GoVersion"], d["GitCommit"])
		if d["BuildTime"] != "" {
			fmt.Fprintf(opts.Out, "  Built:        %s\n", d["BuildTime"])
		}
		fmt.Fprintf(opts.Out, "  OS/Arch:      %s/%s\n", d["Os"], d["Arch"])
		if d["KernelVersion"] != "" {
			fmt.Fprintf(opts.Out, "  Kernel:       %s\n", d["KernelVersion"])
		}
		fmt.Fprintf(opts.Out, "  Experimental: %s\n", d["Experimental"])
	}
	return nil
}

// executeTemplate renders a --format template as docker does: a newline
// after the output, a json function, and a usage error for a bad template.
func executeTemplate(w io.Writer, format string, data any) error {
	tmpl, err := template.New("format").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
	}).Parse(format)
	if err != nil {
		return usageErrorf("invalid --format template: %v", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return usageErrorf("--format template: %v", err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}
