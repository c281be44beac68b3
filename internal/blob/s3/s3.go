// Package s3 implements modelreg.BlobStore on an S3-compatible object store
// (Amazon S3, Huawei OBS, MinIO, Ceph RGW, versitygw, …) with minio-go.
//
// A store lives under a key prefix of one bucket:
//
//	prefix/sha256/ab/abcdef…   committed blobs, named by their lower-case hex
//	                           sha256 digest and fanned out by its first byte
//	prefix/staging/<random>    blobs being written, not yet visible
//
// Stage uploads to a random staging key while hashing: a small blob in one
// PUT, a larger one as a multipart upload of PartSize parts, so it holds at
// most one part in memory. Commit copies the staged object to its digest's
// key on the server (a multipart copy above 5 GiB) and removes the staged
// one; the object store makes a completed write durable, so a committed blob
// survives a crash of modelreg. A failed or cancelled upload is aborted; one
// left by a crash (a staged object, or an unfinished multipart upload) is
// removed by CleanStaging.
package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/s3conn"
)

const (
	blobsDir   = "sha256"
	stagingDir = "staging"
	// smallBlob is the largest blob Stage uploads in a single PUT: a larger
	// one is a multipart upload, which takes three requests and a part
	// buffer.
	smallBlob = 1 << 20
	// maxParts is the most parts of a multipart upload.
	maxParts = 10_000
)

// maxCopySize is the largest object one CopyObject may copy (5 GiB, the S3
// limit); larger ones are copied in parts.
const maxCopySize = 5 << 30

// Store is a blob store in a bucket of an S3-compatible object store. It is
// safe for concurrent use, also by several processes sharing a database.
type Store struct {
	client  *minio.Client
	core    minio.Core
	cfg     Config
	blobs   string // key prefix of committed blobs, ending in "/"
	staging string // key prefix of staged blobs, ending in "/"
	maxCopy int64  // maxCopySize; tests lower it
}

var _ modelreg.BlobStore = (*Store)(nil)

// Open returns the store cfg describes after checking that its bucket
// exists. Its errors are readable: the endpoint, the bucket and why, never a
// credential.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := s3conn.CheckBucket(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	prefix, err := cleanPrefix(cfg.Prefix)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	cfg.Prefix = prefix
	if cfg.Host == "" {
		cfg.Host = DefaultEndpoint
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	cfg.PartSize = max(cfg.PartSize, minPartSize)
	c, err := cfg.Endpoint.NewClient()
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s := &Store{client: c, core: minio.Core{Client: c}, cfg: cfg, maxCopy: maxCopySize}
	s.blobs = s.key(blobsDir) + "/"
	s.staging = s.key(stagingDir) + "/"

	// List one key rather than HEAD the bucket: a HEAD response has no
	// body, and some servers answer a bad access key with a bare 404.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range c.ListObjectsIter(ctx, cfg.Bucket, minio.ListObjectsOptions{Prefix: s.key(""), MaxKeys: 1}) {
		if obj.Err == nil {
			break
		}
		if s3conn.Classify(obj.Err) == s3conn.KindNoBucket {
			e := modelreg.Errorf(modelreg.EUNAVAILABLE, "", "The bucket %s does not exist at %s; create it first.", cfg.Bucket, cfg.URL())
			e.Op, e.Err = "s3.Open", obj.Err
			return nil, e
		}
		return nil, s.error("s3.Open", obj.Err)
	}
	return s, nil
}

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

// key returns the object key of name under the store's prefix.
func (s *Store) key(name string) string {
	if s.cfg.Prefix == "" {
		return name
	}
	return s.cfg.Prefix + "/" + name
}

// blobKey returns the key of digest d, which must be valid.
func (s *Store) blobKey(d string) string { return s.blobs + d[:2] + "/" + d }

// where names the store in messages: "bucket b at http://host:port".
func (s *Store) where() string {
	return fmt.Sprintf("bucket %s at %s", s.cfg.Bucket, s.cfg.URL())
}

