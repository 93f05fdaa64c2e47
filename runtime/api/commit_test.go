package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/api"
)

func TestCommitRoutes(t *testing.T) {
	s, ctrs := newContainerServer(t)
	id := mustCreate(t, s, "web", false, "true")
	tests := []struct {
		name, method, target, body string
		wantStatus                 int
		wantCall                   string
		wantMessage                string
	}{
		{"as the docker CLI sends it", "POST", "/v1.43/commit?container=web&repo=docker.io%2Flibrary%2Fnginx&tag=v2&comment=msg&author=Tao&changes=CMD+ls&changes=ENV+A%3D1", "null\n", 201,
			`Commit(container=web, ref=docker.io/library/nginx:v2, author="Tao", comment="msg", pause=true, changes=["CMD ls" "ENV A=1"], config=none)`, ""},
		{"no pause", "POST", "/commit?container=web&pause=0", "", 201, `Commit(container=web, ref=, author="", comment="", pause=false, changes=[], config=none)`, ""},
		{"pause given", "POST", "/commit?container=web&pause=1", "", 201, `Commit(container=web, ref=, author="", comment="", pause=true, changes=[], config=none)`, ""},
		{"repo without tag", "POST", "/commit?container=web&repo=nginx", "", 201, `Commit(container=web, ref=nginx:latest, author="", comment="", pause=true, changes=[], config=none)`, ""},
		{"tag in repo", "POST", "/commit?container=web&repo=localhost:5000/app:v1", "", 201, `Commit(container=web, ref=localhost:5000/app:v1, author="", comment="", pause=true, changes=[], config=none)`, ""},
		{"tag alone is ignored", "POST", "/commit?container=web&tag=v1", "", 201, `Commit(container=web, ref=, author="", comment="", pause=true, changes=[], config=none)`, ""},
		{"a config body", "POST", "/commit?container=web", `{"Cmd":["sh"],"User":"nobody"}`, 201,
			`Commit(container=web, ref=, author="", comment="", pause=true, changes=[], config={"Hostname":"","Domainname":"","User":"nobody","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["sh"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null})`, ""},
		{"an unknown body field", "POST", "/commit?container=web", `{"Colour":"red"}`, 400, "", `field "Colour" is not supported by Berth`},
		{"digest", "POST", "/commit?container=web&repo=nginx%40sha256%3Aabc", "", 400, "", "refusing to create a tag with a digest reference"},
		{"no container", "POST", "/commit", "", 400, "", "commit needs the container"},
		{"missing container", "POST", "/commit?container=nope", "", 404, `Commit(container=nope, ref=, author="", comment="", pause=true, changes=[], config=none)`, "No such container: nope"},
		{"bad change", "POST", "/commit?container=web&changes=RUN+x", "", 400, `Commit(container=web, ref=, author="", comment="", pause=true, changes=["RUN x"], config=none)`, "run is not a valid change command"},
		{"unknown query", "POST", "/commit?container=web&bogus=1", "", 400, "", `query parameter "bogus" is not supported`},
		{"changes", "GET", "/v1.43/containers/web/changes", "", 200, "Changes(web)", ""},
		{"changes of a missing container", "GET", "/containers/nope/changes", "", 404, "Changes(nope)", "No such container: nope"},
	}
	ctrs.Calls()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s, tc.method, tc.target, strings.NewReader(tc.body), "Content-Type", "application/json")
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body.String())
			}
			calls := ctrs.Calls()
			if tc.wantCall == "" && len(calls) != 0 || tc.wantCall != "" && (len(calls) != 1 || calls[0] != tc.wantCall) {
				t.Errorf("calls %q, want %q", calls, tc.wantCall)
			}
			if tc.wantMessage != "" {
				if msg := errorMessage(t, rec); !strings.Contains(msg, tc.wantMessage) {
					t.Errorf("message %q lacks %q", msg, tc.wantMessage)
				}
			}
			if tc.wantStatus == http.StatusCreated && !strings.HasPrefix(rec.Body.String(), `{"Id":"sha256:`) {
				t.Errorf("answer %s", rec.Body.String())
			}
		})
	}

	// No changes is null, as dockerd answers; changes keep their order.
	if rec := do(t, s, "GET", "/containers/web/changes", nil); rec.Body.String() != "null\n" {
		t.Errorf("no changes: %q, want null", rec.Body.String())
	}
	want := []api.ContainerChange{{Path: "/etc", Kind: api.ChangeModify}, {Path: "/etc/x", Kind: api.ChangeAdd}, {Path: "/tmp", Kind: api.ChangeDelete}}
	if err := ctrs.SetChanges(id, want); err != nil {
		t.Fatal(err)
	}
	if rec := do(t, s, "GET", "/containers/web/changes", nil); rec.Body.String() != `[{"Path":"/etc","Kind":0},{"Path":"/etc/x","Kind":1},{"Path":"/tmp","Kind":2}]`+"\n" {
		t.Errorf("changes: %s", rec.Body.String())
	}
}

// TestClientCommit: the client sends what the docker CLI sends, and reads
// the answers back.
func TestClientCommit(t *testing.T) {
	s, ctrs := newContainerServer(t)
	id := mustCreate(t, s, "web", false, "true")
	c := clientFor(t, s)
	ctx := context.Background()
	ctrs.Calls()
	img, err := c.ContainerCommit(ctx, api.CommitOptions{Container: "web", Ref: "localhost:5000/app:v1", Author: "a", Comment: "m", Changes: []string{"CMD ls"}, Pause: false})
	if err != nil || !strings.HasPrefix(img, "sha256:") {
		t.Fatalf("commit: %q %v", img, err)
	}
	if calls := ctrs.Calls(); len(calls) != 1 || calls[0] != `Commit(container=web, ref=localhost:5000/app:v1, author="a", comment="m", pause=false, changes=["CMD ls"], config=none)` {
		t.Errorf("calls %q", calls)
	}
	if _, err := c.ContainerCommit(ctx, api.CommitOptions{Container: "nope", Pause: true}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("commit of a missing container: %v", err)
	}
	if got, err := c.ContainerDiff(ctx, "web"); err != nil || got != nil {
		t.Errorf("diff: %v %v, want none", got, err)
	}
	ctrs.SetChanges(id, []api.ContainerChange{{Path: "/x", Kind: api.ChangeAdd}})
	if got, err := c.ContainerDiff(ctx, "web"); err != nil || len(got) != 1 || got[0].Path != "/x" || api.ChangeKindString(got[0].Kind) != "A" {
		t.Errorf("diff: %v %v", got, err)
	}
}
