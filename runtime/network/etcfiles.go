package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
)

// Hostname is the content of a container's /etc/hostname.
func Hostname(name string) []byte { return []byte(name + "\n") }

// HostsOptions describe a container's /etc/hosts.
type HostsOptions struct {
	Hostname   string
	Domainname string
	// IP is the container's address on the bridge; nil with --network none.
	IP net.IP
	// ExtraHosts are --add-host values, "name:ip" (IPv6 may be bracketed).
	ExtraHosts []string
}

// Hosts is Docker's /etc/hosts for a container with its own network
// namespace: the loopback and IPv6 well-known names, the --add-host
// entries, then the container's own address and hostname.
func Hosts(o HostsOptions) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	for _, h := range o.ExtraHosts {
		name, addr, ok := strings.Cut(h, ":")
		addr = strings.Trim(addr, "[]")
		if !ok || name == "" || net.ParseIP(addr) == nil {
			return nil, fmt.Errorf("invalid argument %q for \"--add-host\" flag: want HOST:IP", h)
		}
		fmt.Fprintf(&b, "%s\t%s\n", addr, name)
	}
	if o.IP != nil && o.Hostname != "" {
		names := o.Hostname
		if o.Domainname != "" {
			names = o.Hostname + "." + o.Domainname + " " + o.Hostname
		}
		fmt.Fprintf(&b, "%s\t%s\n", o.IP, names)
	}
	return b.Bytes(), nil
}

// DNSOptions are the --dns, --dns-search and --dns-option values.
type DNSOptions struct {
	Servers []string
	Search  []string
	Options []string
	// IPv6 keeps IPv6 nameservers (the bridge has no IPv6 route: dropped).
	IPv6 bool
}

// systemdStub is systemd-resolved's listener, which the host's
// resolv.conf names when resolved manages it.
const systemdStub = "127.0.0.53"

// ResolvConf is a container's /etc/resolv.conf made from the host's
// (host) and, when the host's names systemd-resolved's stub, resolved's
// upstream list (resolved: /run/systemd/resolve/resolv.conf, nil if
// absent). Loopback nameservers, which a container cannot reach, are
// dropped; Google's public resolvers are the last resort, as Docker's.
func ResolvConf(host, resolved []byte, o DNSOptions) []byte {
	base := host
	if resolved != nil && hasNameserver(host, systemdStub) {
		base = resolved
	}
	var out bytes.Buffer
	ns := 0
	sc := bufio.NewScanner(bytes.NewReader(base))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 2 {
			switch {
			case f[0] == "nameserver":
				if len(o.Servers) > 0 || !usableNameserver(f[1], o.IPv6) {
					continue
				}
				ns++
			case (f[0] == "search" || f[0] == "domain") && len(o.Search) > 0,
				f[0] == "options" && len(o.Options) > 0:
				continue
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	for _, s := range o.Servers {
		fmt.Fprintf(&out, "nameserver %s\n", s)
		ns++
	}
	if len(o.Search) > 0 {
		fmt.Fprintf(&out, "search %s\n", strings.Join(o.Search, " "))
	}
	if len(o.Options) > 0 {
		fmt.Fprintf(&out, "options %s\n", strings.Join(o.Options, " "))
	}
	if ns == 0 {
		out.WriteString("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
	}
	return out.Bytes()
}

func hasNameserver(conf []byte, addr string) bool {
	sc := bufio.NewScanner(bytes.NewReader(conf))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" && f[1] == addr {
			return true
		}
	}
	return false
}

func usableNameserver(addr string, ipv6 bool) bool {
	ip := net.ParseIP(strings.SplitN(addr, "%", 2)[0])
	if ip == nil || ip.IsLoopback() {
		return false
	}
	return ip.To4() != nil || ipv6
}
