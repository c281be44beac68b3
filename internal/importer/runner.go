package importer

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/worker"
)

// Defaults of Config.
const (
	DefaultLease        = 30 * time.Second
	DefaultMaxFileSize  = 20 << 30 // 20 GiB, the ModelArts limit (ModelArts.3044)
	DefaultWorkers      = 2
	DefaultPollInterval = 5 * time.Second
	DefaultMaxAttempts  = 5
	DefaultRetryBase    = 2 * time.Second
	DefaultRetryMax     = 5 * time.Minute
	// DefaultStallTimeout is how long an import may wait on its source
	// without progress (a byte read, a directory or an object listed)
	// before it fails.
	DefaultStallTimeout = 5 * time.Minute
	// DefaultProjectJobs is how many import jobs of one project run at
	// once, across every replica sharing the database.
	DefaultProjectJobs = 1
	// MaxFiles is the most files one model may have.
	MaxFiles = 100_000
)

// Config configures a Runner. Store and Blobs are required.
type Config struct {
	Store   modelreg.Store
	Blobs   modelreg.BlobStore
	Sources *Sources // nil refuses every source

	// Owner names this runner in job leases; it must be unique among the
	// replicas sharing the database. Default: host name, pid and a random
	// suffix.
	Owner string
	// Lease is how long a claimed job stays with this runner without a
	// renewal. The runner renews it every Lease/3 while it works.
	Lease time.Duration
	// MaxFileSize is the largest model file accepted (ModelArts.3044).
	MaxFileSize int64
	// Workers is how many jobs run at once.
	Workers int
	// ProjectJobs is how many jobs of one project run at once, across the
	// replicas sharing the database; the other due jobs of that project
	// wait while other projects' jobs are claimed. Default
	// DefaultProjectJobs; with Workers above it, one project's large or
	// stuck imports never hold every worker.
	ProjectJobs int
	// StallTimeout is how long a job may wait on its source without
	// progress before it fails (ModelArts.3006); default
	// DefaultStallTimeout.
	StallTimeout time.Duration
	// PollInterval is how long an idle worker waits before looking for due
	// jobs again (Wake cuts it short).
	PollInterval time.Duration
	// MaxAttempts is how many times a job is tried before a database or
	// blob store error fails it.
	MaxAttempts int
	// RetryBase and RetryMax bound the exponential backoff between
	// attempts.
	RetryBase, RetryMax time.Duration
	// Now returns the time used for retry deadlines; it must agree with
	// the store's clock. Default time.Now.
	Now func() time.Time
	// Logger receives job progress; default slog.Default().
	Logger *slog.Logger

	// openHook, set by tests, wraps every opened source file.
	openHook func(rel string, rc io.ReadCloser) io.ReadCloser
}

// Runner runs import jobs from the store's durable queue.
type Runner struct {
	cfg  Config
	log  *slog.Logger
	wake worker.Wake
}

// New returns a Runner for cfg, with defaults filled in.
func New(cfg Config) *Runner {
	if cfg.Owner == "" {
		cfg.Owner = DefaultOwner()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.ProjectJobs <= 0 {
		cfg.ProjectJobs = DefaultProjectJobs
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Runner{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "importer", "owner", cfg.Owner),
		wake: worker.NewWake(),
	}
}

// DefaultOwner returns a lease owner name unique to this process:
// host:pid:random.
func DefaultOwner() string { return worker.Owner("") }

// Owner returns the name this runner leases jobs under.
func (r *Runner) Owner() string { return r.cfg.Owner }

// Wake tells an idle worker to look for jobs now. It never blocks.
func (r *Runner) Wake() { r.wake.Notify() }

func (r *Runner) check() error {
	if r.cfg.Store == nil || r.cfg.Blobs == nil {
		return errors.New("importer: Config.Store and Config.Blobs are required")
	}
	return nil
}

// Run runs jobs with Workers workers until ctx is done, then returns nil
// once they have stopped. A job in progress at that moment stays leased and
// resumes, here or on another replica, after its lease expires.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	r.log.Info("import runner started", "workers", r.cfg.Workers)
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() { r.work(ctx) })
	}
	wg.Wait()
	r.log.Info("import runner stopped")
	return nil
}

func (r *Runner) work(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		claimed, err := r.next(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.log.Warn("claiming an import job failed", "err", err)
		}
		if claimed {
			r.Wake() // pass the baton: another idle worker may find more
			continue
		}
		timer.Reset(r.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-timer.C:
		}
	}
}

// RunOnce runs due jobs one after the other until none is due and returns
// how many it ran. Tests and tools use it; servers use Run.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	n := 0
	for {
		claimed, err := r.next(ctx)
		if err != nil || !claimed {
			return n, err
		}
		n++
	}
}

// next claims one due job and runs it. It reports whether it found one.
func (r *Runner) next(ctx context.Context) (bool, error) {
	job, err := r.cfg.Store.ClaimImportJob(ctx, r.cfg.Owner, r.cfg.Lease, r.cfg.ProjectJobs)
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
		return false, nil
	} else if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, err
	}
	r.process(ctx, job)
	return true, ctx.Err()
}
