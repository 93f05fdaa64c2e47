package distro

import "strings"

// Status is the outcome of one check.
type Status string

const (
	OK      Status = "ok"
	Warn    Status = "warn"
	Fail    Status = "fail"
	Unknown Status = "unknown"
)

// Check is one finding of `berth check`. IDs are stable and dotted
// (kernel.version, cgroup.memory, kconfig.CONFIG_OVERLAY_FS): scripts match on
// them.
type Check struct {
	ID       string `json:"id"`
	Status   Status `json:"status"`
	Required bool   `json:"required"`
	Message  string `json:"message"`
	// Fix is a command or an instruction that resolves a warn or fail.
	Fix string `json:"fix,omitempty"`
}

// Group is the first part of the check's ID (kernel, cgroup, kconfig, ...),
// under which reports list it.
func (c Check) Group() string {
	g, _, _ := strings.Cut(c.ID, ".")
	return g
}

// Failed reports whether the check stops Berth from running containers.
func (c Check) Failed() bool { return c.Required && c.Status == Fail }

// Report is the verdict on one host: its facts and every check.
type Report struct {
	Facts
	Checks []Check `json:"checks"`
	// OK is true when no required check failed. Unknown is not a failure.
	OK bool `json:"ok"`
}
