package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/worker"
)

// errGone says the model was deleted, or the job is no longer ours.
var errGone = errors.New("import job gone")

// errStalled says the source made no progress for StallTimeout.
var errStalled = errors.New("import stalled")

// stallGrace is how long a worker waits for a stalled job to notice its
// cancellation before it gives the job up and moves on: a read blocked in
// the kernel (a hung network file system) may never return.
const stallGrace = 5 * time.Second

// activity tracks a job's waits on its source: since is when the job last
// saw progress (a byte, a directory, an object listed) while waiting on the
// source, 0 while it is not waiting on the source (writing to the blob
// store, recording files).
type activity struct {
	since atomic.Int64 // unix nanoseconds
	what  atomic.Pointer[string]
}

type activityKey struct{}

// enter notes that the job starts waiting on the source for *what.
func (a *activity) enter(what *string) {
	if a == nil {
		return
	}
	a.what.Store(what)
	a.since.Store(time.Now().UnixNano())
}

// listing is what a job waits for while it lists its source.
var listing = "the source_location's listing"

// leave notes that the wait is over.
func (a *activity) leave() {
	if a != nil {
		a.since.Store(0)
	}
}

// stalledFor returns how long the current wait has gone without progress.
func (a *activity) stalledFor(now time.Time) time.Duration {
	if t := a.since.Load(); t != 0 {
		return now.Sub(time.Unix(0, t))
	}
	return 0
}

func activityOf(ctx context.Context) *activity {
	a, _ := ctx.Value(activityKey{}).(*activity)
	return a
}

// progress notes progress in the current wait on the source (a listed
// directory or object).
func progress(ctx context.Context) {
	if a := activityOf(ctx); a != nil && a.since.Load() != 0 {
		a.since.Store(time.Now().UnixNano())
	}
}

// failure is a problem with the source that retrying will not fix. Its
// reason is for users: "ModelArts.NNNN: message".
type failure struct{ reason string }

func (f *failure) Error() string { return f.reason }

func failf(apiCode, format string, args ...any) *failure {
	return &failure{reason: apiCode + ": " + fmt.Sprintf(format, args...)}
}

// Retry behaviour of AttachModelFile while the collector deletes the same
// digest (EUNAVAILABLE): about 40 seconds in all.
const (
	attachRetries  = 45
	attachDelay    = 25 * time.Millisecond
	attachMaxDelay = time.Second
	// finishTimeout bounds the store calls that end a job once the
	// runner's context is done.
	finishTimeout = 10 * time.Second
)

// job is one run of one import job.
type job struct {
	*modelreg.ImportJob
	r   *Runner
	log *slog.Logger

	mu        sync.Mutex // committed: a stalled run may still be appending
	committed []string   // digests this run committed
}

// process runs one claimed job to its end: published, failed, retried,
// cancelled (model deleted) or abandoned (ctx done: the lease expires). A
// job whose source makes no progress for StallTimeout fails, and the worker
// moves on even if the stalled read never returns.
func (r *Runner) process(ctx context.Context, ij *modelreg.ImportJob) {
	j := &job{ImportJob: ij, r: r, log: r.log.With("model_id", ij.ModelID, "attempt", ij.Attempts)}
	j.log.Info("import started", "source_location", ij.SourceLocation)

	act := &activity{}
	jctx, cancel := context.WithCancelCause(context.WithValue(ctx, activityKey{}, act))
	var wg sync.WaitGroup
	wg.Go(func() { j.renew(jctx, cancel) })
	done := make(chan runResult, 1)
	go func() {
		res, err := j.run(jctx)
		done <- runResult{res, err}
	}()
	var out runResult
	stalled := j.watch(jctx, cancel, act, done, &out)
	gone := !stalled && (errors.Is(context.Cause(jctx), errGone) || errors.Is(out.err, errGone))
	cancel(nil)
	wg.Wait()

	var f *failure
	switch {
	case stalled:
		what := "the source"
		if w := act.what.Load(); w != nil {
			what = *w
		}
		j.finish(ctx, modelreg.ImportResult{Status: modelreg.ModelFailed, Reason: failf(modelreg.CodePublishFailed,
			"The import made no progress for %s while reading %s; it was stopped. Check the source and import the model again.",
			r.cfg.StallTimeout, what).reason})
	case gone:
		j.cancelled(ctx)
	case ctx.Err() != nil:
		j.log.Info("import interrupted; it resumes when its lease expires")
	case errors.As(out.err, &f):
		j.finish(ctx, modelreg.ImportResult{Status: modelreg.ModelFailed, Reason: f.reason})
	case out.err != nil:
		j.retry(ctx, out.err)
	default:
		j.finish(ctx, out.res)
	}
}

