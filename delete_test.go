package modelreg_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// modelStore is a ModelStore whose cascade set and per-model delete results
// are given by the test. Only the two methods DeleteModels calls are used.
// results["batch"] is the error of the whole DeleteModelBatch call.
type modelStore struct {
	modelreg.ModelStore
	set     modelreg.CascadeSet
	results map[string]error
	deleted []string
	calls   int
	queued  int // DeleteModelBatch's queued
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

// DeleteModelBatch keeps the store contract: an unknown first id fails the
// call and deletes nothing.
func (s *modelStore) DeleteModelBatch(ctx context.Context, projectID string, ids []string, opt modelreg.DeleteOptions) ([]error, int, error) {
	s.calls++
	if err := s.results["batch"]; err != nil {
		return nil, 0, err
	}
	if modelreg.ErrorCode(s.results[ids[0]]) == modelreg.ENOTFOUND {
		return nil, 0, s.results[ids[0]]
	}
	errs := make([]error, len(ids))
	for i, id := range ids {
		errs[i] = s.results[id]
		s.deleted = append(s.deleted, id)
	}
	return errs, s.queued, nil
}

func TestDeleteModels(t *testing.T) {
	ctx := context.Background()
	t.Run("Single", func(t *testing.T) {
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", false, 20, modelreg.DeleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := &modelreg.DeleteResult{Success: []string{"a"}, Failed: []modelreg.DeleteFailure{}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("BlobsQueued", func(t *testing.T) {
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a"}}, queued: 3}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", false, 20, modelreg.DeleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.BlobsQueued != 3 {
			t.Errorf("BlobsQueued %d, want the store's 3", res.BlobsQueued)
		}
	})
	t.Run("CascadeReportsEachFailure", func(t *testing.T) {
		s := &modelStore{
			set:     modelreg.CascadeSet{IDs: []string{"a", "b", "c", "d"}},
			results: map[string]error{"b": modelreg.ModelDeployed("b"), "c": modelreg.ModelNotFound("c"), "d": nil},
		}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 3, modelreg.DeleteOptions{})
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
		_, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20, modelreg.DeleteOptions{})
		if modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound {
			t.Fatalf("err = %v, want 3001", err)
		}
		if len(s.deleted) != 0 {
			t.Errorf("deleted %v, want nothing", s.deleted)
		}
	})
	t.Run("UnknownTargetOfCascade", func(t *testing.T) {
		s := &modelStore{results: map[string]error{"set": modelreg.ModelNotFound("a")}}
		if _, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20, modelreg.DeleteOptions{}); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
			t.Fatalf("err = %v, want ENOTFOUND", err)
		}
	})
	t.Run("UnavailableBeforeAnyDeleteIsRequestError", func(t *testing.T) {
		down := modelreg.Errorf(modelreg.EUNAVAILABLE, "ModelArts.6101", "The database is unavailable.")
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}, results: map[string]error{"a": down, "b": down}}
		if _, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20, modelreg.DeleteOptions{}); modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
			t.Fatalf("err = %v, want EUNAVAILABLE", err)
		}
	})
	t.Run("UnavailableAfterADeleteIsReported", func(t *testing.T) {
		down := modelreg.Errorf(modelreg.EUNAVAILABLE, "ModelArts.6101", "The database is unavailable.")
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}, results: map[string]error{"b": down}}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20, modelreg.DeleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Success) != 1 || len(res.Failed) != 1 || res.Failed[0].ErrorCode != "ModelArts.6101" {
			t.Errorf("result = %+v, want a deleted and b reported unavailable", res)
		}
	})
	t.Run("InternalErrorHidesCause", func(t *testing.T) {
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}, results: map[string]error{"b": modelreg.Internal("x", context.DeadlineExceeded)}}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20, modelreg.DeleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Failed) != 1 || res.Failed[0].ErrorCode != modelreg.CodeInternal || res.Failed[0].ErrorMsg != "Internal error." {
			t.Errorf("Failed = %+v", res.Failed)
		}
	})
	t.Run("OneStoreCallACascade", func(t *testing.T) {
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b", "c"}}}
		if _, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20, modelreg.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if s.calls != 1 {
			t.Errorf("%d DeleteModelBatch calls, want 1", s.calls)
		}
	})
	t.Run("SingleDeleteCallErrorIsReportedForTheModel", func(t *testing.T) {
		s := &modelStore{results: map[string]error{"batch": modelreg.Internal("x", context.DeadlineExceeded)}}
		res, err := modelreg.DeleteModels(ctx, s, "p", "a", false, 20, modelreg.DeleteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Success) != 0 || len(res.Failed) != 1 || res.Failed[0].ModelID != "a" || res.Failed[0].ErrorCode != modelreg.CodeInternal {
			t.Errorf("result = %+v, want a reported failed", res)
		}
	})
	t.Run("CascadeCallErrorIsRequestError", func(t *testing.T) {
		s := &modelStore{set: modelreg.CascadeSet{IDs: []string{"a", "b"}}, results: map[string]error{"batch": modelreg.Internal("x", context.DeadlineExceeded)}}
		if _, err := modelreg.DeleteModels(ctx, s, "p", "a", true, 20, modelreg.DeleteOptions{}); modelreg.ErrorCode(err) != modelreg.EINTERNAL {
			t.Fatalf("err = %v, want EINTERNAL", err)
		}
	})
	t.Run("SingleUnavailableIsRequestError", func(t *testing.T) {
		down := modelreg.Errorf(modelreg.EUNAVAILABLE, "ModelArts.6101", "The database is unavailable.")
		s := &modelStore{results: map[string]error{"batch": down}}
		if _, err := modelreg.DeleteModels(ctx, s, "p", "a", false, 20, modelreg.DeleteOptions{}); modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
			t.Fatalf("err = %v, want EUNAVAILABLE", err)
		}
	})
	t.Run("DeleteModelIsABatchOfOne", func(t *testing.T) {
		s := &modelStore{results: map[string]error{"b": modelreg.ModelDeployed("b")}}
		if err := modelreg.DeleteModel(ctx, s, "p", "a"); err != nil {
			t.Fatal(err)
		}
		if err := modelreg.DeleteModel(ctx, s, "p", "b"); modelreg.ErrorAPICode(err) != modelreg.CodeModelDeployed {
			t.Fatalf("err = %v, want ModelArts.3009", err)
		}
		if s.calls != 2 {
			t.Errorf("%d DeleteModelBatch calls, want 2", s.calls)
		}
	})
}
