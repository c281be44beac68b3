package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/deployer"
)

// DeployerConfig is the --deployer part of Config.
type DeployerConfig struct {
	DeployerURL string // orchestrator base URL; "" keeps the records-only deployer
	// DeployerSecret signs the calls and checks the reports:
	// MODELREG_DEPLOYER_SECRET, from the environment only.
	DeployerSecret string
}

func (c *DeployerConfig) registerDeployer(fs *flag.FlagSet) {
	fs.StringVar(&c.DeployerURL, "deployer", c.DeployerURL, "orchestrator base `URL` the HTTP deployer calls (needs MODELREG_DEPLOYER_SECRET; default: services are records, running at once); see docs/deployer.md")
}

// validateDeployer checks --deployer and its secret.
func (c *DeployerConfig) validateDeployer() error {
	if c.DeployerURL == "" {
		return nil
	}
	if len(c.DeployerSecret) < deployer.MinSecretLen {
		return fmt.Errorf("--deployer needs MODELREG_DEPLOYER_SECRET, at least %d bytes", deployer.MinSecretLen)
	}
	_, err := deployer.New(deployer.Config{URL: c.DeployerURL, Secret: []byte(c.DeployerSecret)})
	if err != nil {
		return errors.New("--deployer: " + err.Error())
	}
	return nil
}

// openDeployer returns the Deployer of cfg, the secret of the report
// route (nil without --deployer) and the worker to run; it turns the
// store's outbox on or off to match.
func openDeployer(ctx context.Context, cfg Config, store modelreg.Store, owner string, logger *slog.Logger) (modelreg.Deployer, []byte, func(context.Context) error, error) {
	if cfg.DeployerURL == "" {
		if err := store.SetDeployOutbox(ctx, false); err != nil {
			return nil, nil, nil, fmt.Errorf("turning the deploy outbox off: %w", err)
		}
		idle := func(ctx context.Context) error { <-ctx.Done(); return nil }
		return &modelreg.InstantDeployer{Services: store}, nil, idle, nil
	}
	d, err := deployer.New(deployer.Config{
		Store: store, URL: cfg.DeployerURL, Secret: []byte(cfg.DeployerSecret), Owner: owner,
		Lease: cfg.JobLease, PollInterval: 2 * time.Second, Logger: logger,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--deployer: %w", err)
	}
	if err := store.SetDeployOutbox(ctx, true); err != nil {
		return nil, nil, nil, fmt.Errorf("turning the deploy outbox on: %w", err)
	}
	return d, []byte(cfg.DeployerSecret), d.Run, nil
}
