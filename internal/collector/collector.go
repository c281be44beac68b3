// Package collector removes unreferenced blobs from the blob store.
//
// Deleting a model queues its blobs that no other model references in the
// database's outbox (modelreg.BlobGCStore), in the same transaction. The
// collector drains that outbox: it claims due digests under a lease (the
// store drops any that a model references again), deletes each blob from the
// blob store, and completes the claim. A failed deletion is released with an
// exponential backoff per digest. Deleting is idempotent, so a crash at any
// point only means the digest is claimed and deleted again later.
//
// An import attaches a digest in the database before committing its blob,
// and the store refuses to attach a digest while a collector holds a live
// lease on it. So the collector never deletes a blob after its lease is half
// gone: what is left of a batch then is released and claimed again.
//
// Sweep is the startup pass: it removes staging files a crash left behind and
// queues every blob of the store (the store ignores referenced ones), which
// catches a blob committed just before a crash whose model had meanwhile
// been deleted.
//
// While it runs, the collector also removes staged blobs older than
// StagingGrace every StagingInterval, so that what a crashed replica (or a
// write whose clean-up failed) left in a shared blob store does not wait for
// a restart.
package collector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelreg/modelreg"
)

// Defaults of Config.
const (
	DefaultLease       = time.Minute
	DefaultInterval    = 30 * time.Second
	DefaultBatch       = 100
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 5 * time.Minute
	// DefaultStagingGrace is Config.StagingGrace by default: far longer
	// than any single blob takes to stage.
	DefaultStagingGrace = 6 * time.Hour
)

// Config configures a Collector. Store and Blobs are required.
type Config struct {
	Store modelreg.BlobGCStore
	Blobs modelreg.BlobStore
	// Owner names this collector in claims; unique among replicas.
	// Default: host name, pid and a random suffix.
	Owner string
	// Lease is how long a claim lasts. A blob is deleted only during the
	// first half of its claim's lease.
	Lease time.Duration
	// Interval is how long Run waits between passes (Wake cuts it short).
	Interval time.Duration
	// Batch is how many digests one claim takes.
	Batch int
	// BackoffBase and BackoffMax bound the delay before a digest whose
	// deletion failed is tried again: base, 2×base, 4×base… up to max.
	BackoffBase, BackoffMax time.Duration
	// Now returns the time used for retry deadlines; it must agree with
	// the store's clock. Default time.Now.
	Now func() time.Time
	// Logger receives what the collector does; default slog.Default().
	Logger *slog.Logger
	// StagingInterval is how often Run removes the staged blobs older than
	// StagingGrace (left by a crash of this or another process sharing the
	// blob store); 0 never does. The first removal comes one interval after
	// Run starts: the startup Sweep has just done it.
	StagingInterval time.Duration
	// StagingGrace is how old a staged blob must be before it counts as
	// left behind: longer than any Stage takes. Default
	// DefaultStagingGrace.
	StagingGrace time.Duration
	// Trash, when set, is purged of the models whose purge time has come
	// at the start of every pass; their blobs are then collected in the
	// same pass.
	Trash modelreg.TrashStore
}

// Collector removes queued blobs from the blob store.
type Collector struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	pass sync.Mutex // one pass at a time

	mu       sync.Mutex
	failures map[string]int // consecutive failed deletions per digest

	freedBlobs, freedBytes atomic.Int64

	lastPurge time.Time // of the trash; guarded by pass
}

// New returns a Collector for cfg, with defaults filled in.
func New(cfg Config) *Collector {
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StagingGrace <= 0 {
		cfg.StagingGrace = DefaultStagingGrace
	}
	return &Collector{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "collector", "owner", cfg.Owner),
		wake:     make(chan struct{}, 1),
		failures: map[string]int{},
	}
}

func defaultOwner() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "modelreg"
	}
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s:%d:gc-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Freed returns how many blobs, and how many bytes, this collector has
// removed from the blob store since it was created.
func (c *Collector) Freed() (blobs, bytes int64) {
	return c.freedBlobs.Load(), c.freedBytes.Load()
}

