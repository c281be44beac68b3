package modelreg

import (
	"errors"
	"strconv"
)

// MaxBulkModels is the most models one bulk call creates.
const MaxBulkModels = 10000

// ModelBulk is the body of POST /modelreg/v1/{project_id}/models:bulk, a
// modelreg extension: published, metadata-only models created in one
// transaction. It seeds load tests and moves a registry's catalogue; the
// models have no files and no import job.
type ModelBulk struct {
	Models []BulkModel `json:"models"`
}

// BulkModel is one model of a bulk call: the fields of an import request
// (source_location optional, never fetched) and the model's size as
// declared by the caller.
type BulkModel struct {
	ModelImport
	Size int64 `json:"model_size"`
}

// ModelBulkResult is the response of a bulk call: the new ids, in the order
// of the request.
type ModelBulkResult struct {
	ModelIDs []string `json:"model_ids"`
}

// Validate checks the call: 1 to MaxBulkModels models, each valid as an
// import request would be (ModelArts.3036/3037, the field prefixed with
// the model's index), with a size of 0 or more.
func (b *ModelBulk) Validate() error {
	if len(b.Models) == 0 {
		return ParamRequired("models")
	}
	if len(b.Models) > MaxBulkModels {
		return ParamInvalid("models", "more than "+strconv.Itoa(MaxBulkModels)+" models")
	}
	for i := range b.Models {
		m := &b.Models[i]
		err := m.validate(false)
		if err == nil && m.Size < 0 {
			err = ParamInvalid("model_size", "negative")
		}
		var e *Error
		if errors.As(err, &e) {
			c := *e
			c.Message = "models[" + strconv.Itoa(i) + "]: " + e.Message
			return &c
		} else if err != nil {
			return err
		}
	}
	return nil
}
