package api

import "time"

// ContainerCreateRequest is the body of POST /containers/create: the
// container's configuration with the host's and the network's beside it.
// Go names follow Docker's, so --format templates read alike.
type ContainerCreateRequest struct {
	ContainerConfig
	HostConfig       *HostConfig       `json:"HostConfig,omitempty"`
	NetworkingConfig *NetworkingConfig `json:"NetworkingConfig,omitempty"`
}

// ContainerCreateResponse is POST /containers/create's answer.
type ContainerCreateResponse struct {
	ID       string   `json:"Id"`
	Warnings []string `json:"Warnings"`
}

// HostConfig is Docker's host-dependent container configuration, every
// field API 1.43 defines, so that a request decodes strictly. Which fields
// Berth implements is ValidateCreate's to say.
type HostConfig struct {
	Binds           []string                 `json:"Binds"`
	ContainerIDFile string                   `json:"ContainerIDFile"`
	LogConfig       LogConfig                `json:"LogConfig"`
	NetworkMode     string                   `json:"NetworkMode"`
	PortBindings    map[string][]PortBinding `json:"PortBindings"`
	RestartPolicy   RestartPolicy            `json:"RestartPolicy"`
	AutoRemove      bool                     `json:"AutoRemove"`
	VolumeDriver    string                   `json:"VolumeDriver"`
	VolumesFrom     []string                 `json:"VolumesFrom"`
	// ConsoleSize is the terminal's height and width.
	ConsoleSize     [2]uint           `json:"ConsoleSize"`
	Annotations     map[string]string `json:"Annotations,omitempty"`
	CapAdd          []string          `json:"CapAdd"`
	CapDrop         []string          `json:"CapDrop"`
	CgroupnsMode    string            `json:"CgroupnsMode"`
	DNS             []string          `json:"Dns"`
	DNSOptions      []string          `json:"DnsOptions"`
	DNSSearch       []string          `json:"DnsSearch"`
	ExtraHosts      []string          `json:"ExtraHosts"`
	GroupAdd        []string          `json:"GroupAdd"`
	IpcMode         string            `json:"IpcMode"`
	Cgroup          string            `json:"Cgroup"`
	Links           []string          `json:"Links"`
	OomScoreAdj     int               `json:"OomScoreAdj"`
	PidMode         string            `json:"PidMode"`
	Privileged      bool              `json:"Privileged"`
	PublishAllPorts bool              `json:"PublishAllPorts"`
	ReadonlyRootfs  bool              `json:"ReadonlyRootfs"`
	SecurityOpt     []string          `json:"SecurityOpt"`
	StorageOpt      map[string]string `json:"StorageOpt,omitempty"`
	// Tmpfs maps a path in the container to tmpfs mount options
	// ("size=64m,mode=1777").
	Tmpfs      map[string]string `json:"Tmpfs,omitempty"`
	UTSMode    string            `json:"UTSMode"`
	UsernsMode string            `json:"UsernsMode"`
	ShmSize    int64             `json:"ShmSize"`
	Sysctls    map[string]string `json:"Sysctls,omitempty"`
	Runtime    string            `json:"Runtime,omitempty"`
	Isolation  string            `json:"Isolation"`
	Resources
	Mounts        []Mount  `json:"Mounts,omitempty"`
	MaskedPaths   []string `json:"MaskedPaths"`
	ReadonlyPaths []string `json:"ReadonlyPaths"`
	// Init runs an init as PID 1; nil means the daemon's default.
	Init *bool `json:"Init,omitempty"`
}

