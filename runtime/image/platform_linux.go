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

// fsTopdirFL is FS_TOPDIR_FL (chattr +T), which x/sys/unix does not define.
const fsTopdirFL = 0x00020000

// SpreadSubdirs marks dir as the top of directory hierarchies (chattr +T):
// ext4 then places each directory made in it in a block group of its own
// choosing, with free inodes, rather than beside dir. A pull unpacks under
// such a directory, and containers are made under one: creating a file in
// a block group where many inodes were freed recently is slow on ext4
// without a journal (each new inode scans past them), and a store's
// temporary directory and the containers' directory are where files come
// and go. Best effort: other filesystems refuse the flag, and lose nothing.
func SpreadSubdirs(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil || flags&fsTopdirFL != 0 {
		return
	}
	unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopdirFL))
}
