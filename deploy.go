package modelreg

import "context"

// Deployer carries a service from deploying to running. modelreg records
// deployments and runs no inference; a real orchestrator can implement this
// interface later.
type Deployer interface {
	// Deploy starts bringing service s (status deploying) up.
	Deploy(ctx context.Context, s *Service) error
}

// InstantDeployer is the built-in Deployer: the service is running as soon
// as it is recorded.
type InstantDeployer struct {
	Services ServiceStore
}

var _ Deployer = (*InstantDeployer)(nil)

// Deploy moves s from deploying to running and records the event.
func (d *InstantDeployer) Deploy(ctx context.Context, s *Service) error {
	return d.Services.TransitionService(ctx, s.ProjectID, s.ID, ServiceDeploying, ServiceRunning,
		ServiceEvent{EventType: EventNormal, EventInfo: "[" + s.Name + "] service is running"})
}