// Resources are a container's cgroup limits.
type Resources struct {
	CPUShares            int64            `json:"CpuShares"`
	Memory               int64            `json:"Memory"`
	NanoCPUs             int64            `json:"NanoCpus"`
	CgroupParent         string           `json:"CgroupParent"`
	BlkioWeight          uint16           `json:"BlkioWeight"`
	BlkioWeightDevice    []WeightDevice   `json:"BlkioWeightDevice"`
	BlkioDeviceReadBps   []ThrottleDevice `json:"BlkioDeviceReadBps"`
	BlkioDeviceWriteBps  []ThrottleDevice `json:"BlkioDeviceWriteBps"`
	BlkioDeviceReadIOps  []ThrottleDevice `json:"BlkioDeviceReadIOps"`
	BlkioDeviceWriteIOps []ThrottleDevice `json:"BlkioDeviceWriteIOps"`
	CPUPeriod            int64            `json:"CpuPeriod"`
	CPUQuota             int64            `json:"CpuQuota"`
	CPURealtimePeriod    int64            `json:"CpuRealtimePeriod"`
	CPURealtimeRuntime   int64            `json:"CpuRealtimeRuntime"`
	CpusetCpus           string           `json:"CpusetCpus"`
	CpusetMems           string           `json:"CpusetMems"`
	Devices              []DeviceMapping  `json:"Devices"`
	DeviceCgroupRules    []string         `json:"DeviceCgroupRules"`
	DeviceRequests       []DeviceRequest  `json:"DeviceRequests"`
	KernelMemory         int64            `json:"KernelMemory,omitempty"`
	KernelMemoryTCP      int64            `json:"KernelMemoryTCP,omitempty"`
	MemoryReservation    int64            `json:"MemoryReservation"`
	// MemorySwap is memory plus swap; -1 is unlimited swap.
	MemorySwap       int64     `json:"MemorySwap"`
	MemorySwappiness *int64    `json:"MemorySwappiness"`
	OomKillDisable   *bool     `json:"OomKillDisable"`
	PidsLimit        *int64    `json:"PidsLimit"`
	Ulimits          []*Ulimit `json:"Ulimits"`
	// Windows only.
	CPUCount           int64  `json:"CpuCount"`
	CPUPercent         int64  `json:"CpuPercent"`
	IOMaximumIOps      uint64 `json:"IOMaximumIOps"`
	IOMaximumBandwidth uint64 `json:"IOMaximumBandwidth"`
}

// LogConfig names the log driver and its options (max-size, max-file).
type LogConfig struct {
	Type   string            `json:"Type"`
	Config map[string]string `json:"Config"`
}

// RestartPolicy is what the engine does when the container's process
// exits: Name is "", "no", "always", "unless-stopped" or "on-failure".
type RestartPolicy struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// PortBinding is one published port (networking comes later).
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// WeightDevice is a block I/O weight for one device.
type WeightDevice struct {
	Path   string `json:"Path"`
	Weight uint16 `json:"Weight"`
}

// ThrottleDevice is a block I/O rate limit for one device.
type ThrottleDevice struct {
	Path string `json:"Path"`
	Rate uint64 `json:"Rate"`
}

// DeviceMapping is a host device given to the container (--device).
type DeviceMapping struct {
	PathOnHost        string `json:"PathOnHost"`
	PathInContainer   string `json:"PathInContainer"`
	CgroupPermissions string `json:"CgroupPermissions"`
}

// DeviceRequest asks a device driver for devices (--gpus).
type DeviceRequest struct {
	Driver       string            `json:"Driver"`
	Count        int               `json:"Count"`
	DeviceIDs    []string          `json:"DeviceIDs"`
	Capabilities [][]string        `json:"Capabilities"`
	Options      map[string]string `json:"Options"`
}

// Ulimit is one resource limit (--ulimit).
type Ulimit struct {
	Name string `json:"Name"`
	Hard int64  `json:"Hard"`
	Soft int64  `json:"Soft"`
}

// Mount is one entry of HostConfig.Mounts (docker run --mount).
type Mount struct {
	Type          string         `json:"Type,omitempty"`
	Source        string         `json:"Source,omitempty"`
	Target        string         `json:"Target,omitempty"`
	ReadOnly      bool           `json:"ReadOnly,omitempty"`
	Consistency   string         `json:"Consistency,omitempty"`
	BindOptions   *BindOptions   `json:"BindOptions,omitempty"`
	VolumeOptions *VolumeOptions `json:"VolumeOptions,omitempty"`
	TmpfsOptions  *TmpfsOptions  `json:"TmpfsOptions,omitempty"`
}

// BindOptions are a bind mount's options.
type BindOptions struct {
	Propagation            string `json:"Propagation,omitempty"`
	NonRecursive           bool   `json:"NonRecursive,omitempty"`
	CreateMountpoint       bool   `json:"CreateMountpoint,omitempty"`
	ReadOnlyNonRecursive   bool   `json:"ReadOnlyNonRecursive,omitempty"`
	ReadOnlyForceRecursive bool   `json:"ReadOnlyForceRecursive,omitempty"`
}

// VolumeOptions are a volume mount's options.
type VolumeOptions struct {
	NoCopy       bool              `json:"NoCopy,omitempty"`
	Labels       map[string]string `json:"Labels,omitempty"`
	Subpath      string            `json:"Subpath,omitempty"`
	DriverConfig *VolumeDriver     `json:"DriverConfig,omitempty"`
}

// VolumeDriver names a volume driver and its options.
type VolumeDriver struct {
	Name    string            `json:"Name,omitempty"`
	Options map[string]string `json:"Options,omitempty"`
}

