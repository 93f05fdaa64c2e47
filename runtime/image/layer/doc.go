// Package layer moves image layers, uncompressed tar streams, between tar
// and the directories overlayfs mounts: Apply unpacks a layer into the
// directory that becomes its lower; Export turns a container's upper
// directory back into a layer (commit); the copy functions move files in
// and out of a container's root for cp.
//
// It is Berth's security boundary for image content: no entry lands outside the
// directory, no symlink is ever followed while writing, hard links to files of
// lower layers are copied up, whiteouts and opaque markers become overlayfs's
// character devices and xattrs, and xattrs reserved for overlayfs are refused.
// Ownership, modes, other xattrs and times are kept, as Docker keeps them.
// Export reverses the markers (.wh. entries, .wh..wh..opq) and drops
// overlayfs's own xattrs.
package layer
