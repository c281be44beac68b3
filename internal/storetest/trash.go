package storetest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// The deletion extensions of ARCHITECTURE §4a: preview (DeleteOptions.DryRun),
// protection, If-Match, the trash.

const week = 7 * 24 * time.Hour

// batch calls DeleteModelBatch and returns the API code of each result
// ("" for deleted), failing on a call error.
func (e *env) batch(project string, ids []string, opt modelreg.DeleteOptions) []string {
	e.t.Helper()
	errs, _, err := e.s.DeleteModelBatch(e.ctx, project, ids, opt)
	ok(e.t, err)
	codes := make([]string, len(errs))
	for i, err := range errs {
		codes[i] = modelreg.ErrorAPICode(err)
	}
	return codes
}

// protect sets the protection of model id.
func (e *env) protect(project, id string, on bool, reason string) *modelreg.ModelProtection {
	e.t.Helper()
	p, err := e.s.SetModelProtection(e.ctx, project, modelreg.ModelProtection{ModelID: id, Protected: on, Reason: reason, UpdatedBy: "alice"})
	ok(e.t, err)
	return p
}

// trash returns the project's whole trash.
func (e *env) trash(project string) []*modelreg.TrashedModel {
	e.t.Helper()
	ms, n, err := e.s.FindTrash(e.ctx, modelreg.TrashFilter{ProjectID: project, Page: modelreg.Page{Limit: modelreg.MaxListLimit}})
	ok(e.t, err)
	if n != len(ms) {
		e.t.Fatalf("FindTrash total = %d, len = %d", n, len(ms))
	}
	return ms
}

func testDryRun(t *testing.T, open Opener) {
	for _, trash := range []time.Duration{0, week} {
		t.Run("Trash"+trash.String(), func(t *testing.T) {
			e := newEnv(t, open)
			a := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
			b := e.publishedModel(projA, "resnet", "1.0.1", file("b", 2))
			c := e.publishedModel(projA, "resnet", "1.0.2", file("c", 3))
			d := e.createModel(projA, "resnet", "1.0.3") // publishing
			e.createService(projA, "svc", b.ID)
			e.protect(projA, c.ID, true, "production")
			ids := []string{a.ID, b.ID, modelreg.NewID(), c.ID, d.ID}
			before := e.snap(projA)
			preview := e.batch(projA, ids, modelreg.DeleteOptions{DryRun: true, Trash: trash})
			e.unchanged(projA, before)
			// A second preview answers the same: nothing moved.
			if diff := cmp.Diff(preview, e.batch(projA, ids, modelreg.DeleteOptions{DryRun: true, Trash: trash})); diff != "" {
				t.Fatalf("second preview differs:\n%s", diff)
			}
			real := e.batch(projA, ids, modelreg.DeleteOptions{Trash: trash})
			if diff := cmp.Diff(real, preview); diff != "" {
				t.Fatalf("preview differs from the real call (-real +preview):\n%s", diff)
			}
			want := []string{"", modelreg.CodeModelDeployed, modelreg.CodeModelNotFound, modelreg.CodeModelProtected, ""}
			if diff := cmp.Diff(want, real); diff != "" {
				t.Fatalf("codes (-want +got):\n%s", diff)
			}
			e.wantModelGone(projA, a.ID)
		})
	}
	t.Run("UnknownTarget", func(t *testing.T) {
		e := newEnv(t, open)
		e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		before := e.snap(projA)
		_, _, err := e.s.DeleteModelBatch(e.ctx, projA, []string{modelreg.NewID()}, modelreg.DeleteOptions{DryRun: true})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		e.unchanged(projA, before)
	})
}