// Wake asks Run to start a pass now. It never blocks.
func (c *Collector) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Collector) check() error {
	if c.cfg.Store == nil || c.cfg.Blobs == nil {
		return errors.New("collector: Config.Store and Config.Blobs are required")
	}
	return nil
}

// Run makes a pass every Interval, or when woken, until ctx is done; then it
// returns nil. Errors of a pass are logged and the pass is tried again later.
// Every StagingInterval (when set) it also removes old staged blobs.
func (c *Collector) Run(ctx context.Context) error {
	if err := c.check(); err != nil {
		return err
	}
	t := time.NewTimer(0)
	defer t.Stop()
	var staging <-chan time.Time
	if c.cfg.StagingInterval > 0 {
		st := time.NewTicker(c.cfg.StagingInterval)
		defer st.Stop()
		staging = st.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-staging:
			if err := c.CleanStaging(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("removing old staged blobs failed; will retry", "err", err)
			}
			continue
		case <-t.C:
		case <-c.wake:
		}
		n, err := c.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.log.Warn("blob collection pass failed", "err", err, "freed", n)
		}
		t.Reset(c.cfg.Interval)
	}
}

// RunOnce makes one pass: it claims, deletes and completes due digests until
// none is due, and returns how many blobs it removed from the blob store.
// Digests whose deletion fails are released with a backoff and counted as
// not freed; the error is returned only when the queue itself failed.
func (c *Collector) RunOnce(ctx context.Context) (freed int, err error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	c.pass.Lock()
	defer c.pass.Unlock()
	if err := c.purgeTrash(ctx); err != nil {
		return 0, err
	}
	tried := map[string]bool{} // digests this pass has handled
	for {
		claimedAt := time.Now()
		digests, err := c.cfg.Store.ClaimBlobDeletions(ctx, c.cfg.Owner, c.cfg.Lease, c.cfg.Batch)
		if err != nil {
			return freed, err
		}
		if len(digests) == 0 {
			return freed, nil
		}
		progress := false
		for i, d := range digests {
			if err := ctx.Err(); err != nil {
				return freed, err // the rest of the claim expires
			}
			if time.Since(claimedAt) > c.cfg.Lease/2 {
				// Too late to delete safely under this claim.
				c.release(ctx, digests[i:], time.Time{})
				progress = true
				break
			}
			if tried[d] {
				// Released earlier in this pass but due again (a clock
				// mismatch with the store): leave it for the next pass.
				c.release(ctx, []string{d}, c.cfg.Now().Add(c.backoff(d)))
				continue
			}
			tried[d] = true
			progress = true
			if ok := c.collect(ctx, d); ok {
				freed++
			}
		}
		if !progress {
			return freed, nil
		}
	}
}

// purgeTrash purges the trashed models whose purge time has come, a batch
// at a time, which queues their blobs. It does so at most once an
// Interval: a pass woken by every delete must not add a write to each.
func (c *Collector) purgeTrash(ctx context.Context) error {
	if c.cfg.Trash == nil {
		return nil
	}
	if now := time.Now(); now.Sub(c.lastPurge) < c.cfg.Interval {
		return nil
	} else {
		c.lastPurge = now
	}
	for {
		n, err := c.cfg.Trash.PurgeExpiredTrash(ctx, c.cfg.Batch)
		if err != nil {
			return err
		}
		if n > 0 {
			c.log.Info("purged expired models from the trash", "models", n)
		}
		if n < c.cfg.Batch {
			return nil
		}
	}
}

