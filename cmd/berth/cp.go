package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/berthhq/berth/runtime/api"
)

// CpOptions are the flags of `berth cp`.
type CpOptions struct {
	Source, Destination string
	FollowLink          bool
	CopyUIDGID          bool
	// Quiet: no summary on standard error; true unless standard output is
	// a terminal or --quiet says otherwise, as docker's.
	Quiet   bool
	Streams *IOStreams
	Global  *GlobalOptions
}

func newCmdCp(streams *IOStreams, g *GlobalOptions, runF func(*CpOptions) error) *cobra.Command {
	opts := &CpOptions{Streams: streams, Global: g}
	cmd := &cobra.Command{
		Use: `cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
  berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`,
		Short: "Copy files/folders between a container and the local filesystem",
		Long: `Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" {
				return usageErrorf("source can not be empty")
			}
			if args[1] == "" {
				return usageErrorf("destination can not be empty")
			}
			opts.Source, opts.Destination = args[0], args[1]
			if !cmd.Flags().Changed("quiet") {
				opts.Quiet = !isTerminal(streams.Out)
			}
			if runF != nil {
				return runF(opts)
			}
			return runCp(cmd.Context(), opts)
		},
		DisableFlagsInUseLine: true,
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.FollowLink, "follow-link", "L", false, "always follow symbol links in SRC_PATH")
	f.BoolVarP(&opts.CopyUIDGID, "archive", "a", false, "archive mode (copy all uid/gid information)")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "suppress progress output during copy (automatic when no terminal is attached)")
	return cmd
}

func runCp(ctx context.Context, opts *CpOptions) error {
	srcCtr, srcPath := splitCpArg(opts.Source)
	dstCtr, dstPath := splitCpArg(opts.Destination)
	switch {
	case srcCtr != "" && dstCtr != "":
		return usageErrorf("copying between containers is not supported")
	case srcCtr != "":
		return copyFromContainer(ctx, opts, srcCtr, srcPath, dstPath)
	case dstCtr != "":
		return copyToContainer(ctx, opts, srcPath, dstCtr, dstPath)
	}
	return usageErrorf("must specify at least one container source")
}

// counter counts the bytes of a copy for its summary.
type counter struct {
	r io.Reader
	n atomic.Int64
}

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func copyFromContainer(ctx context.Context, opts *CpOptions, ctr, srcPath, dstPath string) error {
	if dstPath != "-" {
		p, err := localPath(dstPath)
		if err != nil {
			return err
		}
		dstPath = p
		if err := validateOutputPath(dstPath); err != nil {
			return err
		}
	}
	c := engineClient(opts.Global)
	defer c.Close()
	rebaseTo := ""
	if opts.FollowLink {
		// Docker's -L: copy what a symlink points to, under the link's name.
		if st, err := c.ContainerStatPath(ctx, ctr, srcPath); err == nil && st.Mode&os.ModeSymlink != 0 {
			target := st.LinkTarget
			if !filepath.IsAbs(target) {
				dir, _ := splitPathDirEntry(srcPath)
				target = filepath.Join(dir, target)
			}
			srcPath, rebaseTo = rebaseName(srcPath, target)
		}
	}
	content, st, err := c.CopyFromContainer(ctx, ctr, srcPath)
	if err != nil {
		return engineError(err)
	}
	defer content.Close()
	if dstPath == "-" {
		if _, err := io.Copy(opts.Streams.Out, content); err != nil {
			return engineError(err)
		}
		return nil
	}
	src := copyInfo{Path: srcPath, Exists: true, IsDir: st.Mode.IsDir()}
	in := &counter{r: content}
	var archive io.Reader = in
	if rebaseTo != "" {
		_, base := splitPathDirEntry(srcPath)
		rebased := rebaseArchive(in, base, rebaseTo)
		defer rebased.Close()
		archive = rebased
	}
	if err := extractLocal(ctx, archive, src, dstPath); err != nil {
		return copyError(err)
	}
	if !opts.Quiet {
		size := in.n.Load()
		if !st.Mode.IsDir() {
			size = st.Size
		}
		fmt.Fprintf(opts.Streams.ErrOut, "Successfully copied %s to %s\n", humanSize(size), dstPath)
	}
	return nil
}

func copyToContainer(ctx context.Context, opts *CpOptions, srcPath, ctr, dstPath string) error {
	if srcPath != "-" {
		p, err := localPath(srcPath)
		if err != nil {
			return err
		}
		srcPath = p
	}
	c := engineClient(opts.Global)
	defer c.Close()
	// What the destination is decides where the archive is extracted and
	// under which name. Docker ignores a failed stat: the parent may exist,
	// and the extraction says what is wrong otherwise.
	dst := copyInfo{Path: dstPath}
	if st, err := c.ContainerStatPath(ctx, ctr, dstPath); err == nil {
		if st.Mode&os.ModeSymlink != 0 {
			target := st.LinkTarget
			if !filepath.IsAbs(target) {
				dir, _ := splitPathDirEntry(dstPath)
				target = filepath.Join(dir, target)
			}
			dst.Path = target
			st, err = c.ContainerStatPath(ctx, ctr, target)
		}
		if err == nil {
			if err := validateFileMode(st.Mode); err != nil {
				return fmt.Errorf("destination \"%s:%s\" must be a directory or a regular file: %w", ctr, dstPath, err)
			}
			dst.Exists, dst.IsDir = true, st.Mode.IsDir()
		}
	} else if errors.Is(err, api.ErrUnavailable) {
		return engineError(err)
	}
	var content io.Reader
	var resolved string
	var size int64
	in := &counter{}
	if srcPath == "-" {
		if !dst.IsDir {
			return fmt.Errorf("destination \"%s:%s\" must be a directory", ctr, dstPath)
		}
		content, resolved = opts.Streams.In, dst.Path
	} else {
		src, err := sourceInfo(srcPath, opts.FollowLink)
		if err != nil {
			return err
		}
		size = localSize(src.Path)
		archive, err := localArchive(ctx, src)
		if err != nil {
			return err
		}
		defer archive.Close()
		dir, prepared, err := prepareArchiveCopy(archive, src, dst)
		if err != nil {
			return err
		}
		defer prepared.Close()
		content, resolved = prepared, dir
	}
	in.r = content
	err := c.CopyToContainer(ctx, ctr, resolved, in, api.CopyToContainerOptions{NoOverwriteDirNonDir: true, CopyUIDGID: opts.CopyUIDGID})
	if err != nil {
		return engineError(err)
	}
	if !opts.Quiet {
		if size < 0 || srcPath == "-" {
			size = in.n.Load()
		}
		fmt.Fprintf(opts.Streams.ErrOut, "Successfully copied %s to %s:%s\n", humanSize(size), ctr, dst.Path)
	}
	return nil
}

// localSize is the size of the regular files at p, as docker's summary
// counts it; -1 when it cannot be told.
func localSize(p string) int64 {
	var n int64
	err := filepath.WalkDir(p, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return n
}

// copyError says what went wrong on the local side of a copy from a
// container: an engine error as engineError does, the rest as is.
func copyError(err error) error {
	var ae *api.Error
	if errors.As(err, &ae) || errors.Is(err, api.ErrUnavailable) {
		return engineError(err)
	}
	return err
}
