package daemon

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/coreos/go-systemd/v22/activation"
	sddaemon "github.com/coreos/go-systemd/v22/daemon"
)

// systemdListeners are the sockets systemd passed (socket activation,
// LISTEN_FDS), or none. The variables are unset so that children do not
// inherit them.
func systemdListeners() ([]net.Listener, error) {
	ls, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("taking the sockets systemd passed: %w", err)
	}
	var out []net.Listener
	for _, l := range ls {
		// A passed descriptor that is not a stream socket leaves a gap.
		if l != nil {
			out = append(out, l)
		}
	}
	return out, nil
}

// notify tells systemd the daemon's state (READY=1, STOPPING=1) when it
// runs under a Type=notify unit; elsewhere it does nothing.
func notify(state string, log *slog.Logger) {
	if _, err := sddaemon.SdNotify(false, state); err != nil {
		log.Warn("notifying systemd", "state", state, "err", err)
	}
}
