package api

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
)

// NetworkBackend is what the server needs for the network routes: the
// engine's networks (bridge, host and none), with the containers on each.
// The server looks them up, filters and sorts.
type NetworkBackend interface {
	Networks(ctx context.Context) ([]*NetworkResource, error)
}

// NetworkResource is a network as GET /networks and GET /networks/{id}
// show it (docker network ls and inspect).
type NetworkResource struct {
	Name       string                      `json:"Name"`
	ID         string                      `json:"Id"`
	Created    string                      `json:"Created"`
	Scope      string                      `json:"Scope"`
	Driver     string                      `json:"Driver"`
	EnableIPv6 bool                        `json:"EnableIPv6"`
	IPAM       NetworkIPAM                 `json:"IPAM"`
	Internal   bool                        `json:"Internal"`
	Attachable bool                        `json:"Attachable"`
	Ingress    bool                        `json:"Ingress"`
	ConfigFrom NetworkConfigReference      `json:"ConfigFrom"`
	ConfigOnly bool                        `json:"ConfigOnly"`
	Containers map[string]NetworkContainer `json:"Containers"`
	Options    map[string]string           `json:"Options"`
	Labels     map[string]string           `json:"Labels"`
}

// NetworkIPAM is a network's address management: the driver and its pools.
type NetworkIPAM struct {
	Driver  string            `json:"Driver"`
	Options map[string]string `json:"Options"`
	Config  []NetworkIPAMPool `json:"Config"`
}

// NetworkIPAMPool is one address pool of a network.
type NetworkIPAMPool struct {
	Subnet  string `json:"Subnet,omitempty"`
	Gateway string `json:"Gateway,omitempty"`
}

// NetworkConfigReference names the network a config-only network's
// settings come from (swarm's; always empty here).
type NetworkConfigReference struct {
	Network string `json:"Network"`
}

// NetworkContainer is one container's endpoint on a network.
type NetworkContainer struct {
	Name        string `json:"Name"`
	EndpointID  string `json:"EndpointID"`
	MacAddress  string `json:"MacAddress"`
	IPv4Address string `json:"IPv4Address"`
	IPv6Address string `json:"IPv6Address"`
}

// Filters of GET /networks, as dockerd takes them.
var networkListFilters = []string{"dangling", "driver", "id", "label", "name", "scope", "type"}

// errUserNetworks answers what needs user-defined networks.
var errUserNetworks = NotImplemented(errors.New("user-defined networks are not supported by Berth yet: containers use the bridge network (the default), host or none; containers on the bridge reach each other by address (docker inspect -f '{{.NetworkSettings.IPAddress}}')"))

func (s *Server) networkRoutes() {
	n := func(h handlerFunc) handlerFunc {
		if s.networks == nil {
			return func(http.ResponseWriter, *http.Request) error { return errNoContainers }
		}
		return h
	}
	s.route("GET /networks", []string{"filters"}, n(s.listNetworks))
	s.route("GET /networks/{id}", []string{"verbose", "scope"}, n(s.inspectNetwork))
	s.route("DELETE /networks/{id}", nil, n(s.removeNetwork))
	s.route("POST /networks/create", nil, n(func(http.ResponseWriter, *http.Request) error { return errUserNetworks }))
	s.route("POST /networks/{id}/connect", nil, n(func(http.ResponseWriter, *http.Request) error { return errUserNetworks }))
	s.route("POST /networks/{id}/disconnect", nil, n(func(http.ResponseWriter, *http.Request) error { return errUserNetworks }))
	s.route("POST /networks/prune", []string{"filters"}, n(s.pruneNetworks))
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) error {
	f, err := ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := checkFilters(f, networkListFilters); err != nil {
		return err
	}
	all, err := s.networks.Networks(r.Context())
	if err != nil {
		return err
	}
	out := []*NetworkResource{}
	for _, n := range all {
		if networkMatches(n, f) {
			// The list shows no endpoints, as dockerd's.
			c := *n
			c.Containers = map[string]NetworkContainer{}
			out = append(out, &c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return writeJSON(w, http.StatusOK, out)
}

// networkMatches applies docker network ls's filters: name and id match
// a part, driver, scope and type exactly; every network here is built in
// and unlabelled, and none is dangling (they cannot be removed).
func networkMatches(n *NetworkResource, f map[string][]string) bool {
	for key, values := range f {
		ok := false
		for _, v := range values {
			switch key {
			case "name":
				ok = ok || strings.Contains(n.Name, v)
			case "id":
				ok = ok || strings.Contains(n.ID, v)
			case "driver":
				ok = ok || n.Driver == v
			case "scope":
				ok = ok || n.Scope == v
			case "type":
				ok = ok || v == "builtin"
			case "dangling":
				ok = ok || v == "false" || v == "0"
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// findNetwork looks a network up as dockerd does: its full ID, its name,
// then a unique ID prefix.
func (s *Server) findNetwork(ctx context.Context, ref string) (*NetworkResource, error) {
	all, err := s.networks.Networks(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		if n.ID == ref {
			return n, nil
		}
	}
	for _, n := range all {
		if n.Name == ref {
			return n, nil
		}
	}
	var found []*NetworkResource
	for _, n := range all {
		if ref != "" && strings.HasPrefix(n.ID, ref) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return nil, NotFoundf("network %s not found", ref)
	case 1:
		return found[0], nil
	}
	return nil, InvalidParameterf("network %s is ambiguous (%d matches found based on ID prefix)", ref, len(found))
}

func (s *Server) inspectNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := s.findNetwork(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

func (s *Server) removeNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := s.findNetwork(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return Conflictf("%s is a pre-defined network and cannot be removed", n.Name)
}

// pruneNetworks removes the unused user-defined networks: there are none.
func (s *Server) pruneNetworks(w http.ResponseWriter, r *http.Request) error {
	f, err := ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	if err := checkFilters(f, []string{"until", "label", "label!"}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, NetworksPruneReport{NetworksDeleted: []string{}})
}

// NetworksPruneReport is POST /networks/prune's answer.
type NetworksPruneReport struct {
	NetworksDeleted []string `json:"NetworksDeleted"`
}
