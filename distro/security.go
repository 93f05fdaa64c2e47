package distro

import "strings"

// detectSecurity reads the state of SELinux and AppArmor.
func detectSecurity(r rootFS) Security {
	var s Security
	switch r.text("/sys/fs/selinux/enforce") {
	case "1":
		s.SELinux = "enforcing"
	case "0":
		s.SELinux = "permissive"
	default:
		kv := parseEnvFile(r.text("/etc/selinux/config"))
		if mode := strings.ToLower(kv["SELINUX"]); mode != "" {
			if mode == "disabled" || !r.exists("/sys/fs/selinux") && r.exists("/proc/self") {
				s.SELinux = "disabled"
			} else {
				// An offline root: what it will boot with.
				s.SELinux = mode
			}
		}
	}
	switch r.text("/sys/module/apparmor/parameters/enabled") {
	case "Y":
		s.AppArmor = "enabled"
	case "N":
		s.AppArmor = "disabled"
	}
	s.UsernsRestricted = r.text("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
	return s
}
