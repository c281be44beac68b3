package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/deployer"
)

// reportFrom lists the statuses a reported status may follow. A stopped
// service stays stopped whatever the orchestrator says: the user stopped
// it, and the orchestrator will be told (or was told) to stop it.
var reportFrom = map[string][]string{
	modelreg.ServiceRunning:    {modelreg.ServiceDeploying, modelreg.ServiceConcerning, modelreg.ServiceFailed},
	modelreg.ServiceConcerning: {modelreg.ServiceDeploying, modelreg.ServiceRunning, modelreg.ServiceFailed},
	modelreg.ServiceFailed:     {modelreg.ServiceDeploying, modelreg.ServiceRunning, modelreg.ServiceConcerning},
}

// handleDeployReport takes what the orchestrator reports about a service:
// POST /modelreg/v1/deployer/reports, signed with the deployer secret
// (docs/deployer.md). The events are recorded, the figures replace the
// last ones, and the status moves; a status the service cannot take from
// where it is (a stopped service reported running) is 409 ModelArts.3519
// and changes nothing else. The answer is {}.
func (s *Server) handleDeployReport(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.error(w, r, s.tooLarge())
			return
		}
		s.error(w, r, modelreg.Errorf(modelreg.EINVALID, modelreg.CodeParamInvalid, "Cannot read the request body."))
		return
	}
	if err := deployer.Verify(r, s.deployerSecret, body, time.Now()); err != nil {
		s.error(w, r, modelreg.Errorf(modelreg.EUNAUTHORIZED, modelreg.CodeAuthCheckFailed, "Deployer report refused: %s.", err.Error()))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rep, err := decode[modelreg.DeployReport](s, w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := rep.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	svc, err := s.store.FindServiceByID(ctx, rep.ProjectID, rep.ServiceID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if rep.Status != "" && rep.Status != svc.Status && !slices.Contains(reportFrom[rep.Status], svc.Status) {
		s.error(w, r, modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeServiceState,
			"Service %s is %s: a report of %s does not apply.", svc.ID, svc.Status, rep.Status))
		return
	}
	for _, ev := range rep.Events {
		if err := s.store.AddServiceEvent(ctx, rep.ProjectID, rep.ServiceID, ev); err != nil {
			s.error(w, r, err)
			return
		}
	}
	if rep.Monitors != nil {
		if err := s.store.SetServiceMonitors(ctx, rep.ProjectID, rep.ServiceID, rep.Monitors); err != nil {
			s.error(w, r, err)
			return
		}
	}
	if rep.Status != "" && rep.Status != svc.Status {
		ev := modelreg.ServiceEvent{EventType: modelreg.EventNormal, EventInfo: "[" + svc.Name + "] service is " + rep.Status}
		if rep.Status != modelreg.ServiceRunning {
			ev.EventType = modelreg.EventAbnormal
		}
		if rep.ErrorMsg != "" {
			ev.EventInfo += ": " + rep.ErrorMsg
		}
		err := s.store.TransitionService(ctx, rep.ProjectID, rep.ServiceID, svc.Status, rep.Status, ev)
		if modelreg.ErrorCode(err) == modelreg.ESTATE {
			// It moved meanwhile (a user's stop): the orchestrator may
			// report again against the new status.
			err = modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeServiceState,
				"Service %s changed meanwhile: report again.", svc.ID)
		}
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.logger.LogAttrs(ctx, slog.LevelInfo, "deployer report",
			slog.String("service_id", svc.ID), slog.String("from", svc.Status), slog.String("to", rep.Status))
	}
	s.respond(w, r, struct{}{})
}

// wakeDeployer makes a Deployer with an outbox worker read it now, after a
// change of a service (the store recorded the call with it).
func (s *Server) wakeDeployer() {
	if w, ok := s.deployer.(interface{ Wake() }); ok {
		w.Wake()
	}
}

// registerDeployerMetrics adds modelreg_deploy_calls_pending when the
// server takes an orchestrator's reports (an HTTP deployer).
func (s *Server) registerDeployerMetrics() {
	if s.deployerSecret == nil {
		return
	}
	s.register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "modelreg_deploy_calls_pending",
		Help: "Calls to the orchestrator not made yet, or to be retried (NaN when the store does not answer).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), gaugeTimeout)
		defer cancel()
		n, err := s.store.PendingDeployCalls(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}))
}
