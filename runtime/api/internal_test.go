package api

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.43", "1.43", 0}, {"1.9", "1.43", -1}, {"1.50", "1.43", 1}, {"2", "1.43", 1}, {"1.24", "1.24.0", 0},
	}
	for _, tt := range tests {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPullReference(t *testing.T) {
	tests := []struct{ image, tag, want, wantErr string }{
		{"docker.io/library/busybox", "latest", "docker.io/library/busybox:latest", ""},
		{"localhost:5000/app", "1.0", "localhost:5000/app:1.0", ""},
		{"localhost:5000/app", "sha256:abc", "localhost:5000/app@sha256:abc", ""},
		{"busybox:1.36", "", "busybox:1.36", ""},
		{"busybox@sha256:abc", "", "busybox@sha256:abc", ""},
		{"localhost:5000/app", "", "", "--all-tags"},
		{"busybox:1.36", "latest", "", "already has a tag"},
	}
	for _, tt := range tests {
		got, err := pullReference(tt.image, tt.tag)
		if tt.wantErr != "" {
			if err == nil || !errors.Is(err, ErrInvalidParameter) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("pullReference(%q, %q) = %q, %v; want an error with %q", tt.image, tt.tag, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("pullReference(%q, %q) = %q, %v; want %q", tt.image, tt.tag, got, err, tt.want)
		}
	}
}

func TestProgressBar(t *testing.T) {
	tests := []struct {
		p    ProgressDetail
		want string
	}{
		{ProgressDetail{}, ""},
		{ProgressDetail{Current: 2_833_000}, " 2.833MB"},
		{ProgressDetail{Current: 2_833_000, Total: 2_833_000}, "[==================================================>]  2.833MB/2.833MB"},
		{ProgressDetail{Current: 1, Total: 2}, "[=========================>                         ]       1B/2B"},
		{ProgressDetail{Current: 3, Total: 2}, "[==================================================>]       3B"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		err  error
		code int
	}{
		{InvalidParameter(base), 400}, {Unauthorized(base), 401}, {NotFound(base), 404},
		{Conflict(base), 409}, {NotImplemented(base), 501}, {base, 500},
		{fmt.Errorf("wrapped: %w", NotFoundf("No such image: x")), 404},
	}
	for _, tt := range tests {
		if got := StatusCode(tt.err); got != tt.code {
			t.Errorf("StatusCode(%v) = %d, want %d", tt.err, got, tt.code)
		}
	}
	if err := NotFound(base); err.Error() != "boom" || !errors.Is(err, base) {
		t.Errorf("NotFound changes the message or loses the cause: %v", err)
	}
	if NotFound(nil) != nil {
		t.Error("NotFound(nil) is not nil")
	}
}
