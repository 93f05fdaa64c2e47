package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/network"
)

// BridgeName is the bridge of the daemon of dataRoot: berth0 for the
// default data root, "berth-" and 8 hex digits of the path's SHA-256 for
// another. Two daemons on one host (a test's beside the host's) must not
// share a bridge: each hands out the addresses of its bridge from the
// allocator of its own data root, and reconciles the veths on it against
// its own containers.
func BridgeName(dataRoot string) string {
	if filepath.Clean(dataRoot) == DefaultDataRoot {
		return network.DefaultBridge
	}
	sum := sha256.Sum256([]byte(filepath.Clean(dataRoot)))
	return "berth-" + hex.EncodeToString(sum[:4])
}

// networksCreated is when the data root's network state was first made
// (the daemon's first start), which docker network inspect shows as the
// built-in networks' creation.
func networksCreated(dataRoot string) time.Time {
	// The allocator's lock file is made once and never written.
	if fi, err := os.Stat(filepath.Join(dataRoot, "network", "ipam.lock")); err == nil {
		return fi.ModTime()
	}
	return time.Now()
}

// setupNetwork is the bridge network's part of the daemon's start:
// net.ipv4.ip_forward on (unless "ip-forward" is false), the bridge with
// its address (bip, or the next free subnet), the masquerade and forward
// accepts, and the data root's address allocator. It returns the
// warnings a user must hear (in the log and in /info). Containers already
// running keep their veths and ports: everything here is idempotent.
func setupNetwork(cfg *Config, log *slog.Logger) (*container.BridgeNetwork, []string, error) {
	h, err := network.OpenHost("")
	if err != nil {
		return nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			h.Close()
		}
	}()
	var warnings []string
	if cfg.IPForward {
		if err := h.EnableIPForward(); err != nil {
			warnings = append(warnings, fmt.Sprintf("%v: containers cannot reach other networks, and published ports only answer on this host", err))
		}
	} else if on, err := h.IPForwardEnabled(); err == nil && !on {
		warnings = append(warnings, `"ip-forward" is false in daemon.json and net.ipv4.ip_forward is off: containers cannot reach other networks, and published ports only answer on this host (set it to true, or turn net.ipv4.ip_forward on)`)
	}
	br, err := h.EnsureBridge(BridgeName(cfg.DataRoot), cfg.BIP)
	if err != nil {
		return nil, warnings, err
	}
	if br.Moved != "" {
		warnings = append(warnings, br.Moved)
	}
	nat, err := h.EnsureNAT(br)
	if err != nil {
		return nil, warnings, err
	}
	if len(nat.ForeignDrop) > 0 {
		log.Info("accepts for the bridge inserted where another firewall drops forwarded traffic", "bridge", br.Name, "chains", strings.Join(nat.ForeignDrop, ", "))
	}
	if nat.LegacyFilter {
		warnings = append(warnings, "iptables-legacy's filter table is loaded: Berth programs nftables, and a DROP policy of iptables-legacy's FORWARD chain would cut the bridge off (iptables-legacy -P FORWARD ACCEPT, or move that firewall to iptables-nft)")
	}
	ipam, err := network.OpenIPAM(cfg.DataRoot, br.Subnet, br.Gateway)
	if err != nil {
		return nil, warnings, err
	}
	log.Info("bridge network ready", "bridge", br.Name, "gateway", br.Gateway, "subnet", br.Subnet)
	ok = true
	return &container.BridgeNetwork{Host: h, Bridge: br, IPAM: ipam}, warnings, nil
}

// guardForward keeps the bridge's accepts in the forward chains of
// firewalls and engines that start after the daemon (see
// network.Host.GuardForward), until stop is called.
func guardForward(bn *container.BridgeNetwork, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := bn.Host.GuardForward(ctx, bn.Bridge, func(chains []string, err error) {
			if err != nil {
				log.Warn("inserting the bridge's accepts where another firewall drops forwarded traffic", "bridge", bn.Bridge.Name, "err", err)
				return
			}
			log.Info("another firewall's forward chain drops by default: accepts for the bridge inserted", "bridge", bn.Bridge.Name, "chains", strings.Join(chains, ", "))
		})
		if err != nil {
			log.Warn("not watching other firewalls: one that starts later with a drop policy will cut the bridge off until the daemon restarts", "err", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
