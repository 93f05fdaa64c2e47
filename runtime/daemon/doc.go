// Package daemon is the engine process behind `berth daemon`: its
// configuration (daemon.json, read strictly, with the flags applied as
// dockerd applies them), and Run, which serves the Engine API on the
// engine's sockets (or those systemd passes), reloads the mirror settings
// on SIGHUP and shuts down gracefully.
package daemon
