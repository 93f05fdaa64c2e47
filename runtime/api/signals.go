package api

import (
	"fmt"
	"strconv"
	"strings"
)

// linuxSignals are Linux's signal numbers. The table is data, not
// package syscall, so the client built for macOS names signals as the
// engine (always Linux) does.
var linuxSignals = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGIOT": 6,
	"SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12,
	"SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCONT": 18,
	"SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24,
	"SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPOLL": 29,
	"SIGPWR": 30, "SIGSYS": 31,
}

const sigRTMIN, sigRTMAX = 34, 64

// ParseSignal reads a signal as docker does ("KILL", "SIGKILL", "kill",
// "9", "SIGRTMIN+3") and returns its canonical name ("SIGKILL",
// "SIGRTMIN+3") and Linux number. An unknown signal is InvalidParameter
// with dockerd's message.
func ParseSignal(s string) (string, int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > sigRTMAX {
			return "", 0, InvalidParameterf("Invalid signal: %s", s)
		}
		return SignalName(n), n, nil
	}
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if n, ok := linuxSignals[name]; ok {
		return SignalName(n), n, nil
	}
	for _, base := range []struct {
		prefix string
		n, dir int
	}{{"SIGRTMIN+", sigRTMIN, 1}, {"SIGRTMAX-", sigRTMAX, -1}} {
		if rest, ok := strings.CutPrefix(name, base.prefix); ok {
			if k, err := strconv.Atoi(rest); err == nil && k >= 0 && k <= sigRTMAX-sigRTMIN {
				n := base.n + base.dir*k
				return SignalName(n), n, nil
			}
		}
	}
	switch name {
	case "SIGRTMIN":
		return "SIGRTMIN", sigRTMIN, nil
	case "SIGRTMAX":
		return "SIGRTMAX", sigRTMAX, nil
	}
	return "", 0, InvalidParameterf("Invalid signal: %s", s)
}

// SignalName is the canonical name of Linux signal n.
func SignalName(n int) string {
	best := ""
	for name, v := range linuxSignals {
		// Aliases (SIGIOT, SIGPOLL) lose to the usual names.
		if v == n && name != "SIGIOT" && name != "SIGPOLL" {
			best = name
		}
	}
	switch {
	case best != "":
		return best
	case n == sigRTMIN:
		return "SIGRTMIN"
	case n > sigRTMIN && n < sigRTMAX:
		return fmt.Sprintf("SIGRTMIN+%d", n-sigRTMIN)
	case n == sigRTMAX:
		return "SIGRTMAX"
	}
	return strconv.Itoa(n)
}
