package distro

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// writeRoot makes a root with the given files (a value starting with "->"
// makes a symlink).
func writeRoot(t *testing.T, files map[string]string) rootFS {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if len(content) > 2 && content[:2] == "->" {
			if err := os.Symlink(content[2:], p); err != nil {
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

var judgeDay = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

func TestReadIdentity(t *testing.T) {
	tests := []struct {
		name              string
		files             map[string]string
		id, version, code string
		family, famVer    string
		support           Support
	}{
		{
			name: "Linux Mint 21 is Ubuntu 22.04",
			files: map[string]string{"etc/os-release": `NAME="Linux Mint"
VERSION="21 (Vanessa)"
ID=linuxmint
ID_LIKE="ubuntu debian"
PRETTY_NAME="Linux Mint 21"
VERSION_ID="21"
VERSION_CODENAME=vanessa
UBUNTU_CODENAME=jammy
`},
			id: "linuxmint", version: "21", code: "vanessa", family: "ubuntu", famVer: "22.04", support: Supported,
		},
		{
			name: "Pop!_OS",
			files: map[string]string{"etc/os-release": `NAME="Pop!_OS"
VERSION="22.04 LTS"
ID=pop
ID_LIKE="ubuntu debian"
PRETTY_NAME="Pop!_OS 22.04 LTS"
VERSION_ID="22.04"
VERSION_CODENAME=jammy
UBUNTU_CODENAME=jammy
`},
			id: "pop", version: "22.04", code: "jammy", family: "ubuntu", famVer: "22.04", support: Supported,
		},
		{
			name: "LMDE 6 is Debian 12",
			files: map[string]string{"etc/os-release": `PRETTY_NAME="LMDE 6 (faye)"
NAME="LMDE"
VERSION_ID="6"
VERSION="6 (faye)"
VERSION_CODENAME=faye
ID=linuxmint
ID_LIKE=debian
DEBIAN_CODENAME=bookworm
`},
			id: "linuxmint", version: "6", code: "faye", family: "debian", famVer: "12", support: Supported,
		},
		{
			name: "Oracle Linux 8 as RHEL 8",
			files: map[string]string{"etc/os-release": `NAME="Oracle Linux Server"
VERSION="8.9"
ID="ol"
ID_LIKE="fedora"
VERSION_ID="8.9"
PRETTY_NAME="Oracle Linux Server 8.9"
`},
			id: "ol", version: "8.9", family: "rhel", famVer: "8", support: Supported,
		},
		{
			name: "Debian trixie/sid without VERSION_ID",
			files: map[string]string{"etc/os-release": `PRETTY_NAME="Debian GNU/Linux trixie/sid"
NAME="Debian GNU/Linux"
VERSION_CODENAME=trixie
ID=debian
`, "etc/debian_version": "trixie/sid\n"},
			id: "debian", version: "trixie/sid", code: "trixie", family: "debian", famVer: "13", support: Supported,
		},
		{
			name:  "RHEL 6 from redhat-release only",
			files: map[string]string{"etc/redhat-release": "Red Hat Enterprise Linux Server release 6.10 (Santiago)\n"},
			id:    "rhel", version: "6", code: "santiago", family: "rhel", famVer: "6", support: Unsupported,
		},
		{
			name:  "CentOS 6 from centos-release",
			files: map[string]string{"etc/centos-release": "CentOS release 6.10 (Final)\n"},
			id:    "centos", version: "6", code: "final", family: "rhel", famVer: "6", support: Unsupported,
		},
		{
			name:  "old Debian from debian_version",
			files: map[string]string{"etc/debian_version": "7.11\n"},
			id:    "debian", version: "7", family: "debian", famVer: "7", support: Unsupported,
		},
		{
			name:  "Ubuntu 12.04 from lsb-release",
			files: map[string]string{"etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\nDISTRIB_CODENAME=precise\nDISTRIB_DESCRIPTION=\"Ubuntu 12.04.5 LTS\"\n"},
			id:    "ubuntu", version: "12.04", code: "precise", family: "ubuntu", famVer: "12.04", support: Unsupported,
		},
		{
			name:  "Amazon Linux AMI",
			files: map[string]string{"etc/system-release": "Amazon Linux AMI release 2018.03\n"},
			id:    "amzn", version: "2018.03", family: "amzn", famVer: "2018.03", support: EndOfLife,
		},
		{
			name:  "Arch is unknown, not refused for its name",
			files: map[string]string{"etc/os-release": "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n"},
			id:    "arch", support: Unsupported,
		},
		{
			name:  "Debian 11 is past its LTS on the judging day",
			files: map[string]string{"etc/os-release": "PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\nID=debian\n"},
			id:    "debian", version: "11", code: "bullseye", family: "debian", famVer: "11", support: EndOfLife,
		},
		{
			name:  "os-release in /usr/lib only",
			files: map[string]string{"usr/lib/os-release": "ID=fedora\nVERSION_ID=41\nPRETTY_NAME=\"Fedora Linux 41\"\n"},
			id:    "fedora", version: "41", family: "fedora", famVer: "41", support: EndOfLife,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := readIdentity(writeRoot(t, tt.files))
			judgeSupport(&d, judgeDay)
			if d.ID != tt.id || d.Version != tt.version || d.Codename != tt.code {
				t.Errorf("id %q version %q codename %q; want %q %q %q", d.ID, d.Version, d.Codename, tt.id, tt.version, tt.code)
			}
			if d.Family != tt.family || d.FamilyVersion != tt.famVer {
				t.Errorf("family %q %q; want %q %q", d.Family, d.FamilyVersion, tt.family, tt.famVer)
			}
			if d.Support != tt.support {
				t.Errorf("support %q (%s); want %q", d.Support, d.Reason, tt.support)
			}
			if d.Support != Supported && d.Reason == "" {
				t.Error("no reason given for", d.Support)
			}
		})
	}
}

func TestParseEnvFileQuoting(t *testing.T) {
	kv := parseEnvFile("A=\"x \\\"y\\\" \\$z\"\nB='single $quote'\n# C=comment\nD=plain\n  E = spaced \n")
	want := map[string]string{"A": `x "y" $z`, "B": "single $quote", "D": "plain", "E": "spaced"}
	for k, v := range want {
		if kv[k] != v {
			t.Errorf("%s = %q, want %q", k, kv[k], v)
		}
	}
	if _, ok := kv["C"]; ok {
		t.Error("a comment was parsed")
	}
}

func TestFamilyOf(t *testing.T) {
	for _, tt := range []struct {
		id   string
		like []string
		want string
	}{
		{"raspbian", []string{"debian"}, "debian"},
		{"rocky", []string{"rhel", "centos", "fedora"}, "rhel"},
		{"almalinux", []string{"rhel", "centos", "fedora"}, "rhel"},
		{"elementary", []string{"ubuntu"}, "ubuntu"},
		{"zorin", []string{"ubuntu", "debian"}, "ubuntu"},
		{"kali", []string{"debian"}, "debian"},
		{"opensuse-leap", []string{"suse", "opensuse"}, "suse"},
		{"nixos", nil, ""},
	} {
		if got := familyOf(tt.id, tt.like); got != tt.want {
			t.Errorf("familyOf(%s, %v) = %q, want %q", tt.id, tt.like, got, tt.want)
		}
	}
	if !slices.Contains(readIdentity(writeRoot(t, map[string]string{"etc/os-release": "ID=neon\nUBUNTU_CODENAME=noble\n"})).Like, "ubuntu") {
		t.Error("UBUNTU_CODENAME should make a distribution Ubuntu-like")
	}
}
