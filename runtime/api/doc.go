// Package api is Berth's Docker Engine API: the server the daemon runs on its
// unix socket, and the client the berth verbs use.
//
// The server speaks a documented subset of API 1.43 (the docker CLI v28
// negotiates down to it through _ping): system endpoints (_ping, version,
// info, auth), the image endpoints, and (WithContainers) the container and
// volume endpoints. It knows nothing of the image store or the runtime: it
// decodes requests into the Docker-shaped types of this package and calls an
// ImageBackend, a SystemBackend and a ContainerBackend, which return the
// typed errors below
// (ErrNotFound, ErrConflict, ErrInvalidParameter...) that the server turns into
// Docker's status codes and {"message": ...} bodies. A query parameter, filter
// or body field the server does not implement is a 400 that names it, never
// silently ignored.
//
// Pull and load answer with Docker's stream of newline-delimited JSON progress
// messages (JSONMessage, ProgressWriter); the client decodes it (MessageStream).
//
// A container create is checked whole before the backend sees it
// (ValidateCreate): every HostConfig field of API 1.43 decodes, the zero
// values the docker CLI always sends pass, and a setting Berth does not
// implement is a 400 naming the field. ps's summaries, filters and status
// words ("Up 2 seconds") are computed here from the backend's ContainerJSON.
// Logs and attach carry output in Docker's stdcopy frames (WriteFrame,
// StdCopy); attach hijacks the connection (101 UPGRADED), as docker run
// expects, and wait answers its header before the result so that docker run
// may start the container only once the wait is registered.
//
// Listen creates the daemon's socket atomically with the daemon's group and
// mode 0660, replacing a stale socket without a window where the path is
// missing.
package api
