package container_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
)

func changeLines(changes []container.Change) string {
	var b strings.Builder
	for _, c := range changes {
		b.WriteString(c.Kind.String() + " " + c.Path + "\n")
	}
	return b.String()
}

// TestInitLayer: a container that changes nothing has nothing to show,
// though the engine mounted /proc, /dev, /sys and /etc/hosts... on it: the
// mount targets are in its init layer, not in its upper dir.
func TestInitLayer(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	c, _, err := e.Create(ctx, busybox("true"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc/hosts", "etc/hostname", "etc/resolv.conf", "proc", "sys", "dev"} {
		if _, err := os.Lstat(filepath.Join(c.Dir, "init", p)); err != nil && !inImage(t, p) {
			t.Errorf("the init layer lacks %s, which busybox lacks too: %v", p, err)
		}
	}
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if st, err := e.Wait(ctx, c.ID, "not-running"); err != nil || st.Code != 0 {
		t.Fatalf("exit %+v %v", st, err)
	}
	changes, err := e.Changes(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if changes != nil {
		t.Errorf("changes of a container that changed nothing:\n%s", changeLines(changes))
	}
	if ents, err := os.ReadDir(filepath.Join(c.Dir, "diff")); err != nil || len(ents) != 0 {
		t.Errorf("the upper dir holds %d entries (%v), want none", len(ents), err)
	}

	// A container made before init layers (no init dir) still starts.
	old, _, err := e.Create(ctx, busybox("cat", "/etc/hostname"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(old.Dir, "init")); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, old.ID); err != nil {
		t.Fatalf("starting a container without an init layer: %v", err)
	}
	if st, err := e.Wait(ctx, old.ID, "not-running"); err != nil || st.Code != 0 {
		t.Fatalf("exit %+v %v", st, err)
	}
	if out := logs(t, e, old.ID); out != old.Config.Hostname+"\n" {
		t.Errorf("output %q", out)
	}
}

// inImage reports whether busybox:1.35 has p itself (then the init layer
// need not).
func inImage(t *testing.T, p string) bool {
	im, err := images(t).Get("busybox:1.35")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range im.Layers {
		if _, err := os.Lstat(filepath.Join(l.Dir, p)); err == nil {
			return true
		}
	}
	return false
}

// layeredChanges deletes a file, replaces a directory, modifies a file and
// adds a tree with a hard link, in layered:1 (see ../shared/images).
const layeredChanges = "rm /data/c && rm -rf /dir && mkdir /dir && echo only > /dir/only && echo changed > /data/b && " +
	"mkdir /new && echo n > /new/f && ln /new/f /new/g"

func TestChangesAndCommit(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	spec := container.CreateSpec{Config: container.Config{Image: "layered:1", Cmd: []string{"sh", "-c", layeredChanges}}}
	st, out := run(t, e, spec)
	if st.Code != 0 {
		t.Fatalf("exit %d: %s", st.Code, out)
	}
	list, _ := e.List(true)
	id := list[0].ID
	changes, err := e.Changes(id)
	if err != nil {
		t.Fatal(err)
	}
	want := "C /data\nC /data/b\nD /data/c\nC /dir\nD /dir/new\nA /dir/only\nA /new\nA /new/f\nA /new/g\n"
	if got := changeLines(changes); got != want {
		t.Errorf("changes:\n%swant:\n%s", got, want)
	}

	im, err := e.Commit(ctx, id, container.CommitOptions{
		Ref: "committed:v1", Author: "Tao Wang <twang2218@gmail.com>", Comment: "修改了默认网页",
		Changes: []string{`CMD ["ls", "/data"]`, "ENV GREETING=hi", "EXPOSE 8080", "LABEL stage=committed", "USER nobody", "WORKDIR /new"},
		Pause:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { images(t).Remove(im.ID, true, nil) })
	cfg := im.Config.Config
	if strings.Join(cfg.Cmd, " ") != "ls /data" || cfg.User != "nobody" || cfg.WorkingDir != "/new" || cfg.Labels["stage"] != "committed" {
		t.Errorf("config %+v", cfg)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok || !contains(cfg.Env, "GREETING=hi") {
		t.Errorf("ports %v env %v", cfg.ExposedPorts, cfg.Env)
	}
	h := im.Config.History[len(im.Config.History)-1]
	if h.Author != "Tao Wang <twang2218@gmail.com>" || h.Comment != "修改了默认网页" || h.CreatedBy != "sh -c "+layeredChanges || h.EmptyLayer {
		t.Errorf("history entry %+v", h)
	}
	if im.Config.Author != "Tao Wang <twang2218@gmail.com>" || len(im.RepoTags) != 1 || !strings.HasSuffix(im.RepoTags[0], "/committed:v1") {
		t.Errorf("author %q tags %v", im.Config.Author, im.RepoTags)
	}

	// A container of the new image sees what the first one left.
	spec = container.CreateSpec{Config: container.Config{Image: "committed:v1", User: "root", Cmd: []string{"sh", "-c",
		"ls /data; echo --; ls /dir; echo --; cat /data/b /dir/only /new/g; stat -c %h /new/f; id -un; pwd; echo $GREETING"}}}
	st, out = run(t, e, spec)
	wantOut := "b\nhard\nmode\nsoft\n--\nonly\n--\nchanged\nonly\nn\n2\nroot\n/new\nhi\n"
	if st.Code != 0 || out != wantOut {
		t.Errorf("in the committed image: exit %d\n%s\nwant\n%s", st.Code, out, wantOut)
	}
}

// TestCommitRunning commits a running container (paused meanwhile), and
// one that changed nothing.
func TestCommitRunning(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	spec := busybox("sh", "-c", "echo hi > /hello && sleep 1000")
	c, _, err := e.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(c.Dir, "diff", "hello")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container did not write /hello")
		}
		time.Sleep(10 * time.Millisecond)
	}
	im, err := e.Commit(ctx, c.Name, container.CommitOptions{Pause: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { images(t).Remove(im.ID, true, nil) })
	if got, _ := e.Get(c.ID); got.State.Status != container.StatusRunning {
		t.Errorf("after commit the container is %s, want running", got.State.Status)
	}
	if len(im.RepoTags) != 0 || len(im.Layers) != 2 {
		t.Errorf("tags %v, %d layers; want untagged with 2", im.RepoTags, len(im.Layers))
	}
	if b, err := os.ReadFile(filepath.Join(im.Layers[1].Dir, "hello")); err != nil || string(b) != "hi\n" {
		t.Errorf("committed /hello: %q %v", b, err)
	}
	if strings.Join(im.Config.Config.Cmd, " ") != "sh -c echo hi > /hello && sleep 1000" {
		t.Errorf("cmd %q", im.Config.Config.Cmd)
	}

	// Nothing changed: a history entry, no layer, as Docker.
	c2, _, err := e.Create(ctx, busybox("true"))
	if err != nil {
		t.Fatal(err)
	}
	empty, err := e.Commit(ctx, c2.ID, container.CommitOptions{Ref: "nothing"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { images(t).Remove(empty.ID, true, nil) })
	if len(empty.Layers) != 1 || !empty.Config.History[len(empty.Config.History)-1].EmptyLayer {
		t.Errorf("%d layers, history %+v", len(empty.Layers), empty.Config.History)
	}
}

func TestCommitRefusesBadInput(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	c, _, err := e.Create(ctx, busybox("true"))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := images(t).List()
	for _, tc := range []struct {
		name, ref string
		opts      container.CommitOptions
		want      error
	}{
		{"no such container", "nope", container.CommitOptions{}, container.ErrNotFound},
		{"bad change", c.ID, container.CommitOptions{Changes: []string{"RUN x"}}, container.ErrInvalid},
		{"bad name", c.ID, container.CommitOptions{Ref: "Bad:Name"}, container.ErrInvalid},
		{"digest", c.ID, container.CommitOptions{Ref: "x@sha256:" + strings.Repeat("a", 64)}, container.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.Commit(ctx, tc.ref, tc.opts); !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
	if after, _ := images(t).List(); len(after) != len(before) {
		t.Errorf("refused commits made %d images", len(after)-len(before))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
