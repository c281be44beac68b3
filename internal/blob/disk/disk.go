// Package disk implements modelreg.BlobStore on the local filesystem.
//
// A store lives in one directory:
//
//	dir/sha256/ab/abcdef…   committed blobs, named by their lower-case hex
//	                        sha256 digest and fanned out by its first byte
//	dir/staging/            blobs being written, not yet visible
//
// Stage writes and fsyncs a temporary file in staging while hashing it.
// Commit renames it into place and fsyncs the directory, so a committed blob
// survives a power cut. Staging and the blob tree must be on the same
// filesystem, which they are since both live under dir.
package disk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/modelreg/modelreg"
)

const (
	blobsDir   = "sha256"
	stagingDir = "staging"
	stagePat   = "stage-*"
	dirPerm    = 0o750
)

// Store is a blob store in a local directory. It is safe for concurrent use
// by several goroutines; two processes must not share a directory unless
// they coordinate through the same database.
type Store struct {
	dir     string
	blobs   string
	staging string
}

var _ modelreg.BlobStore = (*Store)(nil)

// Open opens the blob store in dir, creating dir and its layout when missing.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("disk: empty blob store directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	s := &Store{dir: abs, blobs: filepath.Join(abs, blobsDir), staging: filepath.Join(abs, stagingDir)}
	for _, d := range []string{s.blobs, s.staging} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, fmt.Errorf("disk: %w", err)
		}
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// ValidDigest reports whether d is a lower-case hex sha256 digest.
func ValidDigest(d string) bool {
	if len(d) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func invalidDigest(op, d string) error {
	e := modelreg.Errorf(modelreg.EINVALID, modelreg.CodeInvalidArgument, "Invalid blob digest %q.", d)
	e.Op = op
	return e
}

func notFound(op, d string, err error) error {
	e := modelreg.Errorf(modelreg.ENOTFOUND, "", "Blob %s does not exist.", d)
	e.Op, e.Err = op, err
	return e
}

// path returns the file of digest d, which must be valid.
func (s *Store) path(d string) string {
	return filepath.Join(s.blobs, d[:2], d)
}

// Stage implements modelreg.BlobStore.
func (s *Store) Stage(ctx context.Context, r io.Reader, maxSize int64) (modelreg.StagedBlob, error) {
	const op = "disk.Stage"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.staging, stagePat)
	if err != nil {
		return nil, modelreg.Internal(op, err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	h := sha256.New()
	src := io.Reader(&ctxReader{ctx: ctx, r: r})
	if maxSize > 0 {
		src = io.LimitReader(src, maxSize+1)
	}
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, modelreg.Internal(op, err)
	}
	if maxSize > 0 && n > maxSize {
		e := modelreg.Errorf(modelreg.ETOOLARGE, modelreg.CodeFileTooLarge, "The file is larger than %d bytes.", maxSize)
		e.Op = op
		return nil, e
	}
	if err := f.Sync(); err != nil {
		return nil, modelreg.Internal(op, err)
	}
	if err := f.Close(); err != nil {
		return nil, modelreg.Internal(op, err)
	}
	keep = true
	return &staged{s: s, name: f.Name(), digest: hex.EncodeToString(h.Sum(nil)), size: n}, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// staged is a blob written to the staging directory.
type staged struct {
	s      *Store
	name   string
	digest string
	size   int64

	mu    sync.Mutex
	state int // staged, committed or discarded
}

const (
	stateStaged = iota
	stateCommitted
	stateDiscarded
)

var _ modelreg.StagedBlob = (*staged)(nil)

func (b *staged) Digest() string { return b.digest }
func (b *staged) Size() int64    { return b.size }

// Commit renames the staged file to its digest's path, keeping a blob that
// already exists, and fsyncs the directory. Committing twice is harmless;
// committing a discarded blob is an error.
func (b *staged) Commit(ctx context.Context) error {
	const op = "disk.Commit"
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case stateCommitted:
		return nil
	case stateDiscarded:
		return modelreg.Internal(op, errors.New("staged blob already discarded"))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dst := b.s.path(b.digest)
	dir := filepath.Dir(dst)
	if _, err := os.Stat(dst); err == nil {
		// Same digest, same content: keep the existing blob.
		b.state = stateCommitted
		os.Remove(b.name)
		return nil
	}
	created := false
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return modelreg.Internal(op, err)
		}
		created = true
	}
	if err := os.Rename(b.name, dst); err != nil {
		return modelreg.Internal(op, err)
	}
	b.state = stateCommitted
	if created {
		if err := syncDir(b.s.blobs); err != nil {
			return modelreg.Internal(op, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return modelreg.Internal(op, err)
	}
	return nil
}

// Discard removes the staged file. Discarding twice, or after Commit, is
// harmless.
func (b *staged) Discard(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateStaged {
		return nil
	}
	b.state = stateDiscarded
	if err := os.Remove(b.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return modelreg.Internal("disk.Discard", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open implements modelreg.BlobStore.
func (s *Store) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	const op = "disk.Open"
	if !ValidDigest(digest) {
		return nil, invalidDigest(op, digest)
	}
	f, err := os.Open(s.path(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(op, digest, err)
	} else if err != nil {
		return nil, modelreg.Internal(op, err)
	}
	return f, nil
}

// Stat implements modelreg.BlobStore.
func (s *Store) Stat(ctx context.Context, digest string) (int64, error) {
	const op = "disk.Stat"
	if !ValidDigest(digest) {
		return 0, invalidDigest(op, digest)
	}
	fi, err := os.Stat(s.path(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, notFound(op, digest, err)
	} else if err != nil {
		return 0, modelreg.Internal(op, err)
	}
	return fi.Size(), nil
}

// Delete implements modelreg.BlobStore.
func (s *Store) Delete(ctx context.Context, digest string) error {
	const op = "disk.Delete"
	if !ValidDigest(digest) {
		return invalidDigest(op, digest)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(digest)
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return modelreg.Internal(op, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return modelreg.Internal(op, err)
	}
	return nil
}

// Walk implements modelreg.BlobStore. It reports blobs in no particular
// order, reading directories in batches so that a large store is never
// listed in memory at once. Files that are not named after a valid digest in
// the right fan-out directory are ignored.
func (s *Store) Walk(ctx context.Context, fn func(digest string, size int64, modTime time.Time) error) error {
	const op = "disk.Walk"
	fans, err := os.ReadDir(s.blobs) // at most 256 entries
	if err != nil {
		return modelreg.Internal(op, err)
	}
	for _, fan := range fans {
		if !fan.IsDir() || len(fan.Name()) != 2 {
			continue
		}
		if err := s.walkFan(ctx, fan.Name(), fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) walkFan(ctx context.Context, fan string, fn func(string, int64, time.Time) error) error {
	const op = "disk.Walk"
	d, err := os.Open(filepath.Join(s.blobs, fan))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return modelreg.Internal(op, err)
	}
	defer d.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := d.ReadDir(256)
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || !ValidDigest(name) || !strings.HasPrefix(name, fan) {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			} else if err != nil {
				return modelreg.Internal(op, err)
			}
			if err := fn(name, fi.Size(), fi.ModTime()); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		} else if err != nil {
			return modelreg.Internal(op, err)
		}
	}
}

// CleanStaging implements modelreg.BlobStore: it removes the files in the
// staging directory last modified before before.
func (s *Store) CleanStaging(ctx context.Context, before time.Time) error {
	const op = "disk.CleanStaging"
	entries, err := os.ReadDir(s.staging)
	if err != nil {
		return modelreg.Internal(op, err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // committed or discarded meanwhile
		} else if err != nil {
			return modelreg.Internal(op, err)
		}
		if !fi.ModTime().Before(before) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.staging, e.Name())); err != nil {
			return modelreg.Internal(op, err)
		}
	}
	return nil
}