// TmpfsOptions are a tmpfs mount's size (bytes) and mode.
type TmpfsOptions struct {
	SizeBytes int64      `json:"SizeBytes,omitempty"`
	Mode      uint32     `json:"Mode,omitempty"`
	Options   [][]string `json:"Options,omitempty"`
}

// NetworkingConfig is the networks a container joins at create.
type NetworkingConfig struct {
	EndpointsConfig map[string]*EndpointSettings `json:"EndpointsConfig"`
}

// EndpointSettings is a container's place on one network. The docker CLI
// sends fields of later API versions too (GwPriority, DNSNames).
type EndpointSettings struct {
	IPAMConfig          *EndpointIPAMConfig `json:"IPAMConfig"`
	Links               []string            `json:"Links"`
	Aliases             []string            `json:"Aliases"`
	MacAddress          string              `json:"MacAddress"`
	DriverOpts          map[string]string   `json:"DriverOpts"`
	GwPriority          int                 `json:"GwPriority"`
	NetworkID           string              `json:"NetworkID"`
	EndpointID          string              `json:"EndpointID"`
	Gateway             string              `json:"Gateway"`
	IPAddress           string              `json:"IPAddress"`
	IPPrefixLen         int                 `json:"IPPrefixLen"`
	IPv6Gateway         string              `json:"IPv6Gateway"`
	GlobalIPv6Address   string              `json:"GlobalIPv6Address"`
	GlobalIPv6PrefixLen int                 `json:"GlobalIPv6PrefixLen"`
	DNSNames            []string            `json:"DNSNames"`
}

// EndpointIPAMConfig asks for fixed addresses on a network.
type EndpointIPAMConfig struct {
	IPv4Address  string   `json:"IPv4Address,omitempty"`
	IPv6Address  string   `json:"IPv6Address,omitempty"`
	LinkLocalIPs []string `json:"LinkLocalIPs,omitempty"`
}

// ContainerJSON is GET /containers/{id}/json: the container as docker
// inspect shows it. Times are RFC 3339 with nanoseconds, UTC;
// "0001-01-01T00:00:00Z" for a time that has not happened.
type ContainerJSON struct {
	ID              string           `json:"Id"`
	Created         string           `json:"Created"`
	Path            string           `json:"Path"`
	Args            []string         `json:"Args"`
	State           *ContainerState  `json:"State"`
	Image           string           `json:"Image"`
	ResolvConfPath  string           `json:"ResolvConfPath"`
	HostnamePath    string           `json:"HostnamePath"`
	HostsPath       string           `json:"HostsPath"`
	LogPath         string           `json:"LogPath"`
	Name            string           `json:"Name"`
	RestartCount    int              `json:"RestartCount"`
	Driver          string           `json:"Driver"`
	Platform        string           `json:"Platform"`
	MountLabel      string           `json:"MountLabel"`
	ProcessLabel    string           `json:"ProcessLabel"`
	AppArmorProfile string           `json:"AppArmorProfile"`
	ExecIDs         []string         `json:"ExecIDs"`
	HostConfig      *HostConfig      `json:"HostConfig"`
	GraphDriver     GraphDriverData  `json:"GraphDriver"`
	SizeRw          *int64           `json:"SizeRw,omitempty"`
	SizeRootFs      *int64           `json:"SizeRootFs,omitempty"`
	Mounts          []MountPoint     `json:"Mounts"`
	Config          *ContainerConfig `json:"Config"`
	NetworkSettings *NetworkSettings `json:"NetworkSettings"`
}

// ContainerState is a container's run state. Status is one of created,
// running, paused, restarting, removing, exited, dead.
type ContainerState struct {
	Status     string `json:"Status"`
	Running    bool   `json:"Running"`
	Paused     bool   `json:"Paused"`
	Restarting bool   `json:"Restarting"`
	OOMKilled  bool   `json:"OOMKilled"`
	Dead       bool   `json:"Dead"`
	Pid        int    `json:"Pid"`
	ExitCode   int    `json:"ExitCode"`
	Error      string `json:"Error"`
	StartedAt  string `json:"StartedAt"`
	FinishedAt string `json:"FinishedAt"`
}