// runResult is what job.run returned.
type runResult struct {
	res modelreg.ImportResult
	err error
}

// watch waits for the job's result in done, stores it in out, and cancels
// the job with errStalled when its source makes no progress for
// StallTimeout. It reports whether the job stalled; then out is left empty,
// and the job's goroutine, if it has not returned within stallGrace, is
// left behind: its store calls fail once the job is finished.
func (j *job) watch(jctx context.Context, cancel context.CancelCauseFunc, act *activity, done <-chan runResult, out *runResult) bool {
	tick := time.NewTicker(max(min(j.r.cfg.StallTimeout/4, time.Second), time.Millisecond))
	defer tick.Stop()
	jdone := jctx.Done()
	for {
		select {
		case *out = <-done:
			return false
		case <-jdone:
			// Gone, or shutting down: the job returns soon, unless a read
			// is stuck, which the stall check still catches.
			jdone = nil
		case now := <-tick.C:
			if act.stalledFor(now) <= j.r.cfg.StallTimeout {
				continue
			}
			j.log.Warn("import stalled: no progress from the source; stopping it", "stall_timeout", j.r.cfg.StallTimeout)
			cancel(errStalled)
			select {
			case <-done:
			case <-time.After(stallGrace):
				j.log.Error("a stalled import did not stop; its worker moves on and the read is abandoned")
			}
			return true
		}
	}
}

// renew extends the lease every Lease/3 until ctx is done, and cancels ctx
// with errGone when the job is gone.
func (j *job) renew(ctx context.Context, cancel context.CancelCauseFunc) {
	keepLease(ctx, j.r.cfg.Lease/3, cancel, errGone, func(ctx context.Context) error {
		return j.r.cfg.Store.RenewImportJob(ctx, j.ModelID, j.r.cfg.Owner, j.r.cfg.Lease)
	}, func(err error) {
		j.log.Warn("renewing the import lease failed", "err", err)
	})
}

