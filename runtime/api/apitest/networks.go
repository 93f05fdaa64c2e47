package apitest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/berthhq/berth/runtime/api"
)

var _ api.NetworkBackend = (*Containers)(nil)

// Networks are the built-in networks (bridge, host, none), each with the
// running containers whose NetworkMode names it ("default" is the
// bridge). It records the call.
func (c *Containers) Networks(ctx context.Context) ([]*api.NetworkResource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "Networks()")
	out := []*api.NetworkResource{}
	byName := map[string]*api.NetworkResource{}
	for _, n := range [][2]string{{"bridge", "bridge"}, {"host", "host"}, {"none", "null"}} {
		sum := sha256.Sum256([]byte("network " + n[0]))
		r := &api.NetworkResource{
			Name: n[0], ID: hex.EncodeToString(sum[:]), Driver: n[1], Scope: "local",
			Containers: map[string]api.NetworkContainer{}, Options: map[string]string{}, Labels: map[string]string{},
		}
		byName[n[0]] = r
		out = append(out, r)
	}
	for _, fc := range c.containers {
		if fc.removed || fc.info.State == nil || !fc.info.State.Running {
			continue
		}
		mode := fc.info.HostConfig.NetworkMode
		if mode == "" || mode == "default" {
			mode = "bridge"
		}
		if n := byName[mode]; n != nil {
			n.Containers[fc.info.ID] = api.NetworkContainer{Name: fc.info.Name[1:]}
		}
	}
	return out, nil
}
