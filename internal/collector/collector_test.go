package collector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/blob/blobtest"
	"github.com/modelreg/modelreg/internal/blob/disk"
	"github.com/modelreg/modelreg/internal/collector"
	"github.com/modelreg/modelreg/internal/sqlite"
)

const project = "0123456789abcdef0123456789abcdef"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	db    *sqlite.DB
	blobs *disk.Store
	clock *clock
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	dir := tb.TempDir()
	clk := &clock{t: time.Now().Truncate(time.Millisecond)}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "modelreg.db"), sqlite.Options{Now: clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	blobs, err := disk.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	return &harness{db: db, blobs: blobs, clock: clk}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func (h *harness) collector(blobs modelreg.BlobStore, opts ...func(*collector.Config)) *collector.Collector {
	if blobs == nil {
		blobs = h.blobs
	}
	cfg := collector.Config{Store: h.db, Blobs: blobs, Owner: "gc", Now: h.clock.Now, Logger: quiet}
	for _, o := range opts {
		o(&cfg)
	}
	return collector.New(cfg)
}

// orphan commits content that nothing references and queues it.
func (h *harness) orphan(tb testing.TB, content string) string {
	tb.Helper()
	d := blobtest.MustPut(tb, h.blobs, []byte(content))
	if err := h.db.TrackBlob(context.Background(), d); err != nil {
		tb.Fatal(err)
	}
	return d
}

// referenced commits content held by a model, the way an import does.
func (h *harness) referenced(tb testing.TB, content string) string {
	tb.Helper()
	ctx := context.Background()
	m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: project, Name: "m" + fmt.Sprint(time.Now().UnixNano()), Version: "1.0.0", Type: "PyTorch"}, SourceLocation: "file:///x"}
	if err := h.db.CreateModel(ctx, m); err != nil {
		tb.Fatal(err)
	}
	if _, err := h.db.ClaimImportJob(ctx, "importer", time.Hour, 0); err != nil {
		tb.Fatal(err)
	}
	st, err := h.blobs.Stage(ctx, bytes.NewReader([]byte(content)), 0)
	if err != nil {
		tb.Fatal(err)
	}
	if err := h.db.AttachModelFile(ctx, m.ID, "importer", modelreg.ModelFile{Path: "f", Digest: st.Digest(), Size: st.Size()}); err != nil {
		tb.Fatal(err)
	}
	if err := st.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
	return st.Digest()
}

func (h *harness) exists(tb testing.TB, d string) bool {
	tb.Helper()
	_, err := h.blobs.Stat(context.Background(), d)
	switch modelreg.ErrorCode(err) {
	case "":
		return true
	case modelreg.ENOTFOUND:
		return false
	}
	tb.Fatal(err)
	return false
}

