package distro

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrRoot is wrapped by Detect's error when the root cannot be inspected.
var ErrRoot = errors.New("cannot inspect root")

type options struct {
	probe    Probe
	now      time.Time
	dataRoot string
}

// Option configures Detect and Inspect.
type Option func(*options) error

// WithProbe replaces the probes of the running machine (tests answer from
// a fixture's probe.json).
func WithProbe(p Probe) Option {
	return func(o *options) error {
		if p == nil {
			return errors.New("nil probe")
		}
		o.probe = p
		return nil
	}
}

// WithNow sets the day support dates are judged against.
func WithNow(t time.Time) Option {
	return func(o *options) error { o.now = t; return nil }
}

// WithDataRoot names the engine's data root whose filesystem is checked.
func WithDataRoot(dir string) Option {
	return func(o *options) error {
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("data root %q is not an absolute path", dir)
		}
		o.dataRoot = filepath.Clean(dir)
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{probe: HostProbe(), now: time.Now(), dataRoot: DefaultDataRoot}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Detect reads the facts of the system whose root directory is root ("/"
// for this machine). It fails only when root itself cannot be read; every
// fact it cannot learn is left empty or "unknown".
func Detect(ctx context.Context, root string, opts ...Option) (*Facts, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	f, _, err := detect(ctx, root, o)
	return f, err
}

func detect(ctx context.Context, root string, o *options) (*Facts, rootFS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, rootFS{}, fmt.Errorf("%w %s: %v", ErrRoot, root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, rootFS{}, fmt.Errorf("%w %s: %v", ErrRoot, root, unwrapPathError(err))
	}
	if !fi.IsDir() {
		return nil, rootFS{}, fmt.Errorf("%w %s: not a directory", ErrRoot, root)
	}
	if _, err := os.ReadDir(abs); err != nil {
		return nil, rootFS{}, fmt.Errorf("%w %s: %v", ErrRoot, root, unwrapPathError(err))
	}
	if err := ctx.Err(); err != nil {
		return nil, rootFS{}, err
	}
	r := rootFS{dir: abs}
	f := &Facts{Root: abs, Live: abs == "/"}

	if r.exists(systemVersionPlist) {
		if err := detectMac(r, f, o.probe); err != nil {
			return nil, rootFS{}, fmt.Errorf("%w %s: reading %s: %v", ErrRoot, root, systemVersionPlist, err)
		}
		judgeMacSupport(&f.Distro, o.now)
		f.Arch = f.ArchInfo.Name
		return f, r, nil
	}

	f.OS = "linux"
	f.Distro = readIdentity(r)
	judgeSupport(&f.Distro, o.now)
	f.Kernel = detectKernel(r)
	var warnings []string
	f.ArchInfo, warnings = detectArch(r, f.Live, o.probe)
	f.Arch = f.ArchInfo.Name
	f.Warnings = append(f.Warnings, warnings...)
	f.Init = detectInit(r)
	f.PackageManager = detectPackageManager(r)
	mounts := readMountInfo(r)
	f.Cgroup = detectCgroup(r, mounts)
	f.KernelConfig = readKernelConfig(r, f.Kernel.Release)
	mods := readModuleIndex(r, f.Kernel.Release)
	f.Storage = detectStorage(r, f, mods, mounts, o.probe, o.dataRoot)
	f.Network = detectNetwork(r, mods)
	f.Security = detectSecurity(r)
	f.Environment = detectEnvironment(r, f, mounts)
	return f, r, nil
}

// detectKernel reads the running kernel's release, or for an offline root
// the newest kernel whose modules are installed.
func detectKernel(r rootFS) Kernel {
	if rel := r.text("/proc/sys/kernel/osrelease"); rel != "" {
		return newKernel(rel, "/proc/sys/kernel/osrelease")
	}
	var best Kernel
	for _, dir := range []string{"/lib/modules", "/usr/lib/modules"} {
		for _, name := range r.list(dir) {
			k := newKernel(name, dir+"/"+name)
			if k.Known() && (!best.Known() || best.Parsed().Less(k.Parsed())) {
				best = k
			}
		}
	}
	return best
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Inspect detects the facts of root and judges them: the report `berth
// check` prints.
func Inspect(ctx context.Context, root string, opts ...Option) (*Report, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	f, r, err := detect(ctx, root, o)
	if err != nil {
		return nil, err
	}
	checks := evaluate(f, r)
	rep := &Report{Facts: *f, Checks: checks, OK: true}
	for _, c := range checks {
		if c.Failed() {
			rep.OK = false
		}
	}
	return rep, nil
}
