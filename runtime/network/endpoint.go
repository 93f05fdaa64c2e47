package network

import (
	"net"
)

// Endpoint is a container's attachment to the bridge, as the engine
// records it with the container (JSON) to detach and unpublish later,
// also after a crash.
type Endpoint struct {
	ContainerID string
	Bridge      string
	HostIface   string // the host end of the veth pair
	IP          net.IP
	PrefixLen   int
	Gateway     net.IP
	MAC         string
	Ports       []PortMapping `json:",omitempty"` // resolved host ports
}

// NetNS names a container's network namespace: a path (/proc/<pid>/ns/net
// or a bind mount) or, when Path is empty, the namespace of process Pid.
type NetNS struct {
	Path string
	Pid  int
}

// MAC is the address Docker derives from an IPv4 address, 02:42:a.b.c.d,
// so that a reused address never meets a stale neighbour entry.
func MAC(ip net.IP) net.HardwareAddr {
	v4 := ip.To4()
	return net.HardwareAddr{0x02, 0x42, v4[0], v4[1], v4[2], v4[3]}
}

// hostIface is the host end's name: "bv" and the ID's first 12 hex
// digits, within IFNAMSIZ and found again from the ID alone.
func hostIface(containerID string) string {
	id := containerID
	if len(id) > 12 {
		id = id[:12]
	}
	return "bv" + id
}

// Bridge is the bridge as it is on the host.
type Bridge struct {
	Name    string
	Gateway net.IP     // the bridge's address, the containers' default route
	Subnet  *net.IPNet // the containers' subnet
	// Moved, when not empty, says why the subnet is not the configured
	// one (it overlapped a route already on the host), for the daemon's log.
	Moved string
}

// DefaultBridge and DefaultBIP are the bridge's name and gateway/prefix
// when daemon.json has no "bip": 10.213/16 leaves Docker's 172.17 and
// Podman's 10.88 to them.
const (
	DefaultBridge = "berth0"
	DefaultBIP    = "10.213.0.1/16"
)

// TableName is Berth's nftables table (family ip). Rules Berth inserts
// into other tables carry a comment starting with CommentPrefix.
const (
	TableName     = "berth"
	CommentPrefix = "berth:"
)

// NAT is what EnsureNAT set up.
type NAT struct {
	// ForeignDrop lists the other tables' forward chains with a drop
	// policy (Docker's "ip filter FORWARD", ...) into which Berth inserted
	// accepts for the bridge: an accept in Berth's table cannot override
	// another table's drop.
	ForeignDrop []string
	// LegacyFilter: iptables-legacy's filter table is loaded; a drop there
	// is invisible to nftables and Berth cannot counter it (the daemon
	// should warn: Berth does not drive iptables-legacy yet).
	LegacyFilter bool
}
