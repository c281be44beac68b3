package storetest

import (
	"testing"
	"time"

	"github.com/modelreg/modelreg"
)

// uploader is the lease owner of an upload in the tests.
const uploader = "upload:1"

func testCreateUploadModel(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := newModel(projA, "pushed", "1.0.0")
		m.SourceLocation = "upload://x"
		ok(t, e.s.CreateUploadModel(e.ctx, m, uploader, time.Minute))
		if !modelreg.ValidID(m.ID) || m.CreateAt != e.nowMs() || m.Status != modelreg.ModelPublishing {
			t.Fatalf("created %+v", m.ModelSummary)
		}
		got := e.mustModel(projA, m.ID)
		if got.Status != modelreg.ModelPublishing || got.SourceLocation != "upload://x" {
			t.Errorf("stored status %s, source %s", got.Status, got.SourceLocation)
		}
		// The job is the upload's: no runner claims it while the lease lives.
		e.noJob()
		e.clk.Advance(50 * time.Second)
		ok(t, e.s.RenewImportJob(e.ctx, m.ID, uploader, time.Minute))
		e.clk.Advance(time.Minute)
		e.noJob()
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, uploader, file("model/a.bin", 1)))
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, uploader, file("model/b.bin", 2)))
		ok(t, e.s.FinishImport(e.ctx, m.ID, uploader, modelreg.ImportResult{Status: modelreg.ModelPublished, Size: 203}))
		got = e.mustModel(projA, m.ID)
		if got.Status != modelreg.ModelPublished || got.Size != 203 {
			t.Errorf("after finishing: status %s, size %d", got.Status, got.Size)
		}
		if fs := e.files(projA, m.ID); len(fs) != 2 {
			t.Errorf("files %+v", fs)
		}
		e.noJob()
	})

	t.Run("LeaseExpiry", func(t *testing.T) {
		// An abandoned upload's job goes to a runner like any other, as
		// its second attempt; the upload has lost it.
		e := newEnv(t, open)
		m := newModel(projA, "pushed", "1.0.0")
		ok(t, e.s.CreateUploadModel(e.ctx, m, uploader, time.Minute))
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, uploader, file("a", 1)))
		e.clk.Advance(time.Minute)
		e.noJob()
		e.clk.Advance(time.Millisecond)
		job, err := e.s.ClaimImportJob(e.ctx, importer, time.Minute, 0)
		ok(t, err)
		if job.ModelID != m.ID || job.Attempts != 2 || job.SourceLocation != m.SourceLocation || job.ProjectID != projA {
			t.Fatalf("claimed %+v, want model %s at attempt 2", job, m.ID)
		}
		wantErr(t, e.s.RenewImportJob(e.ctx, m.ID, uploader, time.Minute), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.AttachModelFile(e.ctx, m.ID, uploader, file("b", 2)), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.FinishImport(e.ctx, m.ID, uploader, modelreg.ImportResult{Status: modelreg.ModelPublished}), modelreg.ENOTFOUND, "")
		ok(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelFailed, Reason: "abandoned"}))
		// The failed upload's blob is queued for collection.
		e.wantPending(1)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		e := newEnv(t, open)
		e.createModel(projA, "pushed", "1.0.0")
		before := e.snap(projA)
		err := e.s.CreateUploadModel(e.ctx, newModel(projA, "pushed", "1.0.0"), uploader, time.Minute)
		wantErr(t, err, modelreg.ECONFLICT, modelreg.CodeModelExists)
		e.unchanged(projA, before)
		// Another project may use the name.
		ok(t, e.s.CreateUploadModel(e.ctx, newModel(projB, "pushed", "1.0.0"), uploader, time.Minute))
	})

	t.Run("Delete", func(t *testing.T) {
		// A model being uploaded can be deleted; its blobs are queued and
		// the upload finds its job gone.
		e := newEnv(t, open)
		m := newModel(projA, "pushed", "1.0.0")
		ok(t, e.s.CreateUploadModel(e.ctx, m, uploader, time.Minute))
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, uploader, file("a", 1)))
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
		e.wantModelGone(projA, m.ID)
		e.wantPending(1)
		wantErr(t, e.s.RenewImportJob(e.ctx, m.ID, uploader, time.Minute), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.AttachModelFile(e.ctx, m.ID, uploader, file("b", 2)), modelreg.ENOTFOUND, "")
	})
}
