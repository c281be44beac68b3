package httpapi

import (
	"net/http"

	"github.com/modelreg/modelreg"
)

// handleModelNames answers the aggregates of some names of the project
// (modelreg extension): GET /modelreg/v1/{project_id}/model-names with
// model_name repeated (1..MaxModelNames exact names) and the model list's
// description, model_status and model_type filters. It is what a grouped
// view of the model list needs in one call per page: for each name, how
// many versions match, the newest of them, and whether any of them is
// deployed or protected.
func (s *Server) handleModelNames(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	f := modelreg.ModelNameFilter{
		ProjectID:   projectID,
		Names:       q.all("model_name"),
		Description: q.str("description"),
		Status:      q.str("model_status"),
		Type:        q.str("model_type"),
	}
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	names, err := s.store.FindModelNames(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, n := range names {
		fillSummaryArrays(n.Newest)
	}
	s.respond(w, r, modelreg.ModelNameList{Count: len(names), Names: names})
}
