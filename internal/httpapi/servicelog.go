package httpapi

import (
	"net/http"

	"github.com/modelreg/modelreg"
)

// handleServiceUpdateLogs lists the configurations a service was given,
// newest first: GET /v1/{project_id}/services/{service_id}/logs, with
// update_time (ms) selecting the entries of one update.
func (s *Server) handleServiceUpdateLogs(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "service_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	updateTime := q.int64("update_time")
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if updateTime < 0 {
		s.error(w, r, modelreg.Invalid("Invalid parameter update_time: must be 0 or more."))
		return
	}
	svc, err := s.store.FindServiceByID(r.Context(), projectID, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	logs, err := s.store.FindServiceUpdateLogs(r.Context(), projectID, id, updateTime)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.respond(w, r, modelreg.ServiceUpdateLogList{ServiceID: id, ServiceName: svc.Name, Logs: logs})
}
