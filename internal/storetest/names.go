package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// testFindModelNames checks the per-name aggregates: counts, the newest
// version (as the model list shows it), the deployed and protected flags,
// the filters, the order of the names asked, and that other projects and
// the trash are left out.
func testFindModelNames(t *testing.T, open Opener) {
	e := newEnv(t, open)
	// resnet: 1.0.0 publishing and protected, 1.0.1 and 1.0.2 published
	// at the same time (the newest of the two is the greater id), 1.0.1
	// deployed; 1.1.0 in the trash.
	r0 := e.createModel(projA, "resnet", "1.0.0")
	e.clk.Advance(time.Second)
	r1 := e.publishedModel(projA, "resnet", "1.0.1")
	r2 := e.publishedModel(projA, "resnet", "1.0.2")
	e.clk.Advance(time.Second)
	gone := e.publishedModel(projA, "resnet", "1.1.0")
	if diff := cmp.Diff([]string{""}, e.batch(projA, []string{gone.ID}, modelreg.DeleteOptions{Trash: week})); diff != "" {
		t.Fatalf("trash: %s", diff)
	}
	_, err := e.s.SetModelProtection(e.ctx, projA, modelreg.ModelProtection{ModelID: r0.ID, Protected: true, Reason: "keep"})
	ok(t, err)
	e.serviceIn("svc", modelreg.ServiceRunning, r1.ID)
	// bert: one version, its protection set and withdrawn.
	b := e.publishedModel(projA, "bert", "1.0.0")
	_, err = e.s.SetModelProtection(e.ctx, projA, modelreg.ModelProtection{ModelID: b.ID, Protected: true})
	ok(t, err)
	_, err = e.s.SetModelProtection(e.ctx, projA, modelreg.ModelProtection{ModelID: b.ID, Protected: false})
	ok(t, err)
	e.publishedModel(projB, "resnet", "9.0.0")

	// newest is the model list's first item of the name, newest first.
	newest := func(f modelreg.ModelFilter) *modelreg.ModelSummary {
		t.Helper()
		f.ProjectID, f.ExactMatch = projA, true
		f.Page = modelreg.Page{Limit: 1, SortBy: modelreg.ModelSortCreateAt, Order: "desc"}
		ok(t, f.Validate())
		list, _, err := e.s.FindModels(e.ctx, f)
		ok(t, err)
		if len(list) != 1 {
			t.Fatalf("FindModels(%s) = %d models", f.Name, len(list))
		}
		return list[0]
	}
	newestResnet := r2.ID
	if r1.ID > r2.ID {
		newestResnet = r1.ID
	}
	find := func(f modelreg.ModelNameFilter) []*modelreg.ModelName {
		t.Helper()
		f.ProjectID = projA
		ok(t, f.Validate())
		got, err := e.s.FindModelNames(e.ctx, f)
		ok(t, err)
		if got == nil {
			t.Fatal("FindModelNames returned nil, want a non-nil slice")
		}
		return got
	}

	t.Run("All", func(t *testing.T) {
		got := find(modelreg.ModelNameFilter{Names: []string{"bert", "missing", "resnet", "Resnet"}})
		want := []*modelreg.ModelName{
			{Name: "bert", VersionCount: 1, Newest: newest(modelreg.ModelFilter{Name: "bert"})},
			{Name: "resnet", VersionCount: 3, Newest: newest(modelreg.ModelFilter{Name: "resnet"}), Deployed: true, Protected: true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
		if got[1].Newest.ID != newestResnet {
			t.Errorf("newest resnet = %s, want %s (same create_at: the greater id)", got[1].Newest.Version, newestResnet)
		}
		// The order is the order of the names asked.
		got = find(modelreg.ModelNameFilter{Names: []string{"resnet", "bert"}})
		if len(got) != 2 || got[0].Name != "resnet" || got[1].Name != "bert" {
			t.Errorf("order: got %v", names(got))
		}
	})
	t.Run("Status", func(t *testing.T) {
		got := find(modelreg.ModelNameFilter{Names: []string{"resnet"}, Status: "Publishing"})
		want := []*modelreg.ModelName{{Name: "resnet", VersionCount: 1, Newest: newest(modelreg.ModelFilter{Name: "resnet", Status: "publishing"}), Protected: true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
		got = find(modelreg.ModelNameFilter{Names: []string{"resnet"}, Status: "published"})
		want = []*modelreg.ModelName{{Name: "resnet", VersionCount: 2, Newest: newest(modelreg.ModelFilter{Name: "resnet"}), Deployed: true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Description", func(t *testing.T) {
		// A substring, ignoring the case of ASCII letters, as the list.
		got := find(modelreg.ModelNameFilter{Names: []string{"resnet", "bert"}, Description: "RESNET 1.0.1"})
		want := []*modelreg.ModelName{{Name: "resnet", VersionCount: 1, Newest: newest(modelreg.ModelFilter{Name: "resnet", Description: "resnet 1.0.1"}), Deployed: true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
		// % and _ are literal.
		if got := find(modelreg.ModelNameFilter{Names: []string{"resnet"}, Description: "resnet_1"}); len(got) != 0 {
			t.Errorf("description resnet_1 matched %v", names(got))
		}
	})
	t.Run("Type", func(t *testing.T) {
		if got := find(modelreg.ModelNameFilter{Names: []string{"resnet", "bert"}, Type: "tensorflow"}); len(got) != 2 {
			t.Errorf("type TensorFlow: got %v", names(got))
		}
		if got := find(modelreg.ModelNameFilter{Names: []string{"resnet", "bert"}, Type: "PyTorch"}); len(got) != 0 {
			t.Errorf("type PyTorch: got %v", names(got))
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		many := make([]string, modelreg.MaxModelNames+1)
		for i := range many {
			many[i] = "n" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		for name, f := range map[string]modelreg.ModelNameFilter{
			"NoNames":  {},
			"Empty":    {Names: []string{""}},
			"Twice":    {Names: []string{"a", "a"}},
			"TooMany":  {Names: many},
			"BadType":  {Names: []string{"a"}, Type: "nope"},
			"BadState": {Names: []string{"a"}, Status: "nope"},
		} {
			err := f.Validate()
			if modelreg.ErrorAPICode(err) != modelreg.CodeInvalidArgument {
				t.Errorf("%s: Validate = %v, want %s", name, err, modelreg.CodeInvalidArgument)
			}
		}
	})
}

func names(ns []*modelreg.ModelName) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}
