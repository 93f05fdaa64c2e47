package distro_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/distro"
	"github.com/berthhq/berth/testvm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// judgeDay fixes the day support dates are judged on, so goldens do not
// change as releases reach their end of life.
var judgeDay = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// verdict is what a real host of a fixture's kind deserves.
type verdict struct {
	ok      bool
	arch    string
	family  string
	support distro.Support
	cgroup  string
	init    string
	// failed lists the required checks that must fail (and no others).
	failed []string
	// warn lists checks that must at least warn.
	warn []string
}

var verdicts = map[string]verdict{
	"ubuntu-14.04":        {ok: false, arch: "amd64", family: "ubuntu", support: distro.EndOfLife, cgroup: distro.CgroupV1, init: "upstart", warn: []string{"distro.support"}, failed: []string{"kconfig.CONFIG_OVERLAY_FS", "storage.overlay"}},
	"ubuntu-16.04":        {ok: true, arch: "amd64", family: "ubuntu", support: distro.EndOfLife, cgroup: distro.CgroupV1, init: "systemd", warn: []string{"distro.support"}},
	"ubuntu-18.04":        {ok: true, arch: "amd64", family: "ubuntu", support: distro.EndOfLife, cgroup: distro.CgroupHybrid, init: "systemd"},
	"ubuntu-20.04":        {ok: true, arch: "amd64", family: "ubuntu", support: distro.EndOfLife, cgroup: distro.CgroupHybrid, init: "systemd"},
	"ubuntu-22.04":        {ok: true, arch: "amd64", family: "ubuntu", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"ubuntu-22.04-arm64":  {ok: true, arch: "arm64", family: "ubuntu", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd", warn: []string{"cgroup.memory"}},
	"ubuntu-22.04-docker": {ok: true, arch: "amd64", family: "ubuntu", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"ubuntu-24.04":        {ok: true, arch: "amd64", family: "ubuntu", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"ubuntu-24.04-arm64":  {ok: true, arch: "arm64", family: "ubuntu", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"debian-7":            {ok: false, arch: "amd64", family: "debian", support: distro.Unsupported, cgroup: distro.CgroupNone, init: "sysvinit", failed: []string{"distro.support", "kernel.version", "cgroup.mode", "kconfig.CONFIG_NFT_NAT", "kconfig.CONFIG_OVERLAY_FS", "storage.overlay"}},
	"debian-9":            {ok: true, arch: "amd64", family: "debian", support: distro.EndOfLife, cgroup: distro.CgroupV1, init: "systemd"},
	"debian-11":           {ok: true, arch: "amd64", family: "debian", support: distro.EndOfLife, cgroup: distro.CgroupV2, init: "systemd"},
	"debian-12":           {ok: true, arch: "amd64", family: "debian", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"debian-13":           {ok: true, arch: "amd64", family: "debian", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"raspbian-11-armv7":   {ok: true, arch: "arm/v7", family: "debian", support: distro.EndOfLife, cgroup: distro.CgroupV2, init: "systemd", warn: []string{"cgroup.memory"}},
	"raspbian-armv6":      {ok: false, arch: "arm/v6", family: "debian", init: "systemd", failed: []string{"arch"}},
	"centos-7":            {ok: false, arch: "amd64", family: "rhel", support: distro.EndOfLife, cgroup: distro.CgroupV1, init: "systemd", failed: []string{"storage.backing"}},
	"centos-stream-9":     {ok: true, arch: "amd64", family: "rhel", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd", warn: []string{"security.selinux"}},
	"rocky-9":             {ok: true, arch: "amd64", family: "rhel", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"almalinux-9":         {ok: true, arch: "amd64", family: "rhel", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"rhel-6":              {ok: false, arch: "amd64", family: "rhel", support: distro.Unsupported, init: "upstart", failed: []string{"distro.support", "kernel.version", "cgroup.mode", "kconfig.CONFIG_NFT_NAT", "kconfig.CONFIG_NFT_FIB_IPV4", "kconfig.CONFIG_OVERLAY_FS", "storage.overlay"}},
	"linux-mint-21":       {ok: true, arch: "amd64", family: "ubuntu", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"amazon-linux-2023":   {ok: true, arch: "amd64", family: "amzn", support: distro.Supported, cgroup: distro.CgroupV2, init: "systemd"},
	"alpine-3.19":         {ok: true, arch: "amd64", family: "alpine", support: distro.EndOfLife, init: "openrc"},
	"i686":                {ok: false, arch: "386", family: "debian", init: "systemd", failed: []string{"arch"}},
	"wsl2-ubuntu-22.04":   {ok: true, arch: "amd64", family: "ubuntu", support: distro.Supported, init: "systemd", warn: []string{"init.system"}},
	"macos-12-intel":      {ok: true, arch: "amd64", family: "macos", support: distro.EndOfLife},
	"macos-14-arm64":      {ok: true, arch: "arm64", family: "macos", support: distro.Supported},
}

func inspectFixture(t *testing.T, name string) *distro.Report {
	t.Helper()
	fx, err := testvm.LoadFixture(name)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := distro.Inspect(context.Background(), fx.Root, distro.WithProbe(fx.Probe), distro.WithNow(judgeDay))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestFixtures judges every host fixture and compares the whole report with
// its golden file, then holds it to the verdict a real host of that kind
// deserves (a golden file alone would accept any answer once updated).
func TestFixtures(t *testing.T) {
	names, err := testvm.Fixtures()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("no fixtures in %s", testvm.FixturesDir())
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			rep := inspectFixture(t, name)
			got, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = bytes.ReplaceAll(append(got, '\n'), []byte(testvm.FixturesDir()), []byte("testvm/fixtures"))
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./distro -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("report differs from %s; run go test ./distro -update and read the diff", golden)
			}

			v, ok := verdicts[name]
			if !ok {
				t.Fatalf("fixture %s has no verdict in fixtures_test.go", name)
			}
			if rep.OK != v.ok {
				t.Errorf("ok = %v, want %v; failed: %v", rep.OK, v.ok, failedIDs(rep))
			}
			if rep.Arch != v.arch {
				t.Errorf("arch %q (%s), want %q", rep.Arch, rep.ArchInfo.Source, v.arch)
			}
			if rep.Distro.Family != v.family {
				t.Errorf("family %q, want %q", rep.Distro.Family, v.family)
			}
			if v.support != "" && rep.Distro.Support != v.support {
				t.Errorf("support %q (%s), want %q", rep.Distro.Support, rep.Distro.Reason, v.support)
			}
			if v.cgroup != "" && rep.Cgroup.Mode != v.cgroup {
				t.Errorf("cgroup %q, want %q", rep.Cgroup.Mode, v.cgroup)
			}
			if rep.OS == "linux" && rep.Init.System != v.init {
				t.Errorf("init %q, want %q", rep.Init.System, v.init)
			}
			if v.failed != nil {
				if got := strings.Join(failedIDs(rep), " "); got != strings.Join(v.failed, " ") {
					t.Errorf("failed checks %q, want %q", got, strings.Join(v.failed, " "))
				}
			}
			for _, id := range v.warn {
				c, ok := find(rep.Checks, id)
				if !ok || (c.Status != distro.Warn && c.Status != distro.Fail) {
					t.Errorf("%s: %+v, want a warning", id, c)
				}
			}
			for _, c := range rep.Checks {
				if (c.Status == distro.Fail || c.Status == distro.Warn) && c.Message == "" {
					t.Errorf("%s is %s without a message", c.ID, c.Status)
				}
			}
		})
	}
}

// TestFixtureDockerHost: a host with Docker running must say so, with the
// socket, processes and bridge subnet the installer has to stay clear of.
func TestFixtureDockerHost(t *testing.T) {
	rep := inspectFixture(t, "ubuntu-22.04-docker")
	var docker *distro.Engine
	for i, e := range rep.Environment.Engines {
		if e.Name == "docker" {
			docker = &rep.Environment.Engines[i]
		}
	}
	if docker == nil {
		t.Fatalf("no docker engine found: %+v", rep.Environment.Engines)
	}
	if docker.Bridge != "docker0" || docker.Subnet != "172.17.0.0/16" || len(docker.Processes) == 0 || len(docker.Sockets) == 0 || docker.DataRoot != "/var/lib/docker" {
		t.Errorf("docker engine %+v", *docker)
	}
	if c, ok := find(rep.Checks, "env.engine.docker"); !ok || !strings.Contains(c.Message, "172.17.0.0/16") {
		t.Errorf("env.engine.docker: %+v", c)
	}
	if c, _ := find(rep.Checks, "network.subnet"); c.Status != distro.OK {
		t.Errorf("Berth's default subnet should not clash with docker0: %+v", c)
	}
}

func failedIDs(rep *distro.Report) []string {
	var ids []string
	for _, c := range rep.Checks {
		if c.Failed() {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func find(checks []distro.Check, id string) (distro.Check, bool) {
	for _, c := range checks {
		if c.ID == id {
			return c, true
		}
	}
	return distro.Check{}, false
}

// BenchmarkInspectFixture measures a whole inspection of an offline root.
func BenchmarkInspectFixture(b *testing.B) {
	fx, err := testvm.LoadFixture("ubuntu-22.04")
	if err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := distro.Inspect(ctx, fx.Root, distro.WithProbe(fx.Probe), distro.WithNow(judgeDay)); err != nil {
			b.Fatal(err)
		}
	}
}
