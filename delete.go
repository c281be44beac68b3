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
	// DryRun marks the answer of a preview (?dry_run=true): what the call
	// would have done; nothing changed.
	DryRun bool `json:"dry_run,omitempty"`
	// BlobsQueued is the number of blob digests the call queued for
	// collection (DeleteModelBatch's queued); not part of the API.
	BlobsQueued int `json:"-"`
}

// DeleteModels deletes a model, and with cascade the other versions of its
// name (at most limit models in all), through one store call: the store's
// DeleteModelBatch, which commits the whole set at once (a single delete is
// a batch of one). The target is processed first: if it is gone the call
// fails with ModelArts.3001 and nothing changes. An unavailable database
// before anything was deleted is a request-level error too. Every other
// failure is reported per model and never stops the rest; the request
// itself succeeds.
//
// opt adds modelreg's extensions (ARCHITECTURE §4a): a preview (the same
// store call, rolled back), an If-Match on the target, the trash.
//
// The delete path, for a newcomer: the handler (httpapi handleModelDelete)
// calls DeleteModels, which calls the store's DeleteModelBatch, which
// queues the blobs only the deleted models referenced in one place per
// store (queueModelBlobs in internal/sqlite, lockModelBlobs in
// internal/postgres); docs/storage.md walks through it.
func DeleteModels(ctx context.Context, s ModelStore, projectID, modelID string, cascade bool, limit int, opt DeleteOptions) (*DeleteResult, error) {
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
	errs, queued, err := s.DeleteModelBatch(ctx, projectID, set.IDs, opt)
	switch {
	case err == nil:
	case ErrorCode(err) == ENOTFOUND:
		return nil, err // the target itself: a request-level 404, nothing changed
	case ErrorCode(err) == EPRECONDITION:
		return nil, err // If-Match on the target: a request-level 412, nothing changed
	case len(set.IDs) == 1:
		// A single delete's failure is its model's, as it has always been
		// reported (below: per model, or for the request when the database
		// is away or the request was cancelled).
		errs = []error{err}
	case ctx.Err() != nil && ErrorCode(err) == EINTERNAL:
		return nil, Internal("modelreg.DeleteModels", ctx.Err())
	default:
		return nil, err
	}
	res := &DeleteResult{Success: []string{}, Failed: []DeleteFailure{}, RemainingCount: set.Remaining, DryRun: opt.DryRun,
		BlobsQueued: queued}
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

// DeleteModel deletes one model: DeleteModelBatch of it alone, its refusal
// (ENOTFOUND ModelArts.3001, ECONFLICT ModelArts.3009) returned as the
// error. For callers that delete one model outside the API (an aborted
// upload, the load generator, tests).
func DeleteModel(ctx context.Context, s ModelStore, projectID, id string) error {
	errs, _, err := s.DeleteModelBatch(ctx, projectID, []string{id}, DeleteOptions{})
	if err != nil {
		return err
	}
	return errs[0]
}

// CascadeSet is the set of models one cascade delete works on.
type CascadeSet struct {
	IDs       []string // the target first, then other versions oldest first
	Remaining int      // versions of the name beyond the limit, left untouched
}
