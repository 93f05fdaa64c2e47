//go:build e2e

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berthhq/berth/testvm"
)

// commitChanges deletes a file, replaces a directory (rm -rf then mkdir:
// an opaque directory in the upper dir), changes a file and adds a tree
// with a hard link, in layered:1 (see ../shared/images).
const commitChanges = "rm /data/c && rm -rf /dir && mkdir /dir && echo only > /dir/only && echo changed > /data/b && " +
	"mkdir /new && echo n > /new/f && ln /new/f /new/g"

// TestCommitEndToEnd is diff and commit through the real docker CLI and
// berth against a real daemon: the changes a container made, listed and
// turned into an image whose containers see them, with its history,
// author and configuration; then removed.
func TestCommitEndToEnd(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Fatalf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	e := startRealEngine(t)
	for _, a := range []string{"busybox.oci.tar", "layered.oci.tar"} {
		must(t, e.berth, "load", "-i", testvm.ImageArchive(t, a))
	}
	clients := []realClient{{"docker", e.docker}, {"berth", e.berth}}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			name, img := "changer-"+c.name, "committed-"+c.name+":v2"
			must(t, c.run, "run", "--name", name, "layered:1", "sh", "-c", commitChanges)
			want := "C /data\nC /data/b\nD /data/c\nC /dir\nD /dir/new\nA /dir/only\nA /new\nA /new/f\nA /new/g\n"
			for _, args := range [][]string{{"diff", name}, {"container", "diff", name}} {
				if out := must(t, c.run, args...); out != want {
					t.Errorf("%s:\n%swant:\n%s", strings.Join(args, " "), out, want)
				}
			}

			out := must(t, c.run, "commit", "--author", "Tao Wang <twang2218@gmail.com>", "--message", "修改了默认网页",
				"-c", `CMD ["ls", "/data"]`, "--change", "ENV GREETING=hi", "-c", "WORKDIR /new", "-c", "EXPOSE 8080", name, img)
			if !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).MatchString(out) {
				t.Fatalf("commit printed %q, want the image ID", out)
			}
			id := strings.TrimSpace(out)
			if out := must(t, c.run, "history", "--no-trunc", "--format", "{{.ID}}|{{.Comment}}|{{.CreatedBy}}", img); !strings.HasPrefix(out, id+"|修改了默认网页|sh -c "+commitChanges+"\n") {
				t.Errorf("history, newest first:\n%s", out)
			}
			if out := must(t, c.run, "image", "inspect", "--format", "{{.Author}}|{{.Comment}}|{{json .Config.Cmd}}|{{.Config.WorkingDir}}|{{json .Config.ExposedPorts}}|{{len .RootFS.Layers}}", img); out != `Tao Wang <twang2218@gmail.com>|修改了默认网页|["ls","/data"]|/new|{"8080/tcp":{}}|5`+"\n" {
				t.Errorf("image inspect: %q", out)
			}
			// Its containers see the deletion, the replaced directory,
			// the changed file and the hard link.
			if out := must(t, c.run, "run", "--rm", img); out != "b\nhard\nmode\nsoft\n" {
				t.Errorf("the image's CMD (ls /data): %q", out)
			}
			out = must(t, c.run, "run", "--rm", img, "sh", "-c", "ls /dir; cat /data/b /new/g; stat -c %h /new/f; pwd; echo $GREETING")
			if out != "only\nchanged\nn\n2\n/new\nhi\n" {
				t.Errorf("in the committed image: %q", out)
			}
			must(t, c.run, "rm", name)
			out = must(t, c.run, "rmi", img)
			if !strings.Contains(out, "Untagged: "+img) || !strings.Contains(out, "Deleted: "+id) {
				t.Errorf("rmi:\n%s", out)
			}
		})

		t.Run(c.name+"/running", func(t *testing.T) {
			name := "busy-" + c.name
			must(t, c.run, "run", "-d", "--name", name, "busybox:1.35", "sh", "-c", "echo hi > /hello && sleep 1000")
			defer c.run(t, "rm", "-f", name)
			waitFor(t, func() bool { out, _, _ := c.run(t, "diff", name); return out == "A /hello\n" }, "the container to write /hello", e.logs)
			id := strings.TrimSpace(must(t, c.run, "commit", name))
			if out := must(t, c.run, "inspect", "--format", "{{.State.Status}}", name); out != "running\n" {
				t.Errorf("after commit (paused meanwhile): %q", out)
			}
			if out := must(t, c.run, "run", "--rm", id, "cat", "/hello"); out != "hi\n" {
				t.Errorf("the untagged image: %q", out)
			}
			must(t, c.run, "rm", "-f", name)
			must(t, c.run, "rmi", id)
		})

		t.Run(c.name+"/errors", func(t *testing.T) {
			must(t, c.run, "create", "--name", "idle", "busybox:1.35", "true")
			defer c.run(t, "rm", "idle")
			for _, tc := range []struct {
				args []string
				msg  string
			}{
				{[]string{"diff", "nope"}, "No such container: nope"},
				{[]string{"commit", "nope"}, "No such container: nope"},
				{[]string{"commit", "-c", "RUN make", "idle"}, "run is not a valid change command"},
				{[]string{"commit", "-c", "EXPOSE abc", "idle"}, "Invalid containerPort: abc"},
			} {
				_, errOut, err := c.run(t, tc.args...)
				if lines := errorLines(errOut); processExit(err) <= 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.msg) {
					t.Errorf("%s: exit %d, %q; want one line with %q", strings.Join(tc.args, " "), processExit(err), errOut, tc.msg)
				}
			}
		})
	}

	// A commit keeps its layer as pulled layers are kept: save and load
	// bring the same image back.
	t.Run("save and load", func(t *testing.T) {
		must(t, e.berth, "run", "--name", "saver", "busybox:1.35", "sh", "-c", "echo kept > /kept")
		id := strings.TrimSpace(must(t, e.docker, "commit", "saver", "saved:1"))
		must(t, e.berth, "rm", "saver")
		archive := filepath.Join(t.TempDir(), "saved.tar")
		must(t, e.docker, "save", "-o", archive, "saved:1")
		must(t, e.berth, "rmi", "saved:1")
		if out := must(t, e.docker, "load", "-i", archive); !strings.Contains(out, "Loaded image: saved:1") {
			t.Errorf("load: %q", out)
		}
		if out := must(t, e.berth, "image", "inspect", "--format", "{{.Id}}", "saved:1"); out != id+"\n" {
			t.Errorf("loaded %q, want %s", out, id)
		}
		if out := must(t, e.berth, "run", "--rm", "saved:1", "cat", "/kept"); out != "kept\n" {
			t.Errorf("in the loaded image: %q", out)
		}
		must(t, e.berth, "rmi", "saved:1")
	})

	if out := must(t, e.docker, "ps", "-aq"); out != "" {
		t.Errorf("containers left: %q", out)
	}
	if out := must(t, e.docker, "images", "-q", "--filter", "dangling=true"); out != "" {
		t.Errorf("images left: %q", out)
	}
}
