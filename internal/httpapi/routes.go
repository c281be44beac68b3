package httpapi

import "github.com/prometheus/client_golang/prometheus/promhttp"

// routes registers the whole API, one line per route.
func (s *Server) routes() {
	s.handle("POST /v1/{project_id}/models", s.handleModelCreate)
	s.handle("GET /v1/{project_id}/models", s.handleModelList)
	s.handle("GET /v1/{project_id}/models/{model_id}", s.handleModelGet)
	s.handle("DELETE /v1/{project_id}/models/{model_id}", s.handleModelDelete)

	s.handle("POST /v1/{project_id}/services", s.handleServiceCreate)
	s.handle("GET /v1/{project_id}/services", s.handleServiceList)
	s.handle("GET /v1/{project_id}/services/{service_id}", s.handleServiceGet)
	s.handle("PUT /v1/{project_id}/services/{service_id}", s.handleServiceUpdate)
	s.handle("DELETE /v1/{project_id}/services/{service_id}", s.handleServiceDelete)
	s.handle("GET /v1/{project_id}/services/{service_id}/events", s.handleServiceEvents)

	// modelreg extensions, under a prefix no ModelArts route can take.
	s.handle("POST /modelreg/v1/{project_id}/models:bulk", s.handleModelBulkCreate)
	s.handle("GET /modelreg/v1/ping", s.handlePing)

	s.handle("GET /healthz", s.handleHealth)
	s.handle("GET /readyz", s.handleReady)
	s.handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP)
}
