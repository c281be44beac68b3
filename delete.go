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
// name (at most limit models in all), one transaction per model. The target
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
	for i, id := range set.IDs {
		err := s.DeleteModel(ctx, projectID, id)
		switch {
		case err == nil:
			res.Success = append(res.Success, id)
		case i == 0 && ErrorCode(err) == ENOTFOUND:
			return nil, err // the target itself: a request-level 404, nothing changed
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

// CascadeSet is the set of models one cascade delete works on.
type CascadeSet struct {
	IDs       []string // the target first, then other versions oldest first
	Remaining int      // versions of the name beyond the limit, left untouched
}
