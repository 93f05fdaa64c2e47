// Command netclean removes the bridge and the nftables rules a Berth
// daemon made for a data root (a daemon keeps them when it stops, since
// its containers outlive it), so that a benchmark leaves the host as it
// found it:
//
//	go run ./testvm/bench/netclean DATA-ROOT
package main

import (
	"fmt"
	"os"

	"github.com/berthhq/berth/runtime/daemon"
	"github.com/berthhq/berth/runtime/network"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: netclean DATA-ROOT")
		os.Exit(2)
	}
	br := daemon.BridgeName(os.Args[1])
	h, err := network.OpenHost("")
	if err == nil {
		defer h.Close()
		err = h.RemoveNAT(br)
	}
	if err == nil {
		err = h.RemoveBridge(br)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "netclean: %s: %v\n", br, err)
		os.Exit(1)
	}
}
