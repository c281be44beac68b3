package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// bulkModel returns a model for CreateModels: metadata only.
func bulkModel(project, name, version, typ string, size int64) *modelreg.Model {
	return &modelreg.Model{
		ModelSummary: modelreg.ModelSummary{
			Name: name, Version: version, Type: typ, ProjectID: project, Size: size,
			Description: "bulk " + name, WorkspaceID: "0", InstallType: []string{"real-time"},
		},
		SourceLocation: "obs://bucket/" + name + "/",
	}
}

func testCreateModels(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		ms := []*modelreg.Model{
			bulkModel(projA, "bulk", "1.0.0", "PyTorch", 10),
			bulkModel(projA, "bulk", "1.0.1", "TensorFlow", 20),
			bulkModel(projA, "other", "1.0.0", "PyTorch", 30),
		}
		ok(t, e.s.CreateModels(e.ctx, ms))
		for _, m := range ms {
			if !modelreg.ValidID(m.ID) {
				t.Errorf("id %q assigned", m.ID)
			}
			if m.Status != modelreg.ModelPublished || m.CreateAt != e.nowMs() || m.UpdateAt != e.nowMs() {
				t.Errorf("model %s: status %s, create_at %d, update_at %d", m.Name, m.Status, m.CreateAt, m.UpdateAt)
			}
			got := e.mustModel(projA, m.ID)
			if diff := cmp.Diff(m, got); diff != "" {
				t.Errorf("stored model differs (-want +got):\n%s", diff)
			}
			if files := e.files(projA, m.ID); len(files) != 0 {
				t.Errorf("model %s has files %v", m.ID, files)
			}
		}
		e.noJob()
		// Published, so they can be deployed and deleted like any other.
		svc := e.createService(projA, "svc", ms[0].ID)
		e.wantDeleteModel(projA, ms[0].ID, modelreg.CodeModelDeployed)
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{svc.ID}))
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, ms[0].ID))
		e.wantPending(0)
	})

	t.Run("ErrConflictRollsBackAll", func(t *testing.T) {
		e := newEnv(t, open)
		e.createModel(projA, "taken", "1.0.0")
		before := e.snap(projA)
		err := e.s.CreateModels(e.ctx, []*modelreg.Model{
			bulkModel(projA, "fresh", "1.0.0", "PyTorch", 0),
			bulkModel(projA, "taken", "1.0.0", "PyTorch", 0),
		})
		wantErr(t, err, modelreg.ECONFLICT, modelreg.CodeModelExists)
		e.unchanged(projA, before)
		checkCounts(e, projA)
	})

	t.Run("ErrConflictWithinBatch", func(t *testing.T) {
		e := newEnv(t, open)
		first := bulkModel(projA, "twice", "1.0.0", "PyTorch", 0)
		err := e.s.CreateModels(e.ctx, []*modelreg.Model{first, bulkModel(projA, "twice", "1.0.0", "PyTorch", 0)})
		wantErr(t, err, modelreg.ECONFLICT, modelreg.CodeModelExists)
		if first.ID != "" || first.Status != "" {
			t.Errorf("a failed CreateModels changed its argument: %+v", first.ModelSummary)
		}
		checkCounts(e, projA)
	})

	t.Run("Empty", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.CreateModels(e.ctx, nil))
	})
}

// checkCounts checks that every total FindModels reports without a text
// filter (the totals a store may keep counters for) agrees with the
// models it lists.
func checkCounts(e *env, project string) {
	e.t.Helper()
	all, total, err := e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: project,
		Page: modelreg.Page{Limit: modelreg.MaxListLimit, SortBy: modelreg.ModelSortCreateAt, Order: "desc"},
	})
	ok(e.t, err)
	if total != len(all) {
		e.t.Fatalf("total = %d, but %d models listed", total, len(all))
	}
	statuses := append([]string{""}, modelreg.ModelStatuses...)
	types := []string{"", "TensorFlow", "PyTorch", "Custom"}
	for _, status := range statuses {
		for _, typ := range types {
			for _, not := range []bool{false, true} {
				if not && typ == "" {
					continue
				}
				want := 0
				for _, m := range all {
					if (status == "" || m.Status == status) && (typ == "" || (m.Type == typ) != not) {
						want++
					}
				}
				f := modelreg.ModelFilter{ProjectID: project, Status: status, Page: modelreg.Page{Limit: 1}}
				if not {
					f.NotType = typ
				} else {
					f.Type = typ
				}
				ok(e.t, f.Validate())
				_, got, err := e.s.FindModels(e.ctx, f)
				ok(e.t, err)
				if got != want {
					e.t.Fatalf("total with status %q, type %q (not: %t) = %d, want %d", status, typ, not, got, want)
				}
			}
		}
	}
}

