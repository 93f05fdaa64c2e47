package network

import (
	"net"
	"testing"
)

func TestResolvConf(t *testing.T) {
	stub := "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"
	upstream := "nameserver 192.168.1.1\nnameserver fd00::1\nsearch lan\n"
	for _, tc := range []struct {
		name, host, resolved string
		o                    DNSOptions
		want                 string
	}{
		{"plain", "nameserver 1.1.1.1\nsearch example.com\n", "", DNSOptions{}, "nameserver 1.1.1.1\nsearch example.com\n"},
		{"loopback dropped, public last resort", "nameserver 127.0.0.1\nnameserver ::1\n", "", DNSOptions{}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"systemd stub replaced by upstream", stub, upstream, DNSOptions{}, "nameserver 192.168.1.1\nsearch lan\n"},
		{"stub, upstream with ipv6", stub, upstream, DNSOptions{IPv6: true}, "nameserver 192.168.1.1\nnameserver fd00::1\nsearch lan\n"},
		{"stub without resolved file", stub, "", DNSOptions{}, "options edns0 trust-ad\nsearch lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"--dns replaces", "nameserver 1.1.1.1\nsearch a\n", "", DNSOptions{Servers: []string{"9.9.9.9"}, Search: []string{"b", "c"}, Options: []string{"ndots:2"}}, "nameserver 9.9.9.9\nsearch b c\noptions ndots:2\n"},
		{"comments kept", "# generated\nnameserver 10.0.0.2\n", "", DNSOptions{}, "# generated\nnameserver 10.0.0.2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resolved []byte
			if tc.resolved != "" {
				resolved = []byte(tc.resolved)
			}
			if got := string(ResolvConf([]byte(tc.host), resolved, tc.o)); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestHosts(t *testing.T) {
	const base = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
	for _, tc := range []struct {
		name string
		o    HostsOptions
		want string
		err  bool
	}{
		{"network none", HostsOptions{Hostname: "abc"}, base, false},
		{"bridge", HostsOptions{Hostname: "abc", IP: net.ParseIP("10.213.0.2")}, base + "10.213.0.2\tabc\n", false},
		{"domain", HostsOptions{Hostname: "abc", Domainname: "example.com", IP: net.ParseIP("10.213.0.2")}, base + "10.213.0.2\tabc.example.com abc\n", false},
		{"add-host", HostsOptions{Hostname: "abc", IP: net.ParseIP("10.213.0.2"), ExtraHosts: []string{"db:10.0.0.9", "v6:[fd00::9]"}}, base + "10.0.0.9\tdb\nfd00::9\tv6\n10.213.0.2\tabc\n", false},
		{"bad add-host", HostsOptions{ExtraHosts: []string{"db"}}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Hosts(tc.o)
			if tc.err {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if string(Hostname("abc")) != "abc\n" {
		t.Fatal("hostname")
	}
}
