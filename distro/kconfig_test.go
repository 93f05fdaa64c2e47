package distro

import (
	"bytes"
	"compress/gzip"
	"slices"
	"strings"
	"testing"
)

const testConfig = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_LOCALVERSION="-generic"
CONFIG_NAMESPACES=y
CONFIG_KEYS=y
CONFIG_OVERLAY_FS=m
CONFIG_NR_CPUS=8192
# CONFIG_USER_NS is not set
CONFIG_NOT_ASKED_ABOUT=y
`

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestReadKernelConfig(t *testing.T) {
	const rel = "5.15.0-91-generic"
	gz := gzipped(t, testConfig)
	other := "CONFIG_OVERLAY_FS=y\n"
	tests := []struct {
		name    string
		release string
		files   map[string]string
		source  string
		overlay string
	}{
		{"plain /boot config", rel, map[string]string{"boot/config-" + rel: testConfig}, "/boot/config-" + rel, "m"},
		{"gzipped /proc/config.gz first", rel,
			map[string]string{"proc/config.gz": gz, "boot/config-" + rel: other}, "/proc/config.gz", "m"},
		{"gzip content under a plain name", rel, map[string]string{"boot/config-" + rel: gz}, "/boot/config-" + rel, "m"},
		{"corrupt gzip skipped", rel,
			map[string]string{"proc/config.gz": "\x1f\x8b\x08garbage", "boot/config-" + rel: other}, "/boot/config-" + rel, "y"},
		{"truncated gzip skipped", rel,
			map[string]string{"proc/config.gz": gz[:len(gz)/2], "boot/config-" + rel: other}, "/boot/config-" + rel, "y"},
		{"corrupt gzip alone is no config", rel, map[string]string{"proc/config.gz": "\x1f\x8bnot really"}, "", ""},
		{"empty file skipped", rel,
			map[string]string{"boot/config-" + rel: "", "usr/src/linux/.config": other}, "/usr/src/linux/.config", "y"},
		{"modules dir config", rel, map[string]string{"lib/modules/" + rel + "/config": other}, "/lib/modules/" + rel + "/config", "y"},
		{"kernel sources of the release", rel,
			map[string]string{"usr/src/linux-" + rel + "/.config": other, "usr/src/linux/.config": testConfig},
			"/usr/src/linux-" + rel + "/.config", "y"},
		{"Alpine flavor", "6.6.14-0-lts", map[string]string{"boot/config-lts": testConfig}, "/boot/config-lts", "m"},
		{"Alpine: the release's own config first", "6.6.14-0-lts",
			map[string]string{"boot/config-lts": other, "boot/config-6.6.14-0-lts": testConfig}, "/boot/config-6.6.14-0-lts", "m"},
		{"another kernel's config is not read", rel, map[string]string{"boot/config-6.8.0-40-generic": testConfig}, "", ""},
		{"nothing", rel, map[string]string{}, "", ""},
		{"no release: only release-free places", "", map[string]string{"boot/config-" + rel: testConfig}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc := readKernelConfig(kconfigTestRoot(t, tt.files), tt.release)
			if kc.Source != tt.source {
				t.Fatalf("Source = %q, want %q", kc.Source, tt.source)
			}
			if tt.source == "" {
				if kc.Options != nil {
					t.Fatalf("Options = %v, want nil when no config is readable", kc.Options)
				}
				return
			}
			if got := kc.Options["CONFIG_OVERLAY_FS"]; got != tt.overlay {
				t.Errorf("CONFIG_OVERLAY_FS = %q, want %q", got, tt.overlay)
			}
		})
	}
}

func TestReadKernelConfigValues(t *testing.T) {
	const rel = "5.15.0-91-generic"
	kc := readKernelConfig(kconfigTestRoot(t, map[string]string{"boot/config-" + rel: testConfig}), rel)
	for name, want := range map[string]string{
		"CONFIG_NAMESPACES": "y",
		"CONFIG_OVERLAY_FS": "m",
		"CONFIG_USER_NS":    "", // is not set
		"CONFIG_CGROUP_BPF": "", // absent
		"CONFIG_IP_NF_NAT":  "", // an alternative, absent
	} {
		got, ok := kc.Options[name]
		if !ok {
			t.Errorf("%s missing from Options; every option asked about should be there", name)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"CONFIG_NOT_ASKED_ABOUT", "CONFIG_LOCALVERSION", "CONFIG_NR_CPUS"} {
		if _, ok := kc.Options[name]; ok {
			t.Errorf("%s kept, but Berth does not ask about it", name)
		}
	}
}

func TestKernelOptionsTable(t *testing.T) {
	seen := map[string]bool{}
	names := kernelConfigNames()
	for _, o := range kernelOptions {
		if seen[o.name] {
			t.Errorf("%s listed twice", o.name)
		}
		seen[o.name] = true
		if !strings.HasPrefix(o.name, "CONFIG_") || o.what == "" {
			t.Errorf("%+v: needs a CONFIG_ name and what it is for", o)
		}
		for _, alt := range o.anyOf {
			if !names[alt] {
				t.Errorf("%s: alternative %s would not be read from the config", o.name, alt)
			}
		}
	}
	if o := kernelOptions[slices.IndexFunc(kernelOptions, func(o kernelOption) bool { return o.name == "CONFIG_OVERLAY_FS" })]; !o.required {
		t.Error("CONFIG_OVERLAY_FS must be required: overlay is Berth's only storage driver")
	}
}

// configOf is a config with every option asked about set to y, except those
// given (name to value, "" for not set).
func configOf(except map[string]string) map[string]string {
	opts := map[string]string{}
	for name := range kernelConfigNames() {
		opts[name] = "y"
	}
	for name, val := range except {
		opts[name] = val
	}
	return opts
}

func checkByID(checks []Check, id string) (Check, bool) {
	for _, c := range checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

func TestKconfigChecksVersionRules(t *testing.T) {
	tests := []struct {
		release string
		option  string
		asked   bool
	}{
		{"4.19.0-25-amd64", "CONFIG_NF_NAT_IPV4", true},
		{"5.15.0-91-generic", "CONFIG_NF_NAT_IPV4", false},
		{"5.2.0", "CONFIG_NF_NAT_NEEDED", true},
		{"5.3.0", "CONFIG_NF_NAT_NEEDED", false},
		{"3.10.0-1160.el7.x86_64", "CONFIG_DEVPTS_MULTIPLE_INSTANCES", true},
		{"5.10.0-28-amd64", "CONFIG_DEVPTS_MULTIPLE_INSTANCES", false},
		{"3.10.0-1160.el7.x86_64", "CONFIG_CGROUP_BPF", false},
		{"4.15.0-213-generic", "CONFIG_CGROUP_BPF", true},
		{"5.4.0-150-generic", "CONFIG_MEMCG_SWAP_ENABLED", true},
		{"5.8.0", "CONFIG_MEMCG_SWAP_ENABLED", false},
		{"6.1.0-18-amd64", "CONFIG_MEMCG_SWAP", false},
		{"6.1.0-18-amd64", "CONFIG_OVERLAY_FS", true},
	}
	for _, tt := range tests {
		t.Run(tt.release+"/"+tt.option, func(t *testing.T) {
			// Unset its alternatives too, so that asked means judged on it.
			unset := map[string]string{tt.option: ""}
			for _, o := range kernelOptions {
				if o.name == tt.option {
					for _, alt := range o.anyOf {
						unset[alt] = ""
					}
				}
			}
			f := &Facts{
				Kernel:       newKernel(tt.release, "uname"),
				KernelConfig: KernelConfig{Source: "/boot/config", Options: configOf(unset)},
			}
			c, asked := checkByID(kconfigChecks(f, kconfigTestRoot(t, nil)), "kconfig."+tt.option)
			if asked != tt.asked {
				t.Fatalf("%s asked on %s: %v, want %v", tt.option, tt.release, asked, tt.asked)
			}
			if asked && c.Status == OK {
				t.Errorf("%s is not set but reported ok: %+v", tt.option, c)
			}
		})
	}
}

func TestKconfigChecksStatus(t *testing.T) {
	tests := []struct {
		name     string
		release  string
		cgroup   string
		wsl      string
		except   map[string]string
		files    map[string]string
		id       string
		status   Status // "" when the check must be absent
		required bool
		message  string // a part the message must have
		fix      string // a part the fix must have
	}{
		{name: "module is ok", release: "6.1.0-18-amd64", except: map[string]string{"CONFIG_OVERLAY_FS": "m"},
			id: "kconfig.CONFIG_OVERLAY_FS", status: OK, required: true, message: "CONFIG_OVERLAY_FS=m: overlay storage"},
		{name: "required missing fails", release: "6.1.0-18-amd64", except: map[string]string{"CONFIG_OVERLAY_FS": ""},
			id: "kconfig.CONFIG_OVERLAY_FS", status: Fail, required: true,
			message: "CONFIG_OVERLAY_FS is not set: overlay storage unavailable", fix: "kernel built with CONFIG_OVERLAY_FS"},
		{name: "optional missing warns", release: "6.1.0-18-amd64", except: map[string]string{"CONFIG_USER_NS": ""},
			id: "kconfig.CONFIG_USER_NS", status: Warn,
			message: "CONFIG_USER_NS is not set: user namespaces (rootless, userns-remap) unavailable", fix: "CONFIG_USER_NS"},
		{name: "WSL is told to update its kernel", release: "5.15.133.1-microsoft-standard-WSL2", wsl: "2",
			except: map[string]string{"CONFIG_VETH": ""}, id: "kconfig.CONFIG_VETH", status: Fail, required: true,
			fix: "wsl --update"},
		{name: "backported NAT merge: NF_NAT stands in for NF_NAT_IPV4", release: "4.18.0-513.el8.x86_64",
			except: map[string]string{"CONFIG_NF_NAT_IPV4": "", "CONFIG_NF_NAT": "m"},
			id:     "kconfig.CONFIG_NF_NAT_IPV4", status: OK, required: true, message: "CONFIG_NF_NAT=m"},
		{name: "NF_NAT_IPV4 and NF_NAT both missing fails", release: "4.19.0-25-amd64",
			except: map[string]string{"CONFIG_NF_NAT_IPV4": "", "CONFIG_NF_NAT": ""},
			id:     "kconfig.CONFIG_NF_NAT_IPV4", status: Fail, required: true},
		{name: "iptables serves where nftables is missing", release: "4.9.0-19-amd64",
			except: map[string]string{"CONFIG_NFT_NAT": "", "CONFIG_IP_NF_NAT": "m"},
			id:     "kconfig.CONFIG_NFT_NAT", status: OK, required: true, message: "CONFIG_IP_NF_NAT=m stands in for CONFIG_NFT_NAT"},
		{name: "neither packet filter fails", release: "6.1.0-18-amd64",
			except: map[string]string{"CONFIG_NF_TABLES": "", "CONFIG_IP_NF_FILTER": ""},
			id:     "kconfig.CONFIG_NF_TABLES", status: Fail, required: true, message: "CONFIG_NF_TABLES is not set"},
		{name: "swap accounting off in config", release: "4.19.0-25-amd64",
			except: map[string]string{"CONFIG_MEMCG_SWAP_ENABLED": ""},
			id:     "kconfig.CONFIG_MEMCG_SWAP_ENABLED", status: Warn, fix: "swapaccount=1"},
		{name: "swap accounting on at boot", release: "4.19.0-25-amd64",
			except: map[string]string{"CONFIG_MEMCG_SWAP_ENABLED": ""},
			files:  map[string]string{"sys/fs/cgroup/memory/memory.memsw.limit_in_bytes": "9223372036854771712\n"},
			id:     "kconfig.CONFIG_MEMCG_SWAP_ENABLED", status: OK, message: "swapaccount=1 turned it on"},
		{name: "unknown kernel version: a version-bound option not set is unknown", release: "",
			except: map[string]string{"CONFIG_DEVPTS_MULTIPLE_INSTANCES": ""},
			id:     "kconfig.CONFIG_DEVPTS_MULTIPLE_INSTANCES", status: Unknown, required: true},
		{name: "unknown kernel version: a version-bound option set is ok", release: "",
			id: "kconfig.CONFIG_NF_NAT_IPV4", status: OK, required: true},
		{name: "unknown kernel version: others judged as usual", release: "",
			except: map[string]string{"CONFIG_VETH": ""}, id: "kconfig.CONFIG_VETH", status: Fail, required: true},
		{name: "cgroup v1 asks for the memory controller", release: "5.4.0-150-generic", cgroup: CgroupV1,
			except: map[string]string{"CONFIG_MEMCG": ""}, id: "kconfig.CONFIG_MEMCG", status: Warn, fix: "CONFIG_MEMCG"},
		{name: "cgroup v1 requires the devices controller", release: "5.4.0-150-generic", cgroup: CgroupHybrid,
			except: map[string]string{"CONFIG_CGROUP_DEVICE": ""}, id: "kconfig.CONFIG_CGROUP_DEVICE", status: Fail, required: true},
		{name: "cgroup v2 requires BPF", release: "6.1.0-18-amd64", cgroup: CgroupV2,
			except: map[string]string{"CONFIG_CGROUP_BPF": ""}, id: "kconfig.CONFIG_CGROUP_BPF", status: Fail, required: true},
		{name: "cgroup v1 does not need BPF", release: "6.1.0-18-amd64", cgroup: CgroupV1,
			except: map[string]string{"CONFIG_CGROUP_BPF": ""}, id: "kconfig.CONFIG_CGROUP_BPF"},
		{name: "cgroup v2 does not", release: "6.1.0-18-amd64", cgroup: CgroupV2,
			except: map[string]string{"CONFIG_MEMCG": ""}, id: "kconfig.CONFIG_MEMCG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Facts{
				Kernel:       newKernel(tt.release, "uname"),
				Cgroup:       Cgroup{Mode: tt.cgroup},
				Environment:  Environment{WSL: tt.wsl},
				KernelConfig: KernelConfig{Source: "/boot/config", Options: configOf(tt.except)},
			}
			c, ok := checkByID(kconfigChecks(f, kconfigTestRoot(t, tt.files)), tt.id)
			if tt.status == "" {
				if ok {
					t.Fatalf("%s should not be asked: %+v", tt.id, c)
				}
				return
			}
			if !ok {
				t.Fatalf("no %s check", tt.id)
			}
			if c.Status != tt.status || c.Required != tt.required {
				t.Errorf("status %s required %v, want %s %v (%s)", c.Status, c.Required, tt.status, tt.required, c.Message)
			}
			if !strings.Contains(c.Message, tt.message) {
				t.Errorf("message %q, want it to contain %q", c.Message, tt.message)
			}
			if !strings.Contains(c.Fix, tt.fix) {
				t.Errorf("fix %q, want it to contain %q", c.Fix, tt.fix)
			}
			if (c.Status == Warn || c.Status == Fail) && c.Fix == "" {
				t.Errorf("%s is %s with no fix", c.ID, c.Status)
			}
			if c.Status == OK && c.Fix != "" {
				t.Errorf("%s is ok but has a fix %q", c.ID, c.Fix)
			}
		})
	}
}

func TestKconfigChecksAllSet(t *testing.T) {
	f := &Facts{
		Kernel:       newKernel("6.1.0-18-amd64", "uname"),
		Cgroup:       Cgroup{Mode: CgroupV2},
		KernelConfig: KernelConfig{Source: "/boot/config", Options: configOf(nil)},
	}
	checks := kconfigChecks(f, kconfigTestRoot(t, nil))
	if len(checks) < 25 {
		t.Fatalf("only %d checks on 6.1", len(checks))
	}
	var ids []string
	for _, c := range checks {
		if c.Status != OK {
			t.Errorf("%s: %s with every option set: %s", c.ID, c.Status, c.Message)
		}
		ids = append(ids, c.ID)
	}
	// Table order, so reports and golden files do not shuffle.
	var want []string
	for _, o := range kernelOptions {
		if _, ok := checkByID(checks, "kconfig."+o.name); ok {
			want = append(want, "kconfig."+o.name)
		}
	}
	if !slices.Equal(ids, want) {
		t.Errorf("checks out of table order:\n%v\nwant\n%v", ids, want)
	}
	if again := kconfigChecks(f, kconfigTestRoot(t, nil)); !slices.Equal(again, checks) {
		t.Error("a second run gave other checks")
	}
}

func TestKconfigChecksWithoutConfig(t *testing.T) {
	const rel = "6.1.0-18-amd64"
	r := kconfigTestRoot(t, map[string]string{
		"proc/filesystems":  "nodev\tsysfs\nnodev\tmqueue\n\text4\nnodev\toverlay\n",
		"proc/cgroups":      "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t0\t120\t1\nmemory\t0\t120\t1\n",
		"proc/self/status":  "Name:\tcat\nSeccomp:\t0\nSeccomp_filters:\t0\n",
		"proc/self/ns/user": "->user:[4026531837]",
		"proc/self/ns/net":  "->net:[4026531840]",
		"proc/modules":      "br_netfilter 32768 0 - Live 0x0000000000000000\n",
		"lib/modules/" + rel + "/modules.dep": "kernel/drivers/net/veth.ko.zst:\n" +
			"kernel/net/bridge/br_netfilter.ko.zst: kernel/net/bridge/bridge.ko.zst\n",
		"lib/modules/" + rel + "/modules.builtin": "kernel/net/bridge/bridge.ko\n",
	})
	f := &Facts{Kernel: newKernel(rel, "uname"), Cgroup: Cgroup{Mode: CgroupV1}}
	checks := kconfigChecks(f, r)
	want := map[string]struct {
		status  Status
		message string
	}{
		"kconfig.CONFIG_OVERLAY_FS":       {OK, "overlay in /proc/filesystems (no kernel config readable)"},
		"kconfig.CONFIG_POSIX_MQUEUE":     {OK, "mqueue in /proc/filesystems (no kernel config readable)"},
		"kconfig.CONFIG_USER_NS":          {OK, "/proc/self/ns/user exists (no kernel config readable)"},
		"kconfig.CONFIG_NET_NS":           {OK, "/proc/self/ns/net exists (no kernel config readable)"},
		"kconfig.CONFIG_PID_NS":           {Unknown, "no kernel config readable"},
		"kconfig.CONFIG_MEMCG":            {OK, "memory controller in /proc/cgroups (no kernel config readable)"},
		"kconfig.CONFIG_CGROUP_FREEZER":   {Unknown, "no kernel config readable"},
		"kconfig.CONFIG_SECCOMP":          {OK, "Seccomp: in /proc/self/status (no kernel config readable)"},
		"kconfig.CONFIG_SECCOMP_FILTER":   {OK, "Seccomp_filters: in /proc/self/status (no kernel config readable)"},
		"kconfig.CONFIG_VETH":             {OK, "veth module available (no kernel config readable)"},
		"kconfig.CONFIG_BRIDGE":           {OK, "bridge built into the kernel (no kernel config readable)"},
		"kconfig.CONFIG_BRIDGE_NETFILTER": {OK, "br_netfilter module loaded (no kernel config readable)"},
		"kconfig.CONFIG_KEYS":             {Unknown, "no kernel config readable"},
	}
	for id, w := range want {
		c, ok := checkByID(checks, id)
		if !ok {
			t.Errorf("no %s check", id)
			continue
		}
		name := strings.TrimPrefix(id, "kconfig.")
		if c.Status != w.status || !strings.HasPrefix(c.Message, name+": "+w.message) {
			t.Errorf("%s: %s %q, want %s %q", id, c.Status, c.Message, w.status, w.message)
		}
	}
	for _, c := range checks {
		if c.Status == Fail || c.Status == Warn || c.Failed() {
			t.Errorf("%s: %s without a kernel config: %s", c.ID, c.Status, c.Message)
		}
	}
	// Version rules still hold without a config.
	if _, ok := checkByID(checks, "kconfig.CONFIG_NF_NAT_IPV4"); ok {
		t.Error("CONFIG_NF_NAT_IPV4 asked on 6.1")
	}
}
