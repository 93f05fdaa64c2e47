package distro

import (
	"regexp"
	"strings"
	"sync"
)

// parseEnvFile parses os-release and lsb-release style files: KEY=value
// lines, values optionally in single or double quotes with shell escapes.
func parseEnvFile(text string) map[string]string {
	kv := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		kv[strings.TrimSpace(k)] = unquote(strings.TrimSpace(v))
	}
	return kv
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '\'' {
			return v
		}
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
				i++
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	return v
}

// readIdentity finds the distribution identity under the root: os-release
// first, then the files older systems have instead.
func readIdentity(r rootFS) Distro {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if text := r.text(p); text != "" {
			kv := parseEnvFile(text)
			d := Distro{
				ID:       strings.ToLower(kv["ID"]),
				Like:     strings.Fields(strings.ToLower(kv["ID_LIKE"])),
				Version:  kv["VERSION_ID"],
				Codename: kv["VERSION_CODENAME"],
				Pretty:   kv["PRETTY_NAME"],
				Source:   p,
			}
			if d.Codename == "" {
				d.Codename = kv["UBUNTU_CODENAME"]
			}
			if d.Codename == "" {
				d.Codename = codenameFromVersion(kv["VERSION"])
			}
			if d.Pretty == "" {
				d.Pretty = strings.TrimSpace(kv["NAME"] + " " + kv["VERSION"])
			}
			if d.Version == "" && d.ID == "debian" {
				// Debian testing and sid have no VERSION_ID.
				d.Version = debianVersionFile(r)
			}
			// Ubuntu derivatives say which Ubuntu they are built on.
			if uc := kv["UBUNTU_CODENAME"]; uc != "" {
				d.Like = appendMissing(d.Like, "ubuntu")
				if v := ubuntuVersionOf(uc); v != "" {
					d.FamilyVersion = v
				}
			}
			// So does LMDE with Debian.
			if dc := kv["DEBIAN_CODENAME"]; dc != "" && d.FamilyVersion == "" {
				for _, rel := range releases["debian"] {
					if rel.name == dc {
						d.FamilyVersion = rel.version
					}
				}
			}
			if d.ID == "" {
				d.ID = "linux"
			}
			return d
		}
	}
	if kv := parseEnvFile(r.text("/etc/lsb-release")); kv["DISTRIB_ID"] != "" {
		return Distro{
			ID:       strings.ToLower(kv["DISTRIB_ID"]),
			Version:  kv["DISTRIB_RELEASE"],
			Codename: kv["DISTRIB_CODENAME"],
			Pretty:   kv["DISTRIB_DESCRIPTION"],
			Like:     []string{},
			Source:   "/etc/lsb-release",
		}
	}
	for _, p := range []string{"/etc/redhat-release", "/etc/centos-release", "/etc/system-release"} {
		if text := r.text(p); text != "" {
			return parseReleaseLine(strings.Split(text, "\n")[0], p)
		}
	}
	if v := r.text("/etc/alpine-release"); v != "" {
		return Distro{ID: "alpine", Version: v, Pretty: "Alpine Linux v" + v, Like: []string{}, Source: "/etc/alpine-release"}
	}
	if v := debianVersionFile(r); v != "" {
		return Distro{ID: "debian", Version: v, Pretty: "Debian GNU/Linux " + v, Like: []string{}, Source: "/etc/debian_version"}
	}
	return Distro{Like: []string{}}
}

// debianVersionFile returns Debian's major version from /etc/debian_version
// ("7.11" → "7"), or the codename a testing system writes ("trixie/sid").
func debianVersionFile(r rootFS) string {
	v := r.text("/etc/debian_version")
	if v == "" {
		return ""
	}
	if major, _, ok := strings.Cut(v, "."); ok && isDigits(major) {
		return major
	}
	return v
}

var releaseLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.*?) release ([0-9][0-9.]*)(?: \(([^)]*)\))?`) })

// parseReleaseLine reads "CentOS Linux release 7.9.2009 (Core)", "Red Hat
// Enterprise Linux Server release 6.10 (Santiago)" or "Amazon Linux AMI
// release 2018.03".
func parseReleaseLine(line, source string) Distro {
	m := releaseLine().FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return Distro{ID: "linux", Pretty: line, Like: []string{}, Source: source}
	}
	name, version := m[1], m[2]
	d := Distro{Version: version, Pretty: strings.TrimSpace(line), Like: []string{}, Source: source}
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "centos"):
		d.ID, d.Like = "centos", []string{"rhel", "fedora"}
	case strings.HasPrefix(lower, "red hat"):
		d.ID, d.Like = "rhel", []string{"fedora"}
	case strings.HasPrefix(lower, "rocky"):
		d.ID, d.Like = "rocky", []string{"rhel", "centos", "fedora"}
	case strings.HasPrefix(lower, "almalinux"):
		d.ID, d.Like = "almalinux", []string{"rhel", "centos", "fedora"}
	case strings.HasPrefix(lower, "oracle"):
		d.ID, d.Like = "ol", []string{"fedora"}
	case strings.HasPrefix(lower, "fedora"):
		d.ID = "fedora"
	case strings.HasPrefix(lower, "amazon"):
		d.ID, d.Like = "amzn", []string{"centos", "rhel", "fedora"}
	default:
		d.ID = strings.ToLower(strings.Fields(name)[0])
	}
	// RHEL-family versions are named by their major release (7.9 → 7).
	if d.ID != "amzn" {
		if major, _, ok := strings.Cut(version, "."); ok {
			d.Version = major
		}
	}
	if len(m) > 3 {
		d.Codename = strings.ToLower(m[3])
	}
	return d
}

// codenameFromVersion takes the codename from VERSION="9 (stretch)".
func codenameFromVersion(v string) string {
	i, j := strings.IndexByte(v, '('), strings.IndexByte(v, ')')
	if i < 0 || j < i {
		return ""
	}
	word := strings.Fields(strings.ToLower(v[i+1 : j]))
	if len(word) == 0 {
		return ""
	}
	return word[0]
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func appendMissing(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