// testModelCounts checks the totals after every kind of change a model
// goes through.
func testModelCounts(t *testing.T, open Opener) {
	e := newEnv(t, open)
	checkCounts(e, projA)
	a := e.createModel(projA, "a", "1.0.0")
	checkCounts(e, projA)
	e.publish(a, file("f", 1))
	checkCounts(e, projA)
	b := e.failedModel(projA, "b", "1.0.0")
	checkCounts(e, projA)
	c := newModel(projA, "c", "1.0.0")
	c.Type = "PyTorch"
	ok(t, e.s.CreateModel(e.ctx, c))
	checkCounts(e, projA)
	wantErr(t, e.s.CreateModel(e.ctx, newModel(projA, "c", "1.0.0")), modelreg.ECONFLICT, modelreg.CodeModelExists)
	checkCounts(e, projA)
	ok(t, e.s.CreateModels(e.ctx, []*modelreg.Model{
		bulkModel(projA, "d", "1.0.0", "Custom", 5), bulkModel(projA, "d", "1.0.1", "PyTorch", 5),
	}))
	checkCounts(e, projA)
	e.publishedModel(projB, "a", "1.0.0")
	checkCounts(e, projA)
	checkCounts(e, projB)
	svc := e.createService(projA, "svc", a.ID)
	e.wantDeleteModel(projA, a.ID, modelreg.CodeModelDeployed)
	checkCounts(e, projA)
	ok(t, e.s.DeleteServices(e.ctx, projA, []string{svc.ID}))
	for _, id := range []string{a.ID, b.ID, c.ID} { // published, failed, publishing
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, id))
		checkCounts(e, projA)
	}
	checkCounts(e, projB)
}

// testKeysetPaging checks that walking a list with markers gives the same
// models, in the same order, as walking it with offsets, for every sort,
// and that a marker only continues the sort it was made for.
func testKeysetPaging(t *testing.T, open Opener) {
	e := newEnv(t, open)
	modelFixture(e)
	// More models with tied sort keys: same time, same size, same version.
	var bulk []*modelreg.Model
	for i := range 9 {
		bulk = append(bulk, bulkModel(projA, fmt.Sprintf("tie%d", i%3), fmt.Sprintf("1.0.%d", i/3), "PyTorch", 7))
	}
	ok(t, e.s.CreateModels(e.ctx, bulk))
	e.clk.Advance(time.Second)
	for _, sortBy := range []string{modelreg.ModelSortCreateAt, modelreg.ModelSortVersion, modelreg.ModelSortSize} {
		for _, order := range []string{"asc", "desc"} {
			for _, filter := range []modelreg.ModelFilter{{}, {Type: "PyTorch"}, {Name: "tie"}, {Status: modelreg.ModelPublished}} {
				name := fmt.Sprintf("%s_%s_%+v", sortBy, order, filter)
				t.Run(name, func(t *testing.T) {
					var byOffset, byMarker []string
					total := -1
					for offset := 0; ; offset++ {
						f := filter
						f.ProjectID, f.SortBy, f.Order, f.Limit, f.Offset = projA, sortBy, order, 2, offset
						ok(t, f.Validate())
						p, n, err := e.s.FindModels(e.ctx, f)
						ok(t, err)
						total = n
						if len(p) == 0 {
							break
						}
						byOffset = append(byOffset, ids(p)...)
					}
					if len(byOffset) != total {
						t.Fatalf("offset paging listed %d models, total %d", len(byOffset), total)
					}
					marker := ""
					for range total + 2 {
						f := filter
						f.ProjectID, f.SortBy, f.Order, f.Limit, f.Marker = projA, sortBy, order, 2, marker
						ok(t, f.Validate())
						p, n, err := e.s.FindModels(e.ctx, f)
						ok(t, err)
						if n != total {
							t.Fatalf("total with a marker = %d, want %d", n, total)
						}
						byMarker = append(byMarker, ids(p)...)
						if marker = f.NextMarker(p); marker == "" {
							break
						}
					}
					if diff := cmp.Diff(byOffset, byMarker); diff != "" {
						t.Errorf("marker paging differs from offset paging (-offset +marker):\n%s", diff)
					}
				})
			}
		}
	}

	t.Run("ErrMarkerOfAnotherSort", func(t *testing.T) {
		f := modelreg.ModelFilter{ProjectID: projA, Page: modelreg.Page{Limit: 2}}
		ok(t, f.Validate())
		p, _, err := e.s.FindModels(e.ctx, f)
		ok(t, err)
		g := modelreg.ModelFilter{ProjectID: projA, Marker: f.NextMarker(p), Page: modelreg.Page{Limit: 2, Order: "asc"}}
		wantErr(t, g.Validate(), modelreg.EINVALID, modelreg.CodeInvalidArgument)
		g = modelreg.ModelFilter{ProjectID: projA, Marker: f.NextMarker(p), Page: modelreg.Page{Limit: 2, Offset: 1}}
		wantErr(t, g.Validate(), modelreg.EINVALID, modelreg.CodeInvalidArgument)
	})
}