func (h *harness) pending(tb testing.TB) int {
	tb.Helper()
	n, err := h.db.PendingBlobDeletions(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func runOnce(tb testing.TB, c *collector.Collector) int {
	tb.Helper()
	n, err := c.RunOnce(context.Background())
	if err != nil {
		tb.Fatalf("RunOnce: %v", err)
	}
	return n
}

func TestRunOnce(t *testing.T) {
	h := newHarness(t)
	var orphans []string
	var size int64
	for i := range 25 {
		c := fmt.Sprintf("orphan %d", i)
		orphans = append(orphans, h.orphan(t, c))
		size += int64(len(c))
	}
	kept := h.referenced(t, "kept")
	if err := h.db.TrackBlob(context.Background(), kept); err != nil {
		t.Fatal(err)
	}
	c := h.collector(nil, func(c *collector.Config) { c.Batch = 7 })
	if n := runOnce(t, c); n != 25 {
		t.Errorf("freed %d, want 25", n)
	}
	for _, d := range orphans {
		if h.exists(t, d) {
			t.Errorf("orphan %s still exists", d)
		}
	}
	if !h.exists(t, kept) {
		t.Error("referenced blob deleted")
	}
	if blobs, bytes := c.Freed(); blobs != 25 || bytes != size {
		t.Errorf("Freed = %d, %d; want 25, %d", blobs, bytes, size)
	}
	if n := h.pending(t); n != 0 {
		t.Errorf("%d still queued", n)
	}
	if n := runOnce(t, c); n != 0 {
		t.Errorf("second pass freed %d", n)
	}
}

func TestAlreadyGone(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	d := blobtest.Digest([]byte("never stored"))
	if err := h.db.TrackBlob(ctx, d); err != nil {
		t.Fatal(err)
	}
	c := h.collector(nil)
	if n := runOnce(t, c); n != 0 {
		t.Errorf("freed %d, want 0", n)
	}
	if n := h.pending(t); n != 0 {
		t.Errorf("%d still queued", n)
	}
	if blobs, _ := c.Freed(); blobs != 0 {
		t.Errorf("Freed counts %d blobs", blobs)
	}
}

func TestInvalidDigestDropped(t *testing.T) {
	h := newHarness(t)
	if err := h.db.TrackBlob(context.Background(), "../../etc/passwd"); err != nil {
		t.Fatal(err)
	}
	if n := runOnce(t, h.collector(nil)); n != 0 {
		t.Errorf("freed %d", n)
	}
	if n := h.pending(t); n != 0 {
		t.Errorf("%d still queued", n)
	}
}

// flakyBlobs is a disk store whose Delete (or Stat) fails while fail is set.
type flakyBlobs struct {
	*disk.Store
	failDelete, failStat atomic.Bool
	deletes              atomic.Int32
}

var errDisk = errors.New("disk on fire")

func (b *flakyBlobs) Delete(ctx context.Context, d string) error {
	b.deletes.Add(1)
	if b.failDelete.Load() {
		return modelreg.Internal("flaky.Delete", errDisk)
	}
	return b.Store.Delete(ctx, d)
}

func (b *flakyBlobs) Stat(ctx context.Context, d string) (int64, error) {
	if b.failStat.Load() {
		return 0, modelreg.Internal("flaky.Stat", errDisk)
	}
	return b.Store.Stat(ctx, d)
}

func TestRetryWithBackoff(t *testing.T) {
	h := newHarness(t)
	d := h.orphan(t, "stubborn")
	other := h.orphan(t, "easy")
	blobs := &flakyBlobs{Store: h.blobs}
	blobs.failDelete.Store(true)
	c := h.collector(blobs, func(c *collector.Config) {
		c.BackoffBase = time.Second
		c.BackoffMax = 4 * time.Second
	})

	// Each failure doubles the wait: 1s, 2s, 4s, then 4s (the max).
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		before := blobs.deletes.Load()
		if n := runOnce(t, c); n != 0 {
			t.Fatalf("failure %d: freed %d", i+1, n)
		}
		if got := blobs.deletes.Load() - before; got < 1 {
			t.Fatalf("failure %d: no delete attempted", i+1)
		}
		if !h.exists(t, d) || h.pending(t) == 0 {
			t.Fatalf("failure %d: blob gone or dropped from the queue", i+1)
		}
		before = blobs.deletes.Load()
		h.clock.Advance(wait - time.Millisecond)
		if n := runOnce(t, c); n != 0 || blobs.deletes.Load() != before {
			t.Fatalf("failure %d: retried before %v", i+1, wait)
		}
		h.clock.Advance(time.Millisecond)
	}
	blobs.failDelete.Store(false)
	if n := runOnce(t, c); n != 2 {
		t.Errorf("freed %d after recovery, want 2", n)
	}
	if h.exists(t, d) || h.exists(t, other) || h.pending(t) != 0 {
		t.Error("blobs left after recovery")
	}
	// Success resets the backoff of a digest.
	d2 := h.orphan(t, "stubborn")
	if d2 != d {
		t.Fatal("digest changed")
	}
	blobs.failDelete.Store(true)
	runOnce(t, c)
	blobs.failDelete.Store(false)
	h.clock.Advance(time.Second)
	if n := runOnce(t, c); n != 1 {
		t.Errorf("freed %d after a 1s backoff, want 1", n)
	}
}

func TestRetryOnStatError(t *testing.T) {
	h := newHarness(t)
	d := h.orphan(t, "x")
	blobs := &flakyBlobs{Store: h.blobs}
	blobs.failStat.Store(true)
	c := h.collector(blobs)
	if n := runOnce(t, c); n != 0 || !h.exists(t, d) || blobs.deletes.Load() != 0 {
		t.Fatalf("freed %d, exists %v, deletes %d", n, h.exists(t, d), blobs.deletes.Load())
	}
	blobs.failStat.Store(false)
	h.clock.Advance(time.Second)
	if n := runOnce(t, c); n != 1 || h.exists(t, d) {
		t.Errorf("freed %d after recovery", n)
	}
}

func TestSweep(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	// A blob committed just before a crash, after its model was deleted:
	// nothing references it and nothing queued it.
	orphan := blobtest.MustPut(t, h.blobs, []byte("orphan"))
	kept := h.referenced(t, "referenced")
	// Staging files: one left by a crash long ago, one being written.
	staging := filepath.Join(h.blobs.Dir(), "staging")
	stale := filepath.Join(staging, "stage-stale")
	if err := os.WriteFile(stale, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	young, err := h.blobs.Stage(ctx, bytes.NewReader([]byte("young")), 0)
	if err != nil {
		t.Fatal(err)
	}

	c := h.collector(nil)
	if err := c.Sweep(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale staging file kept: %v", err)
	}
	if n := h.pending(t); n != 1 {
		t.Errorf("%d queued after the sweep, want 1 (the orphan)", n)
	}
	if n := runOnce(t, c); n != 1 {
		t.Errorf("freed %d, want 1", n)
	}
	if h.exists(t, orphan) {
		t.Error("orphan not collected")
	}
	if !h.exists(t, kept) {
		t.Error("referenced blob collected")
	}
	if err := young.Commit(ctx); err != nil {
		t.Errorf("young staged blob removed by the sweep: %v", err)
	}
}

func TestConcurrentCollectors(t *testing.T) {
	h := newHarness(t)
	const n = 60
	for i := range n {
		h.orphan(t, fmt.Sprintf("blob %d", i))
	}
	var collectors []*collector.Collector
	var wg sync.WaitGroup
	var freed atomic.Int64
	for i := range 3 {
		c := h.collector(nil, func(c *collector.Config) { c.Owner = fmt.Sprintf("gc-%d", i); c.Batch = 5 })
		collectors = append(collectors, c)
		wg.Go(func() {
			k, err := c.RunOnce(context.Background())
			if err != nil {
				t.Error(err)
			}
			freed.Add(int64(k))
		})
	}
	wg.Wait()
	if freed.Load() != n {
		t.Errorf("freed %d in all, want %d", freed.Load(), n)
	}
	var total int64
	for _, c := range collectors {
		b, _ := c.Freed()
		total += b
	}
	if total != n {
		t.Errorf("Freed totals %d, want %d", total, n)
	}
	if h.pending(t) != 0 {
		t.Error("queue not empty")
	}
}

func TestRunAndWake(t *testing.T) {
	h := newHarness(t)
	c := h.collector(nil, func(c *collector.Config) { c.Interval = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- c.Run(ctx) }()
	d := h.orphan(t, "woken")
	c.Wake()
	deadline := time.Now().Add(20 * time.Second)
	for h.exists(t, d) {
		if time.Now().After(deadline) {
			t.Fatal("blob not collected after Wake")
		}
		c.Wake()
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestRequiresStores(t *testing.T) {
	c := collector.New(collector.Config{})
	if _, err := c.RunOnce(context.Background()); err == nil {
		t.Error("RunOnce without stores succeeded")
	}
	if err := c.Run(context.Background()); err == nil {
		t.Error("Run without stores succeeded")
	}
}

// TestRunCleansStaging checks that Run removes old staged blobs every
// StagingInterval, without a restart, and keeps young ones.
func TestRunCleansStaging(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	stale := filepath.Join(h.blobs.Dir(), "staging", "stage-stale")
	if err := os.WriteFile(stale, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	young, err := h.blobs.Stage(ctx, bytes.NewReader([]byte("young")), 0)
	if err != nil {
		t.Fatal(err)
	}
	c := h.collector(nil, func(c *collector.Config) {
		c.Interval = time.Hour
		c.StagingInterval = 10 * time.Millisecond
		c.StagingGrace = time.Hour
	})
	runCtx, cancel := context.WithCancel(ctx)
	errc := make(chan error)
	go func() { errc <- c.Run(runCtx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(stale); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stale staged blob not removed by Run")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v", err)
	}
	if err := young.Commit(ctx); err != nil {
		t.Errorf("young staged blob removed: %v", err)
	}
}

// TestTrashExpiry checks that a pass purges the trashed models whose purge
// time has come, and then frees their blobs, and keeps the others' blobs.
func TestTrashExpiry(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	trashed := func(content string, retention time.Duration) string {
		t.Helper()
		m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: project, Name: "t" + fmt.Sprint(time.Now().UnixNano()), Version: "1.0.0", Type: "PyTorch"}, SourceLocation: "file:///x"}
		if err := h.db.CreateModel(ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, err := h.db.ClaimImportJob(ctx, "importer", time.Hour, 0); err != nil {
			t.Fatal(err)
		}
		st, err := h.blobs.Stage(ctx, bytes.NewReader([]byte(content)), 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.db.AttachModelFile(ctx, m.ID, "importer", modelreg.ModelFile{Path: "f", Digest: st.Digest(), Size: st.Size()}); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.db.FinishImport(ctx, m.ID, "importer", modelreg.ImportResult{Status: modelreg.ModelPublished, Size: st.Size()}); err != nil {
			t.Fatal(err)
		}
		if errs, _, err := h.db.DeleteModelBatch(ctx, project, []string{m.ID}, modelreg.DeleteOptions{Trash: retention}); err != nil || errs[0] != nil {
			t.Fatal(err, errs)
		}
		return st.Digest()
	}
	soon, later := trashed("soon", time.Hour), trashed("later", 3*time.Hour)
	c := h.collector(nil, func(c *collector.Config) { c.Trash = h.db; c.Interval = time.Nanosecond })
	if n := runOnce(t, c); n != 0 || !h.exists(t, soon) || !h.exists(t, later) {
		t.Fatalf("freed %d before any purge time", n)
	}
	h.clock.Advance(2 * time.Hour)
	if n := runOnce(t, c); n != 1 || h.exists(t, soon) || !h.exists(t, later) {
		t.Fatalf("freed %d; soon exists %v, later exists %v: want soon's blob freed alone", n, h.exists(t, soon), h.exists(t, later))
	}
	list, _, err := h.db.FindTrash(ctx, modelreg.TrashFilter{ProjectID: project, Page: modelreg.Page{Limit: 10}})
	if err != nil || len(list) != 1 {
		t.Fatalf("trash after the purge: %d models (%v)", len(list), err)
	}
}
