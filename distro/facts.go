package distro

// Facts is what Detect learned about one host. It is plain data: the JSON form
// is the stable schema that `berth check --json` prints (see the README), so
// fields are only ever added, never renamed.
type Facts struct {
	// OS is "linux" or "darwin".
	OS string `json:"os"`
	// Root is the directory the facts were read under ("/" for the live host).
	Root string `json:"root"`
	// Live is true when Root is the running system, so the probes describe it.
	Live           bool         `json:"live"`
	Distro         Distro       `json:"distro"`
	Kernel         Kernel       `json:"kernel"`
	Arch           string       `json:"arch"`
	ArchInfo       Arch         `json:"archInfo"`
	Init           Init         `json:"init"`
	PackageManager string       `json:"packageManager,omitempty"`
	Cgroup         Cgroup       `json:"cgroup"`
	KernelConfig   KernelConfig `json:"kernelConfig"`
	Storage        Storage      `json:"storage"`
	Network        Network      `json:"network"`
	Security       Security     `json:"security"`
	Environment    Environment  `json:"environment"`
	Mac            *Mac         `json:"macos,omitempty"`
	Warnings       []string     `json:"warnings,omitempty"`
}

// Support is how Berth regards a distribution release.
type Support string

const (
	Supported   Support = "supported"
	EndOfLife   Support = "eol"
	Unsupported Support = "unsupported"
)

// Distro identifies the distribution, as os-release (or its predecessors) says.
type Distro struct {
	ID       string   `json:"id"`
	Like     []string `json:"like"`
	Version  string   `json:"version"`
	Codename string   `json:"codename,omitempty"`
	Pretty   string   `json:"pretty"`
	// Family is the distribution Berth treats this one as: debian, ubuntu,
	// rhel, fedora, amzn, alpine, suse, macos. Derivatives resolve to theirs.
	Family string `json:"family"`
	// FamilyVersion is the release of the family this one is built on
	// (Linux Mint 21 is Ubuntu 22.04); equal to Version for the family itself.
	FamilyVersion string  `json:"familyVersion,omitempty"`
	Support       Support `json:"support"`
	// EOL is the end-of-life date (YYYY-MM-DD) when Support is eol or known.
	EOL string `json:"eol,omitempty"`
	// Reason says why a release is unsupported or end-of-life.
	Reason string `json:"reason,omitempty"`
	// Source is the file the identity was read from.
	Source string `json:"source,omitempty"`
}

// Kernel is the kernel release and its numeric version.
type Kernel struct {
	Release string `json:"release"`
	// Version is the numeric X.Y.Z part of Release ("3.10.0" of
	// "3.10.0-1160.el7.x86_64").
	Version string `json:"version"`
	// Source is where the release was read: the running kernel or, for an
	// offline root, its newest installed modules directory.
	Source string `json:"source,omitempty"`
}

// Arch describes the machine's architecture and how it was learned.
type Arch struct {
	// Name is the normalised platform (amd64, arm64, arm/v7, 386, arm/v6,
	// arm, or the raw machine name when unknown).
	Name string `json:"name"`
	// Machine is what the evidence said (x86_64, aarch64, armv7l, ELF ...).
	Machine string `json:"machine"`
	// Source is "uname" for the live host, or the ELF file it came from.
	Source    string `json:"source"`
	Supported bool   `json:"supported"`
	Reason    string `json:"reason,omitempty"`
}

// Init is the installed init system and whether it runs as PID 1.
type Init struct {
	System  string `json:"system"`
	Running bool   `json:"running"`
	// PID1 is the command name of PID 1, when the root has a /proc.
	PID1 string `json:"pid1,omitempty"`
}

// Cgroup modes.
const (
	CgroupV1     = "v1"
	CgroupHybrid = "hybrid"
	CgroupV2     = "v2"
	CgroupNone   = "none"
)

// Cgroup is the host's cgroup layout.
type Cgroup struct {
	Mode string `json:"mode"`
	// Controllers lists every controller the kernel knows and where it lives.
	Controllers []Controller `json:"controllers"`
	// V2Mount is the cgroup2 mount point, if any.
	V2Mount string `json:"v2Mount,omitempty"`
}

// Controller is one cgroup controller.
type Controller struct {
	Name string `json:"name"`
	// Hierarchy is "v1" or "v2" for a mounted controller, "" when it is
	// enabled in the kernel but mounted nowhere.
	Hierarchy string `json:"hierarchy"`
	Usable    bool   `json:"usable"`
}

