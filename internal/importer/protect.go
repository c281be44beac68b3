package importer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/modelreg/modelreg"
)

// protected is a path of the server's own data that no import may read:
// its data directory, its blob directory, a database file.
type protected struct {
	path string      // absolute, symlinks resolved (those of its parent when it does not exist)
	info fs.FileInfo // what it was when the Sources were made; nil if it did not exist
}

// newProtected resolves p. A path that does not exist yet (a SQLite -wal
// file) is protected by the resolved path of its parent and its name.
func newProtected(p string) (protected, error) {
	if !filepath.IsAbs(p) {
		return protected{}, fmt.Errorf("protected path %q is not an absolute path", p)
	}
	p = filepath.Clean(p)
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		dir, derr := filepath.EvalSymlinks(filepath.Dir(p))
		if derr != nil {
			dir = filepath.Dir(p) // nothing there yet: protect it as given
		}
		return protected{path: filepath.Join(dir, filepath.Base(p))}, nil
	} else if err != nil {
		return protected{}, fmt.Errorf("protected path %q: %w", p, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return protected{}, fmt.Errorf("protected path %q: %w", p, err)
	}
	return protected{path: real, info: fi}, nil
}

// isProtected reports whether the real path p, or what fi describes, is
// protected data or lies under it.
func (s *Sources) isProtected(p string, fi fs.FileInfo) bool {
	for _, d := range s.protected {
		if within(d.path, p) || fi != nil && d.info != nil && os.SameFile(d.info, fi) {
			return true
		}
	}
	return false
}

// holdsProtected reports whether protected data lies under the real
// directory path p.
func (s *Sources) holdsProtected(p string) bool {
	for _, d := range s.protected {
		if within(p, d.path) {
			return true
		}
	}
	return false
}

// protectedFailure is the failure of an import that reaches the server's
// own data; rel names what, relative to the source.
func protectedFailure(rel string) *failure {
	return failf(modelreg.CodeSourceInvalid, "The file or directory %s is (or is under) this server's own data: its data directory, blob store or database, which is never imported.", rel)
}

// checkOpened checks, on the opened file fh, that what an import is about to
// read is not the server's own data, however the path reached it: fh's
// identity (device and inode) against the protected files and directories,
// its real path as the kernel knows it (/proc/self/fd on Linux; elsewhere
// the path resolved again, which must still be the opened file), and the
// identity of every directory above it up to rootDir against the protected
// directories. Checking the opened file, not the path listed earlier,
// defeats a symbolic link swapped during the import. It returns a *failure.
func (s *Sources) checkOpened(fh *os.File, fi fs.FileInfo, rootDir, name, rel string) error {
	if len(s.protected) == 0 {
		return nil
	}
	real, err := openedPath(fh)
	if err != nil {
		// No /proc: resolve the name again; it must still be the file
		// opened.
		real, err = filepath.EvalSymlinks(filepath.Join(rootDir, filepath.FromSlash(name)))
		if err != nil {
			return failf(modelreg.CodePublishFailed, "The file %s changed during the import: %s.", rel, describe(err))
		}
		if again, err := os.Stat(real); err != nil || !os.SameFile(again, fi) {
			return failf(modelreg.CodePublishFailed, "The file %s changed during the import.", rel)
		}
	}
	if s.isProtected(real, fi) {
		return protectedFailure(rel)
	}
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		if di, err := os.Stat(dir); err == nil && s.isProtected(dir, di) {
			return protectedFailure(rel)
		}
		if dir == rootDir || !within(rootDir, dir) || dir == filepath.Dir(dir) {
			return nil
		}
	}
}

// openedPath returns the path of an open file as the kernel resolved it
// (Linux: the link /proc/self/fd/N), or an error where that is not known.
func openedPath(fh *os.File) (string, error) {
	sc, err := fh.SyscallConn()
	if err != nil {
		return "", err
	}
	var p string
	var rerr error
	if err := sc.Control(func(fd uintptr) {
		p, rerr = os.Readlink("/proc/self/fd/" + strconv.FormatUint(uint64(fd), 10))
	}); err != nil {
		return "", err
	}
	if rerr != nil {
		return "", rerr
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%q is not a path", p) // "pipe:[…]", "anon_inode:…"
	}
	// A file removed since it was opened (a SQLite -wal file at a
	// checkpoint) is shown with this suffix: its path is the one before.
	return strings.TrimSuffix(p, " (deleted)"), nil
}

// Protect adds paths (the server's data directory, its blob directory, its
// database files) that no import may read, whatever the import roots and
// however a source reaches them. It is for Sources made by NewSources;
// SourcesConfig.Protected does the same.
func (s *Sources) Protect(paths ...string) error {
	for _, p := range paths {
		d, err := newProtected(p)
		if err != nil {
			return err
		}
		s.protected = append(s.protected, d)
	}
	return nil
}

// RootsHoldingProtected returns the import roots that hold protected data
// (the default root, the working directory, holds the default data
// directory); RootsInsideProtected those that lie inside it, from which
// nothing can be imported.
func (s *Sources) RootsHoldingProtected() (holding, inside []string) {
	if s == nil {
		return nil, nil
	}
	for i, r := range s.roots {
		switch {
		case s.isProtected(r, nil):
			inside = append(inside, s.names[i])
		case s.holdsProtected(r):
			holding = append(holding, s.names[i])
		}
	}
	return holding, inside
}
