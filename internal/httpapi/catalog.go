package httpapi

import (
	"net/http"

	"github.com/modelreg/modelreg"
)

// handleRuntimeList lists the AI engines and their runtimes of the catalog:
// GET /v1/{project_id}/models/ai-engine-runtimes.
func (s *Server) handleRuntimeList(w http.ResponseWriter, r *http.Request) {
	if _, err := pathProject(r); err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	offset, limit := q.int("offset"), q.limit()
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if err := modelreg.ValidPage(&offset, &limit); err != nil {
		s.error(w, r, err)
		return
	}
	engines, total := s.catalog.EngineRuntimes(offset, limit)
	s.respond(w, r, modelreg.EngineRuntimeList{Count: len(engines), TotalCount: total, EngineRuntimes: engines})
}

// handleFlavorList lists the deployment flavors of the catalog: GET
// /v1/{project_id}/services/specifications.
func (s *Server) handleFlavorList(w http.ResponseWriter, r *http.Request) {
	if _, err := pathProject(r); err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	f := modelreg.FlavorFilter{
		InferType:         q.str("infer_type"),
		IsPersonalCluster: q.bool("is_personal_cluster"),
		Offset:            q.int("offset"),
		Limit:             q.limit(),
	}
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	flavors, total := s.catalog.FindFlavors(f)
	s.respond(w, r, modelreg.FlavorList{TotalCount: total, Count: len(flavors), Specifications: flavors})
}

// handleClusterList lists the dedicated resource pools of the catalog the
// project may use: GET /v1/{project_id}/clusters.
func (s *Server) handleClusterList(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	f := modelreg.ClusterFilter{
		ProjectID: projectID,
		Name:      q.str("cluster_name"),
		Status:    q.str("status"),
		Offset:    q.int("offset"),
		Limit:     q.limit(),
		SortBy:    q.str("sort_by"),
		Order:     q.str("order"),
	}
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	clusters, total := s.catalog.FindClusters(f)
	s.respond(w, r, modelreg.ClusterList{TotalCount: total, Count: len(clusters), Clusters: clusters})
}
