// Package layer unpacks an image layer, an uncompressed tar stream, into the
// directory that becomes that layer's overlayfs lower directory.
//
// It is Berth's security boundary for image content: no entry lands outside the
// directory, no symlink is ever followed while writing, hard links to files of
// lower layers are copied up, whiteouts and opaque markers become overlayfs's
// character devices and xattrs, and xattrs reserved for overlayfs are refused.
// Ownership, modes, other xattrs and times are kept, as Docker keeps them.
package layer
