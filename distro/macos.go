package distro

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// systemVersionPlist is the file sw_vers reads.
const systemVersionPlist = "/System/Library/CoreServices/SystemVersion.plist"

// macCodenames names the macOS major releases Berth knows.
var macCodenames = map[string]string{
	"11": "Big Sur", "12": "Monterey", "13": "Ventura", "14": "Sonoma", "15": "Sequoia", "26": "Tahoe",
}

// macEOL is when Apple shipped its last security update for a release
// (Apple patches the current release and the two before it).
var macEOL = map[string]string{"11": "2023-09-26", "12": "2024-09-16", "13": "2025-09-15"}

// MinMacOS is the oldest macOS whose Virtualization.framework runs Berth's
// Linux VM with shared folders (virtio-fs arrived in macOS 12).
const MinMacOS = 12

// MinMacMemory is the least memory a Mac needs to give the VM its share.
const MinMacMemory = 4 << 30

// parsePlistDict reads the top-level string values of an XML property list.
func parsePlistDict(rd io.Reader) (map[string]string, error) {
	dec := xml.NewDecoder(rd)
	kv := map[string]string{}
	depth := 0
	key := ""
	var elem string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			elem = t.Name.Local
			if elem == "dict" && depth > 2 {
				return nil, errors.New("nested dictionaries are not expected in SystemVersion.plist")
			}
		case xml.EndElement:
			depth--
			elem = ""
		case xml.CharData:
			switch elem {
			case "key":
				key = string(t)
			case "string":
				if key != "" {
					kv[key] = string(t)
					key = ""
				}
			}
		}
	}
	if len(kv) == 0 {
		return nil, errors.New("no keys in property list")
	}
	return kv, nil
}

// detectMac fills the facts of a macOS host from SystemVersion.plist and
// the sysctl probe.
func detectMac(r rootFS, f *Facts, p Probe) error {
	b, err := r.read(systemVersionPlist)
	if err != nil {
		return err
	}
	kv, err := parsePlistDict(strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	version := kv["ProductVersion"]
	major, _, _ := strings.Cut(version, ".")
	m := &Mac{Version: version, Build: kv["ProductBuildVersion"], ProductName: kv["ProductName"], Hypervisor: "unknown"}
	f.OS = "darwin"
	f.Distro = Distro{
		ID: "macos", Like: []string{}, Version: version, Codename: macCodenames[major],
		Family: "macos", FamilyVersion: major, Source: systemVersionPlist,
	}
	f.Distro.Pretty = strings.TrimSpace("macOS " + version + " " + f.Distro.Codename)

	sysctl := func(name string) string {
		v, err := p.Sysctl(name)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(v)
	}
	if rel := sysctl("kern.osrelease"); rel != "" {
		f.Kernel = newKernel(rel, "kern.osrelease")
	}
	m.CPU = sysctl("machdep.cpu.brand_string")
	switch arm := sysctl("hw.optional.arm64"); {
	case arm == "1":
		// Also true under Rosetta, which is what decides the chip.
		m.Chip = "apple"
	case arm == "0" || strings.Contains(m.CPU, "Intel"):
		m.Chip = "intel"
	case strings.HasPrefix(m.CPU, "Apple"):
		m.Chip = "apple"
	}
	if mem, err := strconv.ParseUint(sysctl("hw.memsize"), 10, 64); err == nil {
		m.MemBytes = mem
	}
	switch sysctl("kern.hv_support") {
	case "1":
		m.Hypervisor = "yes"
	case "0":
		m.Hypervisor = "no"
	}
	switch sysctl("sysctl.proc_translated") {
	case "1":
		m.Rosetta = "translated"
	case "0":
		m.Rosetta = "native"
	}
	m.Virtualized = sysctl("kern.hv_vmm_present") == "1"
	f.Mac = m
	f.Arch = ""
	switch m.Chip {
	case "apple":
		f.ArchInfo = Arch{Name: "arm64", Machine: "arm64", Source: "hw.optional.arm64", Supported: true}
	case "intel":
		f.ArchInfo = Arch{Name: "amd64", Machine: "x86_64", Source: "hw.optional.arm64", Supported: true}
	default:
		f.ArchInfo = Arch{Name: "unknown", Source: "none", Reason: "the Mac's chip could not be read (sysctl hw.optional.arm64)"}
	}
	return nil
}

// judgeMacSupport fills the support fields of a macOS release.
func judgeMacSupport(d *Distro, now time.Time) {
	major, err := strconv.Atoi(d.FamilyVersion)
	switch {
	case err != nil:
		d.Support, d.Reason = Unsupported, "unreadable macOS version "+strconv.Quote(d.Version)
	case major < MinMacOS:
		d.Support = Unsupported
		d.Reason = "macOS " + d.Version + " is older than macOS " + strconv.Itoa(MinMacOS) + ", whose Virtualization.framework the Linux VM needs"
	default:
		d.Support = Supported
		if eol, ok := macEOL[d.FamilyVersion]; ok {
			d.EOL = eol
			if end, err := time.Parse(time.DateOnly, eol); err == nil && !now.Before(end) {
				d.Support = EndOfLife
				d.Reason = d.Pretty + " has had no security updates from Apple since " + eol
			}
		}
	}
}
