package importer

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/modelreg/modelreg"
)

// file is one regular file (or object) of a source.
type file struct {
	rel  string // its path in the model, slash-separated
	name string // where to open it: in the os.Root, slash-separated, or its object key
	size int64
	etag string // of an object, as listed
}

// tree lists and opens the files of a resolved source.
type tree interface {
	// list returns the files. Its errors are a *failure (the source is
	// wrong), EUNAVAILABLE (retry later) or the context's.
	list(ctx context.Context) ([]file, error)
	// open opens one listed file, with the errors of list.
	open(ctx context.Context, f file) (io.ReadCloser, error)
	Close() error
}

// openTree returns the tree of src.
func (s *Sources) openTree(src *source) (tree, error) {
	if src.obj != nil {
		return s.objectTree(src.loc, src.obj)
	}
	root, err := os.OpenRoot(src.root)
	if err != nil {
		return nil, failf(modelreg.CodeSourceInvalid, "The source_location %s cannot be read: %s.", src.loc, describe(err))
	}
	return &localTree{root: root, src: src, s: s}, nil
}

// localTree is a file or directory under an import root.
type localTree struct {
	root *os.Root
	src  *source
	s    *Sources
}

func (t *localTree) Close() error { return t.root.Close() }

func (t *localTree) list(ctx context.Context) ([]file, error) {
	return list(ctx, t.root, t.src, t.s)
}

func (t *localTree) open(_ context.Context, f file) (io.ReadCloser, error) {
	// O_NONBLOCK: opening a FIFO (a file swapped for one during the
	// import) would otherwise wait for a writer forever. Only a regular
	// file is read, and reads of regular files ignore the flag.
	fh, err := t.root.OpenFile(f.name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, failf(modelreg.CodePublishFailed, "The file %s cannot be read: %s.", f.rel, describe(err))
	}
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		fh.Close()
		return nil, failf(modelreg.CodePublishFailed, "The file %s changed during the import: it is no longer a regular file.", f.rel)
	}
	if err := t.s.checkOpened(fh, fi, t.src.root, f.name, f.rel); err != nil {
		fh.Close()
		return nil, err
	}
	return fh, nil
}

// walker lists the files of a source through an os.Root on its import root,
// so no path it opens can leave that root.
type walker struct {
	ctx     context.Context
	root    *os.Root
	rootDir string // the root's path, symlinks resolved
	s       *Sources
	files   []file
}

// list returns the files of src, sorted by path, or a *failure.
func list(ctx context.Context, root *os.Root, src *source, s *Sources) ([]file, error) {
	w := &walker{ctx: ctx, root: root, rootDir: src.root, s: s}
	fi, err := root.Stat(src.rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, failf(modelreg.CodeSourceInvalid, "The source_location %s does not exist.", src.loc)
		}
		return nil, failf(modelreg.CodeSourceInvalid, "The source_location %s cannot be read: %s.", src.loc, describe(err))
	}
	// The source may have been swapped for a link since it was resolved.
	if real := filepath.Join(src.root, filepath.FromSlash(src.rel)); s.isProtected(real, fi) || fi.IsDir() && s.holdsProtected(real) {
		return nil, failf(modelreg.CodeSourceInvalid, "The source_location %s is, holds or links to this server's own data (its data directory, blob store or database), which is never imported.", src.loc)
	}
	switch {
	case fi.Mode().IsRegular():
		base := path.Base(src.rel)
		if err := checkPath(base); err != nil {
			return nil, err
		}
		return []file{{rel: base, name: src.rel, size: fi.Size()}}, nil
	case fi.IsDir():
		real := filepath.Join(src.root, filepath.FromSlash(src.rel))
		if err := w.walk(src.rel, "", real, []fs.FileInfo{fi}); err != nil {
			return nil, err
		}
		return w.files, nil
	}
	return nil, failf(modelreg.CodeSourceInvalid, "The source_location %s is neither a regular file nor a directory.", src.loc)
}

