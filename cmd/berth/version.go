package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"text/template"

	"github.com/spf13/cobra"
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
	Version   string
	GitCommit string
	GoVersion string
	Os        string
	Arch      string
	BuildTime string `json:",omitempty"`
}

// VersionInfo is what `berth version` prints; the engine's part joins it
// once the client talks to a daemon.
type VersionInfo struct {
	Client ClientVersion
}

// VersionOptions are the flags of `berth version`.
type VersionOptions struct {
	Format string
	Out    io.Writer
}

func newCmdVersion(streams *IOStreams, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{Out: streams.Out}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the Berth version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runVersion(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "", "format the output with a Go template ('{{.Client.Version}}') or 'json'")
	return cmd
}

func currentVersion() VersionInfo {
	c := ClientVersion{
		Version: version, GitCommit: commit, GoVersion: runtime.Version(),
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

func runVersion(opts *VersionOptions) error {
	v := currentVersion()
	switch opts.Format {
	case "":
		c := v.Client
		fmt.Fprintf(opts.Out, "Client: Berth\n Version:    %s\n Git commit: %s\n Go version: %s\n OS/Arch:    %s/%s\n", c.Version, c.GitCommit, c.GoVersion, c.Os, c.Arch)
		if c.BuildTime != "" {
			fmt.Fprintf(opts.Out, " Built:      %s\n", c.BuildTime)
		}
		return nil
	case "json", "{{json .}}":
		enc := json.NewEncoder(opts.Out)
		return enc.Encode(v)
	}
	return executeTemplate(opts.Out, opts.Format, v)
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