func testProtection(t *testing.T, open Opener) {
	t.Run("SetAndFind", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		p, err := e.s.FindModelProtection(e.ctx, projA, m.ID)
		ok(t, err)
		if diff := cmp.Diff(&modelreg.ModelProtection{ModelID: m.ID}, p); diff != "" {
			t.Fatalf("never protected (-want +got):\n%s", diff)
		}
		if m.Protected {
			t.Fatal("a new model is protected")
		}
		e.clk.Advance(time.Second)
		want := &modelreg.ModelProtection{ModelID: m.ID, Protected: true, Reason: "serves prod", UpdatedAt: e.nowMs(), UpdatedBy: "alice"}
		if diff := cmp.Diff(want, e.protect(projA, m.ID, true, "serves prod")); diff != "" {
			t.Fatalf("SetModelProtection (-want +got):\n%s", diff)
		}
		p, err = e.s.FindModelProtection(e.ctx, projA, m.ID)
		ok(t, err)
		if diff := cmp.Diff(want, p); diff != "" {
			t.Fatalf("FindModelProtection (-want +got):\n%s", diff)
		}
		if !e.mustModel(projA, m.ID).Protected {
			t.Fatal("model details do not say protected")
		}
		e.protect(projA, m.ID, false, "")
		if e.mustModel(projA, m.ID).Protected {
			t.Fatal("model details still say protected")
		}
		_, err = e.s.SetModelProtection(e.ctx, projB, modelreg.ModelProtection{ModelID: m.ID, Protected: true})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		_, err = e.s.FindModelProtection(e.ctx, projA, modelreg.NewID())
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	})

	t.Run("RefusesDelete", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		other := e.publishedModel(projA, "resnet", "1.0.1", file("b", 2))
		e.protect(projA, m.ID, true, "serves prod")
		before := e.snap(projA)
		err := modelreg.DeleteModel(e.ctx, e.s, projA, m.ID)
		wantErr(t, err, modelreg.ECONFLICT, modelreg.CodeModelProtected)
		if want := "Model (" + m.ID + ") is protected against deletion: serves prod."; modelreg.ErrorMessage(err) != want {
			t.Fatalf("message %q, want %q", modelreg.ErrorMessage(err), want)
		}
		e.unchanged(projA, before)
		// In a cascade the others go, as with 3009.
		res, err := modelreg.DeleteModels(e.ctx, e.s, projA, m.ID, true, 20, modelreg.DeleteOptions{})
		ok(t, err)
		if len(res.Failed) != 1 || res.Failed[0].ErrorCode != modelreg.CodeModelProtected || len(res.Success) != 1 || res.Success[0] != other.ID {
			t.Fatalf("cascade: %+v", res)
		}
		e.mustModel(projA, m.ID)
		// Unprotected, it goes.
		e.protect(projA, m.ID, false, "")
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
	})

	t.Run("TrashedModelAndPurge", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		e.batch(projA, []string{m.ID}, modelreg.DeleteOptions{Trash: week})
		// A trashed model can be protected (kept from purges), not from projB.
		e.protect(projA, m.ID, true, "")
		_, err := e.s.FindModelProtection(e.ctx, projB, m.ID)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		ids, errs, err := e.s.PurgeTrash(e.ctx, projA, []string{m.ID})
		ok(t, err)
		if len(ids) != 1 || modelreg.ErrorAPICode(errs[0]) != modelreg.CodeModelProtected ||
			!strings.Contains(modelreg.ErrorMessage(errs[0]), "no reason given") {
			t.Fatalf("purge of a protected model: %v %v", ids, errs)
		}
		e.clk.Advance(2 * week)
		n, err := e.s.PurgeExpiredTrash(e.ctx, 100)
		ok(t, err)
		if n != 0 || len(e.trash(projA)) != 1 {
			t.Fatalf("expired purge took a protected model: %d", n)
		}
		e.wantPending(0)
		ok(t, e.s.RestoreModel(e.ctx, projA, m.ID))
		if !e.mustModel(projA, m.ID).Protected {
			t.Fatal("restored model lost its protection")
		}
	})
}

