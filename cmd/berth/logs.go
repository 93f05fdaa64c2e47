package main

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// LogsOptions are the flags of `berth logs`.
type LogsOptions struct {
	Container  string
	Follow     bool
	Tail       string
	Timestamps bool
	Since      string
	Until      string
	Streams    *IOStreams
	Global     *GlobalOptions
	Now        func() time.Time
}

func newCmdLogs(streams *IOStreams, g *GlobalOptions, runF func(*LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{Streams: streams, Global: g, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Container = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runLogs(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Follow, "follow", "f", false, "follow log output")
	f.StringVarP(&opts.Tail, "tail", "n", "all", "number of lines to show from the end of the logs")
	f.BoolVarP(&opts.Timestamps, "timestamps", "t", false, "show timestamps")
	f.StringVar(&opts.Since, "since", "", "show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m for 42 minutes)")
	f.StringVar(&opts.Until, "until", "", "show logs before a timestamp (2013-01-02T13:23:37Z) or relative (42m for 42 minutes)")
	return cmd
}

func runLogs(ctx context.Context, opts *LogsOptions) error {
	q := api.ContainerLogsOptions{Follow: opts.Follow, Stdout: true, Stderr: true, Timestamps: opts.Timestamps, Tail: opts.Tail}
	now := opts.Now()
	for _, b := range []struct {
		flag, v string
		out     *string
	}{{"--since", opts.Since, &q.Since}, {"--until", opts.Until, &q.Until}} {
		if b.v == "" {
			continue
		}
		t, err := api.ParseTime(b.v, now)
		if err != nil {
			return usageErrorf("%s: %v", b.flag, err)
		}
		*b.out = api.FormatTimestamp(t)
	}
	c := engineClient(opts.Global)
	defer c.Close()
	info, err := c.ContainerInspect(ctx, opts.Container, false)
	if err != nil {
		return engineError(err)
	}
	body, err := c.ContainerLogs(ctx, opts.Container, q)
	if err != nil {
		return engineError(err)
	}
	defer body.Close()
	if info.Config != nil && info.Config.Tty {
		_, err = io.Copy(opts.Streams.Out, body)
	} else {
		_, err = api.StdCopy(opts.Streams.Out, opts.Streams.ErrOut, body)
	}
	if err != nil && ctx.Err() == nil {
		return engineError(err)
	}
	return nil
}
