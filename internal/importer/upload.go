package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/modelreg/modelreg"
)

// Defaults of UploadConfig.
const (
	// DefaultUploadIdleTimeout is how long an upload waits for its next
	// request before it is given up.
	DefaultUploadIdleTimeout = 10 * time.Minute
	// DefaultUploadStreams is how many file bodies are streamed into the
	// blob store at once; more wait their turn. Each holds up to one part
	// buffer of an S3 blob store (16 MiB).
	DefaultUploadStreams = 4
	// DefaultUploadProjectStreams is how many of those one project may
	// hold at once: the others stay free for other projects.
	DefaultUploadProjectStreams = 2
)

const (
	// statWorkers is how many blobs a commit checks at once.
	statWorkers = 8
	// commitTimeout bounds the commit of an uploaded blob (a server-side
	// copy on S3) once the client has gone.
	commitTimeout = time.Hour
)

// UploadConfig configures Uploads. Store and Blobs are required.
type UploadConfig struct {
	Store modelreg.Store
	Blobs modelreg.BlobStore
	// MaxFileSize is the largest file accepted (ModelArts.3044); default
	// DefaultMaxFileSize.
	MaxFileSize int64
	// IdleTimeout is how long an upload lives without a request: the
	// lease of its import job, renewed by every request and while a file
	// streams. Once it expires an import runner claims the job and fails
	// the model. Default DefaultUploadIdleTimeout.
	IdleTimeout time.Duration
	// MaxStreams is how many files stream into the blob store at once;
	// default DefaultUploadStreams.
	MaxStreams int
	// MaxProjectStreams is how many of them may belong to one project;
	// default DefaultUploadProjectStreams (at most MaxStreams). A request
	// waits for its project's turn before it waits for a stream.
	MaxProjectStreams int
	// Logger receives what uploads do; default slog.Default().
	Logger *slog.Logger
}

// Uploads implements modelreg.Uploader: it receives the files of models
// pushed through the API. The upload id is the model id, and the upload
// holds the model's import job under the lease owner "upload:<id>", so any
// replica sharing the database can serve any request of an upload.
type Uploads struct {
	cfg     UploadConfig
	log     *slog.Logger
	streams chan struct{}

	mu       sync.Mutex
	projects map[string]*projectSlots
}

var _ modelreg.Uploader = (*Uploads)(nil)

// NewUploads returns Uploads for cfg, with defaults filled in.
func NewUploads(cfg UploadConfig) *Uploads {
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultUploadIdleTimeout
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultUploadStreams
	}
	if cfg.MaxProjectStreams <= 0 {
		cfg.MaxProjectStreams = DefaultUploadProjectStreams
	}
	cfg.MaxProjectStreams = min(cfg.MaxProjectStreams, cfg.MaxStreams)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Uploads{cfg: cfg, log: cfg.Logger.With("component", "uploads"), streams: make(chan struct{}, cfg.MaxStreams),
		projects: map[string]*projectSlots{}}
}

// projectSlots is the semaphore of one project's streams; users counts the
// requests holding or waiting for it, so it is dropped when none does.
type projectSlots struct {
	ch    chan struct{}
	users int
}

