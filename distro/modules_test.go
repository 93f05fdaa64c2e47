package distro

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kconfigTestRoot builds a root holding files; a content starting with "->"
// makes a symlink to the rest (as /proc/self/ns entries are).
func kconfigTestRoot(t *testing.T, files map[string]string) rootFS {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return rootFS{dir: dir}
}

func TestModuleState(t *testing.T) {
	const rel = "6.1.0-18-amd64"
	procModules := "overlay 151552 0 - Live 0x0000000000000000\n" +
		"nf_nat 49152 2 xt_MASQUERADE,iptable_nat, Live 0x0000000000000000\n" +
		"br_netfilter 32768 0 - Live 0x0000000000000000\n"
	modulesDep := "kernel/net/bridge/br_netfilter.ko.zst: kernel/net/bridge/bridge.ko.zst kernel/net/802/stp.ko.zst\n" +
		"kernel/net/bridge/bridge.ko.zst: kernel/net/802/stp.ko.zst kernel/net/llc/llc.ko.zst\n" +
		"kernel/drivers/net/veth.ko.xz:\n" +
		"kernel/drivers/net/ipvlan/ipvlan.ko.gz:\n" +
		"kernel/drivers/hid/hid-generic.ko:\n" +
		"kernel/net/netfilter/nf_conntrack_ftp.ko:\n"
	modulesBuiltin := "kernel/fs/ext4/ext4.ko\nkernel/net/unix/unix.ko\nkernel/drivers/char/tpm/tpm-crb.ko\n"

	full := map[string]string{
		"proc/modules":                            procModules,
		"lib/modules/" + rel + "/modules.dep":     modulesDep,
		"lib/modules/" + rel + "/modules.builtin": modulesBuiltin,
	}
	tests := []struct {
		name    string
		files   map[string]string
		release string
		module  string
		want    string
	}{
		{"loaded", full, rel, "overlay", "loaded"},
		{"loaded wins over loadable", full, rel, "br_netfilter", "loaded"},
		{"builtin", full, rel, "ext4", "builtin"},
		{"loadable .ko.zst", full, rel, "bridge", "module"},
		{"loadable .ko.xz", full, rel, "veth", "module"},
		{"loadable .ko.gz", full, rel, "ipvlan", "module"},
		{"loadable plain .ko", full, rel, "nf_conntrack_ftp", "module"},
		{"dash in file, underscore asked", full, rel, "hid_generic", "module"},
		{"underscore in file, dash asked", full, rel, "nf-conntrack-ftp", "module"},
		{"dash asked of a loaded module", full, rel, "nf-nat", "loaded"},
		{"dash in modules.builtin", full, rel, "tpm_crb", "builtin"},
		{"only a dependency's dependency is not listed", full, rel, "llc", ""},
		{"unknown", full, rel, "zfs", ""},
		{"other release's modules are not this kernel's", full, "6.1.0-99-amd64", "veth", ""},
		{"no release: loaded still known", full, "", "overlay", "loaded"},
		{"no release: nothing else", full, "", "veth", ""},
		{
			"merged /usr modules dir",
			map[string]string{"usr/lib/modules/" + rel + "/modules.dep": "kernel/fs/overlayfs/overlay.ko.zst:\n"},
			rel, "overlay", "module",
		},
		{
			"no /proc/modules: initstate means loaded",
			map[string]string{"sys/module/veth/initstate": "live\n"},
			rel, "veth", "loaded",
		},
		{
			"builtin with parameters has no initstate",
			map[string]string{"proc/modules": procModules, "sys/module/apparmor/parameters/enabled": "Y\n"},
			rel, "apparmor", "builtin",
		},
		{
			"/proc/modules is authoritative over /sys/module",
			map[string]string{"proc/modules": procModules, "sys/module/veth/initstate": "live\n"},
			rel, "veth", "",
		},
		{"empty root", map[string]string{}, rel, "overlay", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kconfigTestRoot(t, tt.files)
			if got := moduleState(r, tt.release, tt.module); got != tt.want {
				t.Errorf("moduleState(%q, %q) = %q, want %q", tt.release, tt.module, got, tt.want)
			}
		})
	}
}
