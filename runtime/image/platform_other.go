//go:build !linux

package image

// armVariant is v7 where uname cannot be read: the engine runs on Linux.
func armVariant() string { return "v7" }

// SpreadSubdirs is a Linux (ext4) placement hint.
func SpreadSubdirs(dir string) {}
