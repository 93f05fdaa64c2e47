package container

import (
	"context"
	"errors"
	"time"

	"github.com/berthhq/berth/runtime/container/cgroup"
)

// Reconcile brings the engine in line with the host after it starts:
// containers whose monitor answers are adopted (watched again, so Stop,
// Wait, Logs -f and the restart policy work on them); those whose monitor
// died are cleaned up (their processes and cgroup; their mounts lived in
// their own mount namespace and went with it) and marked exited;
// AutoRemove containers that stopped are removed; cgroups of containers
// the engine does not know are removed, and so are the veths and
// published-port rules of the bridge's containers that do not run and
// the addresses of containers that are gone; and the restart policies are
// applied as dockerd applies them at its start.
func (e *Engine) Reconcile(ctx context.Context) error {
	e.mu.Lock()
	ents := make([]*entry, 0, len(e.byID))
	for _, en := range e.byID {
		ents = append(ents, en)
	}
	e.mu.Unlock()

	live := map[string]bool{}
	var toStart, toRemove []*entry
	for _, en := range ents {
		en.op.Lock()
		en.mu.Lock()
		c, watching := en.c, en.watching
		en.mu.Unlock()
		st, err := readState(c.Dir)
		if err != nil {
			st = c.State
		}
		switch {
		case watching:
			live[c.ID] = true
		case st.Running() && monitorAlive(c.Dir):
			live[c.ID] = true
			en.mu.Lock()
			en.c.State = st
			en.watching = true
			en.mu.Unlock()
			e.wg.Add(1)
			go e.watch(en, nil, st.MonitorPid)
		case st.Running():
			e.log.Info("container's monitor died while the engine was down; cleaning up", "id", c.ID)
			reapMonitor(nil, st.MonitorPid)
			e.cleanupCgroup(c.ID)
			st = State{Status: StatusExited, ExitCode: exitUnknownStatus, StartedAt: st.StartedAt, FinishedAt: time.Now().UTC(),
				Error: "the container's monitor exited while the engine was down; its exit status is lost"}
			writeState(c.Dir, st)
			fallthrough
		default:
			en.mu.Lock()
			en.c.State = st
			en.last = ExitStatus{Code: st.ExitCode, OOMKilled: st.OOMKilled, Error: st.Error}
			c := en.c
			startedOnce := !st.StartedAt.IsZero()
			en.mu.Unlock()
			switch {
			case c.HostConfig.AutoRemove && startedOnce:
				toRemove = append(toRemove, en)
			case startedOnce && restartAtBoot(c, st):
				toStart = append(toStart, en)
			}
		}
		en.op.Unlock()
	}

	e.reconcileNetwork(live)
	_, cgErr := cgroup.Cleanup(e.o.cgroupRoot, e.cgMode, func(id string) bool { return live[id] }, cgroup.Parent(e.o.cgroupParent))
	if cgErr != nil {
		e.log.Warn("removing cgroups of dead containers", "err", cgErr)
	}
	var errs []error
	for _, en := range toRemove {
		en.op.Lock()
		if err := e.destroy(en, true); err != nil {
			errs = append(errs, err)
		}
		en.op.Unlock()
	}
	for _, en := range toStart {
		en.op.Lock()
		if err := e.start(ctx, en, true); err != nil {
			e.log.Warn("starting a container by its restart policy", "id", en.c.ID, "err", err)
		}
		en.op.Unlock()
	}
	return errors.Join(errs...)
}

// restartAtBoot is dockerd's rule at its start: always, unless-stopped
// when not stopped by hand, on-failure after a failure with retries left.
func restartAtBoot(c *Container, st State) bool {
	p := c.HostConfig.RestartPolicy
	switch p.Name {
	case RestartAlways:
		return true // even after a stop by hand, as Docker's docs say
	case RestartUnlessStopped:
		return !c.ManuallyStopped
	case RestartOnFailure:
		return st.ExitCode != 0 && !c.ManuallyStopped && (p.MaximumRetryCount == 0 || c.RestartCount < p.MaximumRetryCount)
	}
	return false
}
