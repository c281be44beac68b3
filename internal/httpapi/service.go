package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/modelreg/modelreg"
)

// maxDeleteServices is the most distinct ids one service delete accepts.
const maxDeleteServices = 100

// handleServiceCreate deploys models as a service: POST
// /v1/{project_id}/services. The record is stored as deploying, then handed
// to the Deployer; a Deployer failure is logged and marks the service
// failed, but the call still succeeds: the service exists.
func (s *Server) handleServiceCreate(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	in, err := decode[modelreg.ServiceCreate](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := in.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.catalog.CheckConfig(projectID, in.InferType, in.ClusterID, in.Config); err != nil {
		s.error(w, r, err)
		return
	}
	workspace := in.WorkspaceID
	if workspace == "" {
		workspace = "0"
	}
	svc := &modelreg.Service{
		Name:            in.Name,
		Description:     in.Description,
		ProjectID:       projectID,
		Owner:           ownerOf(r),
		InferType:       in.InferType,
		WorkspaceID:     workspace,
		Status:          modelreg.ServiceDeploying,
		ClusterID:       in.ClusterID,
		VpcID:           in.VpcID,
		SubnetNetworkID: in.SubnetNetworkID,
		SecurityGroupID: in.SecurityGroupID,
		Schedule:        in.Schedule,
		Config:          requestConfig(in.Config),
	}
	if err := s.store.CreateService(r.Context(), svc); err != nil {
		s.error(w, r, err)
		return
	}
	s.deploy(r, svc)
	s.respond(w, r, modelreg.ServiceCreateResult{ServiceID: svc.ID, ResourceIDs: []string{}})
}

// requestConfig clears the fields of config entries that only responses
// carry (the store fills them).
func requestConfig(cfg []modelreg.ServiceConfig) []modelreg.ServiceConfig {
	for i := range cfg {
		cfg[i].ModelName, cfg[i].ModelVersion, cfg[i].Status = "", "", ""
	}
	return cfg
}

// deploy hands a deploying service to the Deployer. It runs even when the
// client has gone (the record exists either way). On failure it logs and
// moves the service to failed, unless it has moved on meanwhile.
func (s *Server) deploy(r *http.Request, svc *modelreg.Service) {
	ctx := context.WithoutCancel(r.Context())
	err := s.deployer.Deploy(ctx, svc)
	if err == nil {
		return
	}
	id := requestIDFrom(ctx)
	s.logger.LogAttrs(ctx, slog.LevelError, "deploy failed",
		slog.String("request_id", id),
		slog.String("project_id", svc.ProjectID),
		slog.String("service_id", svc.ID),
		slog.Any("err", err))
	event := modelreg.ServiceEvent{EventType: modelreg.EventAbnormal,
		EventInfo: "[" + svc.Name + "] deploy failed (request " + id + ")"}
	err = s.store.TransitionService(ctx, svc.ProjectID, svc.ID, modelreg.ServiceDeploying, modelreg.ServiceFailed, event)
	if err != nil && modelreg.ErrorCode(err) != modelreg.ESTATE && modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		s.logger.LogAttrs(ctx, slog.LevelError, "cannot mark the service failed",
			slog.String("request_id", id),
			slog.String("service_id", svc.ID),
			slog.Any("err", err))
	}
}

// handleServiceList lists services: GET /v1/{project_id}/services.
func (s *Server) handleServiceList(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	f := modelreg.ServiceFilter{
		ProjectID:   projectID,
		ServiceID:   q.str("service_id"),
		Name:        q.str("service_name"),
		ModelID:     q.str("model_id"),
		ClusterID:   q.str("cluster_id"),
		WorkspaceID: q.str("workspace_id"),
		InferType:   q.str("infer_type"),
		Status:      q.str("status"),
		Page:        q.page(),
	}
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	services, total, err := s.store.FindServices(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if services == nil {
		services = []*modelreg.Service{}
	}
	s.respond(w, r, modelreg.ServiceList{TotalCount: total, Count: len(services), Services: services})
}

// handleServiceGet shows a service with its config: GET
// /v1/{project_id}/services/{service_id}.
func (s *Server) handleServiceGet(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "service_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	svc, err := s.store.FindServiceByID(r.Context(), projectID, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("ETag", modelreg.ETag(svc))
	s.respond(w, r, svc)
}

// handleServiceUpdate changes a service's description, schedule or config,
// or starts (status running) or stops (status stopped) it: PUT
// /v1/{project_id}/services/{service_id}. A start hands the service to the
// Deployer. The response is {}.
func (s *Server) handleServiceUpdate(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "service_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	u, err := decode[modelreg.ServiceUpdate](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if u.IfMatch, err = ifMatch(r); err != nil {
		s.error(w, r, err)
		return
	}
	svc, err := s.store.FindServiceByID(r.Context(), projectID, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := u.Validate(svc.InferType); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.catalog.CheckConfig(projectID, svc.InferType, "", u.Config); err != nil {
		s.error(w, r, err)
		return
	}
	u.Config = requestConfig(u.Config)
	updated, err := s.store.UpdateService(r.Context(), projectID, id, *u)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if updated.Status == modelreg.ServiceDeploying {
		s.deploy(r, updated)
	}
	s.wakeDeployer() // deployer.go
	s.respond(w, r, struct{}{})
}

// handleServiceDelete deletes one service or a comma-separated list of them,
// all or none: DELETE /v1/{project_id}/services/{service_id}. Every id is
// validated first; repeated ids count once; at most 100 distinct ids.
func (s *Server) handleServiceDelete(w http.ResponseWriter, r *http.Request) {
	projectID, err := pathProject(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var ids []string
	seen := map[string]bool{}
	for id := range strings.SplitSeq(r.PathValue("service_id"), ",") {
		if !modelreg.ValidID(id) {
			s.error(w, r, invalidID("service_id"))
			return
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		if len(ids) > maxDeleteServices {
			s.error(w, r, modelreg.Invalid("Invalid parameter service_id: at most %d services per call.", maxDeleteServices))
			return
		}
	}
	match, err := ifMatch(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.store.DeleteServicesIf(r.Context(), projectID, ids, match); err != nil {
		s.error(w, r, err)
		return
	}
	s.wakeDeployer() // deployer.go
	s.respond(w, r, struct{}{})
}

// handleServiceEvents lists a service's events: GET
// /v1/{project_id}/services/{service_id}/events.
func (s *Server) handleServiceEvents(w http.ResponseWriter, r *http.Request) {
	projectID, id, err := pathParams(r, "service_id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := parseQuery(r)
	f := modelreg.EventFilter{
		ProjectID: projectID,
		ServiceID: id,
		EventType: q.str("event_type"),
		StartTime: q.int64("start_time"),
		EndTime:   q.int64("end_time"),
		Page:      q.page(),
	}
	if q.err != nil {
		s.error(w, r, q.err)
		return
	}
	if err := f.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	svc, err := s.store.FindServiceByID(r.Context(), projectID, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	events, total, err := s.store.FindServiceEvents(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if events == nil {
		events = []*modelreg.ServiceEvent{}
	}
	s.respond(w, r, modelreg.ServiceEventList{ServiceID: id, ServiceName: svc.Name,
		TotalCount: total, Count: len(events), Events: events})
}
