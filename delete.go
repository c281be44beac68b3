package modelreg

import "context"

// DefaultCascadeLimit is the most models one delete call removes.
const DefaultCascadeLimit = 20

// DeleteFailure is one model a delete call could not remove. Both message
// fields carry the same text: older clients read error_message, newer ones
// error_msg.
type DeleteFailure struct {
	ModelID      string `json:"model_id"`
	ErrorCode    string `json:"error_code"`
	ErrorMessage string `json:"error_message"`
	ErrorMsg     string `json:"error_msg"`
}

// DeleteResult is the response of DELETE /v1/{project_id}/models/{model_id}.
// Both lists are always present. RemainingCount is a modelreg extension: how
// many versions of the name a cascade left untouched because of the limit.
type DeleteResult struct {
	Success        []string        `json:"delete_success_list"`
	Failed         []DeleteFailure `json:"delete_failed_list"`
	RemainingCount int             `json:"remaining_count"`
}

// DeleteModels deletes a model, and with cascade the other versions of its
// name (at most limit models in all), one transaction per model, or one
// for the set when s is a ModelBatchDeleter. The target
// is processed first: if it is gone the call fails with ModelArts.3001 and
// nothing changes. An unavailable database before anything was deleted is
// a request-level error too. Every other failure is reported per model and
// never stops the rest; the request itself succeeds.
func DeleteModels(ctx context.Context, s ModelStore, projectID, modelID string, cascade bool, limit int) (*DeleteResult, error) {
	if limit <= 0 {
		limit = DefaultCascadeLimit
	}
	set := CascadeSet{IDs: []string{modelID}}
	if cascade {
		var err error
		if set, err = s.FindCascadeSet(ctx, projectID, modelID, limit); err != nil {
			return nil, err
		}
	}
	res := &DeleteResult{Success: []string{}, Failed: []DeleteFailure{}, RemainingCount: set.Remaining}
	errs := make([]error, len(set.IDs))
	batch, ok := s.(ModelBatchDeleter)
	if ok && len(set.IDs) > 1 {
		var err error
		if errs, err = batch.DeleteModelBatch(ctx, projectID, set.IDs); err != nil {
			if ctx.Err() != nil && ErrorCode(err) == EINTERNAL {
				return nil, Internal("modelreg.DeleteModels", ctx.Err())
			}
			return nil, err
		}
	} else {
		for i, id := range set.IDs {
			errs[i] = s.DeleteModel(ctx, projectID, id)
			if i == 0 && ErrorCode(errs[0]) == ENOTFOUND {
				return nil, errs[0] // the target itself: a request-level 404, nothing changed
			}
		}
	}
	for i, id := range set.IDs {
		err := errs[i]
		switch {
		case err == nil:
			res.Success = append(res.Success, id)
		case ErrorCode(err) == ENOTFOUND:
			// Deleted by a concurrent call since the set was taken: not ours to report.
		case ctx.Err() != nil && ErrorCode(err) == EINTERNAL:
			return nil, Internal("modelreg.DeleteModels", ctx.Err())
		case ErrorCode(err) == EUNAVAILABLE && len(res.Success) == 0:
			// The database is away and nothing changed yet: the caller
			// should retry the whole call (503), not read per-model failures.
			return nil, err
		default:
			msg := ErrorMessage(err)
			res.Failed = append(res.Failed, DeleteFailure{ModelID: id, ErrorCode: ErrorAPICode(err), ErrorMessage: msg, ErrorMsg: msg})
		}
	}
	return res, nil
}

// ModelBatchDeleter is a ModelStore that can delete several models in one
// transaction, each of them all or nothing as DeleteModel would. A cascade
// uses it when the store has it: one commit instead of one per model.
type ModelBatchDeleter interface {
	// DeleteModelBatch deletes each of ids as DeleteModel would and
	// returns one error per id, nil for a model deleted; every deletion
	// is committed at once. When the first id does not exist it deletes
	// nothing and returns ENOTFOUND ModelArts.3001 itself.
	DeleteModelBatch(ctx context.Context, projectID string, ids []string) ([]error, error)
}

// CascadeSet is the set of models one cascade delete works on.
type CascadeSet struct {
	IDs       []string // the target first, then other versions oldest first
	Remaining int      // versions of the name beyond the limit, left untouched
}
