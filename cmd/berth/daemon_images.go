package main

import "github.com/berthhq/berth/runtime/daemon"

func init() { newImageBackend = daemon.NewImageBackend }
