// Command berth turns a machine into a container host and is that host's
// container engine.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], defaultStreams()))
}
