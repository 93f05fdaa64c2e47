package network

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// PortMapping is one published port: HostIP:HostPort (or the first free
// port of HostPort..HostPortEnd; 0 for a random one) to ContainerPort.
type PortMapping struct {
	HostIP        net.IP `json:"HostIp,omitempty"`
	HostPort      uint16 `json:"HostPort"`
	HostPortEnd   uint16 `json:"HostPortEnd,omitempty"`
	ContainerPort uint16 `json:"ContainerPort"`
	Proto         string `json:"Proto"` // "tcp" or "udp"
}

func (m PortMapping) String() string {
	ip := "0.0.0.0"
	if m.HostIP != nil {
		ip = m.HostIP.String()
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, m.HostPort, m.ContainerPort, m.Proto)
}

// ParsePortSpec parses docker run's -p value,
// [ip:][hostPort:]containerPort[/tcp|udp], with ranges on both sides
// ("8000-8001:80-81") or a host range for one container port
// ("8000-8010:80": the first free port of the range). Errors read as
// Docker's.
func ParsePortSpec(spec string) ([]PortMapping, error) {
	rawIP, hostPort, containerPort, err := splitPortSpec(spec)
	if err != nil {
		return nil, err
	}
	proto := "tcp"
	if i := strings.LastIndex(containerPort, "/"); i >= 0 {
		proto = strings.ToLower(containerPort[i+1:])
		containerPort = containerPort[:i]
	}
	if proto != "tcp" && proto != "udp" {
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	var hostIP net.IP
	if rawIP != "" {
		hostIP = net.ParseIP(strings.Trim(rawIP, "[]"))
		if hostIP == nil {
			return nil, fmt.Errorf("invalid IP address: %s", rawIP)
		}
		if v4 := hostIP.To4(); v4 != nil {
			hostIP = v4
		}
	}
	if containerPort == "" {
		return nil, fmt.Errorf("no port specified: %s<empty>", spec)
	}
	cLo, cHi, err := parsePortRange(containerPort)
	if err != nil || cLo == 0 {
		return nil, fmt.Errorf("invalid containerPort: %s", containerPort)
	}
	var hLo, hHi uint16
	if hostPort != "" {
		hLo, hHi, err = parsePortRange(hostPort)
		if err != nil {
			return nil, fmt.Errorf("invalid hostPort: %s", hostPort)
		}
	}
	n := int(cHi-cLo) + 1
	var out []PortMapping
	switch {
	case hostPort == "" || (hLo == 0 && hHi == 0):
		for i := 0; i < n; i++ {
			out = append(out, PortMapping{HostIP: hostIP, ContainerPort: cLo + uint16(i), Proto: proto})
		}
	case n == 1 && hHi > hLo:
		out = append(out, PortMapping{HostIP: hostIP, HostPort: hLo, HostPortEnd: hHi, ContainerPort: cLo, Proto: proto})
	case int(hHi-hLo)+1 != n:
		return nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", containerPort, hostPort)
	default:
		for i := 0; i < n; i++ {
			out = append(out, PortMapping{HostIP: hostIP, HostPort: hLo + uint16(i), ContainerPort: cLo + uint16(i), Proto: proto})
		}
	}
	return out, nil
}

// splitPortSpec splits at the colons that are not inside an IPv6
// address in brackets.
func splitPortSpec(spec string) (ip, host, container string, err error) {
	rest := spec
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 || len(rest) == end+1 || rest[end+1] != ':' {
			return "", "", "", fmt.Errorf("invalid IP address: %s", spec)
		}
		ip, rest = rest[:end+1], rest[end+2:]
		parts := strings.Split(rest, ":")
		if len(parts) != 2 {
			return "", "", "", fmt.Errorf("invalid port format: %s", spec)
		}
		return ip, parts[0], parts[1], nil
	}
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 1:
		return "", "", parts[0], nil
	case 2:
		return "", parts[0], parts[1], nil
	case 3:
		return parts[0], parts[1], parts[2], nil
	}
	// An unbracketed IPv6 address: the last two fields are the ports.
	n := len(parts)
	return strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1], nil
}

func parsePortRange(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	l, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, err
	}
	h := l
	if isRange {
		if h, err = strconv.ParseUint(b, 10, 16); err != nil {
			return 0, 0, err
		}
		if h < l {
			return 0, 0, fmt.Errorf("invalid range %s", s)
		}
	}
	return uint16(l), uint16(h), nil
}

// PublishAll is -P: every exposed port ("80", "53/udp", "8000-8002/tcp"
// as in an image's ExposedPorts) on a random host port.
func PublishAll(exposed []string) ([]PortMapping, error) {
	var out []PortMapping
	for _, e := range exposed {
		if strings.Contains(e, ":") {
			return nil, fmt.Errorf("invalid exposed port %q", e)
		}
		m, err := ParsePortSpec(e)
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	return out, nil
}