func testIfMatch(t *testing.T, open Opener) {
	t.Run("DeleteModel", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		v2 := e.publishedModel(projA, "resnet", "1.0.1", file("b", 2))
		tag := modelreg.ETag(e.mustModel(projA, m.ID))
		if tag != modelreg.ETag(e.mustModel(projA, m.ID)) {
			t.Fatal("ETag not stable")
		}
		e.protect(projA, m.ID, true, "x")
		protectedTag := modelreg.ETag(e.mustModel(projA, m.ID))
		if protectedTag == tag {
			t.Fatal("ETag did not change with the protection")
		}
		e.protect(projA, m.ID, false, "")
		if got := modelreg.ETag(e.mustModel(projA, m.ID)); got != tag {
			t.Fatalf("ETag %s after unprotecting, want %s", got, tag)
		}
		before := e.snap(projA)
		for _, im := range [][]string{{protectedTag}, {`"nope"`, `W/` + tag}} {
			for _, dry := range []bool{false, true} {
				_, _, err := e.s.DeleteModelBatch(e.ctx, projA, []string{m.ID, v2.ID}, modelreg.DeleteOptions{IfMatch: im, DryRun: dry})
				wantErr(t, err, modelreg.EPRECONDITION, modelreg.CodePreconditionFailed)
				e.unchanged(projA, before)
			}
		}
		// An unknown target is a 404 whatever the If-Match.
		_, _, err := e.s.DeleteModelBatch(e.ctx, projA, []string{modelreg.NewID()}, modelreg.DeleteOptions{IfMatch: []string{"*"}})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		if diff := cmp.Diff([]string{"", ""}, e.batch(projA, []string{m.ID, v2.ID}, modelreg.DeleteOptions{IfMatch: []string{`"other"`, tag}})); diff != "" {
			t.Fatal(diff)
		}
		m3 := e.publishedModel(projA, "resnet", "1.0.2", file("c", 3))
		e.batch(projA, []string{m3.ID}, modelreg.DeleteOptions{IfMatch: []string{"*"}})
		e.wantModelGone(projA, m3.ID)
	})

	t.Run("Services", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		svc := e.createService(projA, "svc", m.ID)
		tag := modelreg.ETag(e.mustService(projA, svc.ID))
		desc := "changed"
		before := e.snap(projA)
		_, err := e.s.UpdateService(e.ctx, projA, svc.ID, modelreg.ServiceUpdate{Description: &desc, IfMatch: []string{`"stale"`}})
		wantErr(t, err, modelreg.EPRECONDITION, modelreg.CodePreconditionFailed)
		wantErr(t, e.s.DeleteServicesIf(e.ctx, projA, []string{svc.ID}, []string{`"stale"`}), modelreg.EPRECONDITION, modelreg.CodePreconditionFailed)
		e.unchanged(projA, before)
		_, err = e.s.UpdateService(e.ctx, projA, svc.ID, modelreg.ServiceUpdate{Description: &desc, IfMatch: []string{tag}})
		ok(t, err)
		newTag := modelreg.ETag(e.mustService(projA, svc.ID))
		if newTag == tag {
			t.Fatal("service ETag did not change with its description")
		}
		wantErr(t, e.s.DeleteServicesIf(e.ctx, projA, []string{svc.ID}, []string{tag}), modelreg.EPRECONDITION, modelreg.CodePreconditionFailed)
		ok(t, e.s.DeleteServicesIf(e.ctx, projA, []string{svc.ID}, []string{newTag}))
		wantErr(t, e.s.DeleteServicesIf(e.ctx, projA, []string{svc.ID}, []string{"*"}), modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
	})
}

