package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// RmiOptions are the flags of `berth rmi` (and `berth image rm`).
type RmiOptions struct {
	Images  []string
	Force   bool
	NoPrune bool
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdRmi(streams *IOStreams, g *GlobalOptions, use string, runF func(*RmiOptions) error) *cobra.Command {
	opts := &RmiOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use:     use + " [OPTIONS] IMAGE [IMAGE...]",
		Short:   "Remove one or more images",
		Args:    minArgs(1),
		Aliases: rmAliases(use),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Images = args
			if runF != nil {
				return runF(opts)
			}
			return runRmi(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "force removal of the image")
	cmd.Flags().BoolVar(&opts.NoPrune, "no-prune", false, "do not delete untagged parents")
	return cmd
}

func rmAliases(use string) []string {
	if use == "rm" {
		return []string{"remove", "rmi"}
	}
	return nil
}

// runRmi removes each image in turn; like docker, it goes on after a
// failure and reports every one.
func runRmi(ctx context.Context, opts *RmiOptions) error {
	c := engineClient(opts.Global)
	defer c.Close()
	var errs []error
	for _, name := range opts.Images {
		deleted, err := c.ImageRemove(ctx, name, opts.Force, opts.NoPrune)
		if err != nil {
			errs = append(errs, engineError(err))
			continue
		}
		for _, d := range deleted {
			if d.Untagged != "" {
				fmt.Fprintln(opts.Streams.Out, "Untagged: "+d.Untagged)
			} else {
				fmt.Fprintln(opts.Streams.Out, "Deleted: "+d.Deleted)
			}
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	if len(errs) > 1 {
		for _, e := range errs[:len(errs)-1] {
			fmt.Fprintln(opts.Streams.ErrOut, "berth: "+e.Error())
		}
		return errs[len(errs)-1]
	}
	return nil
}
