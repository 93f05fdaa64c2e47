// Package cgroup places a container's processes in a cgroup of their own and
// limits them there, on cgroup v1, hybrid and v2 hosts alike.
//
// A container's cgroup is "<parent>/<id>" (parent "berth" unless the Parent
// option says otherwise) in every hierarchy that matters:
//
//   - v1: under every mounted v1 hierarchy (cpu, cpuacct, cpuset, memory,
//     devices, freezer, blkio, pids, name=systemd, ...), found in the mount
//     table; co-mounted controllers ("cpu,cpuacct") share one directory.
//   - hybrid: as v1 (the controllers are v1), plus membership only in the
//     cgroup2 mount (usually /sys/fs/cgroup/unified) so the process is in a
//     named cgroup of the unified tree too. Whatever controllers that mount
//     holds (hugetlb on the development machines) are neither limited nor
//     mistaken for a v2 host.
//   - v2: under the unified root, after enabling cpuset, cpu, io, memory and
//     pids (those the parent offers) in each ancestor's
//     cgroup.subtree_control.
//
// The runtime's sequence is New, Create, then either DirFD (v2: the process is
// cloned straight into the cgroup with CLONE_INTO_CGROUP) or AddProc (v1 and
// hybrid: the parent adds the child to every hierarchy before letting it
// continue over a pipe), Stats/Freeze/Thaw/Update while it runs, OOMKilled
// after it exits, then Kill and Destroy. Cleanup removes what dead containers
// left when the daemon starts.
//
// Files written (a value of 0 in Resources means "no limit" and writes the
// kernel's default, so Create on an existing cgroup and Update converge on the
// same state; on a cgroup Create has just made, only the limits asked for are
// written, the rest being the defaults already):
//
//	what          v1                                        v2
//	memory        memory.limit_in_bytes (-1)                memory.max (max)
//	swap          memory.memsw.limit_in_bytes (-1)          memory.swap.max (max) = swap - memory
//	--cpus        cpu.cfs_period_us 100000, cfs_quota_us    cpu.max "quota 100000"
//	--cpu-shares  cpu.shares (1024)                         cpu.weight 1+((shares-2)*9999)/262142 (100)
//	cpuset        cpuset.cpus/.mems (the parent's if unset) cpuset.cpus/.mems
//	pids          pids.max (max)                            pids.max (max)
//	blkio weight  blkio.weight or blkio.bfq.weight          io.bfq.weight or io.weight (converted)
//	devices       devices.allow/devices.deny lines          a BPF_PROG_TYPE_CGROUP_DEVICE program
//
// A file whose controller is absent is skipped when its value is unset, and
// is an error wrapping ErrNotSupported when the caller asked for that limit
// (swap accounting off, no blkio weight on this I/O scheduler, ...). Swap:
// MemorySwapBytes is memory plus swap, as docker's --memory-swap; Docker's
// default of twice the memory when only --memory is given is the daemon's
// choice to make, not this package's.
//
// Devices follow the kernel's v1 semantics exactly (a reset to allow-all or
// deny-all, then exceptions; see devices.go): v1 hands the rules to the
// kernel, v2 compiles the same rule set into a BPF program attached with
// BPF_PROG_ATTACH (BPF_F_ALLOW_MULTI), which outlives the daemon process, as
// the cgroup does, unlike a bpf_link. Devices are written by Create only;
// Update leaves them alone (docker update cannot change them either).
//
// Everything here is stateless beyond the paths computed by New, so a
// Manager is safe for concurrent use, and a daemon restarted after a crash
// gets an equivalent Manager for a running container by calling New again.
// Non-Linux builds have the types and the pure functions; New returns
// ErrNotSupported there.
package cgroup
