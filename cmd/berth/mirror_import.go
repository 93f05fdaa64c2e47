package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/mirror"
)

// MirrorImportOptions are the flags of `berth mirror import`.
type MirrorImportOptions struct {
	From   []string
	Root   string
	Path   string
	DryRun bool

	Mirror  *MirrorOptions
	Streams *IOStreams
}

// Where the other engines keep their mirror settings, under --root.
var importPaths = map[string]string{
	mirror.FormatDocker:     "/etc/docker/daemon.json",
	mirror.FormatContainerd: "/etc/containerd/certs.d",
	mirror.FormatContainers: "/etc/containers/registries.conf",
}

var formats = []string{mirror.FormatDocker, mirror.FormatContainerd, mirror.FormatContainers}

func newCmdMirrorImport(streams *IOStreams, mo *MirrorOptions, runF func(*MirrorImportOptions) error) *cobra.Command {
	opts := &MirrorImportOptions{Mirror: mo, Streams: streams}
	cmd := &cobra.Command{
		Use:   "import [OPTIONS]",
		Short: "Take the mirrors the host's other engines use into daemon.json",
		Long: `Read the mirror settings of Docker (/etc/docker/daemon.json: registry-mirrors,
insecure-registries, and CAs in /etc/docker/certs.d), containerd
(/etc/containerd/certs.d/<host>/hosts.toml) and containers-registries
(/etc/containers/registries.conf and registries.conf.d/*.conf: [[registry]]
and [[registry.mirror]]), and add what daemon.json lacks, after its own
mirrors. What cannot be carried over is listed with the reason
(unqualified-search-registries, for one, is where short names are searched,
not a mirror). The file is checked and written atomically; --dry-run only
shows what would be added.`,
		Example: `  berth mirror import
  berth mirror import --from containerd --dry-run
  berth mirror import --from docker --path /srv/old-host/etc/docker/daemon.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runMirrorImport(opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.From, "from", nil, "docker, containerd and/or containers (default: each one present)")
	f.StringVar(&opts.Root, "root", "/", "read the files under this root (a mounted disk, an image)")
	f.StringVar(&opts.Path, "path", "", "read this file (docker, containers) or hosts directory (containerd) instead; needs one --from")
	f.BoolVar(&opts.DryRun, "dry-run", false, "show what would be imported; write nothing")
	return cmd
}

func runMirrorImport(opts *MirrorImportOptions) error {
	from := opts.From
	for _, f := range from {
		if !slices.Contains(formats, f) {
			return usageErrorf("--from %q: use docker, containerd or containers", f)
		}
	}
	if opts.Path != "" && len(from) != 1 {
		return usageErrorf("--path needs exactly one --from (docker, containerd or containers)")
	}
	explicit := len(from) > 0
	if !explicit {
		from = formats
	}
	var imports []*mirror.Imported
	var sources []string
	for _, format := range from {
		p := opts.Path
		if p == "" {
			p = filepath.Join(opts.Root, importPaths[format])
		}
		im, err := importFrom(format, p)
		if errors.Is(err, fs.ErrNotExist) {
			if explicit {
				return usageErrorf("%s: no such file or directory", p)
			}
			continue
		}
		if err != nil {
			return usageError(err)
		}
		imports = append(imports, im)
		sources = append(sources, p)
	}
	if len(imports) == 0 {
		var looked []string
		for _, f := range from {
			looked = append(looked, filepath.Join(opts.Root, importPaths[f]))
		}
		fmt.Fprintf(opts.Streams.ErrOut, "Nothing to import: none of %s exists.\n", strings.Join(looked, ", "))
		return nil
	}

	path := opts.Mirror.ConfigFile
	var added, notes []string
	edit := func(s *mirror.Settings) error {
		before := s.Clone()
		for _, im := range imports {
			notes = append(notes, im.Notes...)
			notes = append(notes, s.Merge(im.Settings)...)
		}
		added = settingsAdded(before, *s)
		return nil
	}
	if opts.DryRun {
		data, _, err := readConfigFile(path)
		if err != nil {
			return err
		}
		doc, err := mirror.ParseDocument(data)
		if err != nil {
			return usageErrorf("%s: %v", path, err)
		}
		s := doc.Settings()
		edit(&s)
		if _, err := s.Config(); err != nil {
			return usageErrorf("%s would be invalid: %v", path, err)
		}
	} else if _, err := editConfig(path, edit); err != nil {
		return err
	}
	out := opts.Streams.Out
	fmt.Fprintf(out, "Read %s.\n", strings.Join(sources, ", "))
	if len(added) == 0 {
		fmt.Fprintf(out, "%s already has every mirror setting found; nothing to add.\n", path)
	} else {
		verb := "Added to"
		if opts.DryRun {
			verb = "Would add to"
		}
		fmt.Fprintf(out, "%s %s:\n", verb, path)
		for _, a := range added {
			fmt.Fprintf(out, "  %s\n", a)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(out, "Not imported:")
		for _, n := range notes {
			fmt.Fprintf(out, "  %s\n", n)
		}
	}
	if opts.DryRun {
		fmt.Fprintln(opts.Streams.ErrOut, "Dry run: nothing written.")
	} else if len(added) > 0 {
		reloadHint(opts.Streams, path)
	}
	return nil
}

// importFrom reads one format at p.
func importFrom(format, p string) (*mirror.Imported, error) {
	switch format {
	case mirror.FormatDocker:
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		certs := filepath.Join(filepath.Dir(p), "certs.d")
		return mirror.ImportDocker(p, data, func(host string) string {
			ca := filepath.Join(certs, host, "ca.crt")
			if _, err := os.Stat(ca); err == nil {
				return ca
			}
			return ""
		})
	case mirror.FormatContainerd:
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
		return mirror.ImportContainerd(os.DirFS(p), p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	files := []mirror.File{{Path: p, Data: data}}
	dropins, _ := filepath.Glob(filepath.Join(p+".d", "*.conf"))
	sort.Strings(dropins)
	for _, d := range dropins {
		b, err := os.ReadFile(d)
		if err != nil {
			return nil, err
		}
		files = append(files, mirror.File{Path: d, Data: b})
	}
	return mirror.ImportContainers(files)
}

// settingsAdded describes what after has that before had not.
func settingsAdded(before, after mirror.Settings) []string {
	var out []string
	regs := map[string]bool{mirror.DockerHub: true}
	for _, r := range after.Mirrors {
		regs[mirror.NormalizeRegistry(r.Registry)] = true
	}
	names := make([]string, 0, len(regs))
	for r := range regs {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, reg := range names {
		old := before.EndpointURLs(reg)
		for _, u := range after.EndpointURLs(reg) {
			if !slices.Contains(old, u) {
				out = append(out, fmt.Sprintf("mirror of %s: %s", reg, u))
			}
		}
		if a, b := after.Registry(reg), before.Registry(reg); a != nil && a.Fallback != nil && (b == nil || b.Fallback == nil) {
			out = append(out, fmt.Sprintf("%s: \"fallback\": %t", reg, *a.Fallback))
		}
	}
	for _, in := range after.InsecureRegistries {
		if !slices.Contains(before.InsecureRegistries, in) {
			out = append(out, "insecure registry: "+in)
		}
	}
	return out
}
