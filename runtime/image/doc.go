// Package image is the engine's image store: pulling through mirrors,
// content-addressed storage, layers unpacked once and shared, tags, history,
// removal and pruning.
//
// Layout under the data root (/var/lib/berth/image):
//
//	blobs/sha256/<hex>        manifests, configs and compressed layers, each
//	                          verified against its digest before it lands here;
//	                          kept so that save reproduces the pulled image
//	layers/<chainid-hex>/     one unpacked layer, shared by every image using it:
//	    diff/                 the files, ready to be an overlayfs lower directory
//	    link                  its short name in l/ (keeps mount data short)
//	    layer.json            chain ID, diff ID, parent, sizes, source blob
//	l/<short>                 symlink to ../layers/<chainid-hex>/diff
//	images/<id-hex>.json      one image: its config digest (the image ID), the
//	                          manifest it came from, its layers' chain IDs
//	refs.json                 tags and digests → image ID
//	tmp/                      work in progress; emptied at open
//	lock                      held by the one process that owns the store
//
// Commit order makes a killed process harmless: a blob, a layer or an image
// becomes visible only by a rename after its content is complete, verified
// and synced; an image record is written after all its layers, and a tag
// after its image. Whatever a crash leaves in tmp/ is removed at the next
// Open, and a pull after the crash reuses every blob and layer that landed.
package image
