package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// engineClient connects to the engine the global flags name.
func engineClient(g *GlobalOptions) *api.Client { return api.NewClient(g.SocketPath) }

// engineError maps an engine error to berth's exit codes: the engine not
// answering is 3, the user's mistake 2, the rest 1.
func engineError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, api.ErrUnavailable):
		return &exitError{code: ExitUnavailable, err: err}
	case errors.Is(err, api.ErrInvalidParameter):
		return usageError(fmt.Errorf("Error response from daemon: %w", err))
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return fmt.Errorf("Error response from daemon: %w", err)
	}
	return err
}

// imageCommands are the image verbs, top-level (pull, images, rmi...) and
// under `berth image`, as docker has them.
func imageCommands(streams *IOStreams, g *GlobalOptions) []*cobra.Command {
	img := &cobra.Command{Use: "image", Short: "Manage images", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, args []string) error {
		return usageErrorf("berth image needs a subcommand: %s", strings.Join(subcommandNames(cmd), ", "))
	}}
	img.AddCommand(
		newCmdPull(streams, g, nil), newCmdImages(streams, g, "ls", nil), newCmdImageInspect(streams, g, nil),
		newCmdRmi(streams, g, "rm", nil), newCmdImagePrune(streams, g, nil), newCmdTag(streams, g, nil),
		newCmdHistory(streams, g, nil), newCmdSave(streams, g, nil), newCmdLoad(streams, g, nil),
	)
	return []*cobra.Command{
		img, newCmdPull(streams, g, nil), newCmdImages(streams, g, "images", nil), newCmdRmi(streams, g, "rmi", nil),
		newCmdTag(streams, g, nil), newCmdHistory(streams, g, nil), newCmdSave(streams, g, nil), newCmdLoad(streams, g, nil),
		newCmdBuild(streams),
	}
}

func subcommandNames(cmd *cobra.Command) []string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return names
}

// humanSize formats bytes as Docker does: decimal units, three significant
// digits ("1.24MB", "142MB").
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	size := float64(n)
	i := 0
	for size >= 1000 && i < len(units)-1 {
		size /= 1000
		i++
	}
	return fmt.Sprintf("%.*g%s", 3, size, units[i])
}

// humanDuration is Docker's "2 weeks", "About an hour" wording.
func humanDuration(d time.Duration) string {
	if s := int(d.Seconds()); s < 1 {
		return "Less than a second"
	} else if s == 1 {
		return "1 second"
	} else if s < 60 {
		return fmt.Sprintf("%d seconds", s)
	} else if m := int(d.Minutes()); m == 1 {
		return "About a minute"
	} else if m < 60 {
		return fmt.Sprintf("%d minutes", m)
	} else if h := int(math.Round(d.Hours())); h == 1 {
		return "About an hour"
	} else if h < 48 {
		return fmt.Sprintf("%d hours", h)
	} else if h < 24*7*2 {
		return fmt.Sprintf("%d days", h/24)
	} else if h < 24*30*2 {
		return fmt.Sprintf("%d weeks", h/24/7)
	} else if h < 24*365*2 {
		return fmt.Sprintf("%d months", h/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// parseFilters reads repeated --filter key=value flags.
func parseFilters(flags []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, usageErrorf("bad format of filter %q (expected name=value)", f)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if strings.HasSuffix(k, "!") {
			// label!=x is a negated label filter.
			out[k] = append(out[k], v)
			continue
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}

// table writes rows aligned as docker's tables are (three spaces apart).
func newTable(streams *IOStreams) *tabwriter.Writer {
	return tabwriter.NewWriter(streams.Out, 10, 1, 3, ' ', 0)
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
