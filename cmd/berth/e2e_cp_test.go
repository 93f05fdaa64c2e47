//go:build e2e

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/testvm"
)

// berthStdin runs the real berth client with stdin.
func (e *engine) berthStdin(t *testing.T, stdin []byte, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"-H", "unix://" + e.sock}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.cfgDir, "DOCKER_CONFIG=" + e.cfgDir}
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// untarString reads a tar stream: entry name -> content ("dir" for a
// directory).
func untarString(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(strings.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the tar stream: %v", err)
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = string(b)
		if hdr.Typeflag == tar.TypeDir {
			out[hdr.Name] = "dir"
		}
	}
}

func tarOfFiles(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := 0; i+1 < len(files); i += 2 {
		tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	return b.Bytes()
}

// TestCopyEndToEnd is cp's acceptance (issue 5): the real docker CLI and
// berth copy into and out of running and stopped containers of a real
// daemon, and a container whose /data is a symlink to / cannot make a copy
// touch the host.
func TestCopyEndToEnd(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Fatalf("the docker CLI is not at %s: %v", dockerCLI, err)
	}
	e := startRealEngine(t)
	must(t, e.berth, "load", "-i", testvm.ImageArchive(t, "busybox.oci.tar"))
	clients := []realClient{{"docker", e.docker}, {"berth", e.berth}}
	withStdin := map[string]func(*testing.T, []byte, ...string) (string, string, error){
		"docker": func(t *testing.T, in []byte, args ...string) (string, string, error) {
			return docker(t, e.sock, e.cfgDir, string(in), args...)
		},
		"berth": e.berthStdin,
	}
	// Names on the host that a copy escaping the container would create.
	probe := "berth-cp-e2e-" + strconv.Itoa(os.Getpid())
	hostPaths := []string{"/" + probe, "/etc/" + probe, "/tmp/" + probe}
	hostEtcHostname, _ := os.ReadFile("/etc/hostname")
	hostUntouched := func(t *testing.T) {
		t.Helper()
		for _, p := range hostPaths {
			if _, err := os.Lstat(p); err == nil {
				os.Remove(p)
				t.Fatalf("a copy into a container wrote the host's %s", p)
			}
		}
		if b, _ := os.ReadFile("/etc/hostname"); !bytes.Equal(b, hostEtcHostname) {
			t.Fatalf("the host's /etc/hostname changed: %q", b)
		}
	}

	for _, c := range clients {
		local := t.TempDir()
		os.MkdirAll(filepath.Join(local, "in"), 0o755)
		os.WriteFile(filepath.Join(local, "in", "go"), []byte("copied in by "+c.name+"\n"), 0o644)
		os.WriteFile(filepath.Join(local, probe), []byte("probe\n"), 0o644)
		run := func(name string) string { return "cp-" + name + "-" + c.name }

		t.Run(c.name+"/running", func(t *testing.T) {
			ctr := run("run")
			must(t, c.run, "run", "-d", "--name", ctr, "busybox:1.35", "sh", "-c",
				"while [ ! -f /tmp/in/go ]; do sleep 0.05; done; cat /tmp/in/go; sleep 1000")
			defer c.run(t, "rm", "-f", ctr)
			must(t, c.run, "cp", filepath.Join(local, "in"), ctr+":/tmp/")
			waitLog(t, c, ctr, "copied in by "+c.name)

			hostname := strings.TrimSpace(must(t, c.run, "inspect", "--format", "{{.Config.Hostname}}", ctr))
			out := filepath.Join(local, "out-running")
			os.Mkdir(out, 0o755)
			must(t, c.run, "cp", ctr+":/etc/hostname", out)
			if b, _ := os.ReadFile(filepath.Join(out, "hostname")); string(b) != hostname+"\n" {
				t.Errorf("cp out of /etc/hostname: %q, want %q", b, hostname)
			}
			must(t, c.run, "cp", ctr+":/tmp/in", filepath.Join(out, "back"))
			if b, _ := os.ReadFile(filepath.Join(out, "back", "go")); string(b) != "copied in by "+c.name+"\n" {
				t.Errorf("cp of a directory to a new name: %q", b)
			}
			// "-" both ways: a tar on stdin, a tar on stdout.
			if _, errOut, err := withStdin[c.name](t, tarOfFiles(t, "streamed", "from stdin\n"), "cp", "-", ctr+":/tmp"); err != nil {
				t.Fatalf("cp - %s:/tmp: %v %s", ctr, err, errOut)
			}
			files := untarString(t, must(t, c.run, "cp", ctr+":/tmp/streamed", "-"))
			if files["streamed"] != "from stdin\n" {
				t.Errorf("cp %s:/tmp/streamed -: %q", ctr, files)
			}
			big := filepath.Join(local, "big")
			os.WriteFile(big, bytes.Repeat([]byte("x"), 8<<20), 0o644)
			_, errOut, err := c.run(t, "cp", big, "nosuch:/tmp")
			if processExit(err) != 1 || !strings.Contains(errOut, "No such container: nosuch") || len(errorLines(errOut)) != 1 {
				t.Errorf("cp of 8 MiB into a missing container: exit %d %q", processExit(err), errOut)
			}
			_, errOut, err = c.run(t, "cp", ctr+":/nope", out)
			if processExit(err) != 1 || !strings.Contains(errOut, "Could not find the file /nope in container "+ctr) || len(errorLines(errOut)) != 1 {
				t.Errorf("cp of a missing path: exit %d %q", processExit(err), errOut)
			}
		})

		t.Run(c.name+"/stopped", func(t *testing.T) {
			ctr := run("stop")
			must(t, c.run, "create", "--name", ctr, "busybox:1.35", "cat", "/tmp/in/go")
			defer c.run(t, "rm", "-f", ctr)
			must(t, c.run, "cp", filepath.Join(local, "in"), ctr+":/tmp")
			must(t, c.run, "start", ctr)
			if code := strings.TrimSpace(must(t, c.run, "wait", ctr)); code != "0" {
				t.Errorf("the container exited %s", code)
			}
			if out, errOut, _ := c.run(t, "logs", ctr); out != "copied in by "+c.name+"\n" {
				t.Errorf("the container read %q (stderr %q)", out, errOut)
			}
			// Exited now: copy out of it, and into it again.
			out := filepath.Join(local, "out-stopped")
			must(t, c.run, "cp", ctr+":/tmp/in/go", out)
			if b, _ := os.ReadFile(out); string(b) != "copied in by "+c.name+"\n" {
				t.Errorf("cp out of an exited container: %q", b)
			}
			must(t, c.run, "cp", filepath.Join(local, probe), ctr+":/tmp/"+probe)
			if files := untarString(t, must(t, c.run, "cp", ctr+":/tmp/"+probe, "-")); files[probe] != "probe\n" {
				t.Errorf("cp into an exited container: %q", files)
			}
		})

		t.Run(c.name+"/data symlink to root", func(t *testing.T) {
			running, stopped := run("evil"), run("evil-stopped")
			must(t, c.run, "run", "-d", "--name", running, "busybox:1.35", "sh", "-c", "ln -s / /data && sleep 1000")
			defer c.run(t, "rm", "-f", running)
			must(t, c.run, "run", "--name", stopped, "busybox:1.35", "ln", "-s", "/", "/data")
			defer c.run(t, "rm", "-f", stopped)
			deadline := time.Now().Add(10 * time.Second)
			for {
				if _, _, err := c.run(t, "cp", running+":/data/etc/hostname", "-"); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the container never made /data")
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, ctr := range []string{running, stopped} {
				must(t, c.run, "cp", filepath.Join(local, probe), ctr+":/data/")
				must(t, c.run, "cp", filepath.Join(local, probe), ctr+":/data/etc/")
				must(t, c.run, "cp", filepath.Join(local, probe), ctr+":/data/../../../../tmp/")
				hostUntouched(t)
				// The files landed in the container.
				for _, p := range []string{"/" + probe, "/etc/" + probe, "/tmp/" + probe} {
					if files := untarString(t, must(t, c.run, "cp", ctr+":"+p, "-")); files[probe] != "probe\n" {
						t.Errorf("%s:%s: %q", ctr, p, files)
					}
				}
				// Reading through /data reads the container, not the host.
				hostname := strings.TrimSpace(must(t, c.run, "inspect", "--format", "{{.Config.Hostname}}", ctr))
				if files := untarString(t, must(t, c.run, "cp", ctr+":/data/etc/hostname", "-")); files["hostname"] != hostname+"\n" {
					t.Errorf("%s:/data/etc/hostname: %q, want the container's %q", ctr, files, hostname)
				}
				// -L on the link copies the container's root's content, under the link's name.
				if !strings.Contains(must(t, c.run, "cp", "-L", ctr+":/data", "-"), probe) {
					t.Errorf("cp -L %s:/data - lacks the probe", ctr)
				}
			}
		})

		t.Run(c.name+"/read-only", func(t *testing.T) {
			ctr := run("ro")
			must(t, c.run, "run", "-d", "--read-only", "--tmpfs", "/scratch", "--name", ctr, "busybox:1.35", "sleep", "1000")
			defer c.run(t, "rm", "-f", ctr)
			_, errOut, err := c.run(t, "cp", filepath.Join(local, probe), ctr+":/tmp/")
			if processExit(err) == 0 || !strings.Contains(errOut, "container rootfs is marked read-only") || len(errorLines(errOut)) != 1 {
				t.Errorf("cp into a read-only rootfs: exit %d %q", processExit(err), errOut)
			}
			must(t, c.run, "cp", filepath.Join(local, probe), ctr+":/scratch/")
			if files := untarString(t, must(t, c.run, "cp", ctr+":/scratch/"+probe, "-")); files[probe] != "probe\n" {
				t.Errorf("cp into the tmpfs of a read-only container: %q", files)
			}
		})
	}
	hostUntouched(t)
	if out := must(t, e.docker, "ps", "-aq"); out != "" {
		t.Errorf("containers left: %q", out)
	}
	e.stop(t)
	checkNoLeaks(t, e.data)
}
