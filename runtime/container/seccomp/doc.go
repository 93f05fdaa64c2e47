// Package seccomp compiles Docker's default seccomp profile
// (github.com/moby/profiles/seccomp) to a classic BPF program in pure Go and
// installs it on the calling process, the last step before execve.
//
// The program has the shape libseccomp gives it, made smaller: an arch check
// (a foreign arch is killed; amd64 also admits the x86 and x32 ABIs and arm64
// the 32-bit ARM ABI, as Docker's profile lists them), then per arch a binary
// search over syscall-number ranges whose leaves are either one return or the
// argument checks of the profile's conditional rules. Syscalls numbered above
// the highest one the profile names return ENOSYS, as runc makes them do, so
// that programs fall back from calls newer than the profile.
package seccomp