// keepLease calls renew every interval until ctx is done. When renew
// answers ENOTFOUND (the job is no longer ours) it cancels ctx with gone and
// returns; another error goes to failed, unless ctx is done, and the lease
// is renewed again at the next tick. An import job and an upload keep
// their leases with it.
func keepLease(ctx context.Context, interval time.Duration, cancel context.CancelCauseFunc, gone error,
	renew func(context.Context) error, failed func(error)) {
	t := time.NewTicker(max(interval, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := renew(ctx)
		switch {
		case err == nil:
		case modelreg.ErrorCode(err) == modelreg.ENOTFOUND:
			cancel(gone)
			return
		case ctx.Err() == nil:
			failed(err)
		}
	}
}

// run imports every file of the source and returns the result to publish.
// Errors are errGone, a *failure, or anything else (transient).
func (j *job) run(ctx context.Context) (modelreg.ImportResult, error) {
	var res modelreg.ImportResult
	if j.Attempts > 4*j.r.cfg.MaxAttempts {
		return res, failf(modelreg.CodePublishFailed, "The import was interrupted %d times; giving up.", j.Attempts-1)
	}
	if modelreg.IsUploadLocation(j.SourceLocation) {
		// The job of an upload whose lease expired: its client stopped
		// sending, or the server restarted, before the commit.
		return res, failf(modelreg.CodePublishFailed, "The upload was given up before it was committed: no request came for too long, or the server restarted. Push the model again.")
	}
	src, err := j.r.cfg.Sources.resolve(j.SourceLocation)
	if err != nil {
		return res, &failure{reason: modelreg.ErrorAPICode(err) + ": " + modelreg.ErrorMessage(err)}
	}
	t, err := j.r.cfg.Sources.openTree(src)
	if err != nil {
		return res, err
	}
	defer t.Close()
	act := activityOf(ctx)
	act.enter(&listing)
	files, err := t.list(ctx)
	act.leave()
	if err != nil {
		return res, err
	}
	if len(files) == 0 {
		return res, failf(modelreg.CodeSourceInvalid, "The source_location %s holds no files.", src.loc)
	}
	for _, f := range files {
		if f.size > j.r.cfg.MaxFileSize {
			return res, j.tooLarge(f.rel)
		}
	}

	// The config first: a bad one fails before anything large is copied.
	cfgPath := configPath(files)
	if cfgPath != "" {
		i := slices.IndexFunc(files, func(f file) bool { return f.rel == cfgPath })
		files = append(append([]file{files[i]}, files[:i]...), files[i+1:]...)
	}
	for _, f := range files {
		var capture io.Writer // nil unless f is the config
		var check func() error
		cfg := &capBuffer{max: maxConfigSize}
		if f.rel == cfgPath {
			capture = cfg
			check = func() error { return checkConfig(cfgPath, cfg.buf) }
		}
		size, err := j.importFile(ctx, t, f, capture, check)
		if err != nil {
			return res, err
		}
		res.Size += size
		if capture != nil {
			res.Config = string(cfg.buf)
		}
	}
	if err := j.checkLeftovers(ctx, files); err != nil {
		return res, err
	}
	res.Status = modelreg.ModelPublished
	return res, nil
}

func (j *job) tooLarge(rel string) *failure {
	return failf(modelreg.CodeFileTooLarge, "The file %s is larger than the limit of %s.", rel, formatSize(j.r.cfg.MaxFileSize))
}

// importFile stages, attaches and commits one file and returns its size.
// With capture set, the file's bytes are teed into it; check runs after
// staging and before attaching.
func (j *job) importFile(ctx context.Context, t tree, f file, capture io.Writer, check func() error) (int64, error) {
	act, what := activityOf(ctx), "the file "+f.rel
	act.enter(&what)
	rc, err := t.open(ctx, f)
	act.leave()
	if err != nil {
		return 0, err
	}
	if j.r.cfg.openHook != nil {
		rc = j.r.cfg.openHook(f.rel, rc)
	}
	defer rc.Close()
	src := &errReader{r: rc, act: act, what: &what}
	var r io.Reader = src
	if capture != nil {
		r = io.TeeReader(src, capture)
	}
	st, err := j.r.cfg.Blobs.Stage(ctx, r, j.r.cfg.MaxFileSize)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return 0, ctx.Err()
		case src.err != nil:
			if e, ok := errorsAsModelreg(src.err); ok {
				if e.Code == modelreg.EUNAVAILABLE {
					return 0, e // the source failed for now: retry
				}
				return 0, &failure{reason: modelreg.ErrorAPICode(e) + ": " + e.Message}
			}
			return 0, failf(modelreg.CodePublishFailed, "The file %s cannot be read: %s.", f.rel, describe(src.err))
		case modelreg.ErrorCode(err) == modelreg.ETOOLARGE:
			return 0, j.tooLarge(f.rel)
		}
		return 0, err
	}
	committed := false
	defer func() {
		if !committed {
			if err := st.Discard(context.WithoutCancel(ctx)); err != nil {
				j.log.Warn("discarding a staged blob failed", "err", err)
			}
		}
	}()
	if check != nil {
		if err := check(); err != nil {
			return 0, err
		}
	}
	mf := modelreg.ModelFile{Path: f.rel, Digest: st.Digest(), Size: st.Size()}
	if err := j.attach(ctx, mf); err != nil {
		return 0, err
	}
	if err := st.Commit(ctx); err != nil {
		return 0, err
	}
	committed = true
	j.mu.Lock()
	j.committed = append(j.committed, st.Digest())
	j.mu.Unlock()
	j.log.Debug("file imported", "path", f.rel, "digest", st.Digest(), "size", st.Size())
	return st.Size(), nil
}

// attach records f, waiting while the collector deletes the same digest.
func (j *job) attach(ctx context.Context, f modelreg.ModelFile) error {
	err := attach(ctx, j.r.cfg.Store, j.ModelID, j.r.cfg.Owner, f, j.log)
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
		return errGone
	}
	return err
}

// attach records file f of model modelID for the job's lease owner, waiting
// while the collector deletes the same digest (EUNAVAILABLE). It returns
// the store's error otherwise (ENOTFOUND: the job is gone).
func attach(ctx context.Context, store modelreg.JobStore, modelID, owner string, f modelreg.ModelFile, log *slog.Logger) error {
	delay := attachDelay
	for i := 0; ; i++ {
		err := store.AttachModelFile(ctx, modelID, owner, f)
		if modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE || i >= attachRetries || ctx.Err() != nil {
			return err
		}
		log.Debug("blob being collected; waiting to attach", "digest", f.Digest)
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, attachMaxDelay)
	}
}

