// Package api is Berth's Docker Engine API: the server the daemon runs on its
// unix socket, and the client the berth verbs use.
//
// The server speaks a documented subset of API 1.43 (the docker CLI v28
// negotiates down to it through _ping): system endpoints (_ping, version,
// info, auth) and the image endpoints. It knows nothing of the image store:
// it decodes requests into the Docker-shaped types of this package and calls
// an ImageBackend and a SystemBackend, which return the typed errors below
// (ErrNotFound, ErrConflict, ErrInvalidParameter...) that the server turns into
// Docker's status codes and {"message": ...} bodies. A query parameter, filter
// or body field the server does not implement is a 400 that names it, never
// silently ignored.
//
// Pull and load answer with Docker's stream of newline-delimited JSON progress
// messages (JSONMessage, ProgressWriter); the client decodes it (MessageStream).
//
// Listen creates the daemon's socket atomically with the daemon's group and
// mode 0660, replacing a stale socket without a window where the path is
// missing.
package api
