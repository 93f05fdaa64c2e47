//go:build !linux && !darwin

package distro

type hostProbe struct{}

// HostProbe returns the probes of the machine Berth runs on; on this OS it
// has none, and every fact that needs one stays unknown.
func HostProbe() Probe { return hostProbe{} }

func (hostProbe) Uname() (string, string, error) { return "", "", ErrNotSupported }
func (hostProbe) Statfs(string) (FSInfo, error)  { return FSInfo{}, ErrNotSupported }
func (hostProbe) DType(string) (bool, error)     { return false, ErrNotSupported }
func (hostProbe) Sysctl(string) (string, error)  { return "", ErrNotSupported }
