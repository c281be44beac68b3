package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

func testClaimImportJob(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		job, err := e.s.ClaimImportJob(e.ctx, importer, time.Minute)
		ok(t, err)
		want := &modelreg.ImportJob{ModelID: m.ID, ProjectID: projA, SourceLocation: m.SourceLocation, Attempts: 1}
		if diff := cmp.Diff(want, job); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
		// A leased job is not claimed again.
		e.noJob()
	})

	t.Run("OldestFirst", func(t *testing.T) {
		e := newEnv(t, open)
		a := e.createModel(projB, "a", "1.0.0")
		e.clk.Advance(time.Second)
		b := e.createModel(projA, "b", "1.0.0")
		e.clk.Advance(time.Second)
		c := e.createModel(projA, "c", "1.0.0")
		for _, want := range []*modelreg.Model{a, b, c} {
			job, err := e.s.ClaimImportJob(e.ctx, importer, time.Minute)
			ok(t, err)
			if job.ModelID != want.ID {
				t.Fatalf("claimed %s, want %s (%s)", job.ModelID, want.ID, want.Name)
			}
		}
		e.noJob()
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		_, err := e.s.ClaimImportJob(e.ctx, importer, time.Minute)
		wantErr(t, err, modelreg.ENOTFOUND, "")
	})

	t.Run("LeaseExpiry", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		// A lease is live up to and including its end.
		e.clk.Advance(time.Minute)
		e.noJob()
		e.clk.Advance(time.Millisecond)
		job, err := e.s.ClaimImportJob(e.ctx, importer2, time.Minute)
		ok(t, err)
		if job.ModelID != m.ID || job.Attempts != 2 {
			t.Fatalf("re-claimed %+v, want model %s at attempt 2", job, m.ID)
		}
		// The first worker lost the job.
		wantErr(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("a", 1)), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelPublished}), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.RetryImport(e.ctx, m.ID, importer, "x", e.clk.Now()), modelreg.ENOTFOUND, "")
		// The second one carries on.
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer2, file("a", 1)))
		ok(t, e.s.FinishImport(e.ctx, m.ID, importer2, modelreg.ImportResult{Status: modelreg.ModelPublished, Size: 101}))
		if got := e.mustModel(projA, m.ID); got.Status != modelreg.ModelPublished {
			t.Errorf("status = %s, want published", got.Status)
		}
		e.noJob()
	})

	t.Run("ExpiredLeaseStillOwned", func(t *testing.T) {
		// Until someone else claims it, an expired lease still lets its
		// owner finish.
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		e.clk.Advance(time.Hour)
		ok(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute))
		e.noJob()
		ok(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelPublished}))
	})
}

func testRenewImportJob(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		e.clk.Advance(50 * time.Second)
		ok(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute)) // until +110s
		e.clk.Advance(60 * time.Second)                               // +110s
		e.noJob()
		e.clk.Advance(time.Millisecond)
		job, err := e.s.ClaimImportJob(e.ctx, importer2, time.Minute)
		ok(t, err)
		if job.ModelID != m.ID {
			t.Fatalf("claimed %s, want %s", job.ModelID, m.ID)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		unclaimed := e.createModel(projA, "resnet", "1.0.1")
		e.claim(m.ID, importer)
		for name, c := range map[string]struct{ id, owner string }{
			"UnknownModel": {modelreg.NewID(), importer},
			"OtherOwner":   {m.ID, importer2},
			"Unclaimed":    {unclaimed.ID, importer},
			"EmptyOwner":   {unclaimed.ID, ""},
		} {
			err := e.s.RenewImportJob(e.ctx, c.id, c.owner, time.Hour)
			if modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
				t.Errorf("%s: err = %v, want ENOTFOUND", name, err)
			}
		}
		// The real owner's lease was not extended by the failed calls.
		e.clk.Advance(time.Minute + time.Millisecond)
		job, err := e.s.ClaimImportJob(e.ctx, importer2, time.Minute)
		ok(t, err)
		if job.ModelID != m.ID && job.ModelID != unclaimed.ID {
			t.Fatalf("claimed %s", job.ModelID)
		}
	})

	t.Run("ErrNotFoundFinished", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		wantErr(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute), modelreg.ENOTFOUND, "")
	})
}

