package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/mirror"
	"github.com/berthhq/berth/runtime/atomicfile"
	"github.com/berthhq/berth/runtime/daemon"
)

// MirrorOptions are the flags every `berth mirror` verb shares.
type MirrorOptions struct {
	// ConfigFile is the engine's daemon.json (its --config-file).
	ConfigFile string
}

func newCmdMirror(streams *IOStreams, g *GlobalOptions) *cobra.Command {
	mo := &MirrorOptions{}
	cmd := &cobra.Command{
		Use:   "mirror",
		Short: "List, test, rank and edit registry mirrors",
		Long: `Registry mirrors: which ones pulls use, whether they work right now, which is
fastest, and the same settings for the host's other engines (Docker,
containerd, Podman). The settings live in the engine's daemon.json
(--config-file); the engine applies changes on SIGHUP (systemctl reload berth).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("berth mirror needs a subcommand: %s", strings.Join(subcommandNames(cmd), ", "))
		},
	}
	cmd.PersistentFlags().StringVar(&mo.ConfigFile, "config-file", daemon.DefaultConfigFile, "the engine's configuration file (daemon.json)")
	cmd.AddCommand(
		newCmdMirrorLs(streams, g, mo, nil),
		newCmdMirrorAdd(streams, mo, nil),
		newCmdMirrorRm(streams, mo, nil),
		newCmdMirrorTest(streams, mo, nil),
		newCmdMirrorRank(streams, mo, nil),
		newCmdMirrorImport(streams, mo, nil),
		newCmdMirrorExport(streams, mo, nil),
	)
	return cmd
}

// readConfigFile reads daemon.json ("" content when missing) and
// validates it as the engine does: a file the engine would refuse is the
// user's to fix first, with the line that is wrong.
func readConfigFile(path string) ([]byte, *daemon.Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, daemon.DefaultConfig(), nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, usageErrorf("reading %s: %v", path, err)
	}
	cfg, err := daemon.ParseConfig(path, data)
	if err != nil {
		return nil, nil, usageError(err)
	}
	return data, cfg, nil
}

// editConfig applies edit to daemon.json's mirror settings and writes the
// file atomically, every other key kept in its place, once both the
// settings and the whole file validate: a broken result never reaches
// disk. It reports whether the file changed.
func editConfig(path string, edit func(*mirror.Settings) error) (bool, error) {
	data, _, err := readConfigFile(path)
	if err != nil {
		return false, err
	}
	doc, err := mirror.ParseDocument(data)
	if err != nil {
		return false, usageErrorf("%s: %v", path, err)
	}
	s := doc.Settings()
	if err := edit(&s); err != nil {
		return false, err
	}
	if _, err := s.Config(); err != nil {
		return false, usageErrorf("%s would be invalid: %v; nothing written", path, err)
	}
	doc.SetSettings(s)
	if !doc.Changed() {
		return false, nil
	}
	out := doc.Bytes()
	if _, err := daemon.ParseConfig(path, out); err != nil {
		return false, fmt.Errorf("the edited file would not be valid (%v); nothing written", err)
	}
	if err := writeFileAtomic(path, out, 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// writeFileAtomic replaces path (the file a symlink names, keeping its
// mode) or creates it with mode, and its directory if needed.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	} else if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, data, mode)
}

// reloadHint is what to do for the engine to apply an edited daemon.json.
func reloadHint(streams *IOStreams, path string) {
	fmt.Fprintf(streams.ErrOut, "Wrote %s; the engine applies it on SIGHUP: systemctl reload berth (or kill -HUP the berth daemon).\n", path)
}

// writtenByBerth reports whether an existing file may be overwritten by an
// export: it is missing, empty, or starts with Berth's header.
func writtenByBerth(path string) bool {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && (len(bytes.TrimSpace(b)) == 0 || bytes.HasPrefix(b, []byte("# Written by berth mirror export")))
}
