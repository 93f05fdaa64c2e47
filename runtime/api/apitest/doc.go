// Package apitest holds test doubles for code that serves or calls the
// Engine API: an in-memory ImageBackend that records every call, an
// in-memory ContainerBackend whose containers run pretend processes, a
// SystemBackend with fixed answers, and an in-process registry that demands
// Basic auth. Only tests import it.
package apitest
