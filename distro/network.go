package distro

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"path"
	"strings"
)

// detectNetwork reads the forwarding sysctls and which packet-filter tools
// the host has. Berth programs nftables over netlink itself; the tools tell
// which rules other software on the host writes.
func detectNetwork(r rootFS, mods moduleIndex) Network {
	n := Network{
		IPForward:            r.text("/proc/sys/net/ipv4/ip_forward"),
		BridgeNFCallIptables: r.text("/proc/sys/net/bridge/bridge-nf-call-iptables"),
		BridgeNFCallIP6:      r.text("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
		BrNetfilter:          mods.state("br_netfilter"),
	}
	for _, p := range []string{"/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"} {
		if r.exists(p) {
			n.Iptables = p
			switch target := path.Base(r.realpath(p)); {
			case strings.Contains(target, "nft"):
				n.IptablesMode = "nft"
			case strings.Contains(target, "legacy"), target == "xtables-multi", target == "iptables-multi", target == "iptables":
				n.IptablesMode = "legacy"
			}
			break
		}
	}
	for _, p := range []string{"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"} {
		if r.exists(p) {
			n.Nft = p
			break
		}
	}
	return n
}

// readRoutes lists the IPv4 networks in /proc/net/route other than the
// default route, as CIDRs.
func readRoutes(r rootFS) []string {
	var routes []string
	seen := map[string]bool{}
	for i, line := range r.lines("/proc/net/route") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 8 {
			continue
		}
		dst, err1 := hexIPv4(f[1])
		mask, err2 := hexIPv4(f[7])
		if err1 != nil || err2 != nil {
			continue
		}
		ones, bits := ipMaskSize(mask)
		if bits == 0 || ones == 0 {
			continue
		}
		cidr := fmt.Sprintf("%s/%d", dst, ones)
		if !seen[cidr] {
			seen[cidr] = true
			routes = append(routes, cidr)
		}
	}
	return routes
}

// hexIPv4 decodes /proc/net/route's little-endian hex address.
func hexIPv4(s string) (net.IP, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return nil, fmt.Errorf("bad route address %q", s)
	}
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, binary.LittleEndian.Uint32(b))
	return ip, nil
}

func ipMaskSize(mask net.IP) (ones, bits int) { return net.IPMask(mask.To4()).Size() }
