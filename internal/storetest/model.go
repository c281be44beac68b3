package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

func testCreateModel(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := newModel(projA, "resnet", "1.0.0")
		ok(t, e.s.CreateModel(e.ctx, m))
		if !modelreg.ValidID(m.ID) {
			t.Errorf("ID = %q, want a UUID v4", m.ID)
		}
		if m.Status != modelreg.ModelPublishing {
			t.Errorf("Status = %q, want publishing", m.Status)
		}
		if m.CreateAt != e.nowMs() || m.UpdateAt != e.nowMs() {
			t.Errorf("CreateAt, UpdateAt = %d, %d, want %d", m.CreateAt, m.UpdateAt, e.nowMs())
		}
		// Every field comes back as it went in.
		want := newModel(projA, "resnet", "1.0.0")
		want.ID, want.Status, want.CreateAt, want.UpdateAt = m.ID, m.Status, m.CreateAt, m.UpdateAt
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("CreateModel changed other fields (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, e.mustModel(projA, m.ID)); diff != "" {
			t.Errorf("FindModelByID mismatch (-want +got):\n%s", diff)
		}
		// The import job exists, with the model's source.
		job, err := e.s.ClaimImportJob(e.ctx, importer, time.Minute)
		ok(t, err)
		wantJob := &modelreg.ImportJob{ModelID: m.ID, ProjectID: projA, SourceLocation: m.SourceLocation, Attempts: 1}
		if diff := cmp.Diff(wantJob, job); diff != "" {
			t.Errorf("ClaimImportJob mismatch (-want +got):\n%s", diff)
		}
		if fs := e.files(projA, m.ID); len(fs) != 0 {
			t.Errorf("new model has files %v", fs)
		}
	})

	t.Run("KeepsID", func(t *testing.T) {
		e := newEnv(t, open)
		m := newModel(projA, "resnet", "1.0.0")
		id := modelreg.NewID()
		m.ID = id
		ok(t, e.s.CreateModel(e.ctx, m))
		if m.ID != id {
			t.Fatalf("ID = %q, want the given %q", m.ID, id)
		}
		e.mustModel(projA, id)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		e := newEnv(t, open)
		first := e.createModel(projA, "resnet", "1.0.0")
		e.clk.Advance(time.Second)
		before := e.snap(projA)
		dup := newModel(projA, "resnet", "1.0.0")
		dup.Description = "another"
		err := e.s.CreateModel(e.ctx, dup)
		wantErr(t, err, modelreg.ECONFLICT, modelreg.CodeModelExists)
		e.unchanged(projA, before)
		// No second job either.
		e.claim(first.ID, importer)
		e.noJob()
	})

	t.Run("ErrConflictID", func(t *testing.T) {
		e := newEnv(t, open)
		first := e.createModel(projA, "resnet", "1.0.0")
		before := e.snap(projA)
		dup := newModel(projA, "resnet", "2.0.0")
		dup.ID = first.ID
		err := e.s.CreateModel(e.ctx, dup)
		wantErr(t, err, modelreg.ECONFLICT, "")
		e.unchanged(projA, before)
	})

	t.Run("SameNameOtherVersionOrProject", func(t *testing.T) {
		e := newEnv(t, open)
		a := e.createModel(projA, "resnet", "1.0.0")
		b := e.createModel(projA, "resnet", "1.0.1")
		c := e.createModel(projB, "resnet", "1.0.0")
		if a.ID == b.ID || a.ID == c.ID || b.ID == c.ID {
			t.Fatalf("ids not unique: %s %s %s", a.ID, b.ID, c.ID)
		}
	})
}

func testFindModelByID(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.clk.Advance(time.Minute)
		e.publish(m, file("model/a.pb", 1), file("model/config.json", 2))
		got := e.mustModel(projA, m.ID)
		want := *m
		want.Status = modelreg.ModelPublished
		want.Size = file("", 1).Size + file("", 2).Size
		want.Config = `{"model_type":"TensorFlow"}`
		want.UpdateAt = e.nowMs()
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("FindModelByID mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		e.createModel(projA, "resnet", "1.0.0")
		_, err := e.s.FindModelByID(e.ctx, projA, modelreg.NewID())
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	})

	t.Run("ErrNotFoundOtherProject", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projB, "resnet", "1.0.0")
		_, err := e.s.FindModelByID(e.ctx, projA, m.ID)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	})
}

