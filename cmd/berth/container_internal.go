package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/container"
)

// The roles are dispatched before main builds the command tree: a monitor
// lives as long as its container and should not carry berth's commands
// (cobra's tree, the client's state) in its memory, nor an init spend its
// start building them. The hidden commands below stay the documented
// entry points (and take over should this ever be skipped).
func init() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case "container-monitor":
		os.Exit(container.MonitorMain(os.Args[2:]))
	case "container-init":
		os.Exit(container.InitMain(os.Args[2:]))
	case "container-exec":
		os.Exit(container.ExecMain(os.Args[2:]))
	}
}

// containerInternalCommands are the roles the engine re-executes its own
// (sealed) binary as: a container's monitor, its init, and the helper
// of an exec. They are hidden:
// only the engine starts them, with descriptors set up for them.
func containerInternalCommands() []*cobra.Command {
	return []*cobra.Command{
		{
			Use:                "container-monitor DIR",
			Short:              "Monitor one container (started by the engine)",
			Hidden:             true,
			DisableFlagParsing: true,
			Run: func(cmd *cobra.Command, args []string) {
				os.Exit(container.MonitorMain(args))
			},
		},
		{
			Use:                "container-init",
			Short:              "Be a container's init (started by the engine)",
			Hidden:             true,
			DisableFlagParsing: true,
			Run: func(cmd *cobra.Command, args []string) {
				os.Exit(container.InitMain(args))
			},
		},
		{
			Use:                "container-exec",
			Short:              "Run a process in a container (started by the engine)",
			Hidden:             true,
			DisableFlagParsing: true,
			Run: func(cmd *cobra.Command, args []string) {
				os.Exit(container.ExecMain(args))
			},
		},
	}
}
