package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// testClock is a manual clock, safe for concurrent use.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// replicas opens n stores on one fresh schema, as n stateless replicas of
// the server would, sharing a clock.
func replicas(t *testing.T, n int) ([]*DB, *testClock) {
	t.Helper()
	dsn := mustSchema(t)
	clk := &testClock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	dbs := make([]*DB, n)
	for i := range dbs {
		dbs[i] = mustOpen(t, dsn, Options{Now: clk.Now, MaxConns: 4})
	}
	return dbs, clk
}

// together runs the functions at once and waits for them all.
func together(fns ...func()) {
	var start, done sync.WaitGroup
	start.Add(1)
	for _, fn := range fns {
		done.Go(func() {
			start.Wait()
			fn()
		})
	}
	start.Done()
	done.Wait()
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const proj = "0123456789abcdef0123456789abcdef"

// publish creates and publishes a model with the given files through db.
func publish(t *testing.T, db *DB, name, version string, files ...modelreg.ModelFile) *modelreg.Model {
	t.Helper()
	ctx := context.Background()
	m := newTestModel(proj, name, version)
	mustOK(t, db.CreateModel(ctx, m))
	claimJob(t, db, m.ID, "importer")
	for _, f := range files {
		mustOK(t, db.AttachModelFile(ctx, m.ID, "importer", f))
	}
	mustOK(t, db.FinishImport(ctx, m.ID, "importer", modelreg.ImportResult{Status: modelreg.ModelPublished, Size: 1}))
	return m
}

// claimJob claims model id's job for owner, releasing others on the way.
func claimJob(t *testing.T, db *DB, id, owner string) {
	t.Helper()
	ctx := context.Background()
	for {
		job, err := db.ClaimImportJob(ctx, owner, time.Minute, 0)
		mustOK(t, err)
		if job.ModelID == id {
			return
		}
		mustOK(t, db.RetryImport(ctx, job.ModelID, owner, "", time.Time{}))
	}
}

func blobFile(path, digest string) modelreg.ModelFile {
	return modelreg.ModelFile{Path: path, Digest: digest, Size: 1}
}

// TestReplicas runs the races of storetest again with every party on its
// own store (its own pool), as on separate replicas sharing one database,
// plus the races specific to how this store locks.
func TestReplicas(t *testing.T) {
	testDSN(t) // skip once, not in every subtest
	ctx := context.Background()

	t.Run("DeleteModel", func(t *testing.T) {
		dbs, _ := replicas(t, 3)
		m := publish(t, dbs[0], "m", "1.0.0", blobFile("a", "d1"), blobFile("b", "d2"))
		var fns []func()
		errs := make([]error, 12)
		for i := range errs {
			fns = append(fns, func() { errs[i] = modelreg.DeleteModel(ctx, dbs[i%3], proj, m.ID) })
		}
		together(fns...)
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound:
				t.Errorf("delete: %v, want nil or 3001", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d deletes succeeded, want 1", ok)
		}
		if n, _ := dbs[1].PendingBlobDeletions(ctx); n != 2 {
			t.Errorf("pending = %d, want 2", n)
		}
	})

	t.Run("CreateSameName", func(t *testing.T) {
		// The unique constraints decide: one create wins, the others get
		// the conflict codes, not a 500.
		dbs, _ := replicas(t, 3)
		m := publish(t, dbs[0], "base", "1.0.0")
		modelErrs := make([]error, 9)
		serviceErrs := make([]error, 9)
		var fns []func()
		for i := range 9 {
			fns = append(fns,
				func() { modelErrs[i] = dbs[i%3].CreateModel(ctx, newTestModel(proj, "same", "1.0.0")) },
				func() {
					serviceErrs[i] = dbs[i%3].CreateService(ctx, &modelreg.Service{Name: "same", ProjectID: proj, InferType: modelreg.InferRealTime,
						Config: []modelreg.ServiceConfig{{ModelID: m.ID, Weight: 100, Specification: "x", InstanceCount: 1}}})
				})
		}
		together(fns...)
		for what, c := range map[string]struct {
			errs []error
			code string
		}{"CreateModel": {modelErrs, modelreg.CodeModelExists}, "CreateService": {serviceErrs, modelreg.CodeServiceExists}} {
			ok := 0
			for _, err := range c.errs {
				switch {
				case err == nil:
					ok++
				case modelreg.ErrorCode(err) != modelreg.ECONFLICT || modelreg.ErrorAPICode(err) != c.code:
					t.Errorf("%s: %v, want nil or %s", what, err, c.code)
				}
			}
			if ok != 1 {
				t.Errorf("%s: %d succeeded, want 1", what, ok)
			}
		}
	})

	t.Run("DeployVersusDelete", func(t *testing.T) {
		dbs, _ := replicas(t, 2)
		for i := range 20 {
			m := publish(t, dbs[0], "m", fmt.Sprintf("1.0.%d", i), blobFile("w", fmt.Sprintf("d%d", i)))
			s := &modelreg.Service{Name: fmt.Sprintf("s%d", i), ProjectID: proj, InferType: modelreg.InferRealTime,
				Config: []modelreg.ServiceConfig{{ModelID: m.ID, Weight: 100, Specification: "x", InstanceCount: 1}}}
			var createErr, deleteErr error
			together(
				func() { createErr = dbs[i%2].CreateService(ctx, s) },
				func() { deleteErr = modelreg.DeleteModel(ctx, dbs[(i+1)%2], proj, m.ID) },
			)
			switch {
			case createErr == nil && deleteErr == nil:
				t.Fatalf("round %d: both the deploy and the delete succeeded", i)
			case createErr == nil && modelreg.ErrorAPICode(deleteErr) != modelreg.CodeModelDeployed:
				t.Fatalf("round %d: delete failed with %v, want 3009", i, deleteErr)
			case deleteErr == nil && modelreg.ErrorAPICode(createErr) != modelreg.CodeServiceModelGone:
				t.Fatalf("round %d: deploy failed with %v, want 3507", i, createErr)
			case createErr != nil && deleteErr != nil:
				t.Fatalf("round %d: both failed: %v; %v", i, createErr, deleteErr)
			}
		}
	})

	t.Run("DeleteSharedBlob", func(t *testing.T) {
		// Two models share a blob and are deleted at once on two replicas:
		// each delete alone sees the other model's reference, so the blob
		// must still be queued by whichever commits last.
		dbs, _ := replicas(t, 2)
		var want []string
		for i := range 15 {
			shared := fmt.Sprintf("shared%02d", i)
			a := publish(t, dbs[0], "a", fmt.Sprintf("1.0.%d", i), blobFile("w", shared))
			b := publish(t, dbs[1], "b", fmt.Sprintf("1.0.%d", i), blobFile("w", shared))
			var errA, errB error
			together(
				func() { errA = modelreg.DeleteModel(ctx, dbs[0], proj, a.ID) },
				func() { errB = modelreg.DeleteModel(ctx, dbs[1], proj, b.ID) },
			)
			mustOK(t, errA)
			mustOK(t, errB)
			want = append(want, shared)
		}
		got, err := dbs[0].ClaimBlobDeletions(ctx, "c", time.Minute, 100)
		mustOK(t, err)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("queued %v, want every shared blob: %v", got, want)
		}
	})

	t.Run("AttachVersusDeleteAndCollect", func(t *testing.T) {
		// Model a holds blob d; model b, importing, attaches d while a is
		// deleted and a collector claims: the collector never gets d while
		// b holds it.
		dbs, _ := replicas(t, 3)
		for i := range 20 {
			d := fmt.Sprintf("blob%02d", i)
			a := publish(t, dbs[0], "a", fmt.Sprintf("1.0.%d", i), blobFile("w", d))
			b := newTestModel(proj, "b", fmt.Sprintf("1.0.%d", i))
			mustOK(t, dbs[1].CreateModel(ctx, b))
			claimJob(t, dbs[1], b.ID, "importer")
			var deleteErr, attachErr, claimErr error
			var claimed []string
			together(
				func() { deleteErr = modelreg.DeleteModel(ctx, dbs[0], proj, a.ID) },
				func() { attachErr = dbs[1].AttachModelFile(ctx, b.ID, "importer", blobFile("w", d)) },
				func() {
					// The collector polls a few times meanwhile.
					for range 3 {
						var ds []string
						ds, claimErr = dbs[2].ClaimBlobDeletions(ctx, "collector", time.Minute, 10)
						claimed = append(claimed, ds...)
					}
				},
			)
			mustOK(t, deleteErr)
			mustOK(t, claimErr)
			got := slices.Contains(claimed, d)
			switch {
			case attachErr == nil && got:
				t.Fatalf("round %d: blob attached and handed to the collector", i)
			case attachErr != nil && !got:
				t.Fatalf("round %d: attach failed with %v and the blob was not claimed", i, attachErr)
			case attachErr != nil:
				if modelreg.ErrorCode(attachErr) != modelreg.EUNAVAILABLE {
					t.Fatalf("round %d: attach failed with %v, want EUNAVAILABLE", i, attachErr)
				}
				mustOK(t, dbs[2].CompleteBlobDeletion(ctx, d, "collector"))
				mustOK(t, dbs[1].AttachModelFile(ctx, b.ID, "importer", blobFile("w", d)))
			}
			mustOK(t, dbs[1].FinishImport(ctx, b.ID, "importer", modelreg.ImportResult{Status: modelreg.ModelPublished, Size: 1}))
			// b holds d, a is gone: nothing to collect.
			if n, err := dbs[0].PendingBlobDeletions(ctx); err != nil || n != 0 {
				t.Fatalf("round %d: pending = %d, %v; want 0", i, n, err)
			}
		}
	})

	t.Run("ClaimImportJob", func(t *testing.T) {
		dbs, clk := replicas(t, 3)
		want := map[string]bool{}
		for i := range 15 {
			m := newTestModel(proj, "m", fmt.Sprintf("1.0.%d", i))
			mustOK(t, dbs[0].CreateModel(ctx, m))
			want[m.ID] = true
		}
		var mu sync.Mutex
		claimed := map[string][]string{}
		var fns []func()
		for w := range 6 {
			fns = append(fns, func() {
				owner := fmt.Sprintf("replica%d-worker%d", w%3, w)
				for {
					job, err := dbs[w%3].ClaimImportJob(ctx, owner, time.Minute, 0)
					if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
						return
					} else if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					claimed[job.ModelID] = append(claimed[job.ModelID], owner)
					mu.Unlock()
				}
			})
		}
		together(fns...)
		if len(claimed) != len(want) {
			t.Errorf("%d jobs claimed, want %d", len(claimed), len(want))
		}
		for id, owners := range claimed {
			if !want[id] || len(owners) != 1 {
				t.Errorf("job %s claimed by %v", id, owners)
			}
		}

		// A replica dies holding a job: once its lease has expired, another
		// replica takes the job over, and the dead one's owner name no
		// longer works.
		var id, dead string
		for k, owners := range claimed {
			id, dead = k, owners[0]
			break
		}
		mustOK(t, dbs[0].Close())
		clk.Advance(time.Minute)
		if job, err := dbs[1].ClaimImportJob(ctx, "replica1-new", time.Minute, 0); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Fatalf("claimed %+v, %v before the leases expired", job, err)
		}
		clk.Advance(time.Millisecond)
		taken := map[string]bool{}
		for {
			job, err := dbs[1].ClaimImportJob(ctx, "replica1-new", time.Minute, 0)
			if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
				break
			}
			mustOK(t, err)
			if job.Attempts != 2 {
				t.Errorf("job %s taken over at attempt %d, want 2", job.ModelID, job.Attempts)
			}
			taken[job.ModelID] = true
		}
		if !taken[id] || len(taken) != len(want) {
			t.Errorf("took over %d jobs (%s among them: %t), want all %d", len(taken), id, taken[id], len(want))
		}
		if err := dbs[2].RenewImportJob(ctx, id, dead, time.Minute); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Errorf("the dead owner renewed its lost job: %v", err)
		}
	})
}
