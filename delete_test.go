package modelreg_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// modelStore is a ModelStore whose cascade set and per-model delete results
// are given by the test. Only the two methods DeleteModels calls are used.
type modelStore struct {
	modelreg.ModelStore
	set     modelreg.CascadeSet
	results map[string]error
	deleted []string
}

func (s *modelStore) FindCascadeSet(ctx context.Context, projectID, id string, limit int) (modelreg.CascadeSet, error) {
	if err := s.results["set"]; err != nil {
		return modelreg.CascadeSet{}, err
	}
	if len(s.set.IDs) > limit {
		return modelreg.CascadeSet{IDs: s.set.IDs[:limit], Remaining: len(s.set.IDs) - limit}, nil
	}
	return s.set, nil
}

func (s *modelStore) DeleteModel(ctx context.Context, projectID, id string) error {
	s.deleted = append(s.deleted, id)
	return s.results[id]
}

func TestDeleteModels(t *testing.T) {
	ctx := context.Background()
	t.Run("Single", func(t *testing.T) {
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", false, 20)
		if err != nil {
			t.Fatal(err)
		}
		want := &modelreg.DeleteResult{Success: []string{"a"}, Failed: []modelreg.DeleteFailure{}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("CascadeReportsEachFailure", func(t *testing.T) {
		s := &modelStore{
			set:     modelreg.CascadeSet{IDs: []string{"a", "b", "c", "d"}},
			results: map[string]error{"b": modelreg.ModelDeployed("b"), "c": modelreg.ModelNotFound("c"), "d": nil},
		}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 3)
		if err != nil {
			t.Fatal(err)
		}
		msg := "Failed to delete model, model (b) already deploy service."
		want := &modelreg.DeleteResult{
			Success:        []string{"a"},
			Failed:         []modelreg.DeleteFailure{{ModelID: "b", ErrorCode: "ModelArts.3009", ErrorMessage: msg, ErrorMsg: msg}},
			RemainingCount: 1,
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"a", "b", "c"}, s.deleted); diff != "" {
			t.Errorf("deleted (-want +got):\n%s", diff)
		}
	})
	t.Run("TargetGoneIsRequestError", func(t *testing.T) {
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}, results: map[string]error{"a": modelreg.ModelNotFound("a")}}
		_, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20)
		if modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound {
			t.Fatalf("err = %v, want 3001", err)
		}
		if diff := cmp.Diff([]string{"a"}, s.deleted); diff != "" {
			t.Errorf("nothing after the target may be touched (-want +got):\n%s", diff)
		}
	})
	t.Run("UnknownTargetOfCascade", func(t *testing.T) {
		s := &modelStore{results: map[string]error{"set": modelreg.ModelNotFound("a")}}
		if _, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Fatalf("err = %v, want ENOTFOUND", err)
		}
	})
	t.Run("UnavailableBeforeAnyDeleteIsRequestError", func(t *testing.T) {
		down := modelreg.Errorf(modelreg.EUNAVAILABLE, "ModelArts.6101", "The database is unavailable.")
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}, results: map[string]error{"a": down, "b": down}}
		if _, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20); modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
			t.Fatalf("err = %v, want EUNAVAILABLE", err)
		}
	})
	t.Run("UnavailableAfterADeleteIsReported", func(t *testing.T) {
		down := modelreg.Errorf(modelreg.EUNAVAILABLE, "ModelArts.6101", "The database is unavailable.")
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}, results: map[string]error{"b": down}}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Success) != 1 || len(res.Failed) != 1 || res.Failed[0].ErrorCode != "ModelArts.6101" {
			t.Errorf("result = %+v, want a deleted and b reported unavailable", res)
		}
	})
	t.Run("InternalErrorHidesCause", func(t *testing.T) {
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}, results: map[string]error{"b": modelreg.Internal("x", context.DeadlineExceeded)}}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Failed) != 1 || res.Failed[0].ErrorCode != modelreg.CodeInternal || res.Failed[0].ErrorMsg != "Internal error." {
			t.Errorf("Failed = %+v", res.Failed)
		}
	})
}
