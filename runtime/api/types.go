package api

import (
	"context"
	"io"
	"time"
)

// API versions this engine speaks. Version is what /version and every
// Api-Version header report; clients asking for a newer one get a 400, and
// the docker CLI negotiates down to it.
const (
	Version    = "1.43"
	MinVersion = "1.24"
)

// ImageBackend is what the server needs from the image store. Errors are
// this package's typed errors (NotFound, Conflict, InvalidParameter...) or
// anything else for a 500.
type ImageBackend interface {
	// Pull fetches ref ("docker.io/library/busybox:latest" or a name with
	// @sha256:...) for platform ("os/arch[/variant]", or "" for the
	// host's), reporting progress as Docker does. auth is nil when the
	// client sent no credentials.
	Pull(ctx context.Context, ref, platform string, auth *AuthConfig, progress ProgressFunc) error
	List(ctx context.Context, opts ImageListOptions) ([]ImageSummary, error)
	Inspect(ctx context.Context, name string) (*ImageInspect, error)
	History(ctx context.Context, name string) ([]HistoryResponseItem, error)
	// Tag gives source the name repo:tag (tag "" means "latest").
	Tag(ctx context.Context, source, repo, tag string) error
	Remove(ctx context.Context, name string, force, noPrune bool) ([]DeleteResponse, error)
	Prune(ctx context.Context, filters map[string][]string) (*ImagesPruneReport, error)
	// Save writes the images as one archive. It should fail before
	// writing anything when a name is unknown: once bytes are sent the
	// server can only cut the connection.
	Save(ctx context.Context, names []string, w io.Writer) error
	// Load reads an archive and returns what it loaded: names, or image
	// IDs ("sha256:...") for untagged images.
	Load(ctx context.Context, r io.Reader, progress ProgressFunc) ([]string, error)
}

// SystemBackend answers /info and /version. The server fills in the API
// versions itself.
type SystemBackend interface {
	Info(ctx context.Context) (*InfoResponse, error)
	Version(ctx context.Context) (*VersionResponse, error)
}

// AuthBackend checks credentials for POST /auth (docker login).
type AuthBackend interface {
	Login(ctx context.Context, auth *AuthConfig) (*AuthResponse, error)
}

// ImageListOptions are the parameters of GET /images/json.
type ImageListOptions struct {
	// All includes intermediate images (docker images -a).
	All bool
	// Digests asks for RepoDigests (docker images --digests).
	Digests bool
	// Filters are the decoded filters: dangling, label, before, since,
	// reference; keys are checked by the server, values by the backend.
	Filters map[string][]string
}

// ImageSummary is one entry of GET /images/json. Containers and SharedSize
// are -1 when not computed, as Docker reports them.
type ImageSummary struct {
	Containers  int64             `json:"Containers"`
	Created     int64             `json:"Created"`
	ID          string            `json:"Id"`
	Labels      map[string]string `json:"Labels"`
	ParentID    string            `json:"ParentId"`
	RepoDigests []string          `json:"RepoDigests"`
	RepoTags    []string          `json:"RepoTags"`
	SharedSize  int64             `json:"SharedSize"`
	Size        int64             `json:"Size"`
	// VirtualSize equals Size; API 1.43 still sends it.
	VirtualSize int64 `json:"VirtualSize"`
}

// ImageInspect is GET /images/{name}/json as API 1.43 answers it.
type ImageInspect struct {
	ID          string   `json:"Id"`
	RepoTags    []string `json:"RepoTags"`
	RepoDigests []string `json:"RepoDigests"`
	Parent      string   `json:"Parent"`
	Comment     string   `json:"Comment"`
	// Created is RFC 3339 with nanoseconds, as in the image config.
	Created string `json:"Created"`
	// Container and ContainerConfig describe the build container of
	// images made by the legacy builder; empty for others, and sent
	// anyway, as dockerd does until API 1.45.
	Container       string           `json:"Container"`
	ContainerConfig *ContainerConfig `json:"ContainerConfig,omitempty"`
	DockerVersion   string           `json:"DockerVersion"`
	Author          string           `json:"Author"`
	Config          *ContainerConfig `json:"Config"`
	Architecture    string           `json:"Architecture"`
	Variant         string           `json:"Variant,omitempty"`
	Os              string           `json:"Os"`
	OsVersion       string           `json:"OsVersion,omitempty"`
	Size            int64            `json:"Size"`
	VirtualSize     int64            `json:"VirtualSize,omitempty"`
	GraphDriver     GraphDriverData  `json:"GraphDriver"`
	RootFS          RootFS           `json:"RootFS"`
	Metadata        ImageMetadata    `json:"Metadata"`
}

