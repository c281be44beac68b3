package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// checkModelCache makes db read every model its cache answers from the
// database again, and fails t at its end when a cached row differed from
// the database's while no commit was in progress or had ended since the
// hit: a write the cache missed. Every test opening a DB through
// mustOpenPath runs with it, the store conformance suite (TestStore)
// included, so each write path the suite takes is checked to empty the
// cache.
func checkModelCache(t *testing.T, db *DB) {
	var mu sync.Mutex
	var stale []string
	c := db.models
	c.onHit = func(project, id string, r modelRow, gen uint64) {
		_, fresh, err := findModelByID(context.Background(), db.queryRow, project, id)
		if err == nil && fresh == r {
			return
		}
		c.mu.RLock()
		moved := c.gen != gen
		c.mu.RUnlock()
		if c.committing.Load() > 0 || moved {
			return // a commit the hit raced with
		}
		mu.Lock()
		defer mu.Unlock()
		stale = append(stale, fmt.Sprintf("model %s: the cache held %+v, the database %+v (%v)", id, r, fresh, err))
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range stale {
			t.Errorf("stale model cache: %s", s)
		}
	})
}

func TestModelCache(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	project := benchProject
	ids := seedModels(t, db, 2)
	stats := func() ModelCacheStats { return db.ModelCacheStats() }
	find := func(id string) *modelreg.Model {
		t.Helper()
		m, err := db.FindModelByID(ctx, project, id)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	t.Run("Hit", func(t *testing.T) {
		before := stats()
		first, again := find(ids[0]), find(ids[0])
		got := stats()
		if got.Misses != before.Misses+1 || got.Hits != before.Hits+1 {
			t.Errorf("two reads: %+v after %+v, want one miss then one hit", got, before)
		}
		if modelreg.ETag(first) != modelreg.ETag(again) {
			t.Errorf("the hit differs from the read:\n%+v\n%+v", again, first)
		}
		// Each read decodes its own model: changing one changes no other.
		first.Description = "changed by a caller"
		if m := find(ids[0]); m.Description != "benchmark model" {
			t.Errorf("a caller's change reached the cache: %q", m.Description)
		}
	})

	t.Run("NoChange", func(t *testing.T) {
		find(ids[0])
		before := stats()
		// An idle import worker's poll: a write transaction that claims
		// nothing and changes no row.
		if _, err := db.ClaimImportJob(ctx, "owner", time.Minute, 1); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Fatalf("ClaimImportJob: %v, want ENOTFOUND", err)
		}
		find(ids[0])
		if got := stats(); got.Emptied != before.Emptied || got.Hits != before.Hits+1 {
			t.Errorf("after a commit that changed nothing: %+v after %+v, want a hit", got, before)
		}
	})

	t.Run("Change", func(t *testing.T) {
		if find(ids[1]).Protected {
			t.Fatal("protected before the test")
		}
		before := stats()
		if _, err := db.SetModelProtection(ctx, project, modelreg.ModelProtection{ModelID: ids[1], Protected: true}); err != nil {
			t.Fatal(err)
		}
		if !find(ids[1]).Protected {
			t.Error("read after protecting it: not protected")
		}
		if got := stats(); got.Emptied != before.Emptied+1 || got.Bytes == 0 {
			t.Errorf("after protecting: %+v after %+v, want the cache emptied once and refilled", got, before)
		}
	})

	t.Run("RolledBack", func(t *testing.T) {
		find(ids[0])
		before := stats()
		errs, _, err := db.DeleteModelBatch(ctx, project, []string{ids[0]}, modelreg.DeleteOptions{DryRun: true})
		if err != nil || errs[0] != nil {
			t.Fatalf("preview: %v %v", errs, err)
		}
		find(ids[0])
		if got := stats(); got.Emptied != before.Emptied || got.Hits != before.Hits+1 {
			t.Errorf("after a preview (rolled back): %+v after %+v, want a hit", got, before)
		}
	})

	t.Run("Deleted", func(t *testing.T) {
		find(ids[0])
		errs, _, err := db.DeleteModelBatch(ctx, project, []string{ids[0]}, modelreg.DeleteOptions{})
		if err != nil || errs[0] != nil {
			t.Fatalf("delete: %v %v", errs, err)
		}
		if _, err := db.FindModelByID(ctx, project, ids[0]); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Errorf("read after its delete: %v, want ENOTFOUND", err)
		}
	})

	t.Run("OtherProject", func(t *testing.T) {
		find(ids[1])
		if _, err := db.FindModelByID(ctx, "fedcba9876543210fedcba9876543210", ids[1]); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Errorf("another project's read of a cached model: %v, want ENOTFOUND", err)
		}
	})
}

// TestModelCacheLimit reads more models than the cache holds: it never
// holds more than its limit, and every read is right.
func TestModelCacheLimit(t *testing.T) {
	ctx := context.Background()
	for _, limit := range []int{-1, 1, 3000, 1 << 20} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			db := mustOpenPath(t, filepath.Join(t.TempDir(), "modelreg.db"), Options{ModelCache: limit})
			project := benchProject
			ids := seedModels(t, db, 20)
			for range 3 {
				for _, id := range ids {
					m, err := db.FindModelByID(ctx, project, id)
					if err != nil || m.ID != id {
						t.Fatalf("FindModelByID(%s) = %v, %v", id, m, err)
					}
					if s := db.ModelCacheStats(); s.Bytes > max(limit, 0) {
						t.Fatalf("the cache holds %d bytes, limit %d", s.Bytes, limit)
					}
				}
			}
			s := db.ModelCacheStats()
			if limit <= 1 && s.Hits != 0 {
				t.Errorf("limit %d: %d hits, want none", limit, s.Hits)
			}
			if limit == 3000 && s.Bytes < limit-600 {
				t.Errorf("limit %d: %+v, want the cache nearly full", limit, s)
			}
			if limit == 1<<20 && s.Hits != 40 {
				t.Errorf("limit %d: %+v, want every read but the first of each model a hit", limit, s)
			}
		})
	}
}

// TestModelCacheConcurrent protects and unprotects a model while readers
// keep its row cached: a read after each change is acknowledged sees it.
// Run with -race.
func TestModelCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	project := benchProject
	id := seedModels(t, db, 1)[0]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.FindModelByID(ctx, project, id); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 200 {
		want := i%2 == 0
		if _, err := db.SetModelProtection(ctx, project, modelreg.ModelProtection{ModelID: id, Protected: want}); err != nil {
			t.Fatal(err)
		}
		m, err := db.FindModelByID(ctx, project, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Protected != want {
			t.Fatalf("change %d: read protected %v after setting %v", i, m.Protected, want)
		}
	}
	close(stop)
	wg.Wait()
	if s := db.ModelCacheStats(); s.Hits == 0 {
		t.Errorf("%+v: the readers never hit the cache", s)
	}
}
