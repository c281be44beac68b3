package modelreg

import (
	"context"
	"time"
)

// Deploy call actions: what changed a service. The orchestrator is always
// told the service's state now (or that it is gone), so the action is
// informational and calls may be repeated or reordered.
const (
	DeployCreate = "create"
	DeployUpdate = "update" // a new configuration
	DeployStart  = "start"
	DeployStop   = "stop"
	DeployDelete = "delete"
)

// DeployCall is a pending call to the orchestrator: service ServiceID
// changed (Action) and the orchestrator must be told. The store writes
// one, when its outbox is on, in the transaction of every change a user
// or the stop schedule makes (not of the changes the orchestrator itself
// reports).
type DeployCall struct {
	ID        int64
	ProjectID string
	ServiceID string
	Action    string
	Attempts  int // claims so far, this one included
}

// DeployStore is the outbox of calls to an orchestrator, and what the
// orchestrator reports back that has no other place.
type DeployStore interface {
	// SetDeployOutbox turns the outbox on or off (for every server of the
	// database). Off, no call is recorded and the pending ones are
	// dropped.
	SetDeployOutbox(ctx context.Context, on bool) error

	// ClaimDeployCalls leases up to max due calls to owner, oldest first,
	// at most one per service (a service whose call is leased waits).
	ClaimDeployCalls(ctx context.Context, owner string, lease time.Duration, max int) ([]DeployCall, error)

	// CompleteDeployCall removes owner's claimed call. Returns ENOTFOUND
	// when it is not owner's.
	CompleteDeployCall(ctx context.Context, id int64, owner string) error

	// RetryDeployCall releases owner's claim until at. Returns ENOTFOUND
	// when it is not owner's.
	RetryDeployCall(ctx context.Context, id int64, owner string, at time.Time) error

	// PendingDeployCalls returns the number of calls in the outbox.
	PendingDeployCalls(ctx context.Context) (int, error)

	// AddServiceEvent records ev (at the transaction's time when its
	// OccurTime is 0). Returns ENOTFOUND ModelArts.3502.
	AddServiceEvent(ctx context.Context, projectID, id string, ev ServiceEvent) error

	// SetServiceMonitors replaces the reported monitoring figures of a
	// service. Returns ENOTFOUND ModelArts.3502.
	SetServiceMonitors(ctx context.Context, projectID, id string, ms []ModelMonitor) error

	// FindServiceMonitors returns the reported figures of a service (none
	// reported: an empty list). Returns ENOTFOUND ModelArts.3502.
	FindServiceMonitors(ctx context.Context, projectID, id string) ([]ModelMonitor, error)
}

// DeployReport is what an orchestrator reports about a service (POST
// /modelreg/v1/deployer/reports): a new status, events, monitoring
// figures; each part is optional.
type DeployReport struct {
	ProjectID string `json:"project_id"`
	ServiceID string `json:"service_id"`
	// Status is running, concerning or failed; "" leaves it.
	Status string `json:"status,omitempty"`
	// ErrorMsg says why a failed service failed (the event of the change).
	ErrorMsg string         `json:"error_msg,omitempty"`
	Events   []ServiceEvent `json:"events,omitempty"`
	// Monitors, when not nil, replace the reported figures.
	Monitors []ModelMonitor `json:"monitors,omitempty"`
}

// ReportStatuses are the statuses an orchestrator may report. The others
// are the user's to ask for (stopped, deploying by a start).
var ReportStatuses = []string{ServiceRunning, ServiceConcerning, ServiceFailed}

// Limits of a report.
const (
	maxReportEvents   = 100
	maxReportMonitors = 1000
	maxEventInfo      = 1024
)

// Validate checks a report (EINVALID ModelArts.3036/3037 naming the field)
// and fills event types.
func (r *DeployReport) Validate() error {
	switch {
	case !ValidProjectID(r.ProjectID):
		return ParamInvalid("project_id", r.ProjectID)
	case !ValidID(r.ServiceID):
		return ParamInvalid("service_id", r.ServiceID)
	case r.Status != "" && !slicesContains(ReportStatuses, r.Status):
		return ParamInvalid("status", r.Status+" (running, concerning or failed)")
	case len(r.Events) > maxReportEvents:
		return ParamInvalid("events", "more than 100")
	case len(r.Monitors) > maxReportMonitors:
		return ParamInvalid("monitors", "more than 1000")
	}
	if err := checkText("error_msg", r.ErrorMsg, maxEventInfo); err != nil {
		return err
	}
	for i := range r.Events {
		e := &r.Events[i]
		f := indexed("events", i)
		if e.EventType == "" {
			e.EventType = EventNormal
		}
		if e.EventType != EventNormal && e.EventType != EventAbnormal {
			return ParamInvalid(f+".event_type", e.EventType)
		}
		if e.EventInfo == "" {
			return ParamRequired(f + ".event_info")
		}
		if err := checkText(f+".event_info", e.EventInfo, maxEventInfo); err != nil {
			return err
		}
		if e.OccurTime < 0 {
			return ParamInvalid(f+".occur_time", "negative")
		}
	}
	for i, m := range r.Monitors {
		f := indexed("monitors", i)
		if !ValidID(m.ModelID) {
			return ParamInvalid(f+".model_id", m.ModelID)
		}
		if m.NodeID != "" && !ValidNodeID(m.NodeID) {
			return ParamInvalid(f+".node_id", m.NodeID)
		}
		if err := checkText(f+".node_name", m.NodeName, 256); err != nil {
			return err
		}
	}
	return nil
}

func slicesContains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}