// modelFixture creates models covering every filter and sort of FindModels,
// with ties in each sort key, and returns projA's models as the store
// reports them.
func modelFixture(e *env) []*modelreg.Model {
	e.t.Helper()
	type spec struct {
		name, version, typ, desc, ws string
		status                       string
		files                        []modelreg.ModelFile
		advance                      time.Duration // before creating
	}
	specs := []spec{
		{name: "resnet", version: "1.0.0", typ: "TensorFlow", desc: "first resnet", status: modelreg.ModelPublished, files: []modelreg.ModelFile{file("a", 1)}},
		{name: "resnet", version: "1.10.0", typ: "PyTorch", desc: "second", status: modelreg.ModelPublishing},
		{name: "resnet", version: "1.9.0", typ: "TensorFlow", desc: "third", status: modelreg.ModelFailed, advance: time.Second},
		{name: "res_net", version: "2.0.0", typ: "MindSpore", desc: "underscore", ws: "ws1", status: modelreg.ModelPublished, files: []modelreg.ModelFile{file("a", 2), file("b", 3)}},
		{name: "resXnet", version: "1.0.0", typ: "TensorFlow", desc: "100% accurate", status: modelreg.ModelPublished, files: []modelreg.ModelFile{file("a", 1)}, advance: time.Second},
		{name: "bert", version: "0.0.1", typ: "PyTorch", desc: "1000 accurate", ws: "ws1", status: modelreg.ModelPublishing},
		{name: "bert", version: "0.0.2", typ: "Custom", desc: `back\slash`, status: modelreg.ModelPublished, files: []modelreg.ModelFile{file("a", 5)}, advance: time.Second},
		{name: "Bert", version: "0.1.0", typ: "Custom", desc: "Upper CASE", status: modelreg.ModelPublished, files: []modelreg.ModelFile{file("a", 5)}},
	}
	var ids []string
	for _, sp := range specs {
		e.clk.Advance(sp.advance)
		m := newModel(projA, sp.name, sp.version)
		m.Type, m.Description = sp.typ, sp.desc
		if sp.ws != "" {
			m.WorkspaceID = sp.ws
		}
		ok(e.t, e.s.CreateModel(e.ctx, m))
		ids = append(ids, m.ID)
		switch sp.status {
		case modelreg.ModelPublished:
			e.publish(m, sp.files...)
		case modelreg.ModelFailed:
			e.claim(m.ID, importer)
			ok(e.t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelFailed, Reason: "no files"}))
		}
	}
	// Another project's models never show.
	e.publishedModel(projB, "resnet", "1.0.0")
	e.createModel(projB, "bert", "0.0.1")

	var ms []*modelreg.Model
	for _, id := range ids {
		ms = append(ms, e.mustModel(projA, id))
	}
	return ms
}

