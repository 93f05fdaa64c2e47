package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/api"
)

// TestDockerCLIDiffCommit: berth diff and commit send what the docker CLI
// sends for the same command line, and print what it prints.
func TestDockerCLIDiffCommit(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	sock, ctrs := startContainerEngine(t)
	for _, c := range clients(t, sock) {
		t.Run(c.name, func(t *testing.T) {
			name := "web-" + c.name
			id := strings.TrimSpace(c.ok(t, "create", "--name", name, "busybox", "true"))
			if out := c.ok(t, "diff", name); out != "" {
				t.Errorf("diff with no changes: %q", out)
			}
			if err := ctrs.SetChanges(id, []api.ContainerChange{
				{Path: "/usr/share/nginx/html", Kind: api.ChangeModify}, {Path: "/usr/share/nginx/html/index.html", Kind: api.ChangeModify},
				{Path: "/tmp/x", Kind: api.ChangeAdd}, {Path: "/www", Kind: api.ChangeDelete},
			}); err != nil {
				t.Fatal(err)
			}
			want := "C /usr/share/nginx/html\nC /usr/share/nginx/html/index.html\nA /tmp/x\nD /www\n"
			for _, args := range [][]string{{"diff", name}, {"container", "diff", name}} {
				if out := c.ok(t, args...); out != want {
					t.Errorf("%s: %q, want %q", strings.Join(args, " "), out, want)
				}
			}

			ctrs.Calls()
			out := c.ok(t, "commit", "--author", "Tao Wang <twang2218@gmail.com>", "--message", "修改了默认网页",
				"-c", "CMD [\"nginx\", \"-g\", \"daemon off;\"]", "--change", "ENV A=1,B=2", name, "nginx:v2")
			if !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).MatchString(out) {
				t.Errorf("commit printed %q, want the image ID", out)
			}
			wantCall := `Commit(container=` + name + `, ref=docker.io/library/nginx:v2, author="Tao Wang <twang2218@gmail.com>", comment="修改了默认网页", pause=true, changes=["CMD [\"nginx\", \"-g\", \"daemon off;\"]" "ENV A=1,B=2"], config=none)`
			if calls := ctrs.Calls(); len(calls) != 1 || calls[0] != wantCall {
				t.Errorf("calls %q\nwant %q", calls, wantCall)
			}
			c.ok(t, "container", "commit", "-p=false", name)
			wantCall = `Commit(container=` + name + `, ref=, author="", comment="", pause=false, changes=[], config=none)`
			if calls := ctrs.Calls(); len(calls) != 1 || calls[0] != wantCall {
				t.Errorf("calls %q\nwant %q", calls, wantCall)
			}
			c.ok(t, "commit", name, "localhost:5000/app")
			wantCall = `Commit(container=` + name + `, ref=localhost:5000/app:latest, author="", comment="", pause=true, changes=[], config=none)`
			if calls := ctrs.Calls(); len(calls) != 1 || calls[0] != wantCall {
				t.Errorf("calls %q\nwant %q", calls, wantCall)
			}
		})
	}
}

func TestBerthDiffCommitErrors(t *testing.T) {
	sock, _ := startContainerEngine(t)
	if code, _, errOut := runBerth(t, "-H", sock, "create", "--name", "web", "busybox", "true"); code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	for _, tt := range []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"diff", "nope"}, ExitFailure, "Error response from daemon: No such container: nope"},
		{[]string{"diff"}, ExitUsage, `"berth diff" requires exactly 1 argument`},
		{[]string{"commit", "nope"}, ExitFailure, "Error response from daemon: No such container: nope"},
		{[]string{"commit", "web", "BAD:x"}, ExitUsage, "invalid reference"},
		{[]string{"commit", "web", "x@sha256:" + strings.Repeat("a", 64)}, ExitUsage, "refusing to create a tag with a digest reference"},
		{[]string{"commit", "-c", "RUN make", "web"}, ExitUsage, "run is not a valid change command"},
		{[]string{"commit"}, ExitUsage, `"berth commit" requires at least 1 and at most 2 arguments`},
		{[]string{"commit", "a", "b", "c"}, ExitUsage, `"berth commit" requires at least 1 and at most 2 arguments`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runBerth(t, append([]string{"-H", sock}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) || out != "" {
				t.Errorf("exit %d, %q, %q; want %d and %q", code, out, errOut, tt.code, tt.wantErr)
			}
			if strings.Count(errOut, "\n") != 1 {
				t.Errorf("not one line: %q", errOut)
			}
		})
	}
}