func testAttachModelFile(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 1)))
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("v", 2)))
		if diff := cmp.Diff([]modelreg.ModelFile{file("v", 2), file("w", 1)}, e.files(projA, m.ID)); diff != "" {
			t.Errorf("files mismatch (-want +got):\n%s", diff)
		}
		e.wantPending(0)
	})

	t.Run("ReplaceQueuesOldBlob", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 1)))
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 2)))
		if diff := cmp.Diff([]modelreg.ModelFile{file("w", 2)}, e.files(projA, m.ID)); diff != "" {
			t.Errorf("files mismatch (-want +got):\n%s", diff)
		}
		e.wantClaimBlobs(collector, digest(1))
	})

	t.Run("ReplaceKeepsSharedBlob", func(t *testing.T) {
		e := newEnv(t, open)
		e.publishedModel(projB, "other", "1.0.0", file("x", 1))
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 1)))
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 2)))
		e.wantPending(0)
		// Same path, same blob: nothing to queue either.
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 2)))
		e.wantPending(0)
		if diff := cmp.Diff([]modelreg.ModelFile{file("w", 2)}, e.files(projA, m.ID)); diff != "" {
			t.Errorf("files mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("CancelsPendingCollection", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(9)))
		e.wantPending(1)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 9)))
		e.wantPending(0)
		e.wantClaimBlobs(collector)
	})

	t.Run("ErrUnavailable", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(9)))
		e.wantClaimBlobs(collector, digest(9)) // leased for a minute
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		before := e.snap(projA)
		// The collector may be deleting the blob right now.
		wantErr(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 9)), modelreg.EUNAVAILABLE, "")
		e.unchanged(projA, before)
		e.clk.Advance(time.Minute) // the lease's last instant
		wantErr(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 9)), modelreg.EUNAVAILABLE, "")
		e.unchanged(projA, before)
		// Once the collector's lease has expired, attaching cancels the
		// collection, and the late collector cannot complete it.
		e.clk.Advance(time.Millisecond)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 9)))
		e.wantPending(0)
		wantErr(t, e.s.CompleteBlobDeletion(e.ctx, digest(9), collector), modelreg.ENOTFOUND, "")
		e.wantClaimBlobs(other)
		if diff := cmp.Diff([]modelreg.ModelFile{file("w", 9)}, e.files(projA, m.ID)); diff != "" {
			t.Errorf("files mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("AfterCollection", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(9)))
		e.wantClaimBlobs(collector, digest(9))
		ok(t, e.s.CompleteBlobDeletion(e.ctx, digest(9), collector))
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 9)))
		e.wantPending(0)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		unclaimed := e.createModel(projA, "resnet", "1.0.1")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 1)))
		ok(t, e.s.TrackBlob(e.ctx, digest(9)))
		before := e.snap(projA)
		for name, c := range map[string]struct{ id, owner string }{
			"UnknownModel": {modelreg.NewID(), importer},
			"OtherOwner":   {m.ID, importer2},
			"Unclaimed":    {unclaimed.ID, importer},
		} {
			// Neither replacing w nor cancelling the queued blob happens.
			for _, f := range []modelreg.ModelFile{file("w", 2), file("x", 9)} {
				err := e.s.AttachModelFile(e.ctx, c.id, c.owner, f)
				if modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
					t.Errorf("%s: err = %v, want ENOTFOUND", name, err)
				}
			}
		}
		e.unchanged(projA, before)
	})

	t.Run("ErrNotFoundPublished", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("w", 1))
		before := e.snap(projA)
		wantErr(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 2)), modelreg.ENOTFOUND, "")
		e.unchanged(projA, before)
	})
}