// sortModels sorts ms as FindModels must: by the key, ties by id, both in
// order.
func sortModels(ms []*modelreg.ModelSummary, sortBy, order string) {
	key := func(m *modelreg.ModelSummary) int64 {
		switch sortBy {
		case modelreg.ModelSortVersion:
			return int64(modelreg.VersionKey(m.Version))
		case modelreg.ModelSortSize:
			return m.Size
		}
		return m.CreateAt
	}
	slices.SortFunc(ms, func(a, b *modelreg.ModelSummary) int {
		c := 0
		switch ka, kb := key(a), key(b); {
		case ka < kb:
			c = -1
		case ka > kb:
			c = 1
		default:
			c = strings.Compare(a.ID, b.ID)
		}
		if order == "desc" {
			c = -c
		}
		return c
	})
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func testFindModels(t *testing.T, open Opener) {
	e := newEnv(t, open)
	all := modelFixture(e)
	var summaries []*modelreg.ModelSummary
	for _, m := range all {
		s := m.ModelSummary
		summaries = append(summaries, &s)
	}
	before := e.snap(projA)

	cases := []struct {
		name  string
		f     modelreg.ModelFilter
		match func(m *modelreg.ModelSummary) bool
		n     int // expected number of matches, a check on the fixture
	}{
		{"All", modelreg.ModelFilter{}, func(*modelreg.ModelSummary) bool { return true }, 8},
		{"Name", modelreg.ModelFilter{Name: "resnet"}, func(m *modelreg.ModelSummary) bool { return containsFold(m.Name, "resnet") }, 3},
		{"NameIgnoresCase", modelreg.ModelFilter{Name: "RESNET"}, func(m *modelreg.ModelSummary) bool { return containsFold(m.Name, "resnet") }, 3},
		{"NameUnderscoreIsLiteral", modelreg.ModelFilter{Name: "s_n"}, func(m *modelreg.ModelSummary) bool { return m.Name == "res_net" }, 1},
		{"NamePercentIsLiteral", modelreg.ModelFilter{Name: "%"}, func(*modelreg.ModelSummary) bool { return false }, 0},
		{"NameExact", modelreg.ModelFilter{Name: "res_net", ExactMatch: true}, func(m *modelreg.ModelSummary) bool { return m.Name == "res_net" }, 1},
		{"NameExactSeveralVersions", modelreg.ModelFilter{Name: "resnet", ExactMatch: true}, func(m *modelreg.ModelSummary) bool { return m.Name == "resnet" }, 3},
		{"NameExactIsCaseSensitive", modelreg.ModelFilter{Name: "bert", ExactMatch: true}, func(m *modelreg.ModelSummary) bool { return m.Name == "bert" }, 2},
		{"NameExactNoSubstring", modelreg.ModelFilter{Name: "res", ExactMatch: true}, func(*modelreg.ModelSummary) bool { return false }, 0},
		{"Description", modelreg.ModelFilter{Description: "ACCURATE"}, func(m *modelreg.ModelSummary) bool { return containsFold(m.Description, "accurate") }, 2},
		{"DescriptionPercentIsLiteral", modelreg.ModelFilter{Description: "0%"}, func(m *modelreg.ModelSummary) bool { return m.Description == "100% accurate" }, 1},
		{"DescriptionBackslashIsLiteral", modelreg.ModelFilter{Description: `k\s`}, func(m *modelreg.ModelSummary) bool { return m.Description == `back\slash` }, 1},
		{"Version", modelreg.ModelFilter{Version: "1.0.0"}, func(m *modelreg.ModelSummary) bool { return m.Version == "1.0.0" }, 2},
		{"VersionIsExact", modelreg.ModelFilter{Version: "1.0"}, func(*modelreg.ModelSummary) bool { return false }, 0},
		{"StatusPublished", modelreg.ModelFilter{Status: modelreg.ModelPublished}, func(m *modelreg.ModelSummary) bool { return m.Status == modelreg.ModelPublished }, 5},
		{"StatusPublishing", modelreg.ModelFilter{Status: modelreg.ModelPublishing}, func(m *modelreg.ModelSummary) bool { return m.Status == modelreg.ModelPublishing }, 2},
		{"StatusFailed", modelreg.ModelFilter{Status: modelreg.ModelFailed}, func(m *modelreg.ModelSummary) bool { return m.Status == modelreg.ModelFailed }, 1},
		{"Type", modelreg.ModelFilter{Type: "PyTorch"}, func(m *modelreg.ModelSummary) bool { return m.Type == "PyTorch" }, 2},
		{"NotType", modelreg.ModelFilter{NotType: "PyTorch"}, func(m *modelreg.ModelSummary) bool { return m.Type != "PyTorch" }, 6},
		{"WorkspaceID", modelreg.ModelFilter{WorkspaceID: "ws1"}, func(m *modelreg.ModelSummary) bool { return m.WorkspaceID == "ws1" }, 2},
		{"Combined", modelreg.ModelFilter{Name: "res", Status: modelreg.ModelPublished, NotType: "MindSpore"},
			func(m *modelreg.ModelSummary) bool {
				return containsFold(m.Name, "res") && m.Status == modelreg.ModelPublished && m.Type != "MindSpore"
			}, 2},
		{"NoMatch", modelreg.ModelFilter{Name: "nothing"}, func(*modelreg.ModelSummary) bool { return false }, 0},
	}
	for _, c := range cases {
		t.Run("Filter"+c.name, func(t *testing.T) {
			want := []*modelreg.ModelSummary{}
			for _, m := range summaries {
				if c.match(m) {
					want = append(want, m)
				}
			}
			if len(want) != c.n {
				t.Fatalf("fixture: %d models match, want %d", len(want), c.n)
			}
			sortModels(want, modelreg.ModelSortCreateAt, "desc")
			f := c.f
			f.ProjectID = projA
			ok(t, f.Validate())
			got, total, err := e.s.FindModels(e.ctx, f)
			ok(t, err)
			if got == nil {
				t.Fatal("FindModels returned a nil slice")
			}
			if total != len(want) {
				t.Errorf("total = %d, want %d", total, len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("FindModels mismatch (-want +got):\n%s", diff)
			}
		})
	}

	for _, sortBy := range []string{modelreg.ModelSortCreateAt, modelreg.ModelSortVersion, modelreg.ModelSortSize} {
		for _, order := range []string{"asc", "desc"} {
			t.Run("Sort_"+sortBy+"_"+order, func(t *testing.T) {
				want := slices.Clone(summaries)
				sortModels(want, sortBy, order)
				f := modelreg.ModelFilter{ProjectID: projA, Page: modelreg.Page{SortBy: sortBy, Order: order}}
				ok(t, f.Validate())
				got, total, err := e.s.FindModels(e.ctx, f)
				ok(t, err)
				if total != len(want) {
					t.Errorf("total = %d, want %d", total, len(want))
				}
				if diff := cmp.Diff(ids(want), ids(got)); diff != "" {
					t.Errorf("order mismatch (-want +got):\n%s", diff)
				}
				// Paging with a page size of 3 walks the same order.
				var paged []*modelreg.ModelSummary
				for offset := 0; ; offset++ {
					f := modelreg.ModelFilter{ProjectID: projA, Page: modelreg.Page{SortBy: sortBy, Order: order, Limit: 3, Offset: offset}}
					p, total, err := e.s.FindModels(e.ctx, f)
					ok(t, err)
					if total != len(want) {
						t.Fatalf("page %d: total = %d, want %d", offset, total, len(want))
					}
					if len(p) > 3 {
						t.Fatalf("page %d has %d items, limit 3", offset, len(p))
					}
					if len(p) == 0 {
						if p == nil {
							t.Fatal("an empty page is nil")
						}
						break
					}
					paged = append(paged, p...)
				}
				if diff := cmp.Diff(ids(want), ids(paged)); diff != "" {
					t.Errorf("paged order mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}

	t.Run("OffsetIsPageIndex", func(t *testing.T) {
		want := slices.Clone(summaries)
		sortModels(want, modelreg.ModelSortCreateAt, "asc")
		got, total, err := e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: projA, Page: modelreg.Page{Order: "asc", SortBy: modelreg.ModelSortCreateAt, Limit: 2, Offset: 2}})
		ok(t, err)
		if total != 8 {
			t.Errorf("total = %d, want 8", total)
		}
		if diff := cmp.Diff(ids(want[4:6]), ids(got)); diff != "" {
			t.Errorf("page 2 of size 2 mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("PageBeyondEnd", func(t *testing.T) {
		got, total, err := e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: projA, Page: modelreg.Page{Limit: 100, Offset: 1}})
		ok(t, err)
		if total != 8 || got == nil || len(got) != 0 {
			t.Errorf("got %d items (nil: %t), total %d; want 0 items, total 8", len(got), got == nil, total)
		}
	})

	t.Run("OtherProject", func(t *testing.T) {
		got, total, err := e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: projB, Page: modelreg.Page{Limit: 100}})
		ok(t, err)
		if total != 2 || len(got) != 2 {
			t.Fatalf("project B: %d items, total %d; want 2, 2", len(got), total)
		}
		for _, m := range got {
			if m.ProjectID != projB {
				t.Errorf("project B lists a model of project %s", m.ProjectID)
			}
		}
		got, total, err = e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: "00000000000000000000000000000000", Page: modelreg.Page{Limit: 100}})
		ok(t, err)
		if total != 0 || got == nil || len(got) != 0 {
			t.Errorf("empty project: %d items (nil: %t), total %d", len(got), got == nil, total)
		}
	})

	e.unchanged(projA, before)
}

func ids(ms []*modelreg.ModelSummary) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func testFindCascadeSet(t *testing.T, open Opener) {
	// Versions v[0] and v[1] are created at the same time, so the order
	// between them is the order of their ids.
	setup := func(t *testing.T) (*env, []*modelreg.Model) {
		e := newEnv(t, open)
		var v []*modelreg.Model
		for i, ver := range []string{"1.0.0", "1.0.1", "1.1.0", "2.0.0", "0.0.1"} {
			if i >= 2 {
				e.clk.Advance(time.Second)
			}
			v = append(v, e.createModel(projA, "resnet", ver))
		}
		e.createModel(projA, "resnet2", "1.0.0")
		e.createModel(projA, "bert", "1.0.0")
		e.createModel(projB, "resnet", "3.0.0")
		return e, v
	}
	oldestFirst := func(v []*modelreg.Model, except string) []string {
		var out []string
		for _, m := range v {
			if m.ID != except {
				out = append(out, m.ID)
			}
		}
		if v[0].ID > v[1].ID && v[0].ID != except && v[1].ID != except {
			i := slices.Index(out, v[0].ID)
			out[i], out[i+1] = out[i+1], out[i]
		}
		return out
	}

	t.Run("OK", func(t *testing.T) {
		e, v := setup(t)
		for _, target := range v {
			set, err := e.s.FindCascadeSet(e.ctx, projA, target.ID, 20)
			ok(t, err)
			want := modelreg.CascadeSet{IDs: append([]string{target.ID}, oldestFirst(v, target.ID)...)}
			if diff := cmp.Diff(want, set); diff != "" {
				t.Errorf("target %s: mismatch (-want +got):\n%s", target.Version, diff)
			}
		}
	})

	t.Run("Limit", func(t *testing.T) {
		e, v := setup(t)
		target := v[2]
		others := oldestFirst(v, target.ID)
		for _, limit := range []int{1, 2, 3, 4, 5, 6} {
			set, err := e.s.FindCascadeSet(e.ctx, projA, target.ID, limit)
			ok(t, err)
			n := min(limit-1, len(others))
			want := modelreg.CascadeSet{IDs: append([]string{target.ID}, others[:n]...), Remaining: len(others) - n}
			if diff := cmp.Diff(want, set); diff != "" {
				t.Errorf("limit %d: mismatch (-want +got):\n%s", limit, diff)
			}
		}
	})

	t.Run("SingleVersion", func(t *testing.T) {
		e, _ := setup(t)
		m := e.createModel(projA, "solo", "1.0.0")
		set, err := e.s.FindCascadeSet(e.ctx, projA, m.ID, 20)
		ok(t, err)
		if diff := cmp.Diff(modelreg.CascadeSet{IDs: []string{m.ID}}, set); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e, _ := setup(t)
		_, err := e.s.FindCascadeSet(e.ctx, projA, modelreg.NewID(), 20)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	})

	t.Run("ErrNotFoundOtherProject", func(t *testing.T) {
		e, _ := setup(t)
		ms, _, err := e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: projB, Page: modelreg.Page{Limit: 10}})
		ok(t, err)
		_, err = e.s.FindCascadeSet(e.ctx, projA, ms[0].ID, 20)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	})
}