// walk adds the files of directory name (in the root), whose path in the
// model is rel and whose real path (symlinks resolved) is real; ancestors
// are the directories above it, to detect loops.
func (w *walker) walk(name, rel, real string, ancestors []fs.FileInfo) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	progress(w.ctx)
	entries, err := w.readDir(name)
	if err != nil {
		what := "The source directory"
		if rel != "" {
			what = "The directory " + rel
		}
		return failf(modelreg.CodeSourceInvalid, "%s cannot be read: %s.", what, describe(err))
	}
	for _, e := range entries {
		ename, erel, ereal := path.Join(name, e.Name()), path.Join(rel, e.Name()), filepath.Join(real, e.Name())
		if !validName(e.Name()) {
			return failf(modelreg.CodeSourceInvalid, "The file name %q is not valid UTF-8 or contains a control character or an invisible formatting character.", erel)
		}
		var info fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			if info, ename, err = w.follow(ename, erel); err != nil {
				return err
			}
			if ereal, err = filepath.EvalSymlinks(filepath.Join(w.rootDir, filepath.FromSlash(ename))); err != nil {
				return failf(modelreg.CodeSourceInvalid, "The file %s cannot be read: %s.", erel, describe(err))
			}
		} else if info, err = e.Info(); errors.Is(err, fs.ErrNotExist) {
			continue // removed while we looked
		} else if err != nil {
			return failf(modelreg.CodeSourceInvalid, "The file %s cannot be read: %s.", erel, describe(err))
		}
		if w.s.isProtected(ereal, info) {
			return protectedFailure(erel)
		}
		switch {
		case info.IsDir():
			for _, a := range ancestors {
				if os.SameFile(a, info) {
					return failf(modelreg.CodeSourceInvalid, "The directory %s is a symbolic link loop.", erel)
				}
			}
			if err := w.walk(ename, erel, ereal, append(ancestors, info)); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := checkPath(erel); err != nil {
				return err
			}
			if len(w.files) >= MaxFiles {
				return failf(modelreg.CodeSourceInvalid, "The source_location holds more than %d files.", MaxFiles)
			}
			w.files = append(w.files, file{rel: erel, name: ename, size: info.Size()})
		default:
			// Sockets, pipes and devices are not model files.
		}
	}
	return nil
}

// readDir returns the entries of directory name, sorted by name. It opens
// it non-blocking: a directory swapped for a FIFO must not stall the
// import.
func (w *walker) readDir(name string) ([]fs.DirEntry, error) {
	d, err := w.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, errors.New("no longer a directory")
	}
	entries, err := d.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

// checkPath returns a *failure unless rel can be the path of a model file
// (modelreg.CheckFilePath: the limits the file API applies, so every
// imported file can be downloaded).
func checkPath(rel string) error {
	if err := modelreg.CheckFilePath(rel); err != nil {
		return failf(modelreg.CodeSourceInvalid, "The file %q cannot be a model file: %s", rel, strings.TrimPrefix(modelreg.ErrorMessage(err), "Invalid parameter path: "))
	}
	return nil
}

// follow resolves the symbolic link name and returns what it points to and
// that target's name in the root. A link that leaves the root, or points to
// nothing, is a failure.
func (w *walker) follow(name, rel string) (fs.FileInfo, string, error) {
	info, err := w.root.Stat(name)
	if err == nil {
		return info, name, nil
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", failf(modelreg.CodeSourceInvalid, "The file %s is a broken symbolic link.", rel)
	case errors.Is(err, syscall.ELOOP):
		return nil, "", failf(modelreg.CodeSourceInvalid, "The file %s is a symbolic link loop.", rel)
	}
	// os.Root refuses absolute links even when they stay inside the root:
	// resolve those by hand, then look again through the root.
	real, rerr := filepath.EvalSymlinks(filepath.Join(w.rootDir, filepath.FromSlash(name)))
	if rerr == nil && within(w.rootDir, real) {
		if r, rerr := filepath.Rel(w.rootDir, real); rerr == nil {
			target := filepath.ToSlash(r)
			if info, err := w.root.Stat(target); err == nil {
				return info, target, nil
			}
		}
	}
	return nil, "", failf(modelreg.CodeSourceInvalid, "The file %s is a symbolic link to a path outside the import root.", rel)
}

// validName reports whether a file name can be a model file path element.
func validName(name string) bool {
	return utf8.ValidString(name) && !strings.ContainsFunc(name, modelreg.InvalidPathRune)
}
