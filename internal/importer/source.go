package importer

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelreg/modelreg"
)

// Sources decides which source_location values this server imports from:
// file:///abs/path URLs naming a file or directory under one of its import
// roots, and, when an object store is configured (ObjectSourceConfig),
// obs://bucket/path, s3://bucket/path, OBS-style /bucket/path and
// https://bucket.obs.<region>.<domain>/path. Other forms (http://, ftp://, …)
// are refused. The zero value and nil accept nothing.
type Sources struct {
	roots     []string       // absolute, cleaned, symlinks resolved
	names     []string       // the roots as configured, cleaned
	protected []protected    // the server's own data: never imported
	obj       *objectSources // nil: object-store sources are off
}

// SourcesConfig configures Sources.
type SourcesConfig struct {
	// ImportRoots are the directories file:// sources may name: absolute
	// paths of existing directories.
	ImportRoots []string
	// Protected are the server's own data: its data directory, its blob
	// directory and its database files (with their -wal, -shm and
	// -journal companions). No import reads them or anything under them,
	// whatever the roots: a source that is, holds or links to them fails
	// (ModelArts.3017). Absolute paths; they need not exist yet.
	Protected []string
	// Object configures the object-store sources; the zero value turns
	// them off.
	Object ObjectSourceConfig
}

// NewSources returns Sources importing from the given root directories
// only. Each root must be an absolute path to an existing directory;
// symlinks in a root are resolved once, here.
func NewSources(roots ...string) (*Sources, error) {
	return NewSourcesFromConfig(SourcesConfig{ImportRoots: roots})
}

// NewSourcesFromConfig returns Sources importing from cfg's import roots and,
// when cfg.Object.Endpoint is set, from that object store. It makes no
// network request: an unreachable endpoint or bad credentials fail the
// imports that use them, with a reason.
func NewSourcesFromConfig(cfg SourcesConfig) (*Sources, error) {
	s := &Sources{}
	for _, r := range cfg.ImportRoots {
		if !filepath.IsAbs(r) {
			return nil, fmt.Errorf("import root %q is not an absolute path", r)
		}
		real, err := filepath.EvalSymlinks(filepath.Clean(r))
		if err != nil {
			return nil, fmt.Errorf("import root %q: %w", r, err)
		}
		fi, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("import root %q: %w", r, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("import root %q is not a directory", r)
		}
		s.roots = append(s.roots, real)
		s.names = append(s.names, filepath.Clean(r))
	}
	if err := s.Protect(cfg.Protected...); err != nil {
		return nil, err
	}
	if cfg.Object.Endpoint != "" {
		obj, err := newObjectSources(cfg.Object)
		if err != nil {
			return nil, err
		}
		s.obj = obj
	} else if cfg.Object != (ObjectSourceConfig{}) {
		return nil, errors.New("source endpoint: the object-store source settings need an endpoint")
	}
	return s, nil
}

// ObjectStore reports whether object-store sources are configured, and
// where they are read from ("http://host:port").
func (s *Sources) ObjectStore() (endpoint string, ok bool) {
	if s == nil || s.obj == nil {
		return "", false
	}
	return s.obj.ep.URL(), true
}

// Roots returns the import roots, symlinks resolved.
func (s *Sources) Roots() []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s.roots...)
}

// source is a resolved source_location: a file or directory under an import
// root, or objects in an object store.
type source struct {
	loc  string     // as the user gave it
	root string     // the import root holding it, symlinks resolved
	rel  string     // its path under root, slash-separated, "." for the root itself
	obj  *objectLoc // set for an object-store source (root and rel are empty)
}

func sourceInvalid(format string, args ...any) *modelreg.Error {
	return modelreg.Errorf(modelreg.EINVALID, modelreg.CodeSourceInvalid, format, args...)
}

// Check reports whether loc is an importable source_location: nil, or an
// EINVALID ModelArts.3017 error whose message says why not. The HTTP layer
// calls it before creating a model; the import job checks again.
//
// A file:// source that does not exist is refused too: the model would only
// fail. An object-store source is checked for its syntax only, without a
// network request: a missing bucket or object, or an endpoint that cannot be
// reached, fails the import instead.
func (s *Sources) Check(loc string) error {
	_, err := s.resolve(loc)
	return err
}