func testDeleteModel(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1), file("b", 2))
		keep := e.publishedModel(projA, "resnet", "1.0.1", file("a", 3))
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
		e.wantModelGone(projA, m.ID)
		_, err := e.s.FindModelFiles(e.ctx, projA, m.ID)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		e.wantPending(2)
		e.wantClaimBlobs(collector, digest(1), digest(2))
		// The other version is untouched.
		if diff := cmp.Diff(keep, e.mustModel(projA, keep.ID)); diff != "" {
			t.Errorf("other version changed (-before +after):\n%s", diff)
		}
		// Deleting it again is a 3001.
		wantErr(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID), modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		before := e.snap(projA)
		wantErr(t, modelreg.DeleteModel(e.ctx, e.s, projA, modelreg.NewID()), modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		e.unchanged(projA, before)
	})

	t.Run("ErrNotFoundOtherProject", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projB, "resnet", "1.0.0", file("a", 1))
		before := e.snap(projB)
		wantErr(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID), modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
		e.unchanged(projB, before)
	})

	t.Run("ErrDeployed", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		svc := e.createService(projA, "svc", m.ID)
		check := func() {
			t.Helper()
			before := e.snap(projA)
			err := modelreg.DeleteModel(e.ctx, e.s, projA, m.ID)
			wantErr(t, err, modelreg.ECONFLICT, modelreg.CodeModelDeployed)
			if !strings.Contains(modelreg.ErrorMessage(err), m.ID) {
				t.Errorf("message %q does not name the model", modelreg.ErrorMessage(err))
			}
			e.unchanged(projA, before)
		}
		check() // deploying
		ok(t, e.s.TransitionService(e.ctx, projA, svc.ID, modelreg.ServiceDeploying, modelreg.ServiceRunning, modelreg.ServiceEvent{EventInfo: "up"}))
		check()
		stopped := modelreg.ServiceStopped
		_, err := e.s.UpdateService(e.ctx, projA, svc.ID, modelreg.ServiceUpdate{Status: &stopped})
		ok(t, err)
		check()
		// Once the service is gone the model can be deleted.
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{svc.ID}))
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
		e.wantModelGone(projA, m.ID)
		e.wantPending(1)
	})

	t.Run("SharedBlobs", func(t *testing.T) {
		e := newEnv(t, open)
		a := e.publishedModel(projA, "resnet", "1.0.0", file("weights", 1), file("vocab", 2))
		b := e.publishedModel(projA, "resnet", "1.0.1", file("weights", 1))
		c := e.publishedModel(projB, "other", "1.0.0", file("w", 3))
		// Deleting a queues only the blob nobody else holds.
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, a.ID))
		e.wantPending(1)
		e.wantClaimBlobs(collector, digest(2))
		// Deleting b, the last holder of digest 1, queues it.
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, b.ID))
		e.wantPending(2)
		e.wantClaimBlobs(collector, digest(1))
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projB, c.ID))
		e.wantClaimBlobs(collector, digest(3))
	})

	t.Run("SameBlobTwice", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1), file("copy/a", 1))
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
		e.wantPending(1)
	})

	t.Run("Publishing", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.claim(m.ID, importer)
		ok(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("a", 7)))
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
		e.wantModelGone(projA, m.ID)
		// The importer finds its job gone at its next call and stops.
		wantErr(t, e.s.RenewImportJob(e.ctx, m.ID, importer, time.Minute), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.AttachModelFile(e.ctx, m.ID, importer, file("b", 8)), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelPublished}), modelreg.ENOTFOUND, "")
		wantErr(t, e.s.RetryImport(e.ctx, m.ID, importer, "x", e.clk.Now()), modelreg.ENOTFOUND, "")
		e.noJob()
		// The blob it had attached is queued; the one refused is not.
		e.wantClaimBlobs(collector, digest(7))
	})

	t.Run("PublishingUnclaimed", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
		e.noJob()
		e.wantPending(0)
	})

	t.Run("Failed", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.failedModel(projA, "resnet", "1.0.0")
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
		e.wantModelGone(projA, m.ID)
	})

	t.Run("NameAndVersionReusable", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0", file("a", 1))
		ok(t, modelreg.DeleteModel(e.ctx, e.s, projA, m.ID))
		again := e.createModel(projA, "resnet", "1.0.0")
		if again.ID == m.ID {
			t.Fatal("new model reuses the deleted model's id")
		}
	})
}

func testFindModelFiles(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		e.publish(m, file("model/b", 2), file("model/a/x", 3), file("model/a", 1))
		want := []modelreg.ModelFile{file("model/a", 1), file("model/a/x", 3), file("model/b", 2)}
		if diff := cmp.Diff(want, e.files(projA, m.ID)); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		fs := e.files(projA, m.ID)
		if fs == nil || len(fs) != 0 {
			t.Errorf("files = %#v, want an empty non-nil slice", fs)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		_, err := e.s.FindModelFiles(e.ctx, projA, modelreg.NewID())
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	})

	t.Run("ErrNotFoundOtherProject", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projB, "resnet", "1.0.0", file("a", 1))
		_, err := e.s.FindModelFiles(e.ctx, projA, m.ID)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
	})
}