// error turns an error of a minio-go call into a modelreg error: a context
// error is returned as is, a network or access problem is EUNAVAILABLE with
// a message naming the endpoint, anything else is EINTERNAL.
func (s *Store) error(op string, err error) error {
	var e *modelreg.Error
	if errors.As(err, &e) {
		return err
	}
	var msg string
	switch s3conn.Classify(err) {
	case s3conn.KindCanceled:
		if errors.Is(err, context.DeadlineExceeded) {
			return context.DeadlineExceeded
		}
		return context.Canceled
	case s3conn.KindUnreachable:
		msg = fmt.Sprintf("The object store at %s cannot be reached: %s.", s.cfg.URL(), s3conn.Reason(err))
	case s3conn.KindDenied:
		msg = fmt.Sprintf("The object store refused access to %s: %s.", s.where(), s3conn.Reason(err))
		if s.cfg.Anonymous() {
			msg += " No credentials are configured (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or a shared credentials file)."
		}
	case s3conn.KindNoBucket:
		msg = fmt.Sprintf("The bucket %s does not exist at %s.", s.cfg.Bucket, s.cfg.URL())
	default:
		return modelreg.Internal(op, err)
	}
	return &modelreg.Error{Code: modelreg.EUNAVAILABLE, Message: msg, Op: op, Err: err}
}

// validDigest reports whether d is a lower-case hex sha256 digest.
func validDigest(d string) bool {
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

func tooLarge(op string, maxSize int64) error {
	e := modelreg.Errorf(modelreg.ETOOLARGE, modelreg.CodeFileTooLarge, "The file is larger than %d bytes.", maxSize)
	e.Op = op
	return e
}

// smallBufs holds the buffers of small uploads.
var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBlob); return &b }}

// errTooLarge is the error of a stageReader past its limit.
var errTooLarge = errors.New("over the size limit")

// stageReader reads the blob being staged: it stops when ctx is done or more
// than max bytes (max > 0) came, hashes and counts what it passes on, and
// remembers its source's error.
type stageReader struct {
	ctx  context.Context
	r    io.Reader
	h    hash.Hash
	n    int64
	max  int64
	err  error // the source's error, or errTooLarge
	done bool  // the source said EOF
}

func (r *stageReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.done {
		return 0, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if r.max > 0 && int64(len(p)) > r.max+1-r.n {
		p = p[:r.max+1-r.n] // one more than allowed shows the excess
	}
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if r.max > 0 && r.n > r.max {
		r.err = errTooLarge
		return n, r.err
	}
	switch {
	case err == io.EOF:
		r.done = true
	case err != nil:
		r.err = err
	}
	return n, err
}

// partSize returns the part size of an upload of at most maxSize bytes: the
// configured one, or larger when 10,000 of those would not hold maxSize.
func (s *Store) partSize(maxSize int64) int64 {
	ps := s.cfg.PartSize
	if need := (maxSize + maxParts - 1) / maxParts; need > ps {
		const mib = 1 << 20
		ps = (need + mib - 1) / mib * mib
	}
	return ps
}

// Stage implements modelreg.BlobStore.
func (s *Store) Stage(ctx context.Context, r io.Reader, maxSize int64) (modelreg.StagedBlob, error) {
	const op = "s3.Stage"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := s.staging + randomName()
	sr := &stageReader{ctx: ctx, r: r, h: sha256.New(), max: maxSize}

	bufp := smallBufs.Get().(*[]byte)
	defer smallBufs.Put(bufp)
	n, rerr := io.ReadFull(sr, *bufp)
	var err error
	put := true
	switch rerr {
	case io.EOF, io.ErrUnexpectedEOF: // small: one PUT
		_, err = s.client.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader((*bufp)[:n]), int64(n),
			minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true})
	case nil: // large: a multipart upload, one part in memory at a time
		_, err = s.client.PutObject(ctx, s.cfg.Bucket, key, io.MultiReader(bytes.NewReader(*bufp), sr), -1,
			minio.PutObjectOptions{
				ContentType: "application/octet-stream",
				PartSize:    uint64(s.partSize(maxSize)),
				NumThreads:  1,
			})
	default:
		err, put = rerr, false
	}
	if err != nil {
		// minio-go aborts a failed multipart upload, and a PUT whose body
		// failed stores nothing. A PUT that failed for another reason may
		// have been stored all the same (the response was lost): remove it
		// unless the server cannot be reached anyway. CleanStaging removes
		// whatever this misses.
		if k := s3conn.Classify(err); put && sr.err == nil && k != s3conn.KindUnreachable && k != s3conn.KindCanceled {
			s.removeQuietly(ctx, key)
		}
		switch {
		case errors.Is(sr.err, errTooLarge):
			return nil, tooLarge(op, maxSize)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case sr.err != nil:
			return nil, &modelreg.Error{Code: modelreg.EINTERNAL, APICode: modelreg.CodeInternal,
				Message: "Internal error.", Op: op, Err: fmt.Errorf("reading the blob: %w", sr.err)}
		}
		return nil, s.error(op, err)
	}
	return &staged{s: s, key: key, digest: hex.EncodeToString(sr.h.Sum(nil)), size: sr.n}, nil
}