// checkLeftovers fails the import when an earlier attempt attached a file
// that this one did not find: the source changed between attempts, and the
// blob of that file may never have been committed.
func (j *job) checkLeftovers(ctx context.Context, files []file) error {
	if j.Attempts <= 1 {
		return nil
	}
	attached, err := j.r.cfg.Store.FindModelFiles(ctx, j.ProjectID, j.ModelID)
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
		return errGone
	} else if err != nil {
		return err
	}
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		seen[f.rel] = true
	}
	for _, f := range attached {
		if !seen[f.Path] {
			return failf(modelreg.CodePublishFailed, "The source changed between import attempts: the file %s disappeared. Import the model again.", f.Path)
		}
	}
	return nil
}

// finish ends the job with res.
func (j *job) finish(ctx context.Context, res modelreg.ImportResult) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	err := j.r.cfg.Store.FinishImport(ctx, j.ModelID, j.r.cfg.Owner, res)
	switch {
	case err == nil && res.Status == modelreg.ModelPublished:
		j.log.Info("import published", "model_size", res.Size)
	case err == nil:
		j.log.Info("import failed", "reason", res.Reason)
	case modelreg.ErrorCode(err) == modelreg.ENOTFOUND:
		j.cancelled(ctx)
	default:
		j.retry(ctx, err)
	}
}

// retry releases the job for a later attempt after a transient error, or
// fails it after MaxAttempts.
func (j *job) retry(ctx context.Context, cause error) {
	if j.Attempts >= j.r.cfg.MaxAttempts {
		j.log.Error("import failed for good", "err", cause)
		code := modelreg.CodePublishFailed
		if c := modelreg.ErrorAPICode(cause); c != modelreg.CodeInternal {
			code = c // a source that cannot be reached: ModelArts.3017
		}
		j.finishFailed(ctx, failf(code, "The import failed after %d attempts: %s", j.Attempts, modelreg.ErrorMessage(cause)).reason)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	wait := worker.Backoff(j.r.cfg.RetryBase, j.r.cfg.RetryMax, j.Attempts)
	j.log.Warn("import attempt failed; retrying", "err", cause, "retry_in", wait)
	err := j.r.cfg.Store.RetryImport(ctx, j.ModelID, j.r.cfg.Owner, modelreg.ErrorMessage(cause), j.r.cfg.Now().Add(wait))
	switch {
	case err == nil:
	case modelreg.ErrorCode(err) == modelreg.ENOTFOUND:
		j.cancelled(ctx)
	default:
		j.log.Warn("releasing the import job failed; it resumes when its lease expires", "err", err)
	}
}

func (j *job) finishFailed(ctx context.Context, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	err := j.r.cfg.Store.FinishImport(ctx, j.ModelID, j.r.cfg.Owner, modelreg.ImportResult{Status: modelreg.ModelFailed, Reason: reason})
	switch {
	case err == nil:
		j.log.Info("import failed", "reason", reason)
	case modelreg.ErrorCode(err) == modelreg.ENOTFOUND:
		j.cancelled(ctx)
	default:
		j.log.Warn("failing the import job failed; it resumes when its lease expires", "err", err)
	}
}

// cancelled cleans up after the model was deleted: it queues the blobs this
// run committed, of which the store keeps only those nothing references.
func (j *job) cancelled(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	j.mu.Lock()
	committed := append([]string(nil), j.committed...)
	j.mu.Unlock()
	for _, d := range committed {
		if err := j.r.cfg.Store.TrackBlob(ctx, d); err != nil {
			// The collector's startup sweep finds it later.
			j.log.Warn("queueing a blob of a deleted model failed", "digest", d, "err", err)
		}
	}
	j.log.Info("import stopped: the model was deleted (or its job taken over)", "blobs_committed", len(committed))
}

// errReader remembers the last read error of what it reads (a source
// file, an upload's request body), to tell it from a blob store error when
// staging fails. With act set, each read is a wait on the source for what.
type errReader struct {
	r    io.Reader
	err  error
	act  *activity // nil: not watched
	what *string
}

func (e *errReader) Read(p []byte) (int, error) {
	e.act.enter(e.what)
	n, err := e.r.Read(p)
	e.act.leave()
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// formatSize prints n bytes in the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
