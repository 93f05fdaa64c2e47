package caps

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNamesMatchKernel(t *testing.T) {
	for n, c := range map[string]int{
		"CAP_CHOWN": unix.CAP_CHOWN, "CAP_SETPCAP": unix.CAP_SETPCAP, "CAP_NET_RAW": unix.CAP_NET_RAW,
		"CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN, "CAP_MKNOD": unix.CAP_MKNOD, "CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE,
		"CAP_SETFCAP": unix.CAP_SETFCAP, "CAP_SYSLOG": unix.CAP_SYSLOG, "CAP_AUDIT_READ": unix.CAP_AUDIT_READ,
		"CAP_PERFMON": unix.CAP_PERFMON, "CAP_BPF": unix.CAP_BPF, "CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
	} {
		if number(n) != c {
			t.Errorf("%s is %d here, %d in <linux/capability.h>", n, number(n), c)
		}
	}
	if len(names)-1 != unix.CAP_LAST_CAP {
		t.Errorf("the table ends at %d, CAP_LAST_CAP is %d", len(names)-1, unix.CAP_LAST_CAP)
	}
}

func TestLastCap(t *testing.T) {
	if got, probed := lastCap(), probeLastCap(); got != probed {
		t.Errorf("cap_last_cap says %d, PR_CAPBSET_READ says %d", got, probed)
	}
}

func TestResolveHost(t *testing.T) {
	host, err := hostBounding()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(nil, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := Mask(got); m != host&known {
		t.Errorf("privileged = %#x, CapBnd is %#x", m, host)
	}
}

// helperEnv carries a scenario to the test binary run as a child.
const helperEnv = "BERTH_CAPS_TEST_HELPER"

type scenario struct {
	Keep []string
	UID  int // non-zero: keep capabilities across a change to this uid first
	Argv []string
}

// TestHelperProcess is the child: it applies a scenario on a locked thread
// and executes its program, as the container runtime will.
func TestHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		return
	}
	var sc scenario
	if err := json.Unmarshal([]byte(spec), &sc); err != nil {
		helperFail(err)
	}
	runtime.LockOSThread()
	if sc.UID != 0 {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			helperFail(err)
		}
		if err := unix.Setgroups(nil); err != nil {
			helperFail(err)
		}
		if err := unix.Setgid(sc.UID); err != nil {
			helperFail(err)
		}
		if err := unix.Setuid(sc.UID); err != nil {
			helperFail(err)
		}
	}
	if err := Apply(sc.Keep); err != nil {
		helperFail(err)
	}
	// What the thread holds before exec: for a non-root uid, exec clears it.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		helperFail(err)
	}
	fmt.Printf("thread: eff=%x prm=%x inh=%x\n",
		uint64(data[0].Effective)|uint64(data[1].Effective)<<32,
		uint64(data[0].Permitted)|uint64(data[1].Permitted)<<32,
		uint64(data[0].Inheritable)|uint64(data[1].Inheritable)<<32)
	helperFail(unix.Exec(sc.Argv[0], sc.Argv, []string{"PATH=/usr/bin:/bin"}))
}

func helperFail(err error) {
	fmt.Fprintln(os.Stderr, "helper:", err)
	os.Exit(99)
}

// runHelper runs sc in a child and returns what it printed.
func runHelper(t *testing.T, sc scenario) (string, error) {
	t.Helper()
	spec, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(spec))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// statusCaps returns the Cap* lines of a /proc/<pid>/status dump.
func statusCaps(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.HasPrefix(k, "Cap") {
			m[k] = strings.TrimSpace(v)
		}
	}
	if len(m) != 5 {
		t.Fatalf("no capability lines in:\n%s", out)
	}
	return m
}

func TestApply(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: Apply drops from the bounding set, which takes CAP_SETPCAP")
	}
	def, err := Resolve(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	none, err := Resolve(nil, []string{"ALL"}, false)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := Resolve([]string{"SYS_ADMIN"}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	grep := []string{"/usr/bin/grep", "^Cap", "/proc/self/status"}
	tests := []struct {
		name   string
		sc     scenario
		want   map[string]string
		thread string
	}{
		{"default", scenario{Keep: def, Argv: grep}, map[string]string{
			"CapInh": "0000000000000000", "CapPrm": "00000000a80425fb", "CapEff": "00000000a80425fb",
			"CapBnd": "00000000a80425fb", "CapAmb": "0000000000000000",
		}, "thread: eff=a80425fb prm=a80425fb inh=0"},
		{"cap-drop ALL", scenario{Keep: none, Argv: grep}, map[string]string{
			"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
			"CapBnd": "0000000000000000", "CapAmb": "0000000000000000",
		}, "thread: eff=0 prm=0 inh=0"},
		{"cap-add SYS_ADMIN", scenario{Keep: admin, Argv: grep}, map[string]string{
			"CapEff": "00000000a82425fb", "CapBnd": "00000000a82425fb",
		}, "thread: eff=a82425fb prm=a82425fb inh=0"},
		// As docker run -u 65534: the thread keeps the set up to exec, the
		// program starts with none, under the container's bounding set.
		{"non-root user", scenario{Keep: def, UID: 65534, Argv: grep}, map[string]string{
			"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
			"CapBnd": "00000000a80425fb", "CapAmb": "0000000000000000",
		}, "thread: eff=a80425fb prm=a80425fb inh=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runHelper(t, tt.sc)
			if err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			if !strings.Contains(out, tt.thread+"\n") {
				t.Errorf("want %q in:\n%s", tt.thread, out)
			}
			got := statusCaps(t, out)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %s, want %s", k, got[k], v)
				}
			}
		})
	}
}

// TestApplyRefusesWhatIsNotHeld: a capability the thread lacks is named,
// not silently left out.
func TestApplyRefusesWhatIsNotHeld(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop capabilities in a child")
	}
	host, err := hostBounding()
	if err != nil {
		t.Fatal(err)
	}
	missing := namesOf(known &^ host)
	if len(missing) == 0 {
		t.Skip("the host's bounding set has every capability; none to refuse")
	}
	keep := append(slices.Clone(Default), missing[0])
	out, err := runHelper(t, scenario{Keep: keep, Argv: []string{"/bin/true"}})
	if err == nil || !strings.Contains(out, "does not hold "+missing[0]) {
		t.Errorf("err %v, output:\n%s", err, out)
	}
}
