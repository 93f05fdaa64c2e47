package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// InfoOptions are the flags of `berth info`.
type InfoOptions struct {
	Format  string
	Global  *GlobalOptions
	Streams *IOStreams
}

// infoData is what --format sees: the engine's /info with docker's field
// names ({{.ServerVersion}}, {{json .RegistryConfig}}), and the client's
// version as ClientInfo.
type infoData struct {
	*api.InfoResponse
	ClientInfo ClientVersion
}

func newCmdInfo(streams *IOStreams, g *GlobalOptions, runF func(*InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{Global: g, Streams: streams}
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show what the engine is and how it is configured",
		Long: `Show the engine's system-wide information: version, images, storage, the
host's kernel and cgroups, the data root, proxies, insecure registries and
registry mirrors (Docker Hub's, and every other registry's).`,
		Example: `  berth info
  berth info --format '{{.ServerVersion}} {{.CgroupVersion}}'
  berth info --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runInfo(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "", "format the output with a Go template ('{{.ServerVersion}}') or 'json'")
	return cmd
}

func runInfo(ctx context.Context, opts *InfoOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	info, err := c.Info(ctx)
	out := opts.Streams.Out
	client := currentVersion().Client
	if opts.Format != "" {
		if err != nil {
			return engineError(err)
		}
		data := infoData{InfoResponse: info, ClientInfo: client}
		if opts.Format == "json" {
			return json.NewEncoder(out).Encode(data)
		}
		return executeTemplate(out, opts.Format, data)
	}
	fmt.Fprintf(out, "Client: Berth\n Version:    %s\n Debug Mode: %t\n\nServer:\n", client.Version, opts.Global.Debug)
	if err != nil {
		return engineError(err)
	}
	writeInfo(out, info)
	for _, w := range info.Warnings {
		fmt.Fprintln(opts.Streams.ErrOut, w)
	}
	return nil
}

// writeInfo prints the server part as docker info does, in Berth's words
// where Docker's would mislead ("Data Root").
func writeInfo(w io.Writer, i *api.InfoResponse) {
	p := func(label string, v any) { fmt.Fprintf(w, " %s: %v\n", label, v) }
	nonEmpty := func(label, v string) {
		if v != "" {
			p(label, v)
		}
	}
	p("Containers", i.Containers)
	fmt.Fprintf(w, "  Running: %d\n  Paused: %d\n  Stopped: %d\n", i.ContainersRunning, i.ContainersPaused, i.ContainersStopped)
	p("Images", i.Images)
	nonEmpty("Server Version", i.ServerVersion)
	nonEmpty("Storage Driver", i.Driver)
	for _, kv := range i.DriverStatus {
		fmt.Fprintf(w, "  %s: %s\n", kv[0], kv[1])
	}
	nonEmpty("Logging Driver", i.LoggingDriver)
	nonEmpty("Cgroup Driver", i.CgroupDriver)
	nonEmpty("Cgroup Version", i.CgroupVersion)
	nonEmpty("Kernel Version", i.KernelVersion)
	nonEmpty("Operating System", i.OperatingSystem)
	nonEmpty("OSType", i.OSType)
	nonEmpty("Architecture", i.Architecture)
	p("CPUs", i.NCPU)
	p("Total Memory", bytesSize(i.MemTotal))
	nonEmpty("Name", i.Name)
	nonEmpty("ID", i.ID)
	p("Data Root", i.DockerRootDir)
	p("Debug Mode", i.Debug)
	nonEmpty("HTTP Proxy", i.HTTPProxy)
	nonEmpty("HTTPS Proxy", i.HTTPSProxy)
	nonEmpty("No Proxy", i.NoProxy)
	p("Experimental", i.ExperimentalBuild)
	if rc := i.RegistryConfig; rc != nil {
		var insecure []string
		for _, name := range slices.Sorted(maps.Keys(rc.IndexConfigs)) {
			if !rc.IndexConfigs[name].Secure {
				insecure = append(insecure, name)
			}
		}
		insecure = append(insecure, rc.InsecureRegistryCIDRs...)
		if len(insecure) > 0 {
			fmt.Fprintf(w, " Insecure Registries:\n  %s\n", strings.Join(insecure, "\n  "))
		}
		// Docker Hub's mirrors as docker prints them, then the other
		// registries' with their names.
		var mirrors []string
		mirrors = append(mirrors, rc.Mirrors...)
		for _, name := range slices.Sorted(maps.Keys(rc.IndexConfigs)) {
			if name == "docker.io" {
				continue
			}
			for _, m := range rc.IndexConfigs[name].Mirrors {
				mirrors = append(mirrors, m+" ("+name+")")
			}
		}
		if len(mirrors) > 0 {
			fmt.Fprintf(w, " Registry Mirrors:\n  %s\n", strings.Join(mirrors, "\n  "))
		}
	}
	if len(i.MirrorHealth) > 0 {
		fmt.Fprintln(w, " Mirror Health:")
		for _, m := range i.MirrorHealth {
			fmt.Fprintf(w, "  %s (%s): %s\n", m.Endpoint, m.Registry, mirrorHealthWords(m, time.Now()))
		}
	}
	p("Live Restore Enabled", i.LiveRestoreEnabled)
	fmt.Fprintln(w)
}

// mirrorHealthWords says what the engine remembers of an endpoint.
func mirrorHealthWords(m api.MirrorHealth, now time.Time) string {
	switch {
	case !m.Used:
		return "not used (fallback is false)"
	case m.State == "ok":
		return "ok"
	case m.State == "cooling-down":
		left := parseStamp(m.CoolUntil).Sub(now).Round(time.Second)
		return fmt.Sprintf("cooling down for %s: %s", max(left, 0), m.LastError)
	case m.State == "failing":
		return "failing: " + m.LastError
	}
	return "unknown (not used yet)"
}

// bytesSize is go-units' BytesSize, which docker info uses: binary units,
// four significant digits ("31.26GiB").
func bytesSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}
