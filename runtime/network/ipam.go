package network

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrAddressInUse is returned by Allocate for a wanted address (--ip)
// that another container holds.
var ErrAddressInUse = errors.New("address already in use")

// ErrPoolExhausted is returned when the subnet has no free address.
var ErrPoolExhausted = errors.New("no free address in the bridge subnet")

// IPAM hands out the bridge subnet's addresses, one per container. Its
// state is <data-root>/network/ipam.json, rewritten atomically under an
// flock on ipam.lock, so that the daemon, monitors and tests in other
// processes never hand out one address twice. It is written on every
// create and remove, so it is not synced: the crash model is a killed
// process, and the engine's reconcile at start makes it agree with the
// containers that exist.
type IPAM struct {
	dir     string
	subnet  *net.IPNet
	gateway net.IP
}

type ipamState struct {
	Subnet      string            `json:"Subnet"`
	Last        string            `json:"Last,omitempty"`
	Allocations map[string]string `json:"Allocations"` // container ID -> IPv4
}

// OpenIPAM returns the allocator of dataRoot for subnet, whose gateway
// address is never handed out.
func OpenIPAM(dataRoot string, subnet *net.IPNet, gateway net.IP) (*IPAM, error) {
	if subnet.IP.To4() == nil {
		return nil, fmt.Errorf("ipam: %s is not an IPv4 subnet", subnet)
	}
	dir := filepath.Join(dataRoot, "network")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	return &IPAM{dir: dir, subnet: &net.IPNet{IP: subnet.IP.To4().Mask(subnet.Mask), Mask: subnet.Mask}, gateway: gateway.To4()}, nil
}

// Allocate returns containerID's address: the one it already holds, the
// wanted one (--ip) if free, or the next free one after the last handed
// out (so a released address is not reused at once).
func (a *IPAM) Allocate(containerID string, wanted net.IP) (net.IP, error) {
	var got net.IP
	err := a.update(func(s *ipamState) error {
		if cur := net.ParseIP(s.Allocations[containerID]); cur != nil && a.subnet.Contains(cur) {
			if wanted != nil && !cur.Equal(wanted) {
				return fmt.Errorf("container %.12s already has address %s, not %s", containerID, cur, wanted)
			}
			got = cur.To4()
			return nil
		}
		used := map[uint32]bool{}
		for _, v := range s.Allocations {
			if ip := net.ParseIP(v).To4(); ip != nil {
				used[ip2u(ip)] = true
			}
		}
		first, last := hostRange(a.subnet)
		if wanted != nil {
			w := wanted.To4()
			if w == nil || !a.subnet.Contains(w) || ip2u(w) < first || ip2u(w) > last || w.Equal(a.gateway) {
				return fmt.Errorf("address %s is not a usable address of the bridge subnet %s", wanted, a.subnet)
			}
			if used[ip2u(w)] {
				return fmt.Errorf("address %s: %w", w, ErrAddressInUse)
			}
			got = w
		} else {
			start := first
			if l := net.ParseIP(s.Last).To4(); l != nil && a.subnet.Contains(l) && ip2u(l) < last {
				start = ip2u(l) + 1
			}
			n := last - first + 1
			for i := uint32(0); i < n; i++ {
				c := first + (start-first+i)%n
				if !used[c] && !u2ip(c).Equal(a.gateway) {
					got = u2ip(c)
					break
				}
			}
			if got == nil {
				return ErrPoolExhausted
			}
			s.Last = got.String()
		}
		s.Allocations[containerID] = got.String()
		return nil
	})
	return got, err
}

// Release frees containerID's address; releasing none is not an error.
func (a *IPAM) Release(containerID string) error {
	return a.update(func(s *ipamState) error {
		delete(s.Allocations, containerID)
		return nil
	})
}

// Reconcile drops the allocations of containers for which keep is false
// (after a crash: those that no longer exist) and returns their IDs.
func (a *IPAM) Reconcile(keep func(containerID string) bool) ([]string, error) {
	var dropped []string
	err := a.update(func(s *ipamState) error {
		for id := range s.Allocations {
			if !keep(id) {
				delete(s.Allocations, id)
				dropped = append(dropped, id)
			}
		}
		return nil
	})
	return dropped, err
}

// Allocations returns a copy of the container ID -> address table.
func (a *IPAM) Allocations() (map[string]net.IP, error) {
	out := map[string]net.IP{}
	err := a.update(func(s *ipamState) error {
		for id, v := range s.Allocations {
			out[id] = net.ParseIP(v).To4()
		}
		return errNoWrite
	})
	return out, err
}

var errNoWrite = errors.New("no write")

func (a *IPAM) update(fn func(*ipamState) error) error {
	lock, err := os.OpenFile(filepath.Join(a.dir, "ipam.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	defer lock.Close()
	for {
		if err = unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("ipam: locking %s: %w", lock.Name(), err)
	}
	path := filepath.Join(a.dir, "ipam.json")
	s := ipamState{Allocations: map[string]string{}}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("ipam: reading %s: %w", path, err)
		}
		if s.Allocations == nil {
			s.Allocations = map[string]string{}
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("ipam: %w", err)
	}
	s.Subnet = a.subnet.String()
	if err := fn(&s); err != nil {
		if err == errNoWrite {
			return nil
		}
		return err
	}
	out, err := json.MarshalIndent(&s, "", "\t")
	if err != nil {
		return err
	}
	if err := replaceFile(path, out); err != nil {
		return fmt.Errorf("ipam: writing %s: %w", path, err)
	}
	return nil
}

// replaceFile writes data to a temporary file beside path and renames it
// over path: readers see the old content or the new, never a part.
func replaceFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// hostRange is the first and last address of n that a host may use
// (without the network and broadcast addresses).
func hostRange(n *net.IPNet) (first, last uint32) {
	base := ip2u(n.IP.To4())
	ones, bits := n.Mask.Size()
	size := uint32(1) << uint(bits-ones)
	if size <= 2 {
		return base, base + size - 1
	}
	return base + 1, base + size - 2
}

func ip2u(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

func u2ip(u uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, u)
	return ip
}
