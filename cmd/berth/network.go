package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// networkCommands is `berth network`: the engine's built-in networks
// (bridge, host, none), listed and inspected as docker shows them.
func networkCommands(streams *IOStreams, g *GlobalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "Manage networks", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, args []string) error {
		return usageErrorf("berth network needs a subcommand: %s", strings.Join(subcommandNames(cmd), ", "))
	}}
	cmd.AddCommand(newCmdNetworkLs(streams, g, nil), newCmdNetworkInspect(streams, g, nil))
	return cmd
}
