package container

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestParseBind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bind
		err  string
	}{
		{in: "/a:/b", want: bind{Source: "/a", Destination: "/b"}},
		{in: "/a/:/b/:ro", want: bind{Source: "/a", Destination: "/b", ReadOnly: true}},
		{in: "data:/var/lib/x:rw", want: bind{Source: "data", Destination: "/var/lib/x", Volume: true}},
		{in: "/a:b", err: "must be absolute"},
		{in: "/a:/", err: "can't be '/'"},
		{in: "/a:/b:xx", err: "invalid mode: xx"},
		{in: "/a", err: "invalid volume specification"},
		{in: "a b:/x", err: "invalid characters"},
	} {
		got, err := parseBind(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalid) {
				t.Errorf("%q: %v, want an ErrInvalid with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"SIGTERM": 15, "term": 15, "9": 9, "SIGQUIT": 3, "RTMIN": 34, "SIGRTMIN+2": 36, "RTMAX-1": 63} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "SIGNOPE", "0", "65", "RTMIN+40"} {
		if _, err := parseSignal(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}

func TestNames(t *testing.T) {
	for _, ok := range []string{"s", "ab", "/web-1", "a.b_c"} {
		if err := validName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"-ab", "a b", "é1", "", "-"} {
		if err := validName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for i := 0; i < 100; i++ {
		n := randomName(i % 2)
		if err := validName(n); err != nil || !strings.Contains(n, "_") {
			t.Errorf("generated %q: %v", n, err)
		}
	}
	id := newID()
	if !isID(id) {
		t.Errorf("newID %q", id)
	}
}

func TestResolveUser(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nwww:x:33:33::/var/www:/bin/sh\n"
	group := "root:x:0:\nwheel:x:10:root,www\nwww-data:x:33:\nnogroup:x:65534:\n"
	for _, tc := range []struct {
		spec string
		want execUser
		err  string
	}{
		{spec: "", want: execUser{Uid: 0, Gid: 0, Home: "/root", Groups: []int{10}}},
		{spec: "www", want: execUser{Uid: 33, Gid: 33, Home: "/var/www", Groups: []int{10}}},
		{spec: "1000", want: execUser{Uid: 1000, Gid: 0, Home: "/"}},
		{spec: "1000:1000", want: execUser{Uid: 1000, Gid: 1000, Home: "/"}},
		{spec: "nobody:wheel", want: execUser{Uid: 65534, Gid: 10, Home: "/nonexistent"}},
		{spec: "nosuch", err: "unable to find user nosuch: no matching entries in passwd file"},
		{spec: "0:nosuch", err: "unable to find group nosuch: no matching entries in group file"},
	} {
		got, err := resolveUser(tc.spec, strings.NewReader(passwd), strings.NewReader(group))
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || got.Uid != tc.want.Uid || got.Gid != tc.want.Gid || got.Home != tc.want.Home || !slices.Equal(got.Groups, tc.want.Groups) {
			t.Errorf("%q: %+v %v, want %+v", tc.spec, got, err, tc.want)
		}
	}
	if u, err := resolveUser("42", nil, nil); err != nil || u.Uid != 42 {
		t.Errorf("numeric user without /etc/passwd: %+v %v", u, err)
	}
}

func TestMergeImage(t *testing.T) {
	img := &v1.Config{Entrypoint: []string{"/ep"}, Cmd: []string{"def"}, Env: []string{"PATH=/img", "A=1"}, WorkingDir: "/w", User: "u", StopSignal: "SIGQUIT", Labels: map[string]string{"l": "img"}}
	for _, tc := range []struct {
		name     string
		c        Config
		path     string
		args     []string
		wantEnv  []string
		wantUser string
	}{
		{name: "defaults", c: Config{}, path: "/ep", args: []string{"def"}, wantEnv: []string{"PATH=/img", "A=1"}, wantUser: "u"},
		{name: "cmd", c: Config{Cmd: []string{"x"}}, path: "/ep", args: []string{"x"}},
		{name: "entrypoint drops the image cmd", c: Config{Entrypoint: []string{"/other"}}, path: "/other", args: []string{}},
		{name: "empty entrypoint keeps the image cmd", c: Config{Entrypoint: []string{}}, path: "def", args: []string{}},
		{name: "env on top", c: Config{Cmd: []string{"x"}, Env: []string{"A=2", "B=3"}, User: "me"}, path: "/ep", args: []string{"x"}, wantEnv: []string{"PATH=/img", "A=2", "B=3"}, wantUser: "me"},
	} {
		c := tc.c
		p, args, err := mergeImage(&c, img, strings.Repeat("a", 64))
		if err != nil || p != tc.path || !slices.Equal(args, tc.args) {
			t.Errorf("%s: %q %q %v, want %q %q", tc.name, p, args, err, tc.path, tc.args)
		}
		if tc.wantEnv != nil && !slices.Equal(c.Env, tc.wantEnv) {
			t.Errorf("%s: env %q, want %q", tc.name, c.Env, tc.wantEnv)
		}
		if tc.wantUser != "" && c.User != tc.wantUser {
			t.Errorf("%s: user %q", tc.name, c.User)
		}
		if c.Hostname != "aaaaaaaaaaaa" || c.WorkingDir != "/w" || c.StopSignal != "SIGQUIT" || c.Labels["l"] != "img" {
			t.Errorf("%s: %+v", tc.name, c)
		}
	}
	c := Config{}
	if _, _, err := mergeImage(&c, &v1.Config{}, strings.Repeat("a", 64)); !errors.Is(err, ErrInvalid) {
		t.Errorf("no command: %v", err)
	}
	env := processEnv(&Container{Config: Config{Hostname: "h", Env: []string{"X=1"}}})
	if !slices.Equal(env, []string{"PATH=" + defaultPath, "HOSTNAME=h", "X=1"}) {
		t.Errorf("process env %q", env)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"hi\n", "tab\there \"q\" \\ <a&b>", "\x00\x1f\x7f", "é ✓ \u2028", "bad \xff utf8"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, []byte(s)); !bytes.Equal(got, want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}

func TestRlimitsClamped(t *testing.T) {
	facts := hostFacts{HardLimit: func(res int) (uint64, bool) { return 20000, res == 7 }}
	got, warnings := rlimits([]Ulimit{{Name: "core", Soft: 0, Hard: 0}}, facts)
	want := []rlimitPlan{{Type: 7, Soft: 1024, Hard: 20000}, {Type: 4}}
	if !slices.Equal(got, want) || len(warnings) != 1 || !strings.Contains(warnings[0], "nofile") {
		t.Errorf("%+v %q, want %+v and one warning", got, warnings, want)
	}
}

func TestParsePS(t *testing.T) {
	out := "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 /sbin/init\nroot 42 1 0 10:01 ? 00:00:00 sleep 1000 now\n"
	titles, rows, err := parsePS([]byte(out), []int{42})
	if err != nil || len(titles) != 8 || len(rows) != 1 || rows[0][7] != "sleep 1000 now" {
		t.Errorf("%v %v %v", titles, rows, err)
	}
	if _, _, err := parsePS([]byte("A B\n1 2\n"), nil); err == nil {
		t.Error("no PID column accepted")
	}
}

func TestSpecValidate(t *testing.T) {
	base := func() CreateSpec { return CreateSpec{Config: Config{Image: "busybox"}} }
	for _, tc := range []struct {
		name string
		mod  func(*CreateSpec)
		kind error
	}{
		{"ok", func(*CreateSpec) {}, nil},
		{"autoremove+restart", func(s *CreateSpec) { s.AutoRemove = true; s.RestartPolicy.Name = RestartAlways }, ErrInvalid},
		{"retries without on-failure", func(s *CreateSpec) { s.RestartPolicy = RestartPolicy{Name: RestartAlways, MaximumRetryCount: 2} }, ErrInvalid},
		{"log driver", func(s *CreateSpec) { s.LogConfig.Type = "syslog" }, ErrNotImplemented},
		{"log opt", func(s *CreateSpec) { s.LogConfig.Config = map[string]string{"max-size": "x"} }, ErrInvalid},
		{"ulimit", func(s *CreateSpec) { s.Ulimits = []Ulimit{{Name: "nope"}} }, ErrInvalid},
		{"stop signal", func(s *CreateSpec) { s.StopSignal = "SIGNOPE" }, ErrInvalid},
		{"memory", func(s *CreateSpec) { s.Resources.MemoryBytes = -1 }, ErrInvalid},
		{"seccomp profile", func(s *CreateSpec) { s.SecurityOpt = []string{"seccomp=/p.json"} }, ErrInvalid},
	} {
		s := base()
		tc.mod(&s)
		err := s.validate()
		if tc.kind == nil && err != nil || tc.kind != nil && !errors.Is(err, tc.kind) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.kind)
		}
	}
}

func TestLogRotationAndReader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c-json.log")
	l, err := openJSONLog(p, 300, 3)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 20; i++ {
		stream := "stdout"
		if i%5 == 0 {
			stream = "stderr"
		}
		l.write(stream, []byte(strings.Repeat("x", i)+"\n"), t0.Add(time.Duration(i)*time.Second))
	}
	l.close()
	files, _ := filepath.Glob(p + "*")
	if len(files) != 3 {
		t.Errorf("files %v, want the log and two rotated", files)
	}
	read := func(o LogOptions) []LogEntry {
		r, err := newLogReader(context.Background(), p, 3, o, func() (bool, <-chan struct{}) { return false, nil })
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out []LogEntry
		for {
			e, err := r.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
	}
	all := read(LogOptions{Tail: -1})
	if len(all) == 0 || len(all[len(all)-1].Line) != 20 || !all[0].Time.Before(all[len(all)-1].Time) {
		t.Fatalf("read %d entries", len(all))
	}
	if tail := read(LogOptions{Tail: 2}); len(tail) != 2 || len(tail[1].Line) != 20 {
		t.Errorf("tail 2: %v", tail)
	}
	since := read(LogOptions{Tail: -1, Since: t0.Add(18 * time.Second)})
	if len(since) != 2 {
		t.Errorf("since: %d entries", len(since))
	}
	for _, e := range read(LogOptions{Tail: -1, Stderr: true}) {
		if e.Stream != "stderr" {
			t.Errorf("stderr only gave %s", e.Stream)
		}
	}
	b, _ := os.ReadFile(p)
	line := strings.SplitN(string(b), "\n", 2)[0]
	if !strings.HasPrefix(line, `{"log":"`) || !strings.Contains(line, `"time":"2026-11-01T10:00:`) || !strings.HasSuffix(line, `.000000000Z"}`) {
		t.Errorf("line %s is not Docker's json-file format", line)
	}
}
