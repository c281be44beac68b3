package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// together runs the functions at once, each in its own goroutine, released
// by one signal, and waits for them all.
func together(fns ...func()) {
	var start, done sync.WaitGroup
	start.Add(1)
	for _, fn := range fns {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			fn()
		}()
	}
	start.Done()
	done.Wait()
}

func testRace(t *testing.T, open Opener) {
	t.Run("DeleteModel", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1), file("b", 2))
		const n = 20
		errs := make([]error, n)
		fns := make([]func(), n)
		for i := range fns {
			fns[i] = func() { errs[i] = modelreg.DeleteModel(e.ctx, e.s, projA, m.ID) }
		}
		together(fns...)
		succeeded := 0
		for _, err := range errs {
			switch {
			case err == nil:
				succeeded++
			case modelreg.ErrorCode(err) != modelreg.ENOTFOUND || modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound:
				t.Errorf("concurrent delete: %v, want nil or ModelArts.3001", err)
			}
		}
		if succeeded != 1 {
			t.Fatalf("%d deletes succeeded, want exactly 1", succeeded)
		}
		e.wantModelGone(projA, m.ID)
		e.wantPending(2)
	})

	t.Run("DeployVersusDelete", func(t *testing.T) {
		e := newEnv(t, open)
		deployed, deleted := 0, 0
		for i := range 30 {
			m := e.publishedModel(projA, "resnet", fmt.Sprintf("1.0.%d", i), file("w", 1000+i))
			svc := newService(projA, fmt.Sprintf("svc-%d", i), m.ID)
			var createErr, deleteErr error
			together(
				func() { createErr = e.s.CreateService(e.ctx, svc) },
				func() { deleteErr = modelreg.DeleteModel(e.ctx, e.s, projA, m.ID) },
			)
			switch {
			case createErr == nil && deleteErr == nil:
				t.Fatalf("round %d: both the deploy and the delete succeeded", i)
			case createErr == nil:
				deployed++
				if modelreg.ErrorAPICode(deleteErr) != modelreg.CodeModelDeployed {
					t.Fatalf("round %d: delete failed with %v, want ModelArts.3009", i, deleteErr)
				}
				got := e.mustService(projA, svc.ID)
				if len(got.Config) != 1 || got.Config[0].ModelID != m.ID {
					t.Fatalf("round %d: service config %+v", i, got.Config)
				}
				e.mustModel(projA, m.ID)
				if fs := e.files(projA, m.ID); len(fs) != 1 {
					t.Fatalf("round %d: deployed model has %d files", i, len(fs))
				}
			case deleteErr == nil:
				deleted++
				if modelreg.ErrorAPICode(createErr) != modelreg.CodeServiceModelGone {
					t.Fatalf("round %d: deploy failed with %v, want ModelArts.3507", i, createErr)
				}
				e.wantModelGone(projA, m.ID)
				ss, _, err := e.s.FindServices(e.ctx, modelreg.ServiceFilter{ProjectID: projA, Name: svc.Name, Page: modelreg.Page{Limit: 10}})
				ok(t, err)
				if len(ss) != 0 {
					t.Fatalf("round %d: the deploy left service %+v", i, ss[0])
				}
			default:
				t.Fatalf("round %d: both failed: deploy %v, delete %v", i, createErr, deleteErr)
			}
		}
		e.wantPending(deleted)
		t.Logf("deploy won %d times, delete %d times", deployed, deleted)
	})

	t.Run("DeployVersusDeleteBatch", func(t *testing.T) {
		e := newEnv(t, open)
		bd := e.s
		deployed, deleted := 0, 0
		for i := range 20 {
			name := fmt.Sprintf("cascade-%d", i)
			target := e.publishedModel(projA, name, "1.0.0", file("w", 2000+i))
			m := e.publishedModel(projA, name, "1.0.1", file("w", 3000+i))
			svc := newService(projA, fmt.Sprintf("svc-%d", i), m.ID)
			var createErr, batchErr error
			var errs []error
			together(
				func() { createErr = e.s.CreateService(e.ctx, svc) },
				func() {
					errs, _, batchErr = bd.DeleteModelBatch(e.ctx, projA, []string{target.ID, m.ID}, modelreg.DeleteOptions{})
				},
			)
			if batchErr != nil || len(errs) != 2 || errs[0] != nil {
				t.Fatalf("round %d: batch = %v, %v; want the target deleted", i, errs, batchErr)
			}
			e.wantModelGone(projA, target.ID)
			switch {
			case createErr == nil && errs[1] == nil:
				t.Fatalf("round %d: both the deploy and the batch delete succeeded", i)
			case createErr == nil:
				deployed++
				if modelreg.ErrorAPICode(errs[1]) != modelreg.CodeModelDeployed {
					t.Fatalf("round %d: batch refused the model with %v, want ModelArts.3009", i, errs[1])
				}
				e.mustModel(projA, m.ID)
			case errs[1] == nil:
				deleted++
				if modelreg.ErrorAPICode(createErr) != modelreg.CodeServiceModelGone {
					t.Fatalf("round %d: deploy failed with %v, want ModelArts.3507", i, createErr)
				}
				e.wantModelGone(projA, m.ID)
			default:
				t.Fatalf("round %d: both failed: deploy %v, delete %v", i, createErr, errs[1])
			}
		}
		e.wantPending(20 + deleted)
		t.Logf("deploy won %d times, batch delete %d times", deployed, deleted)
	})

	t.Run("OverlappingDeleteBatches", func(t *testing.T) {
		// Batches over the same models in opposite orders neither
		// deadlock nor delete a model twice.
		e := newEnv(t, open)
		bd := e.s
		for i := range 10 {
			var ids []string
			for v := range 6 {
				ids = append(ids, e.publishedModel(projA, fmt.Sprintf("overlap-%d", i), fmt.Sprintf("1.0.%d", v), file("o", 4000+i*10+v)).ID)
			}
			reversed := slices.Clone(ids)
			slices.Reverse(reversed)
			lists := [][]string{ids, reversed, ids[2:], reversed[1:]}
			results := make([][]error, len(lists))
			callErrs := make([]error, len(lists))
			fns := make([]func(), len(lists))
			for j := range lists {
				fns[j] = func() {
					results[j], _, callErrs[j] = bd.DeleteModelBatch(e.ctx, projA, lists[j], modelreg.DeleteOptions{})
				}
			}
			together(fns...)
			deletedBy := map[string]int{}
			for j, list := range lists {
				if callErrs[j] != nil {
					// Only a batch whose first model another one took first.
					if modelreg.ErrorAPICode(callErrs[j]) != modelreg.CodeModelNotFound {
						t.Fatalf("round %d batch %d: %v", i, j, callErrs[j])
					}
					continue
				}
				for k, err := range results[j] {
					switch {
					case err == nil:
						deletedBy[list[k]]++
					case modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound:
						t.Fatalf("round %d batch %d model %d: %v, want nil or ModelArts.3001", i, j, k, err)
					}
				}
			}
			for _, id := range ids {
				if deletedBy[id] != 1 {
					t.Fatalf("round %d: model %s deleted %d times, want once", i, id, deletedBy[id])
				}
				e.wantModelGone(projA, id)
			}
		}
		e.wantPending(60)
	})

	t.Run("AttachVersusCollect", func(t *testing.T) {
		// A blob is never both attached to a model and handed to a
		// collector.
		e := newEnv(t, open)
		for i := range 30 {
			d := digest(5000 + i)
			ok(t, e.s.TrackBlob(e.ctx, d))
			m := e.createModel(projA, "resnet", fmt.Sprintf("2.0.%d", i))
			e.claim(m.ID, importer)
			var attachErr, claimErr error
			var claimed []string
			together(
				func() {
					attachErr = e.s.AttachModelFile(e.ctx, m.ID, importer, modelreg.ModelFile{Path: "w", Digest: d, Size: 1})
				},
				func() { claimed, claimErr = e.s.ClaimBlobDeletions(e.ctx, collector, time.Minute, 10) },
			)
			ok(t, claimErr)
			got := len(claimed) == 1 && claimed[0] == d
			switch {
			case attachErr == nil && got:
				t.Fatalf("round %d: blob attached and claimed for deletion", i)
			case attachErr == nil:
				e.wantPending(0)
			case got:
				wantErr(t, attachErr, modelreg.EUNAVAILABLE, "")
				ok(t, e.s.CompleteBlobDeletion(e.ctx, d, collector))
				ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, modelreg.ModelFile{Path: "w", Digest: d, Size: 1}))
			default:
				t.Fatalf("round %d: attach failed with %v and nothing claimed", i, attachErr)
			}
			ok(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelPublished, Size: 1}))
		}
		e.wantPending(0)
	})

	t.Run("ClaimImportJob", func(t *testing.T) {
		e := newEnv(t, open)
		want := map[string]bool{}
		for i := range 12 {
			want[e.createModel(projA, "m", fmt.Sprintf("1.0.%d", i)).ID] = true
		}
		var mu sync.Mutex
		claimed := map[string]int{}
		fns := make([]func(), 6)
		for w := range fns {
			fns[w] = func() {
				for {
					job, err := e.s.ClaimImportJob(e.ctx, fmt.Sprintf("worker-%d", w), time.Minute, 0)
					if err != nil {
						if modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
							t.Errorf("claim: %v", err)
						}
						return
					}
					mu.Lock()
					claimed[job.ModelID]++
					mu.Unlock()
				}
			}
		}
		together(fns...)
		if len(claimed) != len(want) {
			t.Errorf("%d jobs claimed, want %d", len(claimed), len(want))
		}
		for id, n := range claimed {
			if !want[id] || n != 1 {
				t.Errorf("job %s claimed %d times", id, n)
			}
		}
	})

	t.Run("ClaimBlobDeletions", func(t *testing.T) {
		e := newEnv(t, open)
		const n = 30
		for i := range n {
			ok(t, e.s.TrackBlob(e.ctx, digest(i)))
		}
		var mu sync.Mutex
		claimed := map[string]int{}
		fns := make([]func(), 5)
		for w := range fns {
			fns[w] = func() {
				for {
					ds, err := e.s.ClaimBlobDeletions(e.ctx, fmt.Sprintf("collector-%d", w), time.Minute, 4)
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						claimed[d]++
					}
					mu.Unlock()
				}
			}
		}
		together(fns...)
		if len(claimed) != n {
			t.Errorf("%d digests claimed, want %d", len(claimed), n)
		}
		for d, c := range claimed {
			if c != 1 {
				t.Errorf("digest %s claimed %d times", d, c)
			}
		}
	})
}
