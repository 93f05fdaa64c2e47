// Package testvm is Berth's end-to-end harness: host fixtures of other
// systems for distro and install tests, real systemd under systemd-nspawn,
// and other kernels under qemu. Only tests import it.
package testvm
