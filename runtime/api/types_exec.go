package api

// ExecCreateRequest is the body of POST /containers/{id}/exec.
type ExecCreateRequest struct {
	AttachStdin  bool `json:"AttachStdin"`
	AttachStdout bool `json:"AttachStdout"`
	AttachStderr bool `json:"AttachStderr"`
	// Detach is sent by older clients and means nothing here: exec
	// start's Detach decides.
	Detach bool `json:"Detach"`
	// ConsoleSize is the terminal's height and width at start (with Tty).
	ConsoleSize *[2]uint `json:"ConsoleSize,omitempty"`
	// DetachKeys overrides the sequence that detaches a client from the
	// process ("ctrl-p,ctrl-q" by default).
	DetachKeys string   `json:"DetachKeys,omitempty"`
	Tty        bool     `json:"Tty"`
	Env        []string `json:"Env"`
	Cmd        []string `json:"Cmd"`
	Privileged bool     `json:"Privileged"`
	User       string   `json:"User"`
	WorkingDir string   `json:"WorkingDir"`
}

// IDResponse answers a request that made something with an ID (exec
// create, commit).
type IDResponse struct {
	ID string `json:"Id"`
}

// ExecStartRequest is the body of POST /exec/{id}/start.
type ExecStartRequest struct {
	// Detach starts the process and answers at once, without streams.
	Detach bool `json:"Detach"`
	Tty    bool `json:"Tty"`
	// ConsoleSize is the terminal's height and width at start.
	ConsoleSize *[2]uint `json:"ConsoleSize,omitempty"`
}

// ExecProcessConfig is an exec's process, as GET /exec/{id}/json shows it.
type ExecProcessConfig struct {
	Tty        bool     `json:"tty"`
	Entrypoint string   `json:"entrypoint"`
	Arguments  []string `json:"arguments"`
	Privileged *bool    `json:"privileged,omitempty"`
	User       string   `json:"user,omitempty"`
}

// ExecInspect is GET /exec/{id}/json.
type ExecInspect struct {
	CanRemove     bool              `json:"CanRemove"`
	ContainerID   string            `json:"ContainerID"`
	DetachKeys    string            `json:"DetachKeys"`
	ExitCode      *int              `json:"ExitCode"`
	ID            string            `json:"ID"`
	OpenStderr    bool              `json:"OpenStderr"`
	OpenStdin     bool              `json:"OpenStdin"`
	OpenStdout    bool              `json:"OpenStdout"`
	ProcessConfig ExecProcessConfig `json:"ProcessConfig"`
	Running       bool              `json:"Running"`
	Pid           int               `json:"Pid"`
}