// acquireProject waits for one of projectID's streams and returns the
// func that gives it back, or ctx's error.
func (u *Uploads) acquireProject(ctx context.Context, projectID string) (func(), error) {
	u.mu.Lock()
	ps := u.projects[projectID]
	if ps == nil {
		ps = &projectSlots{ch: make(chan struct{}, u.cfg.MaxProjectStreams)}
		u.projects[projectID] = ps
	}
	ps.users++
	u.mu.Unlock()
	done := func() {
		u.mu.Lock()
		if ps.users--; ps.users == 0 {
			delete(u.projects, projectID)
		}
		u.mu.Unlock()
	}
	select {
	case ps.ch <- struct{}{}:
		return func() { <-ps.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}

// owner returns the lease owner of upload id.
func owner(id string) string { return "upload:" + id }

// BeginUpload implements modelreg.Uploader.
func (u *Uploads) BeginUpload(ctx context.Context, m *modelreg.Model) (*modelreg.Upload, error) {
	if m.ID == "" {
		m.ID = modelreg.NewID()
	}
	m.SourceLocation = modelreg.UploadLocation(m.ID)
	if err := u.cfg.Store.CreateUploadModel(ctx, m, owner(m.ID), u.cfg.IdleTimeout); err != nil {
		return nil, err
	}
	u.log.Info("upload started", "model_id", m.ID, "model_name", m.Name, "model_version", m.Version)
	return &modelreg.Upload{UploadID: m.ID, ModelID: m.ID, IdleTimeout: int((u.cfg.IdleTimeout + time.Second - 1) / time.Second)}, nil
}

// hold checks that upload id exists in the project and is still receiving,
// and renews its lease. It returns ENOTFOUND ModelArts.3001 or ESTATE
// ModelArts.3078.
func (u *Uploads) hold(ctx context.Context, projectID, id string) error {
	if _, err := u.cfg.Store.FindModelByID(ctx, projectID, id); err != nil {
		return err
	}
	return u.renew(ctx, projectID, id)
}

// renew extends the upload's lease; ENOTFOUND becomes gone's error.
func (u *Uploads) renew(ctx context.Context, projectID, id string) error {
	err := u.cfg.Store.RenewImportJob(ctx, id, owner(id), u.cfg.IdleTimeout)
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
		return u.gone(ctx, projectID, id)
	}
	return err
}

// gone returns the error for an upload whose job is no longer its own: the
// model was deleted (ENOTFOUND ModelArts.3001), or it is not (or no longer)
// receiving an upload (ESTATE ModelArts.3078).
func (u *Uploads) gone(ctx context.Context, projectID, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	m, err := u.cfg.Store.FindModelByID(ctx, projectID, id)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Model (%s) is not receiving an upload: its status is %s", id, m.Status)
	switch {
	case !modelreg.IsUploadLocation(m.SourceLocation):
		msg += " and its files come from its source_location"
	case m.Status == modelreg.ModelFailed && m.FailureReason != "":
		msg += " (" + strings.TrimSuffix(m.FailureReason, ".") + ")"
	case m.Status == modelreg.ModelPublishing:
		msg += " and its upload was given up"
	}
	return modelreg.Errorf(modelreg.ESTATE, modelreg.CodeModelAbnormal, "%s.", msg)
}

// errUploadGone cancels a file stream whose upload lost its job.
var errUploadGone = errors.New("upload gone")

// keepAlive renews the upload's lease every IdleTimeout/3 until ctx is
// done, and cancels ctx with errUploadGone when the upload lost its job.
func (u *Uploads) keepAlive(ctx context.Context, id string, cancel context.CancelCauseFunc) {
	keepLease(ctx, u.cfg.IdleTimeout/3, cancel, errUploadGone, func(ctx context.Context) error {
		return u.cfg.Store.RenewImportJob(ctx, id, owner(id), u.cfg.IdleTimeout)
	}, func(err error) {
		u.log.Warn("renewing an upload's lease failed", "model_id", id, "err", err)
	})
}

// PutUploadFile implements modelreg.Uploader.
func (u *Uploads) PutUploadFile(ctx context.Context, projectID, id, path string, r io.Reader, size int64, sha256 string) (modelreg.FileInfo, error) {
	var none modelreg.FileInfo
	if err := modelreg.CheckFilePath(path); err != nil {
		return none, err
	}
	sha256 = strings.ToLower(sha256)
	if sha256 != "" && !validDigest(sha256) {
		return none, modelreg.Invalid("Invalid sha256 %q: want 64 hexadecimal digits.", sha256)
	}
	if size > u.cfg.MaxFileSize {
		return none, u.tooLarge(path)
	}
	if err := u.hold(ctx, projectID, id); err != nil {
		return none, err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { u.keepAlive(sctx, id, cancel) })
	defer cancel(nil) // stops keepAlive before wg.Wait

	// Wait for the project's turn, then for a stream: one project's slow
	// or many uploads never hold every stream.
	release, err := u.acquireProject(sctx, projectID)
	if err != nil {
		return none, u.interrupted(ctx, sctx, projectID, id)
	}
	select {
	case u.streams <- struct{}{}:
	case <-sctx.Done():
		release()
		return none, u.interrupted(ctx, sctx, projectID, id)
	}
	body := &errReader{r: r}
	st, err := u.cfg.Blobs.Stage(sctx, body, u.cfg.MaxFileSize)
	<-u.streams
	release()
	if err != nil {
		switch {
		case body.err != nil && !errors.Is(context.Cause(sctx), errUploadGone):
			// The body ended early, or came too slowly: the client's
			// doing, even when net/http cancelled the request's context
			// on the same broken read. A 400, never a 500.
			return none, modelreg.Invalid("The body of file %s could not be read to its end (%s); nothing was stored.", path, describe(body.err))
		case sctx.Err() != nil:
			return none, u.interrupted(ctx, sctx, projectID, id)
		case modelreg.ErrorCode(err) == modelreg.ETOOLARGE:
			return none, u.tooLarge(path)
		}
		return none, err
	}
	committed := false
	defer func() {
		if !committed {
			if err := st.Discard(context.WithoutCancel(ctx)); err != nil {
				u.log.Warn("discarding a staged blob failed", "model_id", id, "err", err)
			}
		}
	}()
	switch {
	case size >= 0 && st.Size() != size:
		return none, modelreg.Invalid("The body of file %s holds %d bytes, not the %d announced; nothing was stored.", path, st.Size(), size)
	case sha256 != "" && st.Digest() != sha256:
		return none, modelreg.Invalid("The body of file %s has the sha256 %s, not the %s announced; nothing was stored.", path, st.Digest(), sha256)
	}

	f := modelreg.ModelFile{Path: path, Digest: st.Digest(), Size: st.Size()}
	if err := attach(sctx, u.cfg.Store, id, owner(id), f, u.log); err != nil {
		if modelreg.ErrorCode(err) == modelreg.ENOTFOUND || sctx.Err() != nil {
			return none, u.interrupted(ctx, sctx, projectID, id)
		}
		return none, err
	}
	// The file is attached: finish the commit even if the client leaves.
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer ccancel()
	if err := st.Commit(cctx); err != nil {
		// The file's row names a blob that does not exist: the commit of
		// the upload refuses it until the file is uploaded again.
		return none, err
	}
	committed = true
	// The model may have been deleted, or the path uploaded again, since
	// the attach: then nothing references the blob and this queues it.
	tctx, tcancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer tcancel()
	if err := u.cfg.Store.TrackBlob(tctx, f.Digest); err != nil {
		u.log.Warn("checking an uploaded blob's references failed; the start-up sweep finds it if it is orphaned", "digest", f.Digest, "err", err)
	}
	u.log.Debug("file uploaded", "model_id", id, "path", path, "digest", f.Digest, "size", f.Size)
	return modelreg.FileInfoOf(f), nil
}

// interrupted returns the error of a file stream cut short by sctx: the
// request's own cancellation, or the upload losing its job.
func (u *Uploads) interrupted(ctx, sctx context.Context, projectID, id string) error {
	if errors.Is(context.Cause(sctx), errUploadGone) || ctx.Err() == nil {
		return u.gone(ctx, projectID, id)
	}
	return ctx.Err()
}

func (u *Uploads) tooLarge(path string) error {
	return modelreg.Errorf(modelreg.ETOOLARGE, modelreg.CodeFileTooLarge, "The file %s is larger than the limit of %s.", path, formatSize(u.cfg.MaxFileSize))
}

// CommitUpload implements modelreg.Uploader.
func (u *Uploads) CommitUpload(ctx context.Context, projectID, id string, want []modelreg.FileInfo) (*modelreg.Model, error) {
	if err := u.hold(ctx, projectID, id); err != nil {
		return nil, err
	}
	files, err := u.cfg.Store.FindModelFiles(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	if err := checkUploadedFiles(files, want); err != nil {
		return nil, err
	}
	if err := u.checkBlobs(ctx, files); err != nil {
		return nil, err
	}
	res := modelreg.ImportResult{Status: modelreg.ModelPublished}
	for _, f := range files {
		res.Size += f.Size
	}
	if res.Config, err = u.config(ctx, files); err != nil {
		return nil, err
	}
	err = u.cfg.Store.FinishImport(ctx, id, owner(id), res)
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
		return nil, u.gone(ctx, projectID, id)
	} else if err != nil {
		return nil, err
	}
	u.log.Info("upload published", "model_id", id, "files", len(files), "model_size", res.Size)
	return u.cfg.Store.FindModelByID(ctx, projectID, id)
}

// checkUploadedFiles checks the files of an upload against the list the
// client says it sent (when it sent one), and that they can all be written
// to a folder: no path is both a file and a folder.
func checkUploadedFiles(files []modelreg.ModelFile, want []modelreg.FileInfo) error {
	if len(files) == 0 {
		return modelreg.ParamInvalid("files", "the upload holds no file")
	}
	if len(files) > MaxFiles {
		return modelreg.ParamInvalid("files", fmt.Sprintf("the upload holds %d files, more than %d", len(files), MaxFiles))
	}
	isFile := make(map[string]bool, len(files))
	for _, f := range files {
		isFile[f.Path] = true
	}
	for _, f := range files {
		for i := range len(f.Path) {
			if f.Path[i] == '/' && isFile[f.Path[:i]] {
				return modelreg.ParamInvalid("files", fmt.Sprintf("%s is a file and also a folder (of %s)", f.Path[:i], f.Path))
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	got := make(map[string]modelreg.ModelFile, len(files))
	for _, f := range files {
		got[f.Path] = f
	}
	listed := make(map[string]bool, len(want))
	for _, w := range want {
		f, ok := got[w.Path]
		switch {
		case listed[w.Path]:
			return modelreg.ParamInvalid("files", w.Path+" is listed twice")
		case !ok:
			return modelreg.ParamInvalid("files", w.Path+" was not uploaded")
		case f.Size != w.Size || f.Digest != strings.ToLower(w.SHA256):
			return modelreg.ParamInvalid("files", fmt.Sprintf("%s was uploaded with %d bytes and sha256 %s, not %d bytes and sha256 %s",
				w.Path, f.Size, f.Digest, w.Size, w.SHA256))
		}
		listed[w.Path] = true
	}
	for _, f := range files {
		if !listed[f.Path] {
			return modelreg.ParamInvalid("files", f.Path+" was uploaded but is not listed")
		}
	}
	return nil
}

// checkBlobs checks that the blob of every file is in the blob store with
// its size: a file whose upload failed between the attach and the commit of
// its blob is refused until it is uploaded again.
func (u *Uploads) checkBlobs(ctx context.Context, files []modelreg.ModelFile) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(statWorkers)
	for _, f := range files {
		g.Go(func() error {
			size, err := u.cfg.Blobs.Stat(gctx, f.Digest)
			switch {
			case modelreg.ErrorCode(err) == modelreg.ENOTFOUND || err == nil && size != f.Size:
				return modelreg.ParamInvalid("files", f.Path+" was not stored completely; upload it again")
			case err != nil:
				return err
			}
			return nil
		})
	}
	return g.Wait()
}

// config returns the model's config.json (by the import's rules) after
// checking it, or "" when it has none.
func (u *Uploads) config(ctx context.Context, files []modelreg.ModelFile) (string, error) {
	fs := make([]file, len(files))
	for i, f := range files {
		fs[i] = file{rel: f.Path, size: f.Size}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].rel < fs[j].rel })
	p := configPath(fs)
	if p == "" {
		return "", nil
	}
	var d string
	for _, f := range files {
		if f.Path == p {
			d = f.Digest
		}
	}
	rc, err := u.cfg.Blobs.Open(ctx, d)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxConfigSize+1))
	if err != nil {
		return "", modelreg.Internal("importer.config", err)
	}
	var f *failure
	if err := checkConfig(p, data); errors.As(err, &f) {
		code, msg, _ := strings.Cut(f.reason, ": ")
		return "", modelreg.Errorf(modelreg.EINVALID, code, "%s", msg)
	}
	return string(data), nil
}

// validDigest reports whether d is a lower-case hex sha256 digest.
func validDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	for i := range len(d) {
		if c := d[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// AbortUpload implements modelreg.Uploader.
func (u *Uploads) AbortUpload(ctx context.Context, projectID, id string) error {
	if err := u.hold(ctx, projectID, id); err != nil {
		return err
	}
	err := modelreg.DeleteModel(ctx, u.cfg.Store, projectID, id)
	if err != nil && modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		return err
	}
	u.log.Info("upload aborted", "model_id", id)
	return nil
}