// testSubstringFilters checks the name and description filters on the
// values a trigram index treats differently from LIKE: short needles,
// letters whose Unicode case folding reaches ASCII, quotes.
func testSubstringFilters(t *testing.T, open Opener) {
	e := newEnv(t, open)
	descs := []string{
		"Kelvin scale",            // ASCII K
		"\u212aelvin sign",        // KELVIN SIGN, which Unicode folds to k
		"stra\u00dfe and strasse", // ß
		"say \u201chi\u201d",      // curly quotes
		"ab",
		"xyzabcxyz",
	}
	var ms []*modelreg.Model
	for i, d := range descs {
		m := bulkModel(projA, fmt.Sprintf("name%dxyz", i), "1.0.0", "PyTorch", 0)
		m.Description = d
		ms = append(ms, m)
	}
	ok(t, e.s.CreateModels(e.ctx, ms))
	for _, c := range []struct {
		desc, name string
		want       []int
	}{
		{desc: "kelvin", want: []int{0}},
		{desc: "KEL", want: []int{0}},
		{desc: "\u212aelvin", want: []int{1}},
		{desc: "elvin", want: []int{0, 1}},
		{desc: "STRASSE", want: []int{2}},
		{desc: "\u00dfe", want: []int{2}},
		{desc: "\u201chi", want: []int{3}},
		{desc: "a", want: []int{0, 2, 3, 4, 5}},
		{desc: "ab", want: []int{4, 5}},
		{desc: "abc", want: []int{5}},
		{name: "e3x", want: []int{3}},
		{name: "XYZ", want: []int{0, 1, 2, 3, 4, 5}},
		{name: "xyz", desc: "xyz", want: []int{5}},
		{name: "me", want: []int{0, 1, 2, 3, 4, 5}},
		{name: "name10", want: nil},
	} {
		f := modelreg.ModelFilter{ProjectID: projA, Name: c.name, Description: c.desc, Page: modelreg.Page{Order: "asc", Limit: modelreg.MaxListLimit}}
		ok(t, f.Validate())
		got, total, err := e.s.FindModels(e.ctx, f)
		ok(t, err)
		want := []string{}
		for _, i := range c.want {
			want = append(want, ms[i].ID)
		}
		slices.Sort(want)
		gotIDs := ids(got)
		slices.Sort(gotIDs)
		if diff := cmp.Diff(want, gotIDs); diff != "" || total != len(want) {
			t.Errorf("name %q description %q: total %d, mismatch (-want +got):\n%s", c.name, c.desc, total, diff)
		}
	}
}