func testFinishImport(t *testing.T, open Opener) {
	t.Run("Published", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 1)))
		e.clk.Advance(5 * time.Second)
		ok(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{
			Status: modelreg.ModelPublished, Size: 4242, Config: `{"model_algorithm":"x"}`}))
		got := e.mustModel(projA, m.ID)
		want := *m
		want.Status, want.Size, want.Config, want.UpdateAt = modelreg.ModelPublished, 4242, `{"model_algorithm":"x"}`, e.nowMs()
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("model mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]modelreg.ModelFile{file("w", 1)}, e.files(projA, m.ID)); diff != "" {
			t.Errorf("files mismatch (-want +got):\n%s", diff)
		}
		e.noJob()
		wantErr(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelPublished}), modelreg.ENOTFOUND, "")
		e.wantPending(0)
	})

	t.Run("PublishedFillsDetailsFromConfig", func(t *testing.T) {
		e := newEnv(t, open)
		m := newModel(projA, "bare", "1.0.0")
		m.Runtime, m.ModelAlgorithm, m.ModelMetrics, m.APIs, m.Dependencies = "", "", "", "", nil
		ok(t, e.s.CreateModel(e.ctx, m))
		e.claim(m.ID, importer)
		config := `{"runtime":"tf2.1","model_algorithm":"object_detection","metrics":{"f1":0.9},"apis":[{"url":"/"}],` +
			`"dependencies":[{"installer":"pip","packages":[{"package_name":"numpy"}]}]}`
		ok(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelPublished, Config: config}))
		got := e.mustModel(projA, m.ID)
		want := modelreg.Model{Runtime: "tf2.1", ModelAlgorithm: "object_detection", ModelMetrics: `{"f1":0.9}`, APIs: `[{"url":"/"}]`,
			Dependencies: []modelreg.Dependency{{Installer: "pip", Packages: []modelreg.Package{{Name: "numpy"}}}}, Config: config}
		gotDetails := modelreg.Model{Runtime: got.Runtime, ModelAlgorithm: got.ModelAlgorithm, ModelMetrics: got.ModelMetrics,
			APIs: got.APIs, Dependencies: got.Dependencies, Config: got.Config}
		if diff := cmp.Diff(want, gotDetails); diff != "" {
			t.Errorf("details from config.json (-want +got):\n%s", diff)
		}
	})

	t.Run("PublishedWithoutConfigKeepsInitialConfig", func(t *testing.T) {
		e := newEnv(t, open)
		m := newModel(projA, "initial", "1.0.0")
		m.Config = `{"model_type":"TensorFlow"}`
		ok(t, e.s.CreateModel(e.ctx, m))
		e.claim(m.ID, importer)
		ok(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelPublished}))
		if got := e.mustModel(projA, m.ID).Config; got != m.Config {
			t.Errorf("config = %q, want the initial config %q kept", got, m.Config)
		}
	})

	t.Run("Failed", func(t *testing.T) {
		e := newEnv(t, open)
		e.publishedModel(projB, "other", "1.0.0", file("shared", 2))
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("own", 1)))
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("shared", 2)))
		e.clk.Advance(5 * time.Second)
		ok(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{
			Status: modelreg.ModelFailed, Reason: "config.json is not valid", Size: 999}))
		got := e.mustModel(projA, m.ID)
		if got.Status != modelreg.ModelFailed || got.FailureReason != "config.json is not valid" || got.UpdateAt != e.nowMs() {
			t.Errorf("got status %q, reason %q, update_at %d", got.Status, got.FailureReason, got.UpdateAt)
		}
		if fs := e.files(projA, m.ID); len(fs) != 0 {
			t.Errorf("a failed model keeps files %v", fs)
		}
		// Only the blob no other model holds is queued.
		e.wantPending(1)
		e.wantClaimBlobs(collector, digest(1))
		e.noJob()
		// A failed model can be listed and deleted.
		ms, _, err := e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: projA, Status: modelreg.ModelFailed, Page: modelreg.Page{Limit: 10}})
		ok(t, err)
		if len(ms) != 1 || ms[0].FailureReason != "config.json is not valid" {
			t.Errorf("failed list = %+v", ms)
		}
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 1)))
		before := e.snap(projA)
		for _, res := range []modelreg.ImportResult{{Status: modelreg.ModelPublished, Size: 1}, {Status: modelreg.ModelFailed, Reason: "x"}} {
			wantErr(t, e.s.FinishImport(e.ctx, m.ID, importer2, res), modelreg.ENOTFOUND, "")
			wantErr(t, e.s.FinishImport(e.ctx, modelreg.NewID(), importer, res), modelreg.ENOTFOUND, "")
		}
		e.unchanged(projA, before)
		ok(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute))
	})

	t.Run("ErrInvalidStatus", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		before := e.snap(projA)
		for _, st := range []string{"", modelreg.ModelPublishing, "bogus"} {
			if err := e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: st}); err == nil {
				t.Errorf("FinishImport with status %q succeeded", st)
			}
		}
		e.unchanged(projA, before)
		ok(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute))
	})
}