// ContainerConfig is Docker's container configuration: an image's Config in
// inspect, and (later) a container's.
type ContainerConfig struct {
	Hostname        string              `json:"Hostname"`
	Domainname      string              `json:"Domainname"`
	User            string              `json:"User"`
	AttachStdin     bool                `json:"AttachStdin"`
	AttachStdout    bool                `json:"AttachStdout"`
	AttachStderr    bool                `json:"AttachStderr"`
	ExposedPorts    map[string]struct{} `json:"ExposedPorts,omitempty"`
	Tty             bool                `json:"Tty"`
	OpenStdin       bool                `json:"OpenStdin"`
	StdinOnce       bool                `json:"StdinOnce"`
	Env             []string            `json:"Env"`
	Cmd             []string            `json:"Cmd"`
	Healthcheck     *HealthConfig       `json:"Healthcheck,omitempty"`
	ArgsEscaped     bool                `json:"ArgsEscaped,omitempty"`
	Image           string              `json:"Image"`
	Volumes         map[string]struct{} `json:"Volumes"`
	WorkingDir      string              `json:"WorkingDir"`
	Entrypoint      []string            `json:"Entrypoint"`
	NetworkDisabled bool                `json:"NetworkDisabled,omitempty"`
	MacAddress      string              `json:"MacAddress,omitempty"`
	OnBuild         []string            `json:"OnBuild"`
	Labels          map[string]string   `json:"Labels"`
	StopSignal      string              `json:"StopSignal,omitempty"`
	StopTimeout     *int                `json:"StopTimeout,omitempty"`
	Shell           []string            `json:"Shell,omitempty"`
}

// HealthConfig is an image's or container's health check; durations are
// nanoseconds on the wire, as Docker sends them.
type HealthConfig struct {
	Test          []string      `json:"Test,omitempty"`
	Interval      time.Duration `json:"Interval,omitempty"`
	Timeout       time.Duration `json:"Timeout,omitempty"`
	StartPeriod   time.Duration `json:"StartPeriod,omitempty"`
	StartInterval time.Duration `json:"StartInterval,omitempty"`
	Retries       int           `json:"Retries,omitempty"`
}

// GraphDriverData names the storage driver and its directories.
type GraphDriverData struct {
	Data map[string]string `json:"Data"`
	Name string            `json:"Name"`
}

// RootFS lists an image's layers by DiffID.
type RootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers,omitempty"`
}

// ImageMetadata is what the engine knows of an image beyond its config.
type ImageMetadata struct {
	LastTagTime time.Time `json:"LastTagTime"`
}

// HistoryResponseItem is one entry of GET /images/{name}/history, newest
// first.
type HistoryResponseItem struct {
	Comment   string   `json:"Comment"`
	Created   int64    `json:"Created"`
	CreatedBy string   `json:"CreatedBy"`
	ID        string   `json:"Id"`
	Size      int64    `json:"Size"`
	Tags      []string `json:"Tags"`
}

// DeleteResponse is one line of what DELETE /images/{name} and prune did:
// exactly one of its fields is set.
type DeleteResponse struct {
	Untagged string `json:"Untagged,omitempty"`
	Deleted  string `json:"Deleted,omitempty"`
}

// ImagesPruneReport is POST /images/prune's answer.
type ImagesPruneReport struct {
	ImagesDeleted  []DeleteResponse `json:"ImagesDeleted"`
	SpaceReclaimed uint64           `json:"SpaceReclaimed"`
}

