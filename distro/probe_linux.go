package distro

import (
	"os"

	"golang.org/x/sys/unix"
)

type hostProbe struct{}

// HostProbe returns the probes of the machine Berth runs on.
func HostProbe() Probe { return hostProbe{} }

func (hostProbe) Uname() (string, string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", err
	}
	return unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Machine[:]), nil
}

// Filesystem magic numbers from statfs(2), for roots without a mountinfo.
var fsMagic = map[int64]string{
	0xef53: "ext4", 0x58465342: "xfs", 0x9123683e: "btrfs", 0x794c7630: "overlay",
	0x01021994: "tmpfs", 0x2fc12fc1: "zfs", 0x6969: "nfs", 0x65735546: "fuse",
	0x858458f6: "ramfs", 0x73717368: "squashfs", 0xe0f5e1e2: "erofs",
}

func (hostProbe) Statfs(path string) (FSInfo, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return FSInfo{}, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	return FSInfo{
		Type:      fsMagic[int64(st.Type)],
		SizeBytes: st.Blocks * uint64(st.Bsize),
		FreeBytes: st.Bavail * uint64(st.Bsize),
	}, nil
}

// DType reads the directory's own entries and looks at their types, as
// Docker's overlay2 driver does, but without creating anything: a filesystem
// without d_type (xfs with ftype=0) reports DT_UNKNOWN for every entry,
// including "." and "..".
func (hostProbe) DType(dir string) (bool, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 8192)
	n, err := unix.Getdents(fd, buf)
	if err != nil {
		return false, &os.PathError{Op: "getdents", Path: dir, Err: err}
	}
	return direntsHaveType(buf[:n]), nil
}

// direntsHaveType walks linux_dirent64 records: ino u64, off s64, reclen u16,
// type u8, name.
func direntsHaveType(b []byte) bool {
	for len(b) >= 19 {
		reclen := int(b[16]) | int(b[17])<<8
		if reclen < 19 || reclen > len(b) {
			return false
		}
		if b[18] != unix.DT_UNKNOWN {
			return true
		}
		b = b[reclen:]
	}
	return false
}

func (hostProbe) Sysctl(string) (string, error) { return "", ErrNotSupported }