func testRetryImport(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.RetryImport(e.ctx, m.ID, importer, "source unreachable", e.clk.Now().Add(time.Minute)))
		e.noJob()
		// The releasing worker no longer holds it.
		wantErr(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute), modelreg.ENOTFOUND, "")
		e.clk.Advance(time.Minute) // due at exactly its time
		job, err := e.s.ClaimImportJob(e.ctx, importer2, time.Minute)
		ok(t, err)
		if job.ModelID != m.ID || job.Attempts != 2 {
			t.Fatalf("claimed %+v, want model %s at attempt 2", job, m.ID)
		}
		if got := e.mustModel(projA, m.ID); got.Status != modelreg.ModelPublishing {
			t.Errorf("status = %s, want publishing", got.Status)
		}
	})

	t.Run("Now", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.RetryImport(e.ctx, m.ID, importer, "again", e.clk.Now()))
		job, err := e.s.ClaimImportJob(e.ctx, importer, time.Minute)
		ok(t, err)
		if job.ModelID != m.ID {
			t.Fatalf("claimed %s, want %s", job.ModelID, m.ID)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		wantErr(t, e.s.RetryImport(e.ctx, m.ID, importer2, "x", e.clk.Now()), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.RetryImport(e.ctx, modelreg.NewID(), importer, "x", e.clk.Now()), modelreg.ENOTFOUND, "")
		// The job is still importer's.
		e.noJob()
		ok(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute))
	})
}

func testClaimBlobDeletions(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		var all []string
		for i := 1; i <= 5; i++ {
			ok(t, e.s.TrackBlob(e.ctx, digest(i)))
			all = append(all, digest(i))
		}
		first, err := e.s.ClaimBlobDeletions(e.ctx, collector, time.Minute, 3)
		ok(t, err)
		if len(first) != 3 {
			t.Fatalf("claimed %d, want 3", len(first))
		}
		second := e.claimBlobs(other)
		if len(second) != 2 {
			t.Fatalf("claimed %d more, want 2", len(second))
		}
		if diff := cmp.Diff(asSet(all), asSet(append(first, second...))); diff != "" {
			t.Errorf("claims mismatch (-want +got):\n%s", diff)
		}
		e.wantClaimBlobs(collector)
		e.wantPending(5)
	})

	t.Run("MaxZero", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		ds, err := e.s.ClaimBlobDeletions(e.ctx, collector, time.Minute, 0)
		ok(t, err)
		if len(ds) != 0 {
			t.Fatalf("max 0 claimed %v", ds)
		}
		e.wantClaimBlobs(other, digest(1))
	})

	t.Run("LeaseExpiry", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		e.wantClaimBlobs(collector, digest(1))
		e.wantClaimBlobs(other)
		e.clk.Advance(time.Minute)
		e.wantClaimBlobs(other)
		e.clk.Advance(time.Millisecond)
		e.wantClaimBlobs(other, digest(1))
		// The first collector's claim is gone; the second one completes.
		wantErr(t, e.s.CompleteBlobDeletion(e.ctx, digest(1), collector), modelreg.ENOTFOUND, "")
		e.wantPending(1)
		ok(t, e.s.CompleteBlobDeletion(e.ctx, digest(1), other))
		e.wantPending(0)
	})

	t.Run("DropsReferenced", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		ok(t, e.s.TrackBlob(e.ctx, digest(2)))
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 1)))
		e.wantClaimBlobs(collector, digest(2))
		e.wantPending(1)
	})
}