// MountPoint is one mount as inspect and ps show it. Type is bind,
// volume or tmpfs; Name and Driver are set for volumes.
type MountPoint struct {
	Type        string `json:"Type,omitempty"`
	Name        string `json:"Name,omitempty"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	Driver      string `json:"Driver,omitempty"`
	Mode        string `json:"Mode"`
	RW          bool   `json:"RW"`
	Propagation string `json:"Propagation"`
}

// NetworkSettings is a container's networking as inspect shows it;
// Networks is keyed by network name ("none", "host").
type NetworkSettings struct {
	Bridge                 string                       `json:"Bridge"`
	SandboxID              string                       `json:"SandboxID"`
	HairpinMode            bool                         `json:"HairpinMode"`
	LinkLocalIPv6Address   string                       `json:"LinkLocalIPv6Address"`
	LinkLocalIPv6PrefixLen int                          `json:"LinkLocalIPv6PrefixLen"`
	Ports                  map[string][]PortBinding     `json:"Ports"`
	SandboxKey             string                       `json:"SandboxKey"`
	SecondaryIPAddresses   []string                     `json:"SecondaryIPAddresses"`
	SecondaryIPv6Addresses []string                     `json:"SecondaryIPv6Addresses"`
	EndpointID             string                       `json:"EndpointID"`
	Gateway                string                       `json:"Gateway"`
	GlobalIPv6Address      string                       `json:"GlobalIPv6Address"`
	GlobalIPv6PrefixLen    int                          `json:"GlobalIPv6PrefixLen"`
	IPAddress              string                       `json:"IPAddress"`
	IPPrefixLen            int                          `json:"IPPrefixLen"`
	IPv6Gateway            string                       `json:"IPv6Gateway"`
	MacAddress             string                       `json:"MacAddress"`
	Networks               map[string]*EndpointSettings `json:"Networks"`
}

// Container is one entry of GET /containers/json (docker ps).
type Container struct {
	ID              string                  `json:"Id"`
	Names           []string                `json:"Names"`
	Image           string                  `json:"Image"`
	ImageID         string                  `json:"ImageID"`
	Command         string                  `json:"Command"`
	Created         int64                   `json:"Created"`
	Ports           []Port                  `json:"Ports"`
	SizeRw          int64                   `json:"SizeRw,omitempty"`
	SizeRootFs      int64                   `json:"SizeRootFs,omitempty"`
	Labels          map[string]string       `json:"Labels"`
	State           string                  `json:"State"`
	Status          string                  `json:"Status"`
	HostConfig      ContainerSummaryHost    `json:"HostConfig"`
	NetworkSettings *SummaryNetworkSettings `json:"NetworkSettings"`
	Mounts          []MountPoint            `json:"Mounts"`
}

// Port is a published port in a Container summary.
type Port struct {
	IP          string `json:"IP,omitempty"`
	PrivatePort uint16 `json:"PrivatePort"`
	PublicPort  uint16 `json:"PublicPort,omitempty"`
	Type        string `json:"Type"`
}

// ContainerSummaryHost is the part of HostConfig docker ps sees.
type ContainerSummaryHost struct {
	NetworkMode string `json:"NetworkMode,omitempty"`
}

// SummaryNetworkSettings is the part of NetworkSettings docker ps sees.
type SummaryNetworkSettings struct {
	Networks map[string]*EndpointSettings `json:"Networks"`
}

// ContainerWaitResponse is POST /containers/{id}/wait's answer.
type ContainerWaitResponse struct {
	StatusCode int            `json:"StatusCode"`
	Error      *WaitExitError `json:"Error,omitempty"`
}

// WaitExitError is why waiting failed.
type WaitExitError struct {
	Message string `json:"Message"`
}

// ContainerTopResponse is GET /containers/{id}/top: ps's columns and rows.
type ContainerTopResponse struct {
	Titles    []string   `json:"Titles"`
	Processes [][]string `json:"Processes"`
}

// ContainersPruneReport is POST /containers/prune's answer.
type ContainersPruneReport struct {
	ContainersDeleted []string `json:"ContainersDeleted"`
	SpaceReclaimed    uint64   `json:"SpaceReclaimed"`
}

// StatsJSON is one sample of GET /containers/{id}/stats, in the shape
// docker stats reads (cgroup v1 names; v2 engines fill the same fields).
// PreRead and PreCPUStats are the previous sample's, which the server
// fills in.
type StatsJSON struct {
	Read         time.Time               `json:"read"`
	PreRead      time.Time               `json:"preread"`
	PidsStats    PidsStats               `json:"pids_stats"`
	BlkioStats   BlkioStats              `json:"blkio_stats"`
	NumProcs     uint32                  `json:"num_procs"`
	StorageStats StorageStats            `json:"storage_stats"`
	CPUStats     CPUStats                `json:"cpu_stats"`
	PreCPUStats  CPUStats                `json:"precpu_stats"`
	MemoryStats  MemoryStats             `json:"memory_stats"`
	Name         string                  `json:"name"`
	ID           string                  `json:"id"`
	Networks     map[string]NetworkStats `json:"networks,omitempty"`
}

// PidsStats counts a container's tasks.
type PidsStats struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// BlkioStats are a container's block I/O counters.
type BlkioStats struct {
	IoServiceBytesRecursive []BlkioStatEntry `json:"io_service_bytes_recursive"`
	IoServicedRecursive     []BlkioStatEntry `json:"io_serviced_recursive"`
	IoQueuedRecursive       []BlkioStatEntry `json:"io_queue_recursive"`
	IoServiceTimeRecursive  []BlkioStatEntry `json:"io_service_time_recursive"`
	IoWaitTimeRecursive     []BlkioStatEntry `json:"io_wait_time_recursive"`
	IoMergedRecursive       []BlkioStatEntry `json:"io_merged_recursive"`
	IoTimeRecursive         []BlkioStatEntry `json:"io_time_recursive"`
	SectorsRecursive        []BlkioStatEntry `json:"sectors_recursive"`
}

// BlkioStatEntry is one device's counter; Op is "read", "write"...
type BlkioStatEntry struct {
	Major uint64 `json:"major"`
	Minor uint64 `json:"minor"`
	Op    string `json:"op"`
	Value uint64 `json:"value"`
}

// StorageStats is Windows'; always empty.
type StorageStats struct{}

// CPUStats is a container's CPU use and the host's, in nanoseconds.
type CPUStats struct {
	CPUUsage       CPUUsage       `json:"cpu_usage"`
	SystemUsage    uint64         `json:"system_cpu_usage,omitempty"`
	OnlineCPUs     uint32         `json:"online_cpus,omitempty"`
	ThrottlingData ThrottlingData `json:"throttling_data"`
}

// CPUUsage is the container's CPU time, in nanoseconds.
type CPUUsage struct {
	TotalUsage        uint64   `json:"total_usage"`
	PercpuUsage       []uint64 `json:"percpu_usage,omitempty"`
	UsageInKernelmode uint64   `json:"usage_in_kernelmode"`
	UsageInUsermode   uint64   `json:"usage_in_usermode"`
}

// ThrottlingData is how often the CPU limit held the container back.
type ThrottlingData struct {
	Periods          uint64 `json:"periods"`
	ThrottledPeriods uint64 `json:"throttled_periods"`
	ThrottledTime    uint64 `json:"throttled_time"`
}

// MemoryStats is a container's memory use in bytes; Stats holds the
// cgroup's memory.stat (cache, total_inactive_file on v1; inactive_file
// on v2), from which docker stats subtracts the page cache.
type MemoryStats struct {
	Usage    uint64            `json:"usage,omitempty"`
	MaxUsage uint64            `json:"max_usage,omitempty"`
	Stats    map[string]uint64 `json:"stats,omitempty"`
	Failcnt  uint64            `json:"failcnt,omitempty"`
	Limit    uint64            `json:"limit,omitempty"`
}

// NetworkStats are one interface's counters.
type NetworkStats struct {
	RxBytes   uint64 `json:"rx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	RxErrors  uint64 `json:"rx_errors"`
	RxDropped uint64 `json:"rx_dropped"`
	TxBytes   uint64 `json:"tx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxErrors  uint64 `json:"tx_errors"`
	TxDropped uint64 `json:"tx_dropped"`
}

// Volume is a named volume (GET /volumes/{name}).
type Volume struct {
	CreatedAt  string            `json:"CreatedAt,omitempty"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
	// UsageData is set when the backend knows the volume's size cheaply;
	// prune reports the space it frees from it.
	UsageData *VolumeUsageData `json:"UsageData,omitempty"`
}

// VolumeUsageData is a volume's size and how many containers use it; -1
// when unknown.
type VolumeUsageData struct {
	RefCount int64 `json:"RefCount"`
	Size     int64 `json:"Size"`
}

// VolumeListResponse is GET /volumes.
type VolumeListResponse struct {
	Volumes  []*Volume `json:"Volumes"`
	Warnings []string  `json:"Warnings"`
}

// VolumeCreateOptions is the body of POST /volumes/create. Driver is ""
// or "local"; the local driver's options (type, device, o) are not
// supported.
type VolumeCreateOptions struct {
	Name              string            `json:"Name"`
	Driver            string            `json:"Driver"`
	DriverOpts        map[string]string `json:"DriverOpts,omitempty"`
	Labels            map[string]string `json:"Labels,omitempty"`
	ClusterVolumeSpec any               `json:"ClusterVolumeSpec,omitempty"`
}

// VolumesPruneReport is POST /volumes/prune's answer.
type VolumesPruneReport struct {
	VolumesDeleted []string `json:"VolumesDeleted"`
	SpaceReclaimed uint64   `json:"SpaceReclaimed"`
}
