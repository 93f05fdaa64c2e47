package network

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestProxyLoopback runs the proxy on the host's loopback to servers on
// the loopback, as a container's monitor runs it, and checks that
// cancelling ends every connection.
func TestProxyLoopback(t *testing.T) {
	tl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() { // line echo
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "echo %s\n", sc.Text())
				}
			}()
		}
	}()
	ul, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	go func() {
		b := make([]byte, 1500)
		for {
			n, from, err := ul.ReadFrom(b)
			if err != nil {
				return
			}
			ul.WriteTo(append([]byte("echo "), b[:n]...), from)
		}
	}()
	lo := net.IPv4(127, 0, 0, 1).To4()
	p := NewProxy(lo, []PortMapping{
		{HostIP: lo, ContainerPort: uint16(tl.Addr().(*net.TCPAddr).Port), Proto: "tcp"},
		{HostIP: lo, ContainerPort: uint16(ul.LocalAddr().(*net.UDPAddr).Port), Proto: "udp"},
	})
	ports, err := p.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx) }()

	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", ports[0].HostPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "hello\n")
	if line, err := r.ReadString('\n'); err != nil || line != "echo hello\n" {
		t.Fatalf("TCP: %q %v", line, err)
	}
	u, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", ports[1].HostPort))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(5 * time.Second))
	u.Write([]byte("hi"))
	b := make([]byte, 100)
	if n, err := u.Read(b); err != nil || string(b[:n]) != "echo hi" {
		t.Fatalf("UDP: %q %v", b[:n], err)
	}

	cancel()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("proxied connection still open after Serve returned")
	}
	if _, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", ports[0].HostPort)); err == nil {
		t.Fatal("still listening after Serve returned")
	}
}

func TestProxyPortRange(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := uint16(busy.Addr().(*net.TCPAddr).Port)
	lo := net.IPv4(127, 0, 0, 1).To4()
	p := NewProxy(lo, []PortMapping{{HostIP: lo, HostPort: port, HostPortEnd: port + 1, ContainerPort: 80, Proto: "tcp"}})
	ports, err := p.Listen()
	if err != nil {
		t.Skipf("port %d taken too: %v", port+1, err)
	}
	defer p.Close()
	if ports[0].HostPort != port+1 || ports[0].HostPortEnd != 0 {
		t.Fatalf("got %v, want the range's free port %d", ports[0], port+1)
	}
}

// BenchmarkProxyTCP is the userland proxy's throughput on the loopback
// (what localhost:PORT gets): one connection, 64 KiB writes, the server
// discarding.
func BenchmarkProxyTCP(b *testing.B) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	lo := net.IPv4(127, 0, 0, 1).To4()
	p := NewProxy(lo, []PortMapping{{HostIP: lo, ContainerPort: uint16(l.Addr().(*net.TCPAddr).Port), Proto: "tcp"}})
	ports, err := p.Listen()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Serve(ctx)
	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", ports[0].HostPort))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}
