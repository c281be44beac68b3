package httpapi

import (
	"errors"
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

// handleServiceMonitor shows the monitoring of a service, per configured
// model: GET /v1/{project_id}/services/{service_id}/monitor[?node_id=]. The
// figures are the Deployer's reports when it is a modelreg.Monitor, else
// what the configuration and the catalog's flavors say.
func (s *Server) handleServiceMonitor(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "service_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	nodeID, hasNode := q.raw("node_id")
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if hasNode && !modelreg.ValidNodeID(nodeID) {
		s.error(w, r, modelreg.Invalid("Invalid parameter node_id: 1 to 64 letters, digits, '.', '_' or '-'."))
		return
	}
	svc, err := s.store.FindServiceByID(r.Context(), projectID, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var reports []modelreg.ModelMonitor
	if m, ok := s.deployer.(modelreg.Monitor); ok {
		if reports, err = m.MonitorService(r.Context(), svc); err != nil {
			s.error(w, r, monitorFailed(err))
			return
		}
	}
	s.respond(w, r, modelreg.MonitorView(svc, s.catalog.BaseMonitors(svc), reports, nodeID))
}

// monitorFailed is the error of a deployer that cannot report: 503
// ModelArts.3508 (the deployer is a dependency of this call; retrying
// later may work), unless it already says what went wrong.
func monitorFailed(err error) error {
	var e *modelreg.Error
	if errors.As(err, &e) && e.Code != modelreg.EINTERNAL {
		return err
	}
	return &modelreg.Error{Code: modelreg.EUNAVAILABLE, APICode: modelreg.CodeMonitorFailed,
		Message: "Failed to query the service monitoring information.", Op: "httpapi.handleServiceMonitor", Err: err}
}