// KernelConfig is what the kernel's build configuration says.
type KernelConfig struct {
	// Source is the file read, or "" when none was readable.
	Source string `json:"source,omitempty"`
	// Options holds the value of every option Berth asks about ("y", "m",
	// or "" when not set). Nil when no configuration was readable.
	Options map[string]string `json:"options,omitempty"`
}

// Storage is what the overlay storage driver needs.
type Storage struct {
	// Overlay is "yes", "no" or "unknown": whether overlayfs can be mounted.
	Overlay string `json:"overlay"`
	// OverlaySource names the evidence (proc/filesystems, a module, the config).
	OverlaySource string `json:"overlaySource,omitempty"`
	DataRoot      string `json:"dataRoot"`
	// FSType is the filesystem the data root (or its nearest existing parent)
	// lives on.
	FSType string `json:"fsType,omitempty"`
	// DType is "yes", "no" or "unknown": whether that filesystem reports file
	// types in directory entries (xfs needs ftype=1 for overlay).
	DType string `json:"dtype"`
	// FreeBytes and SizeBytes describe that filesystem; 0 when unknown.
	FreeBytes uint64 `json:"freeBytes"`
	SizeBytes uint64 `json:"sizeBytes"`
}

// Network is the host's packet-filtering and forwarding state.
type Network struct {
	// Iptables is the iptables command's path under the root, "" if absent.
	Iptables string `json:"iptables,omitempty"`
	// IptablesMode is "nft", "legacy" or "" when it cannot be told.
	IptablesMode string `json:"iptablesMode,omitempty"`
	// Nft is the nft command's path under the root, "" if absent.
	Nft string `json:"nft,omitempty"`
	// The sysctls, "1"/"0", or "" when the root has no such file (for the
	// bridge ones: br_netfilter is not loaded).
	IPForward            string `json:"ipForward"`
	BridgeNFCallIptables string `json:"bridgeNfCallIptables"`
	BridgeNFCallIP6      string `json:"bridgeNfCallIp6tables"`
	// BrNetfilter is "loaded", "module" (available, not loaded), "builtin",
	// or "" when unknown.
	BrNetfilter string `json:"brNetfilter,omitempty"`
}

// Security is the state of the Linux security modules.
type Security struct {
	// SELinux is "enforcing", "permissive", "disabled", or "" when the host
	// has no SELinux.
	SELinux string `json:"selinux,omitempty"`
	// AppArmor is "enabled", "disabled" or "".
	AppArmor string `json:"apparmor,omitempty"`
	// UsernsRestricted is "1" when Ubuntu's
	// kernel.apparmor_restrict_unprivileged_userns is on, "0" off, "" absent.
	UsernsRestricted string `json:"usernsRestricted,omitempty"`
}

// Environment is where the host runs and what else is on it.
type Environment struct {
	// WSL is "1", "2" or "".
	WSL string `json:"wsl,omitempty"`
	// Container names the container manager Berth runs inside (docker,
	// podman, lxc, systemd-nspawn, ...), or "".
	Container string `json:"container,omitempty"`
	// ContainerEvidence names the marker the Container answer came from.
	ContainerEvidence string `json:"containerEvidence,omitempty"`
	MemTotalBytes     uint64 `json:"memTotalBytes"`
	SwapTotalBytes    uint64 `json:"swapTotalBytes"`
	// Engines lists other container engines found on the host.
	Engines []Engine `json:"engines,omitempty"`
	// Routes are the IPv4 networks the host routes (from /proc/net/route),
	// so a bridge subnet can avoid them.
	Routes []string `json:"routes,omitempty"`
}

// Engine is another container engine installed or running on the host.
type Engine struct {
	Name string `json:"name"`
	// Sockets that exist, Processes that run, and the Bridge it made.
	Sockets   []string `json:"sockets,omitempty"`
	Processes []string `json:"processes,omitempty"`
	Bridge    string   `json:"bridge,omitempty"`
	Subnet    string   `json:"subnet,omitempty"`
	// DataRoot is the engine's state directory, if present.
	DataRoot string `json:"dataRoot,omitempty"`
}

// Mac is what a macOS host is: it runs the engine in a Linux VM.
type Mac struct {
	Version     string `json:"version"`
	Build       string `json:"build,omitempty"`
	ProductName string `json:"productName,omitempty"`
	// Chip is "apple" or "intel"; CPU is the brand string.
	Chip        string `json:"chip"`
	CPU         string `json:"cpu,omitempty"`
	MemBytes    uint64 `json:"memBytes"`
	Hypervisor  string `json:"hypervisor"`
	Rosetta     string `json:"rosetta,omitempty"`
	Virtualized bool   `json:"virtualized,omitempty"`
}
