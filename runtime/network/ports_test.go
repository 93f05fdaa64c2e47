package network

import (
	"fmt"
	"testing"
)

func TestParsePortSpec(t *testing.T) {
	for _, tc := range []struct {
		spec, want, err string
	}{
		{"80", "[<nil>:0-0->80/tcp]", ""},
		{"8080:80", "[<nil>:8080-0->80/tcp]", ""},
		{"127.0.0.1:8080:80/udp", "[127.0.0.1:8080-0->80/udp]", ""},
		{"127.0.0.1::80", "[127.0.0.1:0-0->80/tcp]", ""},
		{"[::1]:8080:80", "[::1:8080-0->80/tcp]", ""},
		{"8000-8001:80-81/tcp", "[<nil>:8000-0->80/tcp <nil>:8001-0->81/tcp]", ""},
		{"80-81", "[<nil>:0-0->80/tcp <nil>:0-0->81/tcp]", ""},
		{"8000-8010:80", "[<nil>:8000-8010->80/tcp]", ""},
		{"8000-8002:80-81", "", "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"},
		{"80/sctp", "", "invalid proto: sctp"},
		{"abc", "", "invalid containerPort: abc"},
		{"0", "", "invalid containerPort: 0"},
		{"70000:80", "", "invalid hostPort: 70000"},
		{"1.2.3:80:80", "", "invalid IP address: 1.2.3"},
		{"[::1:80:80", "", "invalid IP address: [::1:80:80"},
		{"8080:", "", "no port specified: 8080:<empty>"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParsePortSpec(tc.spec)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, m := range got {
				s = append(s, fmt.Sprintf("%v:%d-%d->%d/%s", m.HostIP, m.HostPort, m.HostPortEnd, m.ContainerPort, m.Proto))
			}
			if fmt.Sprint(s) != tc.want {
				t.Fatalf("got %v, want %s", s, tc.want)
			}
		})
	}
}

func TestPublishAll(t *testing.T) {
	got, err := PublishAll([]string{"80/tcp", "53/udp", "8000-8001"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0.0.0.0:0->80/tcp 0.0.0.0:0->53/udp 0.0.0.0:0->8000/tcp 0.0.0.0:0->8001/tcp]" {
		t.Fatalf("got %v", got)
	}
	if _, err := PublishAll([]string{"1:2"}); err == nil {
		t.Fatal("a host port in an exposed port accepted")
	}
}
