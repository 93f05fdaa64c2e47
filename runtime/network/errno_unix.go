//go:build unix

package network

import "syscall"

var errAddrInUse error = syscall.EADDRINUSE
