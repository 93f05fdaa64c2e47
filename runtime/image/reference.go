package image

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrInvalidReference is wrapped by every error about a malformed image
// reference.
var ErrInvalidReference = errors.New("invalid reference")

// Reference is a parsed image reference in Docker's canonical form:
// docker.io/library/nginx:1.22 or registry.example/app@sha256:....
type Reference struct {
	// Registry is the registry host as users write it ("docker.io").
	Registry string
	// Repository is the path within the registry ("library/nginx").
	Repository string
	Tag        string
	Digest     string
}

// ParseReference parses what a user wrote (nginx, nginx:1.22, ghcr.io/o/r,
// name@sha256:...). A name without tag or digest gets "latest".
func ParseReference(s string) (Reference, error) {
	if err := checkGrammar(s); err != nil {
		return Reference{}, err
	}
	ref, err := name.ParseReference(s, name.WithDefaultRegistry("docker.io"))
	if err != nil {
		return Reference{}, fmt.Errorf("%w %q: %s", ErrInvalidReference, s, badName(err))
	}
	r := Reference{Registry: normalizeRegistry(ref.Context().RegistryStr()), Repository: ref.Context().RepositoryStr()}
	switch v := ref.(type) {
	case name.Tag:
		r.Tag = v.TagStr()
	case name.Digest:
		r.Digest = v.DigestStr()
		// name.Digest drops a tag written before the digest; Docker
		// keeps the digest only, and so does Berth.
	}
	return r, nil
}

// ParseRepository parses a repository name without tag or digest (for tag
// and filters).
func ParseRepository(s string) (Reference, error) {
	repo, err := name.NewRepository(s, name.WithDefaultRegistry("docker.io"))
	if err != nil {
		return Reference{}, fmt.Errorf("%w %q: %s", ErrInvalidReference, s, badName(err))
	}
	return Reference{Registry: normalizeRegistry(repo.RegistryStr()), Repository: repo.RepositoryStr()}, nil
}

// normalizeRegistry names Docker Hub "docker.io", whatever host form it
// came in.
func normalizeRegistry(r string) string {
	switch r {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return r
}

// Name is the canonical repository name: docker.io/library/nginx.
func (r Reference) Name() string { return r.Registry + "/" + r.Repository }

// String is the canonical reference: docker.io/library/nginx:1.22.
func (r Reference) String() string {
	switch {
	case r.Digest != "":
		return r.Name() + "@" + r.Digest
	case r.Tag != "":
		return r.Name() + ":" + r.Tag
	}
	return r.Name()
}

// FamiliarName is the repository as Docker shows it: nginx, not
// docker.io/library/nginx.
func (r Reference) FamiliarName() string {
	if r.Registry != "docker.io" {
		return r.Name()
	}
	return strings.TrimPrefix(r.Repository, "library/")
}

// Familiar is the reference as Docker shows it: nginx:1.22.
func (r Reference) Familiar() string {
	switch {
	case r.Digest != "":
		return r.FamiliarName() + "@" + r.Digest
	case r.Tag != "":
		return r.FamiliarName() + ":" + r.Tag
	}
	return r.FamiliarName()
}

// WithTag returns the repository with tag.
func (r Reference) WithTag(tag string) Reference {
	return Reference{Registry: r.Registry, Repository: r.Repository, Tag: tag}
}

// WithDigest returns the repository with digest.
func (r Reference) WithDigest(d string) Reference {
	return Reference{Registry: r.Registry, Repository: r.Repository, Digest: d}
}

// FamiliarString turns a canonical reference string into Docker's short
// form; a string that does not parse is returned as it is.
func FamiliarString(s string) string {
	r, err := ParseReference(s)
	if err != nil {
		return s
	}
	return r.Familiar()
}

// badName shortens go-containerregistry's name errors to their reason.
func badName(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i > 0 && strings.Count(msg, ": ") > 1 {
		msg = msg[:i]
	}
	return msg
}

// The reference grammar of the distribution project, which Docker enforces
// and go-containerregistry only partly does.
var (
	pathComponent   = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	domainRE        = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^` + domainComponent + `(?:\.` + domainComponent + `)*(?::[0-9]+)?$`)
	})
	pathRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^` + pathComponent + `(?:/` + pathComponent + `)*$`) })
	tagRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w][\w.-]{0,127}$`) })
	digestRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$`)
	})
)

// checkGrammar rejects what Docker rejects, with Docker's words.
func checkGrammar(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty image name", ErrInvalidReference)
	}
	rest, digest, hasDigest := strings.Cut(s, "@")
	if hasDigest && !digestRE().MatchString(digest) {
		return fmt.Errorf("%w %q: bad digest %q", ErrInvalidReference, s, digest)
	}
	namepart, tag := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i:], "/") {
		namepart, tag = rest[:i], rest[i+1:]
		if !tagRE().MatchString(tag) {
			return fmt.Errorf("%w %q: bad tag %q", ErrInvalidReference, s, tag)
		}
	}
	path := namepart
	if first, remainder, ok := strings.Cut(namepart, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first) {
		if !domainRE().MatchString(first) {
			return fmt.Errorf("%w %q: bad registry host %q", ErrInvalidReference, s, first)
		}
		path = remainder
	}
	if strings.ToLower(path) != path {
		return fmt.Errorf("%w %q: repository name must be lowercase", ErrInvalidReference, s)
	}
	if !pathRE().MatchString(path) {
		return fmt.Errorf("%w %q: repository names are lowercase letters, digits and separators (. _ __ -) between them", ErrInvalidReference, s)
	}
	if len(namepart) > 255 {
		return fmt.Errorf("%w %q: repository name longer than 255 characters", ErrInvalidReference, s)
	}
	return nil
}
