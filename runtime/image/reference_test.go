package image

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseReference(t *testing.T) {
	tests := []struct {
		in, canonical, familiar, wantErr string
	}{
		{"nginx", "docker.io/library/nginx:latest", "nginx:latest", ""},
		{"nginx:1.22", "docker.io/library/nginx:1.22", "nginx:1.22", ""},
		{"library/nginx:1.22", "docker.io/library/nginx:1.22", "nginx:1.22", ""},
		{"docker.io/library/nginx:1.22", "docker.io/library/nginx:1.22", "nginx:1.22", ""},
		{"index.docker.io/library/nginx", "docker.io/library/nginx:latest", "nginx:latest", ""},
		{"twang2218/app:v2", "docker.io/twang2218/app:v2", "twang2218/app:v2", ""},
		{"ghcr.io/owner/repo:v1", "ghcr.io/owner/repo:v1", "ghcr.io/owner/repo:v1", ""},
		{"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest", ""},
		{"busybox@sha256:13e532afdbd3c36f2475f155beb99ed6bfe30ae5c02deaf2bd14521c4c585551",
			"docker.io/library/busybox@sha256:13e532afdbd3c36f2475f155beb99ed6bfe30ae5c02deaf2bd14521c4c585551",
			"busybox@sha256:13e532afdbd3c36f2475f155beb99ed6bfe30ae5c02deaf2bd14521c4c585551", ""},
		{"NGINX", "", "", "must be lowercase"},
		{"nginx:", "", "", "bad tag"},
		{"-x", "", "", "repository names are"},
		{"a@sha256:short", "", "", "bad digest"},
		{"", "", "", "empty image name"},
		{"nginx:bad tag", "", "", "bad tag"},
		{"bad_host:5000:x/y", "", "", "invalid reference"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseReference(tt.in)
			if tt.canonical == "" {
				if err == nil || !errors.Is(err, ErrInvalidReference) {
					t.Fatalf("accepted %q as %v", tt.in, r)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q lacks %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tt.canonical || r.Familiar() != tt.familiar {
				t.Errorf("%s / %s, want %s / %s", r, r.Familiar(), tt.canonical, tt.familiar)
			}
		})
	}
}

func TestChainIDs(t *testing.T) {
	// The chain ID of a second layer is sha256("<chain1> <diff2>").
	got := chainIDs([]string{"sha256:a", "sha256:b"})
	if got[0] != "sha256:a" || got[1] != sha256Digest([]byte("sha256:a sha256:b")) {
		t.Errorf("chain IDs %v", got)
	}
}

func TestParseTimestamp(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"1700000000":           time.Unix(1700000000, 0),
		"2026-11-01":           time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T10:00:00Z": time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
	} {
		got, err := ParseTimestamp(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := ParseTimestamp("yesterday", now); err == nil {
		t.Error("yesterday parsed")
	}
}

func TestSelectPlatformVariants(t *testing.T) {
	for _, tt := range []struct {
		have, want string
		ok         bool
	}{
		{"linux/arm64", "linux/arm64/v8", true},
		{"linux/arm64/v8", "linux/arm64/v8", true},
		{"linux/arm/v6", "linux/arm/v7", true},
		{"linux/arm/v7", "linux/arm/v6", false},
		{"linux/amd64", "linux/arm64/v8", false},
	} {
		h, _ := ParsePlatform(tt.have)
		w, _ := ParsePlatform(tt.want)
		if tt.have == "linux/arm64" {
			h.Variant = ""
		}
		if got := platformMatches(*h, *w); got != tt.ok {
			t.Errorf("%s for %s: %v, want %v", tt.have, tt.want, got, tt.ok)
		}
	}
}
