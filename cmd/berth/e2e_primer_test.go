//go:build e2e

package main

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/testvm"
)

// TestPrimerEndToEnd is issue 5's acceptance: the Docker primer's own
// sequence (exec into a running nginx, diff, commit with an author and a
// message, history, a container of the new image serving the change),
// through the real docker CLI and through berth, against a real daemon.
func TestPrimerEndToEnd(t *testing.T) {
	e := startRealEngine(t)
	must(t, e.berth, "load", "-i", testvm.ImageArchive(t, "nginx.oci.tar"))
	for _, c := range []realClient{{"docker", e.docker}, {"berth", e.berth}} {
		t.Run(c.name, func(t *testing.T) {
			run := func(args ...string) string { t.Helper(); return must(t, c.run, args...) }
			run("run", "--name", "webserver", "-d", "nginx:1.22")
			run("exec", "webserver", "bash", "-c", "echo '<h1>Hello, Docker!</h1>' > /usr/share/nginx/html/index.html")
			diff := run("diff", "webserver")
			if !strings.Contains(diff, "C /usr/share/nginx/html/index.html\n") {
				t.Errorf("diff lacks the changed page:\n%s", diff)
			}
			id := strings.TrimSpace(run("commit", "--author", "Tao Wang <twang2218@gmail.com>", "--message", "修改了默认网页", "webserver", "nginx:v2"))
			if !strings.HasPrefix(id, "sha256:") {
				t.Errorf("commit printed %q, want the image ID", id)
			}
			hist := run("history", "--no-trunc", "--format", "{{.Comment}}", "nginx:v2")
			if first, _, _ := strings.Cut(hist, "\n"); first != "修改了默认网页" {
				t.Errorf("the newest history entry's comment is %q, want the message:\n%s", first, hist)
			}
			if author := strings.TrimSpace(run("image", "inspect", "--format", "{{.Author}}", "nginx:v2")); author != "Tao Wang <twang2218@gmail.com>" {
				t.Errorf("author %q", author)
			}
			run("run", "--name", "web2", "-d", "nginx:v2")
			if page := run("exec", "web2", "cat", "/usr/share/nginx/html/index.html"); page != "<h1>Hello, Docker!</h1>\n" {
				t.Errorf("web2 serves %q", page)
			}
			// The committed image runs nginx as the original did.
			if ps := run("exec", "web2", "bash", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"); !strings.Contains(ps, "nginx: master process") {
				t.Errorf("web2's command is %q", ps)
			}
			run("stop", "webserver", "web2")
			run("rm", "webserver", "web2")
			run("rmi", "nginx:v2")
		})
	}
	e.stop(t)
	checkNoLeaks(t, e.data)
}