func testCompleteBlobDeletion(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		ok(t, e.s.TrackBlob(e.ctx, digest(2)))
		ds := e.claimBlobs(collector)
		for _, d := range ds {
			ok(t, e.s.CompleteBlobDeletion(e.ctx, d, collector))
		}
		e.wantPending(0)
		wantErr(t, e.s.CompleteBlobDeletion(e.ctx, digest(1), collector), modelreg.ENOTFOUND, "")
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		ok(t, e.s.TrackBlob(e.ctx, digest(2)))
		ds, err := e.s.ClaimBlobDeletions(e.ctx, collector, time.Minute, 1)
		ok(t, err)
		claimed := ds[0]
		unclaimed := digest(1)
		if claimed == unclaimed {
			unclaimed = digest(2)
		}
		wantErr(t, e.s.CompleteBlobDeletion(e.ctx, claimed, other), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.CompleteBlobDeletion(e.ctx, unclaimed, collector), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.CompleteBlobDeletion(e.ctx, digest(3), collector), modelreg.ENOTFOUND, "")
		e.wantPending(2)
		// The claim is intact.
		e.wantClaimBlobs(other, unclaimed)
		ok(t, e.s.CompleteBlobDeletion(e.ctx, claimed, collector))
		e.wantPending(1)
	})
}

func testRetryBlobDeletion(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		e.wantClaimBlobs(collector, digest(1))
		ok(t, e.s.RetryBlobDeletion(e.ctx, digest(1), collector, e.clk.Now().Add(10*time.Minute)))
		e.wantClaimBlobs(other)
		e.clk.Advance(10*time.Minute - time.Millisecond)
		e.wantClaimBlobs(other)
		e.clk.Advance(time.Millisecond)
		e.wantClaimBlobs(other, digest(1))
		wantErr(t, e.s.CompleteBlobDeletion(e.ctx, digest(1), collector), modelreg.ENOTFOUND, "")
		ok(t, e.s.CompleteBlobDeletion(e.ctx, digest(1), other))
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		e.wantClaimBlobs(collector, digest(1))
		later := e.clk.Now().Add(time.Hour)
		wantErr(t, e.s.RetryBlobDeletion(e.ctx, digest(1), other, later), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.RetryBlobDeletion(e.ctx, digest(2), collector, later), modelreg.ENOTFOUND, "")
		// The claim is still collector's.
		ok(t, e.s.CompleteBlobDeletion(e.ctx, digest(1), collector))
		e.wantPending(0)
	})
}

func testTrackBlob(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		e.wantPending(1)
		e.wantClaimBlobs(collector, digest(1))
	})

	t.Run("Referenced", func(t *testing.T) {
		e := newEnv(t, open)
		e.publishedModel(projA, "resnet", "1.0.0", file("w", 1))
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		e.wantPending(0)
		// Referenced by a model still importing counts too.
		m := e.createModel(projA, "resnet", "2.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("w", 2)))
		ok(t, e.s.TrackBlob(e.ctx, digest(2)))
		e.wantPending(0)
	})

	t.Run("WhileClaimed", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		e.wantClaimBlobs(collector, digest(1))
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		e.wantPending(1)
		// The claim survives.
		e.wantClaimBlobs(other)
		ok(t, e.s.CompleteBlobDeletion(e.ctx, digest(1), collector))
	})
}

func testPendingBlobDeletions(t *testing.T, open Opener) {
	e := newEnv(t, open)
	e.wantPending(0)
	for i := 1; i <= 3; i++ {
		ok(t, e.s.TrackBlob(e.ctx, digest(i)))
	}
	e.wantPending(3)
	ds, err := e.s.ClaimBlobDeletions(e.ctx, collector, time.Minute, 2)
	ok(t, err)
	e.wantPending(3) // claimed digests are still pending
	ok(t, e.s.CompleteBlobDeletion(e.ctx, ds[0], collector))
	e.wantPending(2)
}

func testPendingImportJobs(t *testing.T, open Opener) {
	e := newEnv(t, open)
	count := func(want int) {
		t.Helper()
		n, err := e.s.PendingImportJobs(e.ctx)
		ok(t, err)
		if n != want {
			t.Errorf("PendingImportJobs = %d, want %d", n, want)
		}
	}
	count(0)
	a := e.createModel(projA, "a", "1.0.0")
	e.createModel(projB, "b", "1.0.0")
	c := e.createModel(projA, "c", "1.0.0")
	count(3)
	e.claim(a.ID, importer)
	count(3) // a leased job is still pending
	ok(t, e.s.FinishImport(e.ctx, a.ID, importer, modelreg.ImportResult{Status: modelreg.ModelPublished}))
	count(2)
	ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, c.ID))
	count(1)
}