// resolve checks loc and returns where it is, or an EINVALID error.
func (s *Sources) resolve(loc string) (*source, error) {
	if loc == "" {
		return nil, sourceInvalid("The source_location is empty.")
	}
	if strings.ContainsRune(loc, 0) {
		return nil, sourceInvalid("The source_location contains a NUL character.")
	}
	scheme, _, hasScheme := strings.Cut(loc, "://")
	hasScheme = hasScheme && validScheme(scheme)
	scheme = strings.ToLower(scheme)
	switch {
	case strings.HasPrefix(loc, "/"):
		return s.resolveObjectSource(loc, "")
	case !hasScheme:
		return nil, sourceInvalid("The source_location %s is not a URL; use file:///absolute/path under an import root.", loc)
	case scheme == "obs" || scheme == "s3" || scheme == "https":
		return s.resolveObjectSource(loc, scheme)
	case scheme == "http":
		if s != nil && s.obj != nil {
			return nil, sourceInvalid("The source_location %s uses http://; use https://bucket.obs.region.domain/path, obs://bucket/path or s3://bucket/path.", loc)
		}
		return nil, sourceInvalid("The source_location %s uses %s://, which is not configured in this server. Use a file:/// URL under an import root.", loc, scheme)
	case scheme != "file":
		return nil, sourceInvalid("The source_location %s uses the unsupported scheme %s://.", loc, scheme)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil, sourceInvalid("The source_location %s is not a valid URL.", loc)
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, sourceInvalid("The source_location %s names a remote host; only local file:/// URLs are supported.", loc)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, sourceInvalid("The source_location %s must not have a query, a fragment or user information.", loc)
	}
	p := u.Path
	if u.Opaque != "" || !strings.HasPrefix(p, "/") {
		return nil, sourceInvalid("The source_location %s is not an absolute file:/// URL.", loc)
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return nil, sourceInvalid("The source_location %s must not contain \"..\".", loc)
		}
	}
	if s == nil || len(s.roots) == 0 {
		return nil, sourceInvalid("file:// sources are not enabled in this server: no import root is configured.")
	}
	clean := filepath.Clean(filepath.FromSlash(p))
	if s.rootOf(clean) == "" && !slices.ContainsFunc(s.names, func(r string) bool { return within(r, clean) }) {
		return nil, sourceInvalid("The source_location %s is not under an import root of this server.", loc)
	}
	real, err := filepath.EvalSymlinks(clean)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, sourceInvalid("The source_location %s does not exist.", loc)
		}
		return nil, sourceInvalid("The source_location %s cannot be read: %s.", loc, describe(err))
	}
	root := s.rootOf(real)
	if root == "" {
		return nil, sourceInvalid("The source_location %s resolves (through a symbolic link) to a path outside the import roots.", loc)
	}
	fi, err := os.Stat(real)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, sourceInvalid("The source_location %s does not exist.", loc)
		}
		return nil, sourceInvalid("The source_location %s cannot be read: %s.", loc, describe(err))
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return nil, sourceInvalid("The source_location %s is neither a regular file nor a directory.", loc)
	}
	if s.isProtected(real, fi) || fi.IsDir() && s.holdsProtected(real) {
		return nil, sourceInvalid("The source_location %s is, holds or links to this server's own data (its data directory, blob store or database), which is never imported.", loc)
	}
	rel, err := filepath.Rel(root, real)
	if err != nil {
		return nil, modelreg.Internal("importer.resolve", err)
	}
	return &source{loc: loc, root: root, rel: filepath.ToSlash(rel)}, nil
}

func (s *Sources) resolveObjectSource(loc, form string) (*source, error) {
	obj, err := s.resolveObject(loc, form)
	if err != nil {
		return nil, err
	}
	return &source{loc: loc, obj: obj}, nil
}

// rootOf returns the root holding the clean absolute path p, or "".
func (s *Sources) rootOf(p string) string {
	for _, r := range s.roots {
		if within(r, p) {
			return r
		}
	}
	return ""
}

// within reports whether the clean path p is root or lies under it.
func within(root, p string) bool {
	if p == root {
		return true
	}
	if !strings.HasSuffix(root, string(filepath.Separator)) {
		root += string(filepath.Separator)
	}
	return strings.HasPrefix(p, root)
}

// describe returns the operating system's reason for err without the path
// it names ("permission denied"), for messages users see.
func describe(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}

// validScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, "+", "-" or ".").
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
