// Package caps decides a container's capability set the way docker's
// --cap-add, --cap-drop and --privileged do, and applies it to the calling
// thread, the one that will execve the container's process.
package caps
