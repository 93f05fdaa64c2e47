package testvm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/berthhq/berth/distro"
)

// FixturesDir returns the absolute path of testvm/fixtures.
func FixturesDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "fixtures")
}

// Fixtures lists the fixture names (the folders of testvm/fixtures).
func Fixtures() ([]string, error) {
	ents, err := os.ReadDir(FixturesDir())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Fixture is one host fixture: its root directory and the answers its
// probes give.
type Fixture struct {
	Name  string
	Root  string
	Probe *FixtureProbe
}

// LoadFixture reads the fixture name and its <name>.probe.json.
func LoadFixture(name string) (*Fixture, error) {
	root := filepath.Join(FixturesDir(), name)
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("fixture %s: no folder %s", name, root)
	}
	p := &FixtureProbe{name: name}
	b, err := os.ReadFile(root + ".probe.json")
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", name, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("fixture %s: %s.probe.json: %w", name, name, err)
	}
	return &Fixture{Name: name, Root: root, Probe: p}, nil
}

// FixtureProbe answers distro's probes from a fixture's probe.json, as the
// real host would have answered them.
type FixtureProbe struct {
	name     string
	FS       *distro.FSInfo    `json:"statfs"`
	HasDType *bool             `json:"dtype"`
	Sysctls  map[string]string `json:"sysctl"`
}

// Uname is never asked for a fixture: it is not the live root.
func (p *FixtureProbe) Uname() (string, string, error) {
	return "", "", fmt.Errorf("fixture %s: uname asked of an offline root", p.name)
}

func (p *FixtureProbe) Statfs(string) (distro.FSInfo, error) {
	if p.FS == nil {
		return distro.FSInfo{}, distro.ErrNotSupported
	}
	return *p.FS, nil
}

func (p *FixtureProbe) DType(string) (bool, error) {
	if p.HasDType == nil {
		return false, distro.ErrNotSupported
	}
	return *p.HasDType, nil
}

func (p *FixtureProbe) Sysctl(name string) (string, error) {
	v, ok := p.Sysctls[name]
	if !ok {
		return "", distro.ErrNotSupported
	}
	return v, nil
}
