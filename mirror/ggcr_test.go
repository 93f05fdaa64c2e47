package mirror

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestGGCR pulls docker.io/library/x through go-containerregistry from a
// host-swap and from a prefix-style mirror, each behind a mirror that refuses
// connections, the way the puller walks Session.Candidates.
func TestGGCR(t *testing.T) {
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	// push stores img on a loopback registry under repo and returns its URL.
	push := func(repo string) string {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		t.Cleanup(srv.Close)
		ref, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://")+"/"+repo+":latest", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		return srv.URL
	}

	tests := []struct {
		name   string
		mirror string
		prefix string
	}{
		{name: "host swap", mirror: push("library/x")},
		{name: "prefix", mirror: push("docker.io/library/x") + "/docker.io", prefix: "docker.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dead := "https://" + closedAddr(t)
			c, err := NewConfig([]string{dead, tt.mirror}, nil, map[string]RegistryConfig{
				"docker.io": {Fallback: ptr(false)},
			})
			if err != nil {
				t.Fatal(err)
			}
			s := c.NewSession("index.docker.io", nil)

			var got v1.Image
			var from Endpoint
			for _, ep := range s.Candidates() {
				var opts []name.Option
				if ep.Insecure {
					opts = append(opts, name.Insecure)
				}
				ref, err := name.NewTag(ep.Host+"/"+ep.Repository("library/x")+":latest", opts...)
				if err != nil {
					t.Fatal(err)
				}
				got, err = remote.Image(ref, remote.WithTransport(s.Transport(ep)))
				if err != nil {
					if s.Failed(ep) {
						continue
					}
					t.Fatalf("%s: %v (endpoint not marked failed)", ep, err)
				}
				from = ep
				break
			}
			if got == nil {
				t.Fatalf("no endpoint served the image: %v", s.Err())
			}
			if from.URL != tt.mirror || from.Prefix != tt.prefix {
				t.Errorf("served by %s (prefix %q), want %s (prefix %q)", from, from.Prefix, tt.mirror, tt.prefix)
			}
			if d, err := got.Digest(); err != nil || d != want {
				t.Fatalf("digest %v, %v; want %v", d, err, want)
			}
			layers, err := got.Layers()
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range layers {
				rc, err := l.Compressed() // verified against the layer digest on read
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					t.Fatal(err)
				}
				if err := rc.Close(); err != nil {
					t.Fatal(err)
				}
				d, _ := l.Digest()
				s.Served(d.String(), from)
			}
			d, _ := layers[0].Digest()
			if ep, ok := s.ServedBy(d.String()); !ok || ep != from {
				t.Errorf("ServedBy(%s) = %v, %v", d, ep, ok)
			}
			if f := s.Failures(); len(f) != 1 || f[0].Endpoint.URL != dead || f[0].Reason != "connection refused" {
				t.Errorf("Failures() = %+v, want %s refused", f, dead)
			}
		})
	}
}
