package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// JSONMessage is one line of Docker's progress stream (pull, load):
//
//	{"status":"Downloading","progressDetail":{"current":1,"total":2},"progress":"[=>  ] 1B/2B","id":"abc123def456"}
//	{"stream":"Loaded image: busybox:latest\n"}
//	{"errorDetail":{"message":"..."},"error":"..."}
type JSONMessage struct {
	Stream         string          `json:"stream,omitempty"`
	Status         string          `json:"status,omitempty"`
	ProgressDetail *ProgressDetail `json:"progressDetail,omitempty"`
	// Progress is the bar the server draws from ProgressDetail, for
	// clients that print lines rather than redraw a terminal.
	Progress     string           `json:"progress,omitempty"`
	ID           string           `json:"id,omitempty"`
	ErrorDetail  *JSONError       `json:"errorDetail,omitempty"`
	ErrorMessage string           `json:"error,omitempty"`
	Aux          *json.RawMessage `json:"aux,omitempty"`
}

// Err is the error the message carries, or nil.
func (m JSONMessage) Err() error {
	switch {
	case m.ErrorDetail != nil:
		return m.ErrorDetail
	case m.ErrorMessage != "":
		return &JSONError{Message: m.ErrorMessage}
	}
	return nil
}

// ProgressDetail is how far one item (a layer) has come, in bytes.
type ProgressDetail struct {
	Current int64 `json:"current,omitempty"`
	Total   int64 `json:"total,omitempty"`
}

// String draws the bar as dockerd does for clients without a terminal:
// "[=========>       ] 1.2MB/3.4MB".
func (p ProgressDetail) String() string {
	if p.Current <= 0 && p.Total <= 0 {
		return ""
	}
	if p.Total <= 0 {
		return fmt.Sprintf("%8v", humanSize(p.Current))
	}
	pct := min(int(float64(p.Current)/float64(p.Total)*100)/2, 50)
	bar := fmt.Sprintf("[%s>%s] ", strings.Repeat("=", pct), strings.Repeat(" ", 50-pct))
	if p.Current > p.Total {
		return bar + fmt.Sprintf("%8v", humanSize(p.Current))
	}
	return bar + fmt.Sprintf("%8v/%v", humanSize(p.Current), humanSize(p.Total))
}

// humanSize is go-units' HumanSize, which Docker's bars use: four
// significant digits, decimal units.
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f, i := float64(n), 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}

// JSONError is the error of a progress stream.
type JSONError struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message"`
}

func (e *JSONError) Error() string { return e.Message }

// ProgressFunc receives a backend's progress messages. It may be called
// from several goroutines (layers download concurrently).
type ProgressFunc func(JSONMessage)

// ProgressWriter streams JSONMessages to an HTTP response, one line each,
// flushed as it is written so the client sees progress live. The response
// header goes out with the first message, so an error before any progress
// can still be a plain error response (see Started).
type ProgressWriter struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	err     error
}

// NewProgressWriter streams to w.
func NewProgressWriter(w http.ResponseWriter) *ProgressWriter {
	return &ProgressWriter{w: w, rc: http.NewResponseController(w)}
}

// Write sends one message, drawing its Progress bar when it has a
// ProgressDetail and no bar yet. After a failed write (the client went
// away) it keeps returning that error.
func (p *ProgressWriter) Write(m JSONMessage) error {
	if m.ProgressDetail != nil && m.Progress == "" {
		m.Progress = m.ProgressDetail.String()
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	if !p.started {
		p.w.Header().Set("Content-Type", "application/json")
		p.w.WriteHeader(http.StatusOK)
		p.started = true
	}
	if _, err := p.w.Write(b); err != nil {
		p.err = err
		return err
	}
	if err := p.rc.Flush(); err != nil {
		p.err = err
		return err
	}
	return nil
}

// Func is Write as a ProgressFunc for a backend; write errors are dropped
// because the request's context ends the work when the client leaves.
func (p *ProgressWriter) Func() ProgressFunc {
	return func(m JSONMessage) { _ = p.Write(m) }
}

// WriteError ends the stream with err in Docker's shape.
func (p *ProgressWriter) WriteError(err error) error {
	return p.Write(JSONMessage{ErrorDetail: &JSONError{Message: err.Error()}, ErrorMessage: err.Error()})
}

// Started reports whether the response has begun.
func (p *ProgressWriter) Started() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}