// testDeleteModelBatch checks a store's DeleteModelBatch over several
// models: each refused or deleted as it would be alone.
func testDeleteModelBatch(t *testing.T, open Opener) {
	setup := func(t *testing.T) (*env, modelreg.ModelStore, []*modelreg.Model) {
		e := newEnv(t, open)
		bd := e.s
		a := e.publishedModel(projA, "a", "1.0.0", file("f", 1), file("shared", 9))
		b := e.publishedModel(projA, "a", "1.0.1", file("f", 2), file("shared", 9))
		c := e.createModel(projA, "a", "1.0.2")
		d := e.publishedModel(projA, "a", "1.0.3", file("f", 3), file("shared", 9))
		return e, bd, []*modelreg.Model{a, b, c, d}
	}

	t.Run("OK", func(t *testing.T) {
		e, bd, ms := setup(t)
		svc := e.createService(projA, "svc", ms[3].ID)
		gone := modelreg.NewID()
		errs, queued, err := bd.DeleteModelBatch(e.ctx, projA, []string{ms[0].ID, ms[1].ID, gone, ms[2].ID, ms[3].ID}, modelreg.DeleteOptions{})
		ok(t, err)
		if queued != 2 {
			t.Errorf("queued %d digests, want 2", queued)
		}
		if len(errs) != 5 {
			t.Fatalf("%d errors for 5 ids", len(errs))
		}
		for _, i := range []int{0, 1, 3} {
			ok(t, errs[i])
		}
		wantErr(t, errs[2], modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		wantErr(t, errs[4], modelreg.ECONFLICT, modelreg.CodeModelDeployed)
		for _, m := range ms[:3] {
			e.wantModelGone(projA, m.ID)
		}
		e.mustModel(projA, ms[3].ID)
		// The blobs only the deleted models held are queued; the one the
		// deployed model shares with them is kept.
		e.wantClaimBlobs(collector, digest(1), digest(2))
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{svc.ID}))
		errs, queued, err = bd.DeleteModelBatch(e.ctx, projA, []string{ms[3].ID}, modelreg.DeleteOptions{})
		ok(t, err)
		ok(t, errs[0])
		if queued != 2 {
			t.Errorf("queued %d digests, want 2", queued)
		}
		e.wantClaimBlobs(collector, digest(3), digest(9))
		e.noJob()
		checkCounts(e, projA)
	})

	// queued counts the digests the call left in the queue: none for a
	// model without files, a preview, a move to the trash, or blobs other
	// models still reference (issue 18: the collector is woken only when
	// it is positive).
	t.Run("Queued", func(t *testing.T) {
		e, bd, ms := setup(t)
		for _, c := range []struct {
			what  string
			id    string
			opt   modelreg.DeleteOptions
			want  int
			queue int // digests in the queue after the call
		}{
			{"a model without files", ms[2].ID, modelreg.DeleteOptions{}, 0, 0},
			{"a preview", ms[0].ID, modelreg.DeleteOptions{DryRun: true}, 0, 0},
			{"a move to the trash", ms[0].ID, modelreg.DeleteOptions{Trash: time.Hour}, 0, 0},
			{"a model with a blob of its own and a shared one", ms[1].ID, modelreg.DeleteOptions{}, 1, 1},
		} {
			errs, queued, err := bd.DeleteModelBatch(e.ctx, projA, []string{c.id}, c.opt)
			ok(t, err)
			ok(t, errs[0])
			if queued != c.want {
				t.Errorf("%s: queued %d digests, want %d", c.what, queued, c.want)
			}
			e.wantPending(c.queue)
		}
	})

	t.Run("ErrNotFoundFirstDeletesNothing", func(t *testing.T) {
		e, bd, ms := setup(t)
		before := e.snap(projA)
		_, _, err := bd.DeleteModelBatch(e.ctx, projA, []string{modelreg.NewID(), ms[0].ID, ms[1].ID}, modelreg.DeleteOptions{})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		e.unchanged(projA, before)
		// Another project's model is unknown too.
		_, _, err = bd.DeleteModelBatch(e.ctx, projB, []string{ms[0].ID}, modelreg.DeleteOptions{})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		e.unchanged(projA, before)
	})
}

// testCreateModelsConcurrently runs bulk calls at once: each succeeds
// (none fails for a lock the others hold) and the counts add up.
func testCreateModelsConcurrently(t *testing.T, open Opener) {
	e := newEnv(t, open)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range errs {
		wg.Go(func() {
			var ms []*modelreg.Model
			for i := range 200 {
				ms = append(ms, bulkModel(projA, fmt.Sprintf("c%d-%d", w, i%20), fmt.Sprintf("1.0.%d", i/20),
					modelreg.ModelTypes[i%len(modelreg.ModelTypes)], int64(i)))
			}
			errs[w] = e.s.CreateModels(e.ctx, ms)
		})
	}
	wg.Wait()
	for _, err := range errs {
		ok(t, err)
	}
	checkCounts(e, projA)
}
