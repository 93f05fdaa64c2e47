package main

import "github.com/berthhq/berth/runtime/daemon"

func init() { newContainerBackend = daemon.NewContainerBackend }
