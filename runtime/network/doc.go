// Package network connects containers to the host and to each other:
// the bridge (berth0, 10.213.0.1/16 unless daemon.json's "bip" says
// otherwise, moved to the next free /16 when a host route overlaps), the
// address allocator, one veth pair per container, outbound masquerade
// and published ports through nftables over netlink, the userland proxy
// for loopback, and the content of a container's /etc/hosts, hostname
// and resolv.conf. Everything goes through netlink; no external command
// is run.
//
// # Host state
//
//	bridge berth0 (berth-<hash> for     EnsureBridge / RemoveBridge
//	  a daemon of another data root)
//	veth bv<id:12> (alias berth:<id>)   Attach / Detach, one per container;
//	                                    the peer is eth0 in the container
//	nftables table ip berth             EnsureNAT / RemoveNAT (per bridge)
//	    postrouting  masquerade of the bridge subnet leaving by another link
//	    forward      accepts for the bridge (policy accept)
//	    prerouting   jump c-<id:12> (comment berth:<id>)   Publish /
//	    output       same, not for 127.0.0.0/8              Unpublish
//	    c-<id:12>    the container's DNAT rules
//	other tables' forward chains with policy drop (Docker's ip filter
//	FORWARD): two accepts for the bridge at their head (-i berth0;
//	-o berth0 with conntrack RELATED,ESTABLISHED,DNAT, written as
//	iptables' xt match so iptables-nft and dockerd still read the chain),
//	comment berth:bridge:<name>; an accept in Berth's table cannot
//	override another table's drop.
//	<data-root>/network/ipam.json (+ ipam.lock, flock)      IPAM
//
// # Wiring (the engine's side: runtime/daemon and runtime/container)
//
// Daemon start (runtime/daemon/network.go): OpenHost(""); EnableIPForward
// unless "ip-forward" is false (else it warns that traffic will not
// leave); EnsureBridge(daemon.BridgeName(data-root), cfg.BIP) — berth0 for
// the default data root, "berth-" and a hash of the path for another, so
// that two daemons on one host (a test's beside the host's) never share a
// bridge, its addresses or its reconcile — logging Bridge.Moved; EnsureNAT,
// logging NAT.ForeignDrop; OpenIPAM(data-root, br.Subnet, br.Gateway);
// and GuardForward while it runs, so that a firewall or engine starting
// after it with a drop policy (dockerd) does not cut the bridge off.
// Where that fails, the daemon runs containers with --network none by
// default and says why. The bridge and its rules stay when the daemon
// stops (its containers outlive it, as docker0 outlives dockerd);
// RemoveNAT and RemoveBridge are for an uninstall and for tests.
//
// Engine start (container.Engine.Reconcile): Reconcile(br, live) removes
// the veths and rules of the bridge's containers that do not run;
// IPAM.Reconcile releases the addresses of containers that are gone, and
// the addresses of those that exist are held again (the allocator is not
// synced to disk, the engine's records are the truth).
//
// Create (runtime/container/network.go): the options are checked (a
// container joining another's network takes none of its own),
// IPAM.Allocate(id, --ip), then Hosts/Hostname/ResolvConf into the
// container directory (Hosts needs the address). Start: the launch
// carries the bridge, the address and the ports (PortMapping, random host
// ports unresolved) to the container's monitor. The monitor binds them
// (NewProxy(ip, ports).Listen()) before it makes anything else, so that a
// port in use is one error and no half-made container; the ports are bound
// there, not in the daemon, because the monitor that runs a start was
// usually started ahead of it (a spare) and cannot be handed sockets as
// ExtraFiles. Once the init's PID is known, while the cgroup handshake
// runs and before the plan lets the command run: Attach(ctx, br,
// NetNS{Pid: pid}, id, ip), Publish(ep, resolved ports), the Endpoint in
// state.json (inspect's NetworkSettings), and the proxy's Serve until the
// container exits. Then Unpublish (one transaction: each deleting commit
// waits for an RCU grace period). The veth is left to the kernel, which
// deletes the pair when it dismantles the container's namespace, off the
// exit's path; only when another container joined the namespace (the
// engine tells the monitor, "netshared") is it detached by hand. A monitor
// that dies leaves its rules, which the engine removes when it notices
// (or at its next start). Remove: IPAM.Release(id).
package network