// collect deletes one claimed digest and reports whether it freed a blob.
func (c *Collector) collect(ctx context.Context, d string) bool {
	log := c.log.With("digest", d)
	size, err := c.cfg.Blobs.Stat(ctx, d)
	switch modelreg.ErrorCode(err) {
	case "":
	case modelreg.ENOTFOUND:
		size = -1 // already gone: nothing to free
	case modelreg.EINVALID:
		log.Warn("dropping an invalid digest from the collection queue", "err", err)
		c.complete(ctx, d)
		return false
	default:
		c.failed(ctx, d, err)
		return false
	}
	if size >= 0 {
		if err := c.cfg.Blobs.Delete(ctx, d); err != nil {
			c.failed(ctx, d, err)
			return false
		}
	}
	c.mu.Lock()
	delete(c.failures, d)
	c.mu.Unlock()
	c.complete(ctx, d)
	if size < 0 {
		log.Debug("blob already gone")
		return false
	}
	c.freedBlobs.Add(1)
	c.freedBytes.Add(size)
	log.Debug("blob freed", "size", size)
	return true
}

func (c *Collector) complete(ctx context.Context, d string) {
	if err := c.cfg.Store.CompleteBlobDeletion(ctx, d, c.cfg.Owner); err != nil && ctx.Err() == nil {
		// ENOTFOUND: re-referenced or re-claimed meanwhile. Otherwise the
		// claim expires and the (idempotent) deletion runs again.
		c.log.Debug("completing a blob deletion failed", "digest", d, "err", err)
	}
}

// failed releases d with a backoff after a failed deletion.
func (c *Collector) failed(ctx context.Context, d string, cause error) {
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	c.failures[d]++
	n := c.failures[d]
	c.mu.Unlock()
	wait := c.backoff(d)
	c.log.Warn("deleting a blob failed; will retry", "digest", d, "err", cause, "failures", n, "retry_in", wait)
	c.release(ctx, []string{d}, c.cfg.Now().Add(wait))
}

// backoff returns the delay before d is tried again.
func (c *Collector) backoff(d string) time.Duration {
	c.mu.Lock()
	n := c.failures[d]
	c.mu.Unlock()
	wait := c.cfg.BackoffBase
	for i := 1; i < n && wait < c.cfg.BackoffMax; i++ {
		wait *= 2
	}
	return min(wait, c.cfg.BackoffMax)
}

// release gives claims back, due at at (now when zero).
func (c *Collector) release(ctx context.Context, digests []string, at time.Time) {
	if at.IsZero() {
		at = c.cfg.Now()
	}
	for _, d := range digests {
		if err := c.cfg.Store.RetryBlobDeletion(ctx, d, c.cfg.Owner, at); err != nil && ctx.Err() == nil {
			c.log.Debug("releasing a blob claim failed", "digest", d, "err", err)
		}
	}
}

// CleanStaging removes the staged blobs older than StagingGrace: what a
// crash, here or in another process sharing the blob store, left behind.
func (c *Collector) CleanStaging(ctx context.Context) error {
	if err := c.check(); err != nil {
		return err
	}
	// Staged blobs carry the blob store's clock, not the database's.
	if err := c.cfg.Blobs.CleanStaging(ctx, time.Now().Add(-c.cfg.StagingGrace)); err != nil {
		return fmt.Errorf("collector: cleaning staging: %w", err)
	}
	c.log.Debug("old staged blobs removed", "grace", c.cfg.StagingGrace)
	return nil
}

// Sweep is the startup pass over the blob store: it removes staging files
// older than stagingGrace (left by a crash; they must be older than any
// import could still be working on) and queues every committed blob for
// collection, which the store ignores for referenced blobs. Run or RunOnce
// then removes what it queued.
func (c *Collector) Sweep(ctx context.Context, stagingGrace time.Duration) error {
	if err := c.check(); err != nil {
		return err
	}
	// Staging files carry the blob store's clock, not the database's.
	if err := c.cfg.Blobs.CleanStaging(ctx, time.Now().Add(-stagingGrace)); err != nil {
		return fmt.Errorf("collector: cleaning staging: %w", err)
	}
	var n int
	err := c.cfg.Blobs.Walk(ctx, func(digest string, size int64, modTime time.Time) error {
		n++
		return c.cfg.Store.TrackBlob(ctx, digest)
	})
	if err != nil {
		return fmt.Errorf("collector: sweeping the blob store: %w", err)
	}
	c.log.Info("blob store swept", "blobs", n)
	return nil
}
