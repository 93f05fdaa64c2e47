package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// VolumeCreateOptions are the flags of `berth volume create`.
type VolumeCreateOptions struct {
	Name    string
	Driver  string
	Labels  []string
	Opts    []string
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdVolumeCreate(streams *IOStreams, g *GlobalOptions, runF func(*VolumeCreateOptions) error) *cobra.Command {
	opts := &VolumeCreateOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if cmd.Flags().Changed("name") {
					return usageErrorf("conflicting options: either specify --name or provide positional arg, not both")
				}
				opts.Name = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runVolumeCreate(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Driver, "driver", "d", "local", "specify volume driver name")
	f.StringVar(&opts.Name, "name", "", "specify volume name")
	_ = f.MarkHidden("name")
	f.StringArrayVar(&opts.Labels, "label", nil, "set metadata for a volume")
	f.StringArrayVarP(&opts.Opts, "opt", "o", nil, "set driver specific options (not supported by Berth's local driver)")
	return cmd
}

func runVolumeCreate(ctx context.Context, opts *VolumeCreateOptions) error {
	req := api.VolumeCreateOptions{Name: opts.Name, Driver: opts.Driver}
	for _, l := range opts.Labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return usageErrorf("invalid label %q: KEY=VALUE", l)
		}
		if req.Labels == nil {
			req.Labels = map[string]string{}
		}
		req.Labels[k] = v
	}
	for _, o := range opts.Opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok || k == "" {
			return usageErrorf("invalid option %q: KEY=VALUE", o)
		}
		if req.DriverOpts == nil {
			req.DriverOpts = map[string]string{}
		}
		req.DriverOpts[k] = v
	}
	c := engineClient(opts.Global)
	defer c.Close()
	v, err := c.VolumeCreate(ctx, req)
	if err != nil {
		return engineError(err)
	}
	fmt.Fprintln(opts.Streams.Out, v.Name)
	return nil
}
