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
