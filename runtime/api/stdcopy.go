package api

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Stream numbers of Docker's multiplexed stream: each frame is an 8-byte
// header {stream, 0, 0, 0, size as big-endian uint32} and size bytes.
// StreamSystemErr carries an error the server met after the stream began.
const (
	StreamStdin     byte = 0
	StreamStdout    byte = 1
	StreamStderr    byte = 2
	StreamSystemErr byte = 3
)

// Content types of output streams (logs, attach).
const (
	MediaTypeRawStream         = "application/vnd.docker.raw-stream"
	MediaTypeMultiplexedStream = "application/vnd.docker.multiplexed-stream"
)

// maxFrame is the largest frame payload: its length is a uint32. A
// variable, so that 32-bit builds compile the conversion below.
var maxFrame uint64 = 1<<32 - 1

// WriteFrame writes p as frames of stream; an empty p writes nothing.
func WriteFrame(w io.Writer, stream byte, p []byte) error {
	for len(p) > 0 {
		n := len(p)
		if uint64(n) > maxFrame {
			n = int(maxFrame) // only on 64-bit, where int holds it
		}
		var hdr [8]byte
		hdr[0] = stream
		binary.BigEndian.PutUint32(hdr[4:], uint32(n))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// StdCopy demultiplexes r onto stdout and stderr until r ends, and
// returns the bytes written. A system-error frame ends the copy with the
// error it carries; a malformed header is an error too.
func StdCopy(stdout, stderr io.Writer, r io.Reader) (int64, error) {
	var hdr [8]byte
	var written int64
	buf := make([]byte, 32<<10)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return written, nil
			}
			return written, fmt.Errorf("reading the output stream: %w", err)
		}
		size := int64(binary.BigEndian.Uint32(hdr[4:]))
		var dst io.Writer
		switch hdr[0] {
		case StreamStdout, StreamStdin:
			dst = stdout
		case StreamStderr:
			dst = stderr
		case StreamSystemErr:
			msg, err := io.ReadAll(io.LimitReader(r, size))
			if err != nil {
				return written, fmt.Errorf("reading the output stream: %w", err)
			}
			return written, errors.New(string(msg))
		default:
			return written, fmt.Errorf("reading the output stream: unknown stream %d in a frame header", hdr[0])
		}
		n, err := io.CopyBuffer(dst, io.LimitReader(r, size), buf)
		written += n
		if err != nil {
			return written, err
		}
		if n < size {
			return written, fmt.Errorf("reading the output stream: %w", io.ErrUnexpectedEOF)
		}
	}
}
