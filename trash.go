package modelreg

import (
	"context"
	"unicode/utf8"
)

// TrashedModel is a model in the trash, as GET /modelreg/v1/{p}/trash
// lists it.
type TrashedModel struct {
	ID        string `json:"model_id"`
	Name      string `json:"model_name"`
	Version   string `json:"model_version"`
	Size      int64  `json:"model_size"`
	DeletedAt int64  `json:"deleted_at"` // ms since the epoch
	DeletedBy string `json:"deleted_by"`
	PurgeAt   int64  `json:"purge_at"` // ms since the epoch
}

// TrashFilter selects a page of a project's trash: Name is a substring of
// the model name (as in ModelFilter); the page is as in the model list
// (Offset is a page index), sorted by deleted_at only, latest first.
type TrashFilter struct {
	ProjectID string
	Name      string
	Page
}

// TrashSortDeletedAt is the one sort key of the trash.
const TrashSortDeletedAt = "deleted_at"

// Validate checks and normalises f: the page, and a name of at most 64
// characters (the longest model name). EINVALID ModelArts.0101.
func (f *TrashFilter) Validate() error {
	if utf8.RuneCountInString(f.Name) > 64 {
		return Invalid("Invalid parameter model_name: longer than 64 characters.")
	}
	f.Order = OrderDesc
	return f.Page.validate(DefaultModelLimit, TrashSortDeletedAt)
}

// TrashList is the response of GET /modelreg/v1/{p}/trash.
type TrashList struct {
	TotalCount int             `json:"total_count"`
	Models     []*TrashedModel `json:"models"`
}

// PurgeResult is the response of DELETE /modelreg/v1/{p}/trash: the models
// purged, and those kept (protected) with why.
type PurgeResult struct {
	Success []string        `json:"purge_success_list"`
	Failed  []DeleteFailure `json:"purge_failed_list"`
}

// TrashStore keeps deleted models while the trash is on (a delete with
// DeleteOptions.Trash). A trashed model is gone from every ModelArts
// endpoint; it keeps its id, fields and files (its blobs count as
// referenced) until it is restored or purged.
type TrashStore interface {
	// FindTrash returns one page of the project's trash (f validated),
	// latest deleted first (ties by id), and the number of all matches.
	FindTrash(ctx context.Context, f TrashFilter) ([]*TrashedModel, int, error)

	// RestoreModel brings a trashed model back as it was: same id, fields
	// and files. Returns ENOTFOUND ModelArts.3001 when it is not in the
	// project's trash, ECONFLICT ModelArts.3002 when the project has its
	// name and version again.
	RestoreModel(ctx context.Context, projectID, id string) error

	// PurgeTrash deletes trashed models for good, in one transaction, and
	// queues their blobs that nothing else references. With ids nil it
	// purges the project's whole trash. It returns the ids it worked on
	// and, in their places, each one's refusal: ENOTFOUND ModelArts.3001
	// when not in the trash, ECONFLICT ModelReg.3101 when protected.
	PurgeTrash(ctx context.Context, projectID string, ids []string) ([]string, []error, error)

	// PurgeExpiredTrash purges up to max trashed models (of any project)
	// whose purge time has come and that are not protected, and returns
	// how many it purged.
	PurgeExpiredTrash(ctx context.Context, max int) (int, error)
}

// PurgeTrash purges the models ids from the project's trash (all of it
// when ids is nil) and reports each.
func PurgeTrash(ctx context.Context, s TrashStore, projectID string, ids []string) (*PurgeResult, error) {
	ids, errs, err := s.PurgeTrash(ctx, projectID, ids)
	if err != nil {
		return nil, err
	}
	res := &PurgeResult{Success: []string{}, Failed: []DeleteFailure{}}
	for i, id := range ids {
		if errs[i] == nil {
			res.Success = append(res.Success, id)
			continue
		}
		msg := ErrorMessage(errs[i])
		res.Failed = append(res.Failed, DeleteFailure{ModelID: id, ErrorCode: ErrorAPICode(errs[i]), ErrorMessage: msg, ErrorMsg: msg})
	}
	return res, nil
}
