package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The local end of docker cp, with the docker client's path rules: which
// directory an archive is extracted into, and how its entries are renamed
// so that a copy lands as `cp -a` would put it (a directory copied into an
// existing directory or to a new name, a file onto a file, "dir/." for a
// directory's content).

// Errors of the path rules, worded as docker's.
var (
	errNotDirectory  = errors.New("not a directory")
	errDirNotExists  = errors.New("no such directory")
	errCannotCopyDir = errors.New("cannot copy directory")
)

// copyInfo is what a copy knows of one of its ends.
type copyInfo struct {
	Path   string
	Exists bool
	IsDir  bool
	// RebaseName renames the archive's first element (a followed symlink
	// keeps the name it was given by).
	RebaseName string
}

func hasTrailingSeparator(p string) bool { return strings.HasSuffix(p, "/") }

func specifiesCurrentDir(p string) bool { return filepath.Base(p) == "." }

// assertsDirectory reports whether p ends in "/" or "/.".
func assertsDirectory(p string) bool { return hasTrailingSeparator(p) || specifiesCurrentDir(p) }

// preserveTrailingDotOrSeparator puts back on a cleaned path the trailing
// "/" or "/." of the original, which say "a directory".
func preserveTrailingDotOrSeparator(cleaned, original string) string {
	if !specifiesCurrentDir(cleaned) && specifiesCurrentDir(original) {
		if !hasTrailingSeparator(cleaned) {
			cleaned += "/"
		}
		cleaned += "."
	}
	if !hasTrailingSeparator(cleaned) && hasTrailingSeparator(original) {
		cleaned += "/"
	}
	return cleaned
}

// splitPathDirEntry splits p into its directory and last element, keeping
// a trailing "." ("a/b/." gives "a/b" and ".").
func splitPathDirEntry(p string) (dir, base string) {
	clean := filepath.Clean(p)
	if specifiesCurrentDir(p) {
		clean += "/."
	}
	return filepath.Dir(clean), filepath.Base(clean)
}

// rebaseName is the name an archive's first element must take when
// resolving p's symlinks changed its last element.
func rebaseName(p, resolved string) (string, string) {
	if specifiesCurrentDir(p) && !specifiesCurrentDir(resolved) {
		resolved += "/."
	}
	if hasTrailingSeparator(p) && !hasTrailingSeparator(resolved) {
		resolved += "/"
	}
	if filepath.Base(p) != filepath.Base(resolved) {
		return resolved, filepath.Base(p)
	}
	return resolved, ""
}

// localPath is p made absolute, its trailing "/" or "/." kept.
func localPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return preserveTrailingDotOrSeparator(abs, p), nil
}

// sourceInfo stats a local copy source: symlinks before its last element
// are followed, the last one too with followLink.
func sourceInfo(p string, followLink bool) (copyInfo, error) {
	var resolved, rebase string
	if followLink {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return copyInfo{}, err
		}
		resolved, rebase = rebaseName(p, r)
	} else {
		dir, base := filepath.Split(p)
		r, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return copyInfo{}, err
		}
		resolved = r + "/" + base
		if hasTrailingSeparator(p) && filepath.Base(p) != filepath.Base(resolved) {
			rebase = filepath.Base(p)
		}
	}
	st, err := os.Lstat(resolved)
	if err != nil {
		return copyInfo{}, err
	}
	return copyInfo{Path: resolved, Exists: true, IsDir: st.IsDir(), RebaseName: rebase}, nil
}

// destinationInfo stats a local copy destination, following symlinks all
// the way: a copy onto a symlink goes where it points. A missing
// destination is fine when its parent is a directory.
func destinationInfo(p string) (copyInfo, error) {
	original := p
	st, err := os.Lstat(p)
	for n := 0; err == nil && st.Mode()&fs.ModeSymlink != 0; n++ {
		if n > 10 {
			return copyInfo{}, fmt.Errorf("too many symlinks in %s", original)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return copyInfo{}, err
		}
		if !filepath.IsAbs(target) {
			dir, _ := splitPathDirEntry(p)
			target = filepath.Join(dir, target)
		}
		p = target
		st, err = os.Lstat(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return copyInfo{}, err
		}
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return copyInfo{}, err
		}
		dir, _ := splitPathDirEntry(p)
		pst, err := os.Stat(dir)
		if err != nil {
			return copyInfo{}, err
		}
		if !pst.IsDir() {
			return copyInfo{}, errNotDirectory
		}
		return copyInfo{Path: p}, nil
	}
	return copyInfo{Path: p, Exists: true, IsDir: st.IsDir()}, nil
}

// prepareArchiveCopy decides where the archive of src is extracted so
// that it lands at dst, and renames its entries when it must take dst's
// name.
func prepareArchiveCopy(content io.Reader, src, dst copyInfo) (string, io.ReadCloser, error) {
	dstDir, dstBase := splitPathDirEntry(dst.Path)
	_, srcBase := splitPathDirEntry(src.Path)
	if src.RebaseName != "" {
		srcBase = src.RebaseName
	}
	switch {
	case dst.Exists && dst.IsDir:
		// Into an existing directory, under the source's own name.
		return dst.Path, io.NopCloser(content), nil
	case dst.Exists && src.IsDir:
		return "", nil, errCannotCopyDir
	case !dst.Exists && !src.IsDir && assertsDirectory(dst.Path):
		return "", nil, errDirNotExists
	}
	// Onto an existing file, or to a new name: the entries take dst's name.
	return dstDir, rebaseArchive(content, srcBase, dstBase), nil
}

// rebaseArchive renames oldBase, the first element of every entry of the
// tar src (and of hard link targets), to newBase.
func rebaseArchive(src io.Reader, oldBase, newBase string) io.ReadCloser {
	if oldBase == "/" {
		// The root's entries are "/x": newBase goes before them.
		oldBase = ""
	}
	pr, pw := io.Pipe()
	go func() {
		tr := tar.NewReader(src)
		tw := tar.NewWriter(pw)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				pw.CloseWithError(tw.Close())
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			// PAX: a longer name may not fit the format the reader guessed.
			hdr.Format = tar.FormatPAX
			hdr.Name = rebase(hdr.Name, oldBase, newBase)
			if hdr.Typeflag == tar.TypeLink {
				hdr.Linkname = rebase(hdr.Linkname, oldBase, newBase)
			}
			if err := tw.WriteHeader(hdr); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.Copy(tw, tr); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}

func rebase(name, oldBase, newBase string) string {
	if rest, ok := strings.CutPrefix(name, oldBase); ok {
		return newBase + rest
	}
	return name
}

// validateOutputPath checks a local destination as docker does: its
// directory exists, and it is a directory or a regular file if it exists.
func validateOutputPath(p string) error {
	dir := filepath.Dir(filepath.Clean(p))
	if dir != "" && dir != "." {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("invalid output path: directory %q does not exist", dir)
		}
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode().IsRegular() {
		return nil
	}
	if err := validateFileMode(st.Mode()); err != nil {
		return fmt.Errorf("invalid output path: %q must be a directory or a regular file: %w", p, err)
	}
	return nil
}

func validateFileMode(m fs.FileMode) error {
	switch {
	case m&fs.ModeDevice != 0:
		return errors.New("got a device")
	case m&fs.ModeIrregular != 0:
		return errors.New("got an irregular file")
	}
	return nil
}

// splitCpArg splits CONTAINER:PATH. A local path with a colon is written
// ./a:b or /a:b, as with scp.
func splitCpArg(arg string) (ctr, p string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, p
}
