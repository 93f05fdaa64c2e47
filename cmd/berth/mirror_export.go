package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/mirror"
)

// MirrorExportOptions are the flags of `berth mirror export`.
type MirrorExportOptions struct {
	To   string
	File string
	Dir  string

	Mirror  *MirrorOptions
	Streams *IOStreams
}

func newCmdMirrorExport(streams *IOStreams, mo *MirrorOptions, runF func(*MirrorExportOptions) error) *cobra.Command {
	opts := &MirrorExportOptions{Mirror: mo, Streams: streams}
	cmd := &cobra.Command{
		Use:   "export --to docker|containerd|containers [--file FILE | --dir DIR]",
		Short: "Write daemon.json's mirrors for the host's other engines",
		Long: `Write the mirrors of daemon.json as another engine takes them, so that every
engine on the host pulls the same way, to standard output or:

  --to docker --file /etc/docker/daemon.json       registry-mirrors and insecure-registries,
                                                   merged into the file, its other keys kept
  --to containerd --dir /etc/containerd/certs.d    one <host>/hosts.toml per registry
  --to containers --file /etc/containers/registries.conf.d/50-berth.conf
                                                   [[registry]] and [[registry.mirror]] tables

Each setting the format cannot express is named on standard error (Docker
mirrors only Docker Hub; a CA file goes into the engine's certs.d...). Files
are written atomically; a hosts.toml or registries.conf that Berth did not
write is not overwritten.`,
		Example: `  berth mirror export --to containerd
  berth mirror export --to containers --file /etc/containers/registries.conf.d/50-berth.conf
  berth mirror export --to docker --file /etc/docker/daemon.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runMirrorExport(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.To, "to", "", "docker, containerd or containers")
	f.StringVar(&opts.File, "file", "", "write this file (docker, containers)")
	f.StringVar(&opts.Dir, "dir", "", "write the hosts directory here (containerd)")
	return cmd
}

func runMirrorExport(opts *MirrorExportOptions) error {
	if !slices.Contains(formats, opts.To) {
		return usageErrorf("--to %q: use docker, containerd or containers", opts.To)
	}
	if opts.To == mirror.FormatContainerd && opts.File != "" {
		return usageErrorf("--to containerd writes a directory: use --dir (e.g. /etc/containerd/certs.d)")
	}
	if opts.To != mirror.FormatContainerd && opts.Dir != "" {
		return usageErrorf("--to %s writes one file: use --file", opts.To)
	}
	path := opts.Mirror.ConfigFile
	data, _, err := readConfigFile(path)
	if err != nil {
		return err
	}
	doc, err := mirror.ParseDocument(data)
	if err != nil {
		return usageErrorf("%s: %v", path, err)
	}
	s := doc.Settings()
	var ex *mirror.Exported
	switch opts.To {
	case mirror.FormatDocker:
		ex, err = mirror.ExportDocker(s)
	case mirror.FormatContainerd:
		ex, err = mirror.ExportContainerd(s)
	default:
		ex, err = mirror.ExportContainers(s)
	}
	if err != nil {
		return usageErrorf("%s: %v", path, err)
	}
	switch {
	case opts.To == mirror.FormatDocker && opts.File != "":
		if err := exportDockerFile(opts, ex); err != nil {
			return err
		}
	case opts.File != "":
		if !writtenByBerth(opts.File) {
			return usageErrorf("%s exists and was not written by berth; write a drop-in (/etc/containers/registries.conf.d/50-berth.conf) or move it away first", opts.File)
		}
		if err := writeFileAtomic(opts.File, ex.Files[0].Data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(opts.Streams.Out, "Wrote %s\n", opts.File)
	case opts.Dir != "":
		for _, f := range ex.Files {
			if p := filepath.Join(opts.Dir, f.Path); !writtenByBerth(p) {
				return usageErrorf("%s exists and was not written by berth; move it away first (nothing written)", p)
			}
		}
		for _, f := range ex.Files {
			p := filepath.Join(opts.Dir, f.Path)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := writeFileAtomic(p, f.Data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(opts.Streams.Out, "Wrote %s\n", p)
		}
	default:
		for i, f := range ex.Files {
			if len(ex.Files) > 1 || opts.To == mirror.FormatContainerd {
				if i > 0 {
					fmt.Fprintln(opts.Streams.Out)
				}
				fmt.Fprintf(opts.Streams.Out, "# --- %s\n", f.Path)
			}
			opts.Streams.Out.Write(f.Data)
		}
	}
	for _, n := range ex.Notes {
		fmt.Fprintln(opts.Streams.ErrOut, "note: "+n)
	}
	return nil
}

// exportDockerFile sets registry-mirrors and insecure-registries in
// Docker's daemon.json, every other key kept. Docker refuses keys it does
// not know, so nothing else of Berth's is written there.
func exportDockerFile(opts *MirrorExportOptions, ex *mirror.Exported) error {
	data, err := os.ReadFile(opts.File)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc, err := mirror.ParseDocument(data)
	if err != nil {
		return usageErrorf("%s: %v", opts.File, err)
	}
	s := doc.Settings()
	s.RegistryMirrors, s.InsecureRegistries = ex.Settings.RegistryMirrors, ex.Settings.InsecureRegistries
	doc.SetSettings(s)
	if !doc.Changed() && data != nil {
		fmt.Fprintf(opts.Streams.Out, "%s already agrees; nothing written\n", opts.File)
		return nil
	}
	if err := writeFileAtomic(opts.File, doc.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(opts.Streams.Out, "Wrote %s; restart Docker to apply it (systemctl restart docker)\n", opts.File)
	return nil
}
