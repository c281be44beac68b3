package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/modelreg/modelreg"
)

// handleModelCreate imports a model: POST /v1/{project_id}/models. The model
// is stored as publishing with its import job, the importer is woken, and
// the response carries the new id at once.
func (s *Server) handleModelCreate(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	in, err := decode[modelreg.ModelImport](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := in.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	in.Normalize()
	if err := s.catalog.CheckRuntime(in.Type, in.Runtime); err != nil {
		s.error(w, r, err)
		return
	}
	if in.SourceLocation != "" {
		if err := s.checkSource(in.SourceLocation); err != nil {
			s.error(w, r, err)
			return
		}
	}
	m, err := newModel(projectID, ownerOf(r), in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.store.CreateModel(r.Context(), m); err != nil {
		s.error(w, r, err)
		return
	}
	s.onModelCreated()
	s.respond(w, r, modelreg.ModelImportResult{ModelID: m.ID})
}

// handleModelBulkCreate creates published, metadata-only models in one
// transaction: POST /modelreg/v1/{project_id}/models:bulk (a modelreg
// extension). All of them are created, or none.
func (s *Server) handleModelBulkCreate(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	in, err := decode[modelreg.ModelBulk](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := in.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	ms := make([]*modelreg.Model, len(in.Models))
	for i := range in.Models {
		b := &in.Models[i]
		b.Normalize()
		if err := s.catalog.CheckRuntime(b.Type, b.Runtime); err != nil {
			s.error(w, r, modelreg.ParamInvalid(fmt.Sprintf("models[%d].runtime", i), b.Runtime))
			return
		}
		m, err := newModel(projectID, ownerOf(r), &b.ModelImport)
		if err != nil {
			s.error(w, r, err)
			return
		}
		m.Size = b.Size
		ms[i] = m
	}
	if err := s.store.CreateModels(r.Context(), ms); err != nil {
		s.error(w, r, err)
		return
	}
	res := modelreg.ModelBulkResult{ModelIDs: make([]string, len(ms))}
	for i, m := range ms {
		res.ModelIDs[i] = m.ID
	}
	s.respond(w, r, res)
}

// newModel builds the model an import request describes, in status
// publishing, owned by owner (the user id of the caller, "" without
// authentication: imports, uploads and bulk creation all record it). The
// apis array is kept as one JSON string, as the details page types it.
func newModel(projectID, owner string, in *modelreg.ModelImport) (*modelreg.Model, error) {
	var apis string
	if len(in.APIs) > 0 {
		b, err := json.Marshal(in.APIs)
		if err != nil {
			return nil, modelreg.Internal("httpapi.newModel", err)
		}
		apis = string(b)
	}
	source := "custom"
	if in.SourceType == "auto" {
		source = "auto"
	}
	m := &modelreg.Model{
		ModelSummary: modelreg.ModelSummary{
			Name:        in.Name,
			Version:     in.Version,
			Status:      modelreg.ModelPublishing,
			Type:        in.Type,
			ProjectID:   projectID,
			Owner:       owner,
			Description: in.Description,
			SourceType:  in.SourceType,
			WorkspaceID: in.WorkspaceID,
			ModelSource: source,
			InstallType: in.InstallType,
		},
		SourceLocation:   in.SourceLocation,
		SourceJobID:      in.SourceJobID,
		SourceJobVersion: in.SourceJobVersion,
		Runtime:          in.Runtime,
		ExecutionCode:    in.ExecutionCode,
		InputParams:      in.InputParams,
		OutputParams:     in.OutputParams,
		Dependencies:     in.Dependencies,
		ModelMetrics:     in.ModelMetrics,
		APIs:             apis,
		ModelDocs:        in.ModelDocs,
		ModelAlgorithm:   in.ModelAlgorithm,
		Template:         in.Template,
	}
	m.ApplyConfig(in.InitialConfig)
	return m, nil
}

// handleModelList lists models: GET /v1/{project_id}/models. offset is a
// page index; models is [] (never null) when nothing matches.
func (s *Server) handleModelList(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	f := modelreg.ModelFilter{
		ProjectID:   projectID,
		Name:        q.str("model_name"),
		ExactMatch:  q.bool("exact_match"),
		Version:     q.str("model_version"),
		Description: q.str("description"),
		Status:      q.str("model_status"),
		Type:        q.str("model_type"),
		NotType:     q.str("not_model_type"),
		WorkspaceID: q.str("workspace_id"),
		Page:        q.page(),
		Marker:      q.str("marker"),
	}
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	models, total, err := s.store.FindModels(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if models == nil {
		models = []*modelreg.ModelSummary{}
	}
	for _, m := range models {
		fillSummaryArrays(m)
	}
	l := modelreg.ModelList{TotalCount: total, Count: len(models), Models: models, NextMarker: f.NextMarker(models)}
	respondBytes(w, func(b []byte) []byte { return appendModelList(b, &l) })
}

// handleModelGet shows a model: GET /v1/{project_id}/models/{model_id}.
func (s *Server) handleModelGet(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "model_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	m, err := s.store.FindModelByID(r.Context(), projectID, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	respondBytes(w, func(b []byte) []byte {
		// The ETag is the hash of the model as the store returned it
		// (modelreg.ETag), the body the model with its nil arrays empty.
		b = appendModel(b, m)
		w.Header().Set("ETag", etag(b))
		fillModelArrays(m)
		return appendModel(b[:0], m)
	})
}

// handleModelDelete deletes a model, with ?cascade=true the other versions
// of its name too: DELETE /v1/{project_id}/models/{model_id}. The call
// succeeds (200) whenever the target existed; each model that could not be
// deleted is listed in delete_failed_list.
func (s *Server) handleModelDelete(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "model_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	cascade := q.bool("cascade")
	opt := modelreg.DeleteOptions{DryRun: q.bool("dry_run"), Trash: s.trashRetention, Actor: ownerOf(r)}
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if opt.IfMatch, err = ifMatch(r); err != nil {
		s.error(w, r, err)
		return
	}
	res, err := modelreg.DeleteModels(r.Context(), s.store, projectID, id, cascade, s.cascadeLimit, opt)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if !opt.DryRun {
		s.metrics.observeDelete(res)
		if res.BlobsQueued > 0 {
			s.onModelsDeleted()
		}
	}
	s.respond(w, r, res)
}

// fillSummaryArrays replaces the nil arrays of a list item by empty ones,
// so they encode as [] rather than null.
func fillSummaryArrays(m *modelreg.ModelSummary) {
	if m.InstallType == nil {
		m.InstallType = []string{}
	}
}

// fillModelArrays replaces the nil arrays of a model by empty ones.
func fillModelArrays(m *modelreg.Model) {
	fillSummaryArrays(&m.ModelSummary)
	if m.InputParams == nil {
		m.InputParams = []modelreg.Param{}
	}
	if m.OutputParams == nil {
		m.OutputParams = []modelreg.Param{}
	}
	if m.Dependencies == nil {
		m.Dependencies = []modelreg.Dependency{}
	}
	for i := range m.Dependencies {
		if m.Dependencies[i].Packages == nil {
			m.Dependencies[i].Packages = []modelreg.Package{}
		}
	}
	if m.ModelDocs == nil {
		m.ModelDocs = []modelreg.ModelDoc{}
	}
	if m.ModelLabels == nil {
		m.ModelLabels = []string{}
	}
	if m.LabelsMap.Labels == nil {
		m.LabelsMap.Labels = []string{}
	}
}
