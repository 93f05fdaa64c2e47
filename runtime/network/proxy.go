package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// ErrPortInUse is returned by Proxy.Listen for a host port another
// process holds.
var ErrPortInUse = errors.New("port is already allocated")

// udpIdle is how long a UDP flow without traffic keeps its socket
// (Docker's proxy uses 90 s).
const udpIdle = 90 * time.Second

// Proxy is the userland proxy of a container's published ports: it holds
// each host port (which also reserves it) and forwards what reaches it,
// in practice loopback traffic since the kernel NAT takes the rest, to
// the container's address. The container's monitor runs it, so published
// ports outlive a daemon restart.
type Proxy struct {
	ContainerIP net.IP
	Ports       []PortMapping
	// Dial connects to the container; nil is a net.Dialer's.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu     sync.Mutex
	tcp    []net.Listener
	udp    []net.PacketConn
	closed bool
	wg     sync.WaitGroup
}

// NewProxy returns the proxy of ports to containerIP; call Listen, then Serve.
func NewProxy(containerIP net.IP, ports []PortMapping) *Proxy {
	return &Proxy{ContainerIP: containerIP, Ports: append([]PortMapping(nil), ports...)}
}

// Listen binds every host port, all or none: a port in use is one error
// naming it (ErrPortInUse), before anything else is made for the
// container. Random host ports (0, or a range) are resolved in p.Ports,
// which it returns.
func (p *Proxy) Listen() ([]PortMapping, error) {
	for i := range p.Ports {
		m := &p.Ports[i]
		lo, hi := m.HostPort, m.HostPortEnd
		if hi < lo {
			hi = lo
		}
		var err error
		for port := int(lo); port <= int(hi); port++ {
			if err = p.listenOne(m, uint16(port)); err == nil {
				break
			}
		}
		if err != nil {
			for _, l := range p.tcp {
				l.Close()
			}
			for _, c := range p.udp {
				c.Close()
			}
			p.tcp, p.udp = nil, nil
			return nil, err
		}
	}
	return p.Ports, nil
}

func (p *Proxy) listenOne(m *PortMapping, port uint16) error {
	host := "0.0.0.0"
	if m.HostIP != nil {
		host = m.HostIP.String()
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	network := m.Proto + "4"
	if m.HostIP != nil && m.HostIP.To4() == nil {
		network = m.Proto + "6"
	}
	var bound net.Addr
	if m.Proto == "udp" {
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			return portErr(addr, err)
		}
		p.udp = append(p.udp, c)
		bound = c.LocalAddr()
	} else {
		l, err := net.Listen(network, addr)
		if err != nil {
			return portErr(addr, err)
		}
		p.tcp = append(p.tcp, l)
		bound = l.Addr()
	}
	switch a := bound.(type) {
	case *net.TCPAddr:
		m.HostPort = uint16(a.Port)
	case *net.UDPAddr:
		m.HostPort = uint16(a.Port)
	}
	m.HostPortEnd = 0
	return nil
}

func portErr(addr string, err error) error {
	if errors.Is(err, errAddrInUse) {
		return fmt.Errorf("Bind for %s failed: %w", addr, ErrPortInUse)
	}
	return fmt.Errorf("listening on %s: %w", addr, err)
}

// Serve forwards until ctx is done or Close is called.
func (p *Proxy) Serve(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return net.ErrClosed
	}
	tcp, udp := p.tcp, p.udp
	p.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { p.Close() })
	defer stop()
	ti, ui := 0, 0
	for _, m := range p.Ports {
		target := net.JoinHostPort(p.ContainerIP.String(), strconv.Itoa(int(m.ContainerPort)))
		p.wg.Add(1)
		if m.Proto == "udp" {
			go p.serveUDP(udp[ui], target)
			ui++
		} else {
			go p.serveTCP(tcp[ti], target)
			ti++
		}
	}
	p.wg.Wait()
	return ctx.Err()
}

// Close stops listening and ends every connection being forwarded.
func (p *Proxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, l := range p.tcp {
		l.Close()
	}
	for _, c := range p.udp {
		c.Close()
	}
	return nil
}

func (p *Proxy) dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if p.Dial != nil {
		return p.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (p *Proxy) serveTCP(l net.Listener, target string) {
	defer p.wg.Done()
	var conns sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	stopped := false
	// track records c so that stopping closes it; false once stopped.
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			c.Close()
			return false
		}
		open[c] = true
		return true
	}
	defer func() {
		mu.Lock()
		stopped = true
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		conns.Wait()
	}()
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer in.Close()
			if !track(in) {
				return
			}
			out, err := p.dial("tcp", target)
			if err != nil {
				return
			}
			defer out.Close()
			if !track(out) {
				return
			}
			done := make(chan struct{}, 2)
			pipe := func(dst, src net.Conn) {
				io.Copy(dst, src)
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
				}
				done <- struct{}{}
			}
			go pipe(out, in)
			go pipe(in, out)
			<-done
			<-done
			mu.Lock()
			delete(open, in)
			delete(open, out)
			mu.Unlock()
		}()
	}
}

func (p *Proxy) serveUDP(pc net.PacketConn, target string) {
	defer p.wg.Done()
	var mu sync.Mutex
	flows := map[string]net.Conn{}
	var wg sync.WaitGroup
	defer func() {
		mu.Lock()
		for _, c := range flows {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		key := from.String()
		mu.Lock()
		out := flows[key]
		mu.Unlock()
		if out == nil {
			if out, err = p.dial("udp", target); err != nil {
				continue
			}
			mu.Lock()
			flows[key] = out
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := make([]byte, 65535)
				for {
					out.SetReadDeadline(time.Now().Add(udpIdle))
					n, err := out.Read(b)
					if err != nil {
						break
					}
					pc.WriteTo(b[:n], from)
				}
				mu.Lock()
				delete(flows, key)
				mu.Unlock()
				out.Close()
			}()
		}
		out.Write(buf[:n])
	}
}
