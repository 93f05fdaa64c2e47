package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// containerCommands are the container verbs, top-level (run, ps, stop...)
// and under `berth container`, as docker has them, `berth volume` and
// `berth network`.
func containerCommands(streams *IOStreams, g *GlobalOptions) []*cobra.Command {
	group := func(use, short string, subs ...*cobra.Command) *cobra.Command {
		cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("berth %s needs a subcommand: %s", use, strings.Join(subcommandNames(cmd), ", "))
		}}
		cmd.AddCommand(subs...)
		return cmd
	}
	verbs := func() []*cobra.Command {
		return []*cobra.Command{
			newCmdCreate(streams, g, nil), newCmdRun(streams, g, nil), newCmdStart(streams, g, nil),
			newCmdStop(streams, g, nil), newCmdRestart(streams, g, nil), newCmdKill(streams, g, nil),
			newCmdLogs(streams, g, nil), newCmdWait(streams, g, nil), newCmdTop(streams, g, nil),
			newCmdStats(streams, g, nil), newCmdPause(streams, g, nil), newCmdUnpause(streams, g, nil),
			newCmdExec(streams, g, nil), newCmdAttach(streams, g, nil),
			newCmdDiff(streams, g, nil), newCmdCommit(streams, g, nil),
			newCmdCp(streams, g, nil), newCmdPort(streams, g, nil),
		}
	}
	container := group("container", "Manage containers", append(verbs(),
		newCmdPs(streams, g, "ls", nil), newCmdRm(streams, g, "rm", nil),
		newCmdInspect(streams, g, "container", nil), newCmdContainerPrune(streams, g, nil))...)
	volume := group("volume", "Manage volumes",
		newCmdVolumeCreate(streams, g, nil), newCmdVolumeLs(streams, g, nil), newCmdInspect(streams, g, "volume", nil),
		newCmdVolumeRm(streams, g, nil), newCmdVolumePrune(streams, g, nil))
	return append(verbs(), container, volume, networkCommands(streams, g),
		newCmdPs(streams, g, "ps", nil), newCmdRm(streams, g, "rm", nil), newCmdInspect(streams, g, "", nil))
}
