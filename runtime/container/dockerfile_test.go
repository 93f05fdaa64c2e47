package container

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestApplyChanges(t *testing.T) {
	base := func() v1.Config {
		return v1.Config{
			Env: []string{"PATH=/usr/bin:/bin", "HOME=/root"}, Cmd: []string{"nginx", "-g", "daemon off;"},
			WorkingDir: "/srv", Labels: map[string]string{"old": "1"},
		}
	}
	tests := []struct {
		name    string
		changes []string
		want    func(c *v1.Config)
		err     string
	}{
		{name: "cmd exec form", changes: []string{`CMD ["sh", "-c", "ls"]`}, want: func(c *v1.Config) { c.Cmd = []string{"sh", "-c", "ls"} }},
		{name: "cmd shell form", changes: []string{"CMD echo hi there"}, want: func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", "echo hi there"} }},
		{name: "cmd not quite json is a shell command", changes: []string{"CMD [oops"}, want: func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", "[oops"} }},
		{name: "keywords in any case", changes: []string{"cmd ls"}, want: func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", "ls"} }},
		{name: "entrypoint drops the cmd", changes: []string{"ENTRYPOINT echo hi"}, want: func(c *v1.Config) {
			c.Entrypoint, c.Cmd = []string{"/bin/sh", "-c", "echo hi"}, nil
		}},
		{name: "cmd before entrypoint stays", changes: []string{`CMD ["-x"]`, `ENTRYPOINT ["/bin/app"]`}, want: func(c *v1.Config) {
			c.Entrypoint, c.Cmd = []string{"/bin/app"}, []string{"-x"}
		}},
		{name: "env pairs, quotes and expansion", changes: []string{`ENV A=1 B="two words" PATH=$PATH:/x C=${HOME}/c D=${NOPE:-dflt} E='$HOME'`}, want: func(c *v1.Config) {
			c.Env = []string{"PATH=/usr/bin:/bin:/x", "HOME=/root", "A=1", "B=two words", "C=/root/c", "D=dflt", "E=$HOME"}
		}},
		{name: "env old form", changes: []string{"ENV MSG hello   big world"}, want: func(c *v1.Config) {
			c.Env = append(c.Env, "MSG=hello   big world")
		}},
		{name: "env later change sees earlier one", changes: []string{"ENV A=1", "ENV B=$A$A"}, want: func(c *v1.Config) {
			c.Env = append(c.Env, "A=1", "B=11")
		}},
		{name: "label", changes: []string{`LABEL "com.example.vendor"="ACME Inc" version=1.0 old=2`}, want: func(c *v1.Config) {
			c.Labels = map[string]string{"com.example.vendor": "ACME Inc", "version": "1.0", "old": "2"}
		}},
		{name: "expose", changes: []string{"EXPOSE 80 443/TCP 53/udp 8000-8002"}, want: func(c *v1.Config) {
			c.ExposedPorts = map[string]struct{}{"80/tcp": {}, "443/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}}
		}},
		{name: "user", changes: []string{"USER www-data:www-data"}, want: func(c *v1.Config) { c.User = "www-data:www-data" }},
		{name: "workdir absolute and relative", changes: []string{"WORKDIR /app", "WORKDIR sub/../data"}, want: func(c *v1.Config) { c.WorkingDir = "/app/data" }},
		{name: "workdir relative to the image's", changes: []string{"WORKDIR html"}, want: func(c *v1.Config) { c.WorkingDir = "/srv/html" }},
		{name: "volume json and words", changes: []string{`VOLUME ["/data", "/logs"]`, "VOLUME /a /b"}, want: func(c *v1.Config) {
			c.Volumes = map[string]struct{}{"/data": {}, "/logs": {}, "/a": {}, "/b": {}}
		}},
		{name: "stopsignal", changes: []string{"STOPSIGNAL SIGQUIT"}, want: func(c *v1.Config) { c.StopSignal = "SIGQUIT" }},
		{name: "onbuild", changes: []string{"ONBUILD RUN make"}, want: func(c *v1.Config) { c.OnBuild = []string{"RUN make"} }},
		{name: "healthcheck", changes: []string{"HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/"}, want: func(c *v1.Config) {
			c.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second, Retries: 3}
		}},
		{name: "healthcheck exec form", changes: []string{`HEALTHCHECK CMD ["true"]`}, want: func(c *v1.Config) {
			c.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "true"}}
		}},
		{name: "healthcheck none", changes: []string{"HEALTHCHECK NONE"}, want: func(c *v1.Config) { c.Healthcheck = &v1.HealthConfig{Test: []string{"NONE"}} }},
		{name: "several in one, continued lines and comments", changes: []string{"# a comment\nUSER nobody\n\nENV X=1 \\\n  Y=2"}, want: func(c *v1.Config) {
			c.User, c.Env = "nobody", append(c.Env, "X=1", "Y=2")
		}},
		{name: "no change", changes: nil, want: func(*v1.Config) {}},

		{name: "run", changes: []string{"RUN apt-get update"}, err: "run is not a valid change command"},
		{name: "from", changes: []string{"FROM debian"}, err: "from is not a valid change command"},
		{name: "unknown", changes: []string{"bogus x"}, err: "bogus is not a valid change command"},
		{name: "env without value", changes: []string{"ENV"}, err: "ENV requires at least one argument"},
		{name: "env old form without value", changes: []string{"ENV A"}, err: "ENV must have two arguments"},
		{name: "env pair without =", changes: []string{"ENV A=1 B"}, err: `Syntax error - can't find = in "B". Must be of the form: name=value`},
		{name: "unterminated quote", changes: []string{`ENV A="x`}, err: "unexpected end of statement while looking for matching double-quote"},
		{name: "bad port", changes: []string{"EXPOSE abc"}, err: "Invalid containerPort: abc"},
		{name: "bad range", changes: []string{"EXPOSE 90-80"}, err: "Invalid containerPort: 90-80"},
		{name: "bad proto", changes: []string{"EXPOSE 80/icmp"}, err: "Invalid proto: icmp"},
		{name: "user twice", changes: []string{"USER a b"}, err: "USER requires exactly one argument"},
		{name: "empty workdir", changes: []string{"WORKDIR"}, err: "WORKDIR requires exactly one argument"},
		{name: "empty volume", changes: []string{`VOLUME [""]`}, err: "VOLUME specified can not be an empty string"},
		{name: "bad signal", changes: []string{"STOPSIGNAL SIGNOPE"}, err: "Invalid signal: SIGNOPE"},
		{name: "onbuild onbuild", changes: []string{"ONBUILD ONBUILD RUN x"}, err: "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
		{name: "onbuild from", changes: []string{"ONBUILD FROM x"}, err: "FROM isn't allowed as an ONBUILD trigger"},
		{name: "healthcheck bad type", changes: []string{"HEALTHCHECK RUN x"}, err: `Unknown type "RUN" in HEALTHCHECK (try CMD)`},
		{name: "healthcheck bad flag", changes: []string{"HEALTHCHECK --every=1s CMD x"}, err: "Unknown flag: every"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := base()
			err := applyChanges(&got, tc.changes)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err %v, want the invalid-parameter error %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base()
			tc.want(&want)
			if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
				t.Errorf("config\n%s\nwant\n%s", g, w)
			}
		})
	}
}

// TestMergeCommitConfig: what a request's config leaves unset comes from
// the container's, as dockerd merges them.
func TestMergeCommitConfig(t *testing.T) {
	ctr := v1.Config{
		User: "app", Env: []string{"PATH=/bin", "A=ctr"}, Cmd: []string{"serve"}, WorkingDir: "/srv",
		Labels: map[string]string{"a": "ctr", "b": "ctr"}, ExposedPorts: map[string]struct{}{"80/tcp": {}},
		Volumes: map[string]struct{}{"/data": {}}, StopSignal: "SIGQUIT",
	}
	got := v1.Config{Env: []string{"A=req"}, Labels: map[string]string{"a": "req"}, ExposedPorts: map[string]struct{}{"443/tcp": {}}}
	mergeCommitConfig(&got, ctr)
	want := v1.Config{
		User: "app", Env: []string{"A=req", "PATH=/bin"}, Cmd: []string{"serve"}, WorkingDir: "/srv",
		Labels: map[string]string{"a": "req", "b": "ctr"}, ExposedPorts: map[string]struct{}{"80/tcp": {}, "443/tcp": {}},
		Volumes: map[string]struct{}{"/data": {}}, StopSignal: "SIGQUIT",
	}
	if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
		t.Errorf("merged\n%s\nwant\n%s", g, w)
	}
	// An entrypoint of the request's own keeps the container's Cmd out.
	got = v1.Config{Entrypoint: []string{"/bin/app"}}
	mergeCommitConfig(&got, ctr)
	if got.Cmd != nil {
		t.Errorf("cmd %q with the request's entrypoint, want none", got.Cmd)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
