package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are where a command reads and writes, so tests capture them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Color is true when Out is a terminal and NO_COLOR is unset.
	Color bool
}

func defaultStreams() *IOStreams {
	color := false
	if _, ok := os.LookupEnv("NO_COLOR"); !ok && os.Getenv("TERM") != "dumb" {
		color = term.IsTerminal(int(os.Stdout.Fd()))
	}
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, Color: color}
}
