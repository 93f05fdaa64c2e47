// Package container is the engine's container runtime: create, start,
// stop, kill, restart, pause, remove, wait, logs, top, stats and prune of
// containers made from the image store's images, their local volumes, and
// the monitor and init processes that run them, isolated as Docker
// isolates them.
//
// # Processes
//
//	daemon (Engine) ─ spawns, then may die or restart without harming containers
//	  ├─ monitor    berth container-monitor <dir>: one per container, own
//	  │  │          session; creates the cgroup, holds the container's
//	  │  │          stdio (pipes, or the master of the terminal the init
//	  │  │          made in the container's devpts) and writes the
//	  │  │          json-file log, relays attached clients, records the
//	  │  │          state, answers the control socket, exits after the
//	  │  │          container
//	  │  └─ init    berth container-init: PID 1 in new mount, UTS, IPC, PID
//	  │     │       and network namespaces (and cgroup on v2); builds the
//	  │     │       rootfs, pivots into it, then execs the command (--init
//	  │     │       false) or forks it and stays, reaping and forwarding
//	  │     └─ the image's command
//	  └─ exec helper  berth container-exec: one per exec, the daemon's
//	                  child; joins the container's cgroup, enters its
//	                  namespaces from a locked thread (unshare(CLONE_FS),
//	                  setns, mount last), confines itself as the init
//	                  does, forks the process and exits with its status
//
// Every role runs from one sealed memfd copy of the engine's binary, made
// by New (CVE-2019-5736). The daemon hands the monitor its launch (a
// plan computed up front, see plan.go) over a pipe and reads "ok" or
// "err <code> <message>" back; Start returns then. The init reads its part
// over another pipe that the monitor writes only after adding it to the
// cgroup (v1 and hybrid; v2 clones it straight into the cgroup), so
// nothing runs for the container outside its cgroup. Every mount is made
// in the container's own mount namespace and goes away with it: the host's
// mount table never sees a container.
//
// With the init (the default), the init confines itself as the command
// will be (seccomp, capability bounding set, no_new_privs on every thread)
// and forks the command under the user's credentials, as tini runs under
// Docker's --init; without it, the init applies the same on its one thread
// and execs. Either way seccomp is installed while CAP_SYS_ADMIN allows it,
// or last under no_new_privs, as runc orders it.
//
// A start does not wait for these two Go process starts: after its first
// start the engine keeps a spare monitor ready (spareMonitor), started
// from the same sealed copy, which has started its init too, in new
// namespaces with its output piped, waiting for its plan; the launch it
// then gets names the container (its command line shows a placeholder
// until then). A launch the spare's init does not fit (cgroup v2, which
// clones the init into its cgroup; the host's or another container's network; stdin or
// a terminal) gets an init of its own. After its first exec the engine
// likewise keeps an exec helper started, waiting for its plan. Spares are
// ended at Close, after spareIdle unused, and exit by themselves when the
// engine dies. They cost a busy engine up to three small processes (about
// 9 MiB PSS for the monitor and init, most of it the binary's pages that
// every monitor shares).
//
// Two costs of a Go init are paid back: its threads would count against
// --pids-limit, so the init sets pids.max itself just before the command
// starts, raised by its own thread count (the command gets the budget it
// gets under tini); and on cgroup v1 the first migration after a quiet
// moment waits for an RCU grace period, so the engine triggers that wait
// (a no-op migration of itself) when a container is created and again as
// its monitor gets its launch.
//
// # On disk
//
//	<data-root>/containers/
//	    .lock                  held by the one Engine of the data root
//	    <64-hex id>/
//	        config.v2.json     the container (Container without State),
//	                           written by the engine
//	        state.json         State: written by the monitor while it lives,
//	                           by the engine otherwise
//	        <id>-json.log      the json-file log (.1, .2 ... when rotated)
//	        hostname hosts resolv.conf
//	                           bind-mounted at /etc/...
//	        init/              the init layer: the mount targets the
//	                           image lacks (dev, proc, etc/hosts...), the
//	                           overlay's topmost lower, so that the upper
//	                           holds only what the processes changed
//	        diff/ work/        the overlay's upper and work dirs
//	        merged/            the overlay's mount point (mounted only in
//	                           the container's mount namespace)
//	        monitor.sock       the monitor's control socket (see control.go)
//	    .removed-<id>/         a removed container's directory, deleted
//	                           in the background (at the next start after
//	                           a crash)
//	<data-root>/volumes/<name>/
//	        volume.json        name, creation time, labels
//	        _data/             the volume's content
//
// Files are replaced by rename, never rewritten in place; the crash model
// is a killed process, so the run path does not fsync. A directory without
// config.v2.json is a Create that was killed, and New removes it.
// Reconcile, called once after New, adopts containers whose monitor is
// alive and cleans up after the others.
package container
