package mirror

// Capability is what an endpoint may be asked for, as containerd's hosts.toml
// names it.
type Capability uint8

const (
	// Pull is fetching manifests and blobs by digest.
	Pull Capability = 1 << iota
	// Resolve is turning a tag into a digest. A mirror that only caches
	// content may serve stale tags, so it can be configured without Resolve.
	Resolve
)

// capabilityNames are the spellings daemon.json accepts.
var capabilityNames = map[string]Capability{"pull": Pull, "resolve": Resolve}

// Endpoint is one place a registry's content may be fetched from: a mirror,
// or the registry itself. It is comparable and is the key a Session tracks
// failures by.
//
// With go-containerregistry, a reference to repo on an endpoint is
// ep.Host + "/" + ep.Repository(repo), parsed with name.Insecure when
// ep.Insecure, and fetched with remote.WithTransport(session.Transport(ep)).
type Endpoint struct {
	// Registry is the normalised registry this endpoint serves ("docker.io").
	Registry string
	// Scheme is "https" or "http".
	Scheme string
	// Host is host[:port], lower-case; "index.docker.io" for Docker Hub itself.
	Host string
	// Prefix is the repository-name prefix of a prefix-style mirror
	// (https://m.example/ghcr.io serves ghcr.io/o/r as /v2/ghcr.io/o/r/...),
	// or "" for a mirror that serves the registry's names unchanged.
	Prefix string
	// Insecure allows plain http and skips TLS verification. It is set for
	// http:// mirrors, for mirrors configured "insecure": true or whose host
	// is listed in insecure-registries, and for the registry itself when
	// Config.Insecure says so (which includes loopback, as in Docker). A mirror
	// on loopback written as https:// keeps TLS verification: its URL already
	// says how to reach it.
	Insecure bool
	// CAFile is an absolute path to PEM certificates trusted in addition to
	// the system pool, or "".
	CAFile string
	// Mirror is false for the registry itself.
	Mirror bool
	// URL is the endpoint as the user wrote it, for messages.
	URL string
	// Capabilities is what the endpoint may be asked for; the registry itself
	// and mirrors without a "capabilities" list can do everything.
	Capabilities Capability
}

// Repository is the repository name to request on this endpoint for repo on
// the registry ("library/nginx" for Docker Hub's official images).
func (e Endpoint) Repository(repo string) string {
	if e.Prefix == "" {
		return repo
	}
	return e.Prefix + "/" + repo
}

// Can reports whether the endpoint may be asked for c.
func (e Endpoint) Can(c Capability) bool { return e.Capabilities&c == c }

// String is the URL the user wrote.
func (e Endpoint) String() string { return e.URL }
