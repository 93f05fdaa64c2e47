package container

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/berthhq/berth/runtime/atomicfile"
)

// Files of a container directory (see doc.go).
const (
	configFile   = "config.v2.json"
	stateFile    = "state.json"
	hostnameFile = "hostname"
	hostsFile    = "hosts"
	resolvFile   = "resolv.conf"
	upperDir     = "diff"
	workDir      = "work"
	mergedDir    = "merged"
	monitorSock  = "monitor.sock"
)

func logFileName(id string) string { return id + "-json.log" }

// writeFile replaces path atomically (temp file and rename) without
// syncing: the engine's crash model is a killed process, for which a rename
// is enough, and the run path must not wait on the disk. Commit points that
// must survive a power cut use atomicfile.
func writeFile(path string, data []byte, mode fs.FileMode) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp"+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any, durable bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if durable {
		return atomicfile.WriteFile(path, b, 0o600)
	}
	return writeFile(path, b, 0o600)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

func readState(dir string) (State, error) {
	var s State
	err := readJSON(filepath.Join(dir, stateFile), &s)
	return s, err
}

func writeState(dir string, s State) error {
	return writeJSON(filepath.Join(dir, stateFile), s, false)
}