// removeQuietly removes key, ignoring errors (CleanStaging catches what this
// misses), even when ctx is done.
func (s *Store) removeQuietly(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{})
}

// randomName returns a staging name: the time, to read listings, and 96
// random bits.
func randomName() string {
	var b [12]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// staged is a blob uploaded to a staging key.
type staged struct {
	s      *Store
	key    string
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

// Commit copies the staged object to its digest's key on the server, unless
// a blob of the same size is there already, then removes the staged object.
// Committing twice is harmless; committing a discarded (or cleaned) blob is
// an error.
func (b *staged) Commit(ctx context.Context) error {
	const op = "s3.Commit"
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
	s := b.s
	dst := s.blobKey(b.digest)
	info, err := s.client.StatObject(ctx, s.cfg.Bucket, dst, minio.StatObjectOptions{})
	switch {
	case err == nil && info.Size == b.size:
		// Same digest, same content: keep the existing blob.
	case err == nil || s3conn.Classify(err) == s3conn.KindNotFound:
		if err := b.copy(ctx, dst); err != nil {
			return err
		}
	default:
		return s.error(op, err)
	}
	b.state = stateCommitted
	s.removeQuietly(ctx, b.key)
	return nil
}

// copy copies the staged object to dst on the server.
func (b *staged) copy(ctx context.Context, dst string) error {
	const op = "s3.Commit"
	s := b.s
	to := minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: dst}
	from := minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: b.key}
	var err error
	if b.size > s.maxCopy {
		_, err = s.client.ComposeObject(ctx, to, from)
	} else {
		_, err = s.client.CopyObject(ctx, to, from)
	}
	if s3conn.Classify(err) == s3conn.KindNotFound {
		return modelreg.Internal(op, errors.New("the staged blob is gone (removed by CleanStaging?)"))
	} else if err != nil {
		return s.error(op, err)
	}
	return nil
}

// Discard removes the staged object. Discarding twice, or after Commit, is
// harmless.
func (b *staged) Discard(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateStaged {
		return nil
	}
	err := b.s.client.RemoveObject(ctx, b.s.cfg.Bucket, b.key, minio.RemoveObjectOptions{})
	if err != nil && s3conn.Classify(err) != s3conn.KindNotFound {
		return b.s.error("s3.Discard", err)
	}
	b.state = stateDiscarded
	return nil
}

// Open implements modelreg.BlobStore. The returned reader streams the
// object's body.
func (s *Store) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	const op = "s3.Open"
	if !validDigest(digest) {
		return nil, invalidDigest(op, digest)
	}
	body, _, _, err := s.core.GetObject(ctx, s.cfg.Bucket, s.blobKey(digest), minio.GetObjectOptions{})
	if s3conn.Classify(err) == s3conn.KindNotFound {
		return nil, notFound(op, digest, err)
	} else if err != nil {
		return nil, s.error(op, err)
	}
	return body, nil
}

