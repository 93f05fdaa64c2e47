package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// PortOptions are the arguments of `berth port`.
type PortOptions struct {
	Container string
	// Port is PRIVATE_PORT[/PROTO] ("" lists every mapping).
	Port    string
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdPort(streams *IOStreams, g *GlobalOptions, runF func(*PortOptions) error) *cobra.Command {
	opts := &PortOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Example: `  berth port web
  berth port web 80/tcp`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := minArgs(1)(cmd, args); err != nil {
				return err
			}
			return maxArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Container = args[0]
			if len(args) > 1 {
				opts.Port = args[1]
			}
			if runF != nil {
				return runF(opts)
			}
			return runPort(cmd.Context(), opts)
		},
	}
	return cmd
}

func runPort(ctx context.Context, opts *PortOptions) error {
	want := ""
	if opts.Port != "" {
		port, proto, _ := strings.Cut(opts.Port, "/")
		if proto == "" {
			proto = "tcp"
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return usageErrorf("invalid port %q: PRIVATE_PORT[/PROTO], such as 80/tcp", opts.Port)
		}
		want = port + "/" + strings.ToLower(proto)
	}
	c := engineClient(opts.Global)
	defer c.Close()
	ct, err := c.ContainerInspect(ctx, opts.Container, false)
	if err != nil {
		return engineError(err)
	}
	var lines []string
	for _, p := range publishedPorts(ct) {
		addr := net.JoinHostPort(p.IP, strconv.Itoa(int(p.PublicPort)))
		key := fmt.Sprintf("%d/%s", p.PrivatePort, p.Type)
		switch {
		case want == "":
			lines = append(lines, key+" -> "+addr)
		case key == want:
			lines = append(lines, addr)
		}
	}
	if want != "" && len(lines) == 0 {
		return fmt.Errorf("No public port '%s' published for %s", want, opts.Container)
	}
	for _, l := range lines {
		fmt.Fprintln(opts.Streams.Out, l)
	}
	return nil
}

// publishedPorts are a container's host bindings, in the order of the
// container ports.
func publishedPorts(ct *api.ContainerJSON) []api.Port {
	if ct.NetworkSettings == nil {
		return nil
	}
	var out []api.Port
	for _, p := range api.PortSummary(ct.NetworkSettings.Ports) {
		if p.PublicPort != 0 {
			out = append(out, p)
		}
	}
	return out
}
