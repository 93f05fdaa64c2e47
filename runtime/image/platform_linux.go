package image

import (
	"strings"

	"golang.org/x/sys/unix"
)

// armVariant reads the CPU's ARM revision from uname: an ARMv7 CPU (or a
// 64-bit one in 32-bit mode) runs v7 images, an ARMv6 only v6.
func armVariant() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil && strings.HasPrefix(unix.ByteSliceToString(u.Machine[:]), "armv6") {
		return "v6"
	}
	return "v7"
}
