// Package apitest holds test doubles for code that serves or calls the
// Engine API: an in-memory ImageBackend that records every call, an
// in-memory ContainerBackend whose containers run pretend processes, a
// SystemBackend with fixed answers, an in-process registry that demands
// Basic auth, and Interactive, an HTTP-level fake of the interactive
// endpoints (attach with stdin, exec, resize). Only tests import it.
package apitest
