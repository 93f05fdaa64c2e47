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
//	bridge berth0                       EnsureBridge / RemoveBridge
//	veth bv<id:12> (alias berth:<id>)   Attach / Detach, one per container;
//	                                    the peer is eth0 in the container
//	nftables table ip berth             EnsureNAT / RemoveNAT
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
// # Wiring (the engine's side, not done here)
//
// Daemon start (runtime/daemon): OpenHost(""); EnableIPForward unless
// "ip-forward" is false (else warn that traffic will not leave);
// EnsureBridge(DefaultBridge, cfg.BIP), logging Bridge.Moved; EnsureNAT,
// logging NAT.ForeignDrop; OpenIPAM(dataRoot, br.Subnet, br.Gateway); then
// Reconcile (the host's links and rules) and IPAM.Reconcile with the
// containers that exist.
//
// Create (runtime/container, --network bridge): ParsePortSpec for each -p
// (PublishAll for -P);
// IPAM.Allocate(id, --ip); Hosts/Hostname/ResolvConf into the container
// directory (Hosts needs the address). Start: NewProxy(ip, ports).Listen()
// in the daemon before anything else, so that a port in use is one error
// and no half-made container; hand Proxy.Files to the monitor (ExtraFiles)
// with the launch. In the monitor, once the init's PID is known and before
// the cgroup handshake lets it run the command: Attach(ctx, br,
// NetNS{Pid: pid}, id, ip), Publish(ep, resolvedPorts), record the
// Endpoint in state.json, then ProxyFromFiles(...).Serve(ctx) until the
// container exits; then Unpublish and Detach (the namespace going away
// would drop the veth too, asynchronously). Remove: IPAM.Release(id).
package network
