package distro

import (
	"strconv"
	"strings"
	"time"
)

// familyOf maps a distribution to the family Berth installs it as. A
// derivative resolves through ID_LIKE, so Linux Mint, Pop!_OS, Raspbian,
// Rocky, AlmaLinux and Oracle Linux are not "unsupported" just for their
// name.
func familyOf(id string, like []string) string {
	switch id {
	case "debian", "raspbian":
		return "debian"
	case "ubuntu":
		return "ubuntu"
	case "rhel", "centos", "rocky", "almalinux", "ol", "virtuozzo", "circle", "eurolinux", "cloudlinux":
		return "rhel"
	case "fedora":
		return "fedora"
	case "amzn":
		return "amzn"
	case "alpine":
		return "alpine"
	case "sles", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "sled":
		return "suse"
	case "macos":
		return "macos"
	}
	// The nearest ancestor decides: "ubuntu debian" is Ubuntu's child.
	for _, l := range like {
		switch l {
		case "ubuntu":
			return "ubuntu"
		case "debian":
			return "debian"
		case "rhel", "centos":
			return "rhel"
		case "fedora":
			return "fedora"
		case "suse", "opensuse":
			return "suse"
		}
	}
	return ""
}

// release is one known release of a family and the day its support ends.
type release struct {
	version string
	eol     string // YYYY-MM-DD, "" while supported with no announced end
	name    string
}

// releases lists the releases Berth knows, per family. The end of life is
// the end of the distribution's own free security support (Debian's LTS,
// Ubuntu's standard support, RHEL-family maintenance), which is when a host
// stops getting kernel fixes without a paid plan.
var releases = map[string][]release{
	"ubuntu": {
		{"14.04", "2019-04-25", "trusty"}, {"16.04", "2021-04-30", "xenial"},
		{"18.04", "2023-05-31", "bionic"}, {"20.04", "2025-05-31", "focal"},
		{"22.04", "2027-06-01", "jammy"}, {"23.10", "2024-07-11", "mantic"},
		{"24.04", "2029-05-31", "noble"}, {"24.10", "2025-07-10", "oracular"},
		{"25.04", "2026-01-15", "plucky"}, {"25.10", "2026-07-09", "questing"},
		{"26.04", "2031-05-31", "resolute"},
	},
	"debian": {
		{"7", "2018-05-31", "wheezy"}, {"8", "2020-06-30", "jessie"},
		{"9", "2022-06-30", "stretch"}, {"10", "2024-06-30", "buster"},
		{"11", "2026-08-31", "bullseye"}, {"12", "2028-06-30", "bookworm"},
		{"13", "2030-06-30", "trixie"},
	},
	"rhel": {
		{"6", "2020-11-30", ""}, {"7", "2024-06-30", ""},
		{"8", "2029-05-31", ""}, {"9", "2032-05-31", ""}, {"10", "2035-05-31", ""},
	},
	"fedora": {
		{"39", "2024-11-26", ""}, {"40", "2025-05-13", ""}, {"41", "2025-12-15", ""},
	},
	"amzn": {
		{"2", "2026-06-30", ""}, {"2018.03", "2023-12-31", ""}, {"2023", "2029-06-30", ""},
	},
	"alpine": {
		{"3.17", "2024-11-22", ""}, {"3.18", "2025-05-09", ""}, {"3.19", "2025-11-01", ""},
		{"3.20", "2026-04-01", ""}, {"3.21", "2026-11-01", ""}, {"3.22", "2027-05-01", ""},
		{"3.23", "2027-11-01", ""},
	},
}

// familyNames are the families as people write them.
var familyNames = map[string]string{
	"ubuntu": "Ubuntu", "debian": "Debian", "rhel": "RHEL", "fedora": "Fedora",
	"amzn": "Amazon Linux", "alpine": "Alpine", "suse": "SUSE", "macos": "macOS",
}

// centosStreamEOL holds CentOS Stream's ends, which differ from RHEL's.
var centosStreamEOL = map[string]string{"8": "2024-05-31", "9": "2027-05-31"}

// minRelease is the oldest release per family whose kernel and userland can
// run containers at all; anything older is unsupported, not merely EOL.
var minRelease = map[string]string{
	"ubuntu": "14.04", "debian": "8", "rhel": "7", "fedora": "30", "amzn": "2", "alpine": "3.10",
}

// ubuntuVersionOf maps an Ubuntu codename to its version, for derivatives
// that name their base by codename only.
func ubuntuVersionOf(codename string) string {
	for _, r := range releases["ubuntu"] {
		if r.name == codename {
			return r.version
		}
	}
	return ""
}

// judgeSupport fills Family, FamilyVersion, Support, EOL and Reason.
func judgeSupport(d *Distro, now time.Time) {
	d.Family = familyOf(d.ID, d.Like)
	if d.FamilyVersion == "" {
		d.FamilyVersion = familyVersion(d)
	}
	if d.Family == "" {
		d.Support = Unsupported
		if d.ID == "" {
			d.Reason = "no os-release or other distribution file found"
		} else {
			d.Reason = d.ID + " is not a distribution Berth is tested on; the engine may still work"
		}
		return
	}
	v := d.FamilyVersion
	if d.Family == "suse" {
		d.Support = Supported
		return
	}
	if min, ok := minRelease[d.Family]; ok && v != "" && versionLess(v, min) {
		d.Support = Unsupported
		d.Reason = d.Pretty + " is older than " + familyNames[d.Family] + " " + min + ", the oldest release that can run containers"
		return
	}
	eol := ""
	if d.ID == "centos" && strings.Contains(strings.ToLower(d.Pretty), "stream") {
		eol = centosStreamEOL[v]
	} else {
		for _, r := range releases[d.Family] {
			if r.version == v || (d.Family == "alpine" && strings.HasPrefix(v, r.version+".")) {
				eol = r.eol
				if d.Codename == "" && d.ID == d.Family {
					d.Codename = r.name
				}
			}
		}
	}
	d.EOL = eol
	d.Support = Supported
	if eol != "" {
		if end, err := time.Parse(time.DateOnly, eol); err == nil && !now.Before(end) {
			d.Support = EndOfLife
			d.Reason = d.Pretty + " reached its end of life on " + eol + ": no more security updates"
		}
	}
}

// familyVersion is the release of the family a distribution corresponds to.
func familyVersion(d *Distro) string {
	v := d.Version
	switch d.Family {
	case "rhel", "fedora":
		if major, _, ok := strings.Cut(v, "."); ok {
			return major
		}
	case "debian":
		if major, _, ok := strings.Cut(v, "."); ok {
			return major
		}
		if v == "" || !isDigits(v) {
			for _, r := range releases["debian"] {
				if r.name == d.Codename {
					return r.version
				}
			}
		}
	case "ubuntu":
		if d.ID != "ubuntu" {
			if uv := ubuntuVersionOf(d.Codename); uv != "" {
				return uv
			}
		}
	case "alpine":
		parts := strings.SplitN(v, ".", 3)
		if len(parts) >= 2 {
			return parts[0] + "." + parts[1]
		}
	}
	return v
}

// versionLess compares dotted numeric versions ("3.9" < "3.10").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