// Stat implements modelreg.BlobStore.
func (s *Store) Stat(ctx context.Context, digest string) (int64, error) {
	const op = "s3.Stat"
	if !validDigest(digest) {
		return 0, invalidDigest(op, digest)
	}
	info, err := s.client.StatObject(ctx, s.cfg.Bucket, s.blobKey(digest), minio.StatObjectOptions{})
	if s3conn.Classify(err) == s3conn.KindNotFound {
		return 0, notFound(op, digest, err)
	} else if err != nil {
		return 0, s.error(op, err)
	}
	return info.Size, nil
}

// Delete implements modelreg.BlobStore.
func (s *Store) Delete(ctx context.Context, digest string) error {
	const op = "s3.Delete"
	if !validDigest(digest) {
		return invalidDigest(op, digest)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.blobKey(digest), minio.RemoveObjectOptions{})
	if err != nil && s3conn.Classify(err) != s3conn.KindNotFound {
		return s.error(op, err)
	}
	return nil
}

// Walk implements modelreg.BlobStore. It lists the blobs page by page, in
// key order; objects that are not named after a valid digest in the right
// fan-out "directory" are ignored.
func (s *Store) Walk(ctx context.Context, fn func(digest string, size int64, modTime time.Time) error) error {
	const op = "s3.Walk"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing when fn fails
	for obj := range s.client.ListObjectsIter(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.blobs, Recursive: true}) {
		if obj.Err != nil {
			return s.error(op, obj.Err)
		}
		fan, d, ok := strings.Cut(strings.TrimPrefix(obj.Key, s.blobs), "/")
		if !ok || !validDigest(d) || !strings.HasPrefix(d, fan) || len(fan) != 2 {
			continue
		}
		if err := fn(d, obj.Size, obj.LastModified); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// CleanStaging implements modelreg.BlobStore: it removes the staged objects
// last modified before before, and aborts the multipart uploads to staging
// keys begun before it (left by a crash in the middle of a Stage).
func (s *Store) CleanStaging(ctx context.Context, before time.Time) error {
	const op = "s3.CleanStaging"
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range s.client.ListObjectsIter(lctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.staging, Recursive: true}) {
		if obj.Err != nil {
			return s.error(op, obj.Err)
		}
		if !obj.LastModified.Before(before) {
			continue
		}
		err := s.client.RemoveObject(ctx, s.cfg.Bucket, obj.Key, minio.RemoveObjectOptions{})
		if err != nil && s3conn.Classify(err) != s3conn.KindNotFound {
			return s.error(op, err)
		}
	}
	for up := range s.client.ListIncompleteUploads(lctx, s.cfg.Bucket, s.staging, true) {
		if up.Err != nil {
			if s3conn.Classify(up.Err) == s3conn.KindOther && isNotImplemented(up.Err) {
				break // the server has no multipart listing: nothing to clean
			}
			return s.error(op, up.Err)
		}
		if up.UploadID == "" || !up.Initiated.Before(before) || path.Dir(up.Key)+"/" != s.staging {
			continue
		}
		if err := s.core.AbortMultipartUpload(ctx, s.cfg.Bucket, up.Key, up.UploadID); err != nil && s3conn.Classify(err) != s3conn.KindNotFound {
			if minio.ToErrorResponse(err).Code != "NoSuchUpload" {
				return s.error(op, err)
			}
		}
	}
	return ctx.Err()
}

func isNotImplemented(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NotImplemented" || r.StatusCode == 501
}

// Versioned reports whether the bucket keeps old versions of objects
// (versioning enabled or suspended). In a versioned bucket a deleted blob
// leaves a noncurrent version behind, so its bytes are not freed until a
// lifecycle rule expires them; a server should warn about it. A server
// without versioning support answers false.
func (s *Store) Versioned(ctx context.Context) (bool, error) {
	v, err := s.client.GetBucketVersioning(ctx, s.cfg.Bucket)
	if err != nil {
		if isNotImplemented(err) {
			return false, nil
		}
		return false, s.error("s3.Versioned", err)
	}
	return v.Enabled() || v.Suspended(), nil
}
