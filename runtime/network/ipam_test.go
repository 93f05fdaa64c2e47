package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

func testIPAM(t *testing.T, root, cidr string) *IPAM {
	t.Helper()
	gw, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	a, err := OpenIPAM(root, n, gw)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestIPAM(t *testing.T) {
	root := t.TempDir()
	a := testIPAM(t, root, "10.99.0.1/29") // .2 to .6 usable
	ip1, err := a.Allocate("c1", nil)
	if err != nil || ip1.String() != "10.99.0.2" {
		t.Fatalf("first: %v %v", ip1, err)
	}
	if again, _ := a.Allocate("c1", nil); !again.Equal(ip1) {
		t.Fatalf("not idempotent: %v", again)
	}
	if _, err := a.Allocate("c2", net.ParseIP("10.99.0.2")); !errors.Is(err, ErrAddressInUse) {
		t.Fatalf("wanted address in use: %v", err)
	}
	if _, err := a.Allocate("c2", net.ParseIP("10.99.0.1")); err == nil {
		t.Fatal("gateway handed out")
	}
	if _, err := a.Allocate("c2", net.ParseIP("10.98.0.5")); err == nil {
		t.Fatal("address outside the subnet handed out")
	}
	if ip, err := a.Allocate("c2", net.ParseIP("10.99.0.5")); err != nil || ip.String() != "10.99.0.5" {
		t.Fatalf("--ip: %v %v", ip, err)
	}
	ip3, _ := a.Allocate("c3", nil)
	if ip3.String() != "10.99.0.3" {
		t.Fatalf("c3 got %v, want .3", ip3)
	}
	if err := a.Release("c1"); err != nil {
		t.Fatal(err)
	}
	// The released .2 is handed out again only after a wrap.
	ip4, _ := a.Allocate("c4", nil)
	ip5, _ := a.Allocate("c5", nil)
	ip6, _ := a.Allocate("c6", nil)
	if ip4.String() != "10.99.0.4" || ip5.String() != "10.99.0.6" || ip6.String() != "10.99.0.2" {
		t.Fatalf("after release: %v %v %v", ip4, ip5, ip6)
	}
	if _, err := a.Allocate("c7", nil); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("full pool: %v", err)
	}
	dropped, err := testIPAM(t, root, "10.99.0.1/29").Reconcile(func(id string) bool { return id == "c2" || id == "c4" })
	if err != nil || len(dropped) != 3 {
		t.Fatalf("reconcile dropped %v, %v", dropped, err)
	}
	all, _ := a.Allocations()
	if len(all) != 2 || all["c2"].String() != "10.99.0.5" || all["c4"].String() != "10.99.0.4" {
		t.Fatalf("after reconcile: %v", all)
	}
}

// TestIPAMAcrossProcesses: two processes and goroutines in each allocate
// at once; no address is handed out twice.
func TestIPAMAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("BERTH_IPAM_CHILD"); dir != "" {
		a := testIPAM(t, dir, "10.98.0.1/16")
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 25; i++ {
					id := fmt.Sprintf("%s-%d-%d", os.Getenv("BERTH_IPAM_NAME"), g, i)
					ip, err := a.Allocate(id, nil)
					if err != nil {
						t.Error(err)
						return
					}
					fmt.Printf("%s %s\n", id, ip)
				}
			}()
		}
		wg.Wait()
		return
	}
	root := t.TempDir()
	var outs [2][]byte
	var errs [2]error
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestIPAMAcrossProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), "BERTH_IPAM_CHILD="+root, fmt.Sprintf("BERTH_IPAM_NAME=p%d", i))
			outs[i], errs[i] = cmd.Output()
		}()
	}
	wg.Wait()
	seen := map[string]string{}
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("child %d: %v\n%s", i, errs[i], outs[i])
		}
		for _, line := range strings.Split(string(outs[i]), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 || !strings.HasPrefix(f[0], "p") {
				continue
			}
			if other, dup := seen[f[1]]; dup {
				t.Fatalf("%s handed to %s and %s", f[1], other, f[0])
			}
			seen[f[1]] = f[0]
		}
	}
	all, err := testIPAM(t, root, "10.98.0.1/16").Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 200 || len(all) != 200 {
		t.Fatalf("%d addresses printed, %d recorded; want 200", len(seen), len(all))
	}
}
