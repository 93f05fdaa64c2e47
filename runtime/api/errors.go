package api

import (
	"errors"
	"fmt"
	"net/http"
)

// The kinds of failure callers branch on. Backends wrap their errors with
// the constructors below (NotFound, Conflict...), the server maps the kind
// to Docker's status code, and the client maps the status code back, so
// errors.Is(err, ErrNotFound) holds on both sides of the socket.
var (
	ErrInvalidParameter = errors.New("invalid parameter") // 400
	ErrUnauthorized     = errors.New("unauthorized")      // 401
	ErrNotFound         = errors.New("not found")         // 404
	ErrConflict         = errors.New("conflict")          // 409
	ErrNotImplemented   = errors.New("not implemented")   // 501
	// ErrNotModified is not a failure: the container already is in the
	// state asked for (docker start of a running container).
	ErrNotModified = errors.New("not modified") // 304
	// ErrUnavailable is the client's: the engine's socket does not answer.
	ErrUnavailable = errors.New("engine unavailable")
)

// kindError is err marked with a kind; its message is err's alone.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

func mark(kind, err error) error {
	if err == nil {
		return nil
	}
	return &kindError{kind: kind, err: err}
}

// InvalidParameter marks err as the client's mistake (400).
func InvalidParameter(err error) error { return mark(ErrInvalidParameter, err) }

// InvalidParameterf is InvalidParameter of a formatted error.
func InvalidParameterf(format string, a ...any) error {
	return InvalidParameter(fmt.Errorf(format, a...))
}

// Unauthorized marks err as refused credentials (401).
func Unauthorized(err error) error { return mark(ErrUnauthorized, err) }

// NotFound marks err as a missing image or container (404).
func NotFound(err error) error { return mark(ErrNotFound, err) }

// NotFoundf is NotFound of a formatted error.
func NotFoundf(format string, a ...any) error { return NotFound(fmt.Errorf(format, a...)) }

// Conflict marks err as a conflict with the engine's state, such as an
// image in use (409).
func Conflict(err error) error { return mark(ErrConflict, err) }

// Conflictf is Conflict of a formatted error.
func Conflictf(format string, a ...any) error { return Conflict(fmt.Errorf(format, a...)) }

// NotImplemented marks err as a feature Berth does not have (501).
func NotImplemented(err error) error { return mark(ErrNotImplemented, err) }

// NotModified marks err as an operation with nothing to do (304).
func NotModified(err error) error { return mark(ErrNotModified, err) }

// StatusCode is the HTTP status Docker answers err with.
func StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrInvalidParameter):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrNotImplemented):
		return http.StatusNotImplemented
	case errors.Is(err, ErrNotModified):
		return http.StatusNotModified
	}
	return http.StatusInternalServerError
}

// Error is an error answer of the engine, as the client receives it: the
// server's message, and its kind through errors.Is.
type Error struct {
	StatusCode int
	Message    string
}

func (e *Error) Error() string { return e.Message }

// Is matches the kind the status code stands for.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalidParameter:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrNotImplemented:
		return e.StatusCode == http.StatusNotImplemented
	}
	return false
}

// errorResponse is Docker's error body.
type errorResponse struct {
	Message string `json:"message"`
}