func testTrash(t *testing.T, open Opener) {
	t.Run("MoveAndRestore", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1), file("b", 2))
		keep := e.publishedModel(projA, "resnet", "1.0.1", file("a", 1))
		files := e.files(projA, m.ID)
		e.clk.Advance(time.Minute)
		deletedAt := e.nowMs()
		if diff := cmp.Diff([]string{""}, e.batch(projA, []string{m.ID}, modelreg.DeleteOptions{Trash: week, Actor: "bob"})); diff != "" {
			t.Fatal(diff)
		}
		// Gone from every ModelArts read, its blobs kept.
		e.wantModelGone(projA, m.ID)
		_, err := e.s.FindModelFiles(e.ctx, projA, m.ID)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		ms, n, err := e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: projA, Page: modelreg.Page{Limit: 100, SortBy: modelreg.ModelSortCreateAt, Order: modelreg.OrderDesc}})
		ok(t, err)
		if n != 1 || len(ms) != 1 || ms[0].ID != keep.ID {
			t.Fatalf("list after trashing: %d %v", n, ids(ms))
		}
		ms, n, err = e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: projA, Name: "resn", Page: modelreg.Page{Limit: 100, SortBy: modelreg.ModelSortCreateAt, Order: modelreg.OrderDesc}})
		ok(t, err)
		if n != 1 || len(ms) != 1 {
			t.Fatalf("filtered list after trashing: %d", n)
		}
		e.wantPending(0)
		svc := newService(projA, "svc", m.ID)
		wantErr(t, e.s.CreateService(e.ctx, svc), modelreg.ENOTFOUND, modelreg.CodeServiceModelGone)
		want := []*modelreg.TrashedModel{{ID: m.ID, Name: "resnet", Version: "1.0.0", Size: m.Size, DeletedAt: deletedAt,
			DeletedBy: "bob", PurgeAt: deletedAt + week.Milliseconds()}}
		if diff := cmp.Diff(want, e.trash(projA)); diff != "" {
			t.Fatalf("FindTrash (-want +got):\n%s", diff)
		}
		if len(e.trash(projB)) != 0 {
			t.Fatal("trash of another project lists it")
		}
		wantErr(t, e.s.RestoreModel(e.ctx, projB, m.ID), modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		// Restored: the same model, files and all.
		ok(t, e.s.RestoreModel(e.ctx, projA, m.ID))
		if diff := cmp.Diff(m, e.mustModel(projA, m.ID)); diff != "" {
			t.Fatalf("restored model differs (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(files, e.files(projA, m.ID)); diff != "" {
			t.Fatalf("restored files differ:\n%s", diff)
		}
		if len(e.trash(projA)) != 0 {
			t.Fatal("restored model still in the trash")
		}
		_, n, err = e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: projA, Page: modelreg.Page{Limit: 100, SortBy: modelreg.ModelSortCreateAt, Order: modelreg.OrderDesc}})
		ok(t, err)
		if n != 2 {
			t.Fatalf("total_count %d after restore, want 2", n)
		}
		wantErr(t, e.s.RestoreModel(e.ctx, projA, m.ID), modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		wantErr(t, e.s.RestoreModel(e.ctx, projA, modelreg.NewID()), modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	})

	t.Run("NameReuse", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		e.batch(projA, []string{m.ID}, modelreg.DeleteOptions{Trash: week})
		again := e.publishedModel(projA, "resnet", "1.0.0", file("b", 2))
		before := e.snap(projA)
		wantErr(t, e.s.RestoreModel(e.ctx, projA, m.ID), modelreg.ECONFLICT, modelreg.CodeModelExists)
		e.unchanged(projA, before)
		// Trashed twice under the same name and version: both listed.
		e.batch(projA, []string{again.ID}, modelreg.DeleteOptions{Trash: week})
		if got := len(e.trash(projA)); got != 2 {
			t.Fatalf("%d in the trash, want 2", got)
		}
		ok(t, e.s.RestoreModel(e.ctx, projA, m.ID))
	})

	t.Run("Filter", func(t *testing.T) {
		e := newEnv(t, open)
		var all []string
		for i, name := range []string{"resnet", "bert", "ResNeXt"} {
			m := e.publishedModel(projA, name, "1.0.0", file("a", i))
			e.clk.Advance(time.Second)
			e.batch(projA, []string{m.ID}, modelreg.DeleteOptions{Trash: week})
			all = append([]string{m.ID}, all...)
		}
		ms, n, err := e.s.FindTrash(e.ctx, modelreg.TrashFilter{ProjectID: projA, Name: "resn", Page: modelreg.Page{Limit: 100}})
		ok(t, err)
		if n != 2 || len(ms) != 2 || ms[0].Name != "ResNeXt" {
			t.Fatalf("filter resn: %d %+v", n, ms)
		}
		ms, n, err = e.s.FindTrash(e.ctx, modelreg.TrashFilter{ProjectID: projA, Page: modelreg.Page{Limit: 2, Offset: 1}})
		ok(t, err)
		if n != 3 || len(ms) != 1 || ms[0].ID != all[2] {
			t.Fatalf("page 1 of 2: %d %+v", n, ms)
		}
	})

	t.Run("PublishingAndFailed", func(t *testing.T) {
		e := newEnv(t, open)
		p := e.createModel(projA, "a", "1.0.0")
		f := e.failedModel(projA, "b", "1.0.0")
		e.batch(projA, []string{p.ID, f.ID}, modelreg.DeleteOptions{Trash: week})
		// The import stops and the publishing model is gone for good; the
		// failed one is in the trash.
		e.noJob()
		tr := e.trash(projA)
		if len(tr) != 1 || tr[0].ID != f.ID {
			t.Fatalf("trash: %+v", tr)
		}
	})

	t.Run("PurgeAndBlobs", func(t *testing.T) {
		e := newEnv(t, open)
		a := e.publishedModel(projA, "a", "1.0.0", file("w", 1), file("x", 2))
		b := e.publishedModel(projA, "b", "1.0.0", file("w", 1))
		c := e.publishedModel(projA, "c", "1.0.0", file("y", 3))
		e.batch(projA, []string{a.ID, b.ID, c.ID}, modelreg.DeleteOptions{Trash: week})
		e.wantPending(0)
		e.wantClaimBlobs(collector) // nothing: the trash references them
		ok(t, e.s.TrackBlob(e.ctx, digest(1)))
		e.wantPending(0)
		// Purging a queues only x: w is still b's.
		ids, errs, err := e.s.PurgeTrash(e.ctx, projA, []string{a.ID, modelreg.NewID()})
		ok(t, err)
		if len(ids) != 2 || errs[0] != nil || modelreg.ErrorAPICode(errs[1]) != modelreg.CodeModelNotFound {
			t.Fatalf("PurgeTrash: %v %v", ids, errs)
		}
		e.wantClaimBlobs(collector, digest(2))
		ok(t, e.s.CompleteBlobDeletion(e.ctx, digest(2), collector))
		wantErr(t, e.s.RestoreModel(e.ctx, projA, a.ID), modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		// Purging the rest keeps the protected c.
		e.protect(projA, c.ID, true, "keep")
		ids, _, err = e.s.PurgeTrash(e.ctx, projB, nil)
		ok(t, err)
		if len(ids) != 0 {
			t.Fatalf("purge of projB: %v", ids)
		}
		ids, errs, err = e.s.PurgeTrash(e.ctx, projA, nil)
		ok(t, err)
		got := map[string]string{}
		for i, id := range ids {
			got[id] = modelreg.ErrorAPICode(errs[i])
		}
		if diff := cmp.Diff(map[string]string{b.ID: "", c.ID: modelreg.CodeModelProtected}, got); diff != "" {
			t.Fatalf("purge all (-want +got):\n%s", diff)
		}
		e.wantClaimBlobs(collector, digest(1))
		if tr := e.trash(projA); len(tr) != 1 || tr[0].ID != c.ID {
			t.Fatalf("trash: %+v", tr)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		e := newEnv(t, open)
		a := e.publishedModel(projA, "a", "1.0.0", file("w", 1))
		e.batch(projA, []string{a.ID}, modelreg.DeleteOptions{Trash: time.Hour})
		e.clk.Advance(30 * time.Minute)
		b := e.publishedModel(projB, "b", "1.0.0", file("x", 2))
		e.batch(projB, []string{b.ID}, modelreg.DeleteOptions{Trash: time.Hour})
		n, err := e.s.PurgeExpiredTrash(e.ctx, 100)
		ok(t, err)
		if n != 0 {
			t.Fatalf("purged %d before their time", n)
		}
		e.clk.Advance(30 * time.Minute) // a's purge_at: due
		n, err = e.s.PurgeExpiredTrash(e.ctx, 100)
		ok(t, err)
		if n != 1 || len(e.trash(projA)) != 0 || len(e.trash(projB)) != 1 {
			t.Fatalf("purged %d, want a alone", n)
		}
		e.wantClaimBlobs(collector, digest(1))
	})
}

func testTrashRace(t *testing.T, open Opener) {
	for _, trash := range []time.Duration{0, week} {
		t.Run("ProtectVersusDelete"+trash.String(), func(t *testing.T) {
			e := newEnv(t, open)
			for i := range 20 {
				m := e.publishedModel(projA, "resnet", "1.0."+itoa(i), file("a", i))
				var protErr, delErr error
				together(
					func() {
						_, protErr = e.s.SetModelProtection(e.ctx, projA, modelreg.ModelProtection{ModelID: m.ID, Protected: true, Reason: "r"})
					},
					func() {
						var errs []error
						errs, _, delErr = e.s.DeleteModelBatch(e.ctx, projA, []string{m.ID}, modelreg.DeleteOptions{Trash: trash})
						if delErr == nil {
							delErr = errs[0]
						}
					},
				)
				switch {
				case delErr == nil:
					// The delete came first: the model is gone or in the
					// trash, where the protect may have found it.
					e.wantModelGone(projA, m.ID)
					if trash == 0 {
						wantErr(t, protErr, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
					} else if protErr != nil {
						wantErr(t, protErr, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
					}
				case modelreg.ErrorAPICode(delErr) == modelreg.CodeModelProtected:
					ok(t, protErr)
					if !e.mustModel(projA, m.ID).Protected {
						t.Fatal("refused delete, model not protected")
					}
				default:
					t.Fatalf("delete: %v", delErr)
				}
			}
		})
	}

	t.Run("RestoreVersusImport", func(t *testing.T) {
		e := newEnv(t, open)
		for i := range 15 {
			version := "2.0." + itoa(i)
			m := e.publishedModel(projA, "resnet", version, file("a", 1))
			e.batch(projA, []string{m.ID}, modelreg.DeleteOptions{Trash: week})
			var restoreErr, importErr error
			together(
				func() { restoreErr = e.s.RestoreModel(e.ctx, projA, m.ID) },
				func() { importErr = e.s.CreateModel(e.ctx, newModel(projA, "resnet", version)) },
			)
			if (restoreErr == nil) == (importErr == nil) {
				t.Fatalf("restore %v, import %v: want exactly one to succeed", restoreErr, importErr)
			}
			for _, err := range []error{restoreErr, importErr} {
				if err != nil {
					wantErr(t, err, modelreg.ECONFLICT, modelreg.CodeModelExists)
				}
			}
			_, n, err := e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: projA, Name: "resnet", ExactMatch: true, Version: version, Page: modelreg.Page{Limit: 100, SortBy: modelreg.ModelSortCreateAt, Order: modelreg.OrderDesc}})
			ok(t, err)
			if n != 1 {
				t.Fatalf("%d models of resnet %s, want 1", n, version)
			}
		}
	})

	t.Run("RestoreAndPurge", func(t *testing.T) {
		e := newEnv(t, open)
		for i := range 15 {
			m := e.publishedModel(projA, "resnet", "3.0."+itoa(i), file("a", 100+i))
			e.batch(projA, []string{m.ID}, modelreg.DeleteOptions{Trash: week})
			errs := make([]error, 4)
			fns := []func(){
				func() { errs[0] = e.s.RestoreModel(e.ctx, projA, m.ID) },
				func() { errs[1] = e.s.RestoreModel(e.ctx, projA, m.ID) },
				func() {
					_, es, err := e.s.PurgeTrash(e.ctx, projA, []string{m.ID})
					if err == nil {
						err = es[0]
					}
					errs[2] = err
				},
				func() {
					_, es, err := e.s.PurgeTrash(e.ctx, projA, nil)
					if err == nil && len(es) > 0 {
						err = es[0]
					}
					errs[3] = err
				},
			}
			together(fns...)
			wins := 0
			for _, err := range errs[:3] {
				if err == nil {
					wins++
				} else {
					wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
				}
			}
			ok(t, errs[3]) // the whole trash: whatever is left of it
			restored := errs[0] == nil || errs[1] == nil
			if !restored && wins > 1 || restored && (wins != 1 || errs[2] == nil) {
				t.Fatalf("restore, restore, purge: %v", errs)
			}
			if restored {
				e.mustModel(projA, m.ID)
				if got := e.files(projA, m.ID); len(got) != 1 {
					t.Fatalf("restored with %d files", len(got))
				}
				e.wantPending(0)
				ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
			} else {
				e.wantModelGone(projA, m.ID)
			}
			e.wantClaimBlobs(collector, digest(100+i))
			ok(t, e.s.CompleteBlobDeletion(e.ctx, digest(100+i), collector))
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