// AuthConfig is a registry credential: the body of POST /auth, and the
// base64url JSON of the X-Registry-Auth header.
type AuthConfig struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Auth is base64("username:password"), as config.json stores it.
	Auth string `json:"auth,omitempty"`
	// Email is deprecated; accepted and ignored as Docker does.
	Email         string `json:"email,omitempty"`
	ServerAddress string `json:"serveraddress,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// AuthResponse is POST /auth's answer.
type AuthResponse struct {
	Status        string `json:"Status"`
	IdentityToken string `json:"IdentityToken"`
}

// VersionResponse is GET /version. The JSON names are Docker's, and so are
// the Go names, so `version --format '{{.Server.APIVersion}}'` works alike.
type VersionResponse struct {
	Platform      struct{ Name string } `json:"Platform"`
	Components    []ComponentVersion    `json:"Components"`
	Version       string                `json:"Version"`
	APIVersion    string                `json:"ApiVersion"`
	MinAPIVersion string                `json:"MinAPIVersion,omitempty"`
	GitCommit     string                `json:"GitCommit"`
	GoVersion     string                `json:"GoVersion"`
	Os            string                `json:"Os"`
	Arch          string                `json:"Arch"`
	KernelVersion string                `json:"KernelVersion,omitempty"`
	Experimental  bool                  `json:"Experimental,omitempty"`
	BuildTime     string                `json:"BuildTime,omitempty"`
}

// ComponentVersion is one part of the engine in /version; Berth has one,
// "Engine".
type ComponentVersion struct {
	Name    string            `json:"Name"`
	Version string            `json:"Version"`
	Details map[string]string `json:"Details,omitempty"`
}

// InfoResponse is GET /info: the fields of Docker's that Berth can answer
// truthfully. Fields about containers, networks and volumes join with those
// features.
type InfoResponse struct {
	ID                 string         `json:"ID"`
	Containers         int            `json:"Containers"`
	ContainersRunning  int            `json:"ContainersRunning"`
	ContainersPaused   int            `json:"ContainersPaused"`
	ContainersStopped  int            `json:"ContainersStopped"`
	Images             int            `json:"Images"`
	Driver             string         `json:"Driver"`
	DriverStatus       [][2]string    `json:"DriverStatus"`
	Plugins            PluginsInfo    `json:"Plugins"`
	Debug              bool           `json:"Debug"`
	NFd                int            `json:"NFd"`
	NGoroutines        int            `json:"NGoroutines"`
	SystemTime         string         `json:"SystemTime"`
	LoggingDriver      string         `json:"LoggingDriver"`
	CgroupDriver       string         `json:"CgroupDriver"`
	CgroupVersion      string         `json:"CgroupVersion,omitempty"`
	NEventsListener    int            `json:"NEventsListener"`
	KernelVersion      string         `json:"KernelVersion"`
	OperatingSystem    string         `json:"OperatingSystem"`
	OSVersion          string         `json:"OSVersion"`
	OSType             string         `json:"OSType"`
	Architecture       string         `json:"Architecture"`
	IndexServerAddress string         `json:"IndexServerAddress"`
	RegistryConfig     *ServiceConfig `json:"RegistryConfig"`
	NCPU               int            `json:"NCPU"`
	MemTotal           int64          `json:"MemTotal"`
	DockerRootDir      string         `json:"DockerRootDir"`
	HTTPProxy          string         `json:"HttpProxy"`
	HTTPSProxy         string         `json:"HttpsProxy"`
	NoProxy            string         `json:"NoProxy"`
	Name               string         `json:"Name"`
	Labels             []string       `json:"Labels"`
	ExperimentalBuild  bool           `json:"ExperimentalBuild"`
	ServerVersion      string         `json:"ServerVersion"`
	Swarm              SwarmInfo      `json:"Swarm"`
	LiveRestoreEnabled bool           `json:"LiveRestoreEnabled"`
	Warnings           []string       `json:"Warnings"`
	// MirrorHealth lists every configured mirror endpoint (Berth only).
	MirrorHealth []MirrorHealth `json:"MirrorHealth,omitempty"`
}

// PluginsInfo lists the drivers the engine has, by kind.
type PluginsInfo struct {
	Volume        []string `json:"Volume"`
	Network       []string `json:"Network"`
	Authorization []string `json:"Authorization"`
	Log           []string `json:"Log"`
}

// ServiceConfig is the registry configuration /info reports.
type ServiceConfig struct {
	InsecureRegistryCIDRs []string              `json:"InsecureRegistryCIDRs"`
	IndexConfigs          map[string]*IndexInfo `json:"IndexConfigs"`
	// Mirrors are Docker Hub's mirrors (daemon.json registry-mirrors).
	Mirrors []string `json:"Mirrors"`
}

// IndexInfo is one registry in ServiceConfig.IndexConfigs; Berth also lists
// there the mirrors of every registry its "mirrors" map configures.
type IndexInfo struct {
	Name     string   `json:"Name"`
	Mirrors  []string `json:"Mirrors"`
	Secure   bool     `json:"Secure"`
	Official bool     `json:"Official"`
}

// SwarmInfo is always inactive: Berth has no swarm mode. The docker CLI
// needs the state to skip its swarm section.
type SwarmInfo struct {
	NodeID           string `json:"NodeID"`
	NodeAddr         string `json:"NodeAddr"`
	LocalNodeState   string `json:"LocalNodeState"`
	ControlAvailable bool   `json:"ControlAvailable"`
	Error            string `json:"Error"`
}
