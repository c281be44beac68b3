package deployer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
)

// Defaults of Config.
const (
	DefaultCallTimeout  = 10 * time.Second
	DefaultLease        = 30 * time.Second
	DefaultPollInterval = 2 * time.Second
	DefaultMaxBackoff   = time.Minute
	claimBatch          = 16
)

// Config configures an HTTP deployer.
type Config struct {
	Store modelreg.Store
	// URL is the orchestrator's base URL; calls go to URL/services/{id}.
	URL string
	// Secret signs the calls and checks the reports (MinSecretLen bytes at
	// least).
	Secret []byte
	// Owner names this server in the outbox's leases.
	Owner string
	// Client makes the calls; nil means a client with CallTimeout.
	Client *http.Client
	// CallTimeout bounds one call (DefaultCallTimeout when zero).
	CallTimeout time.Duration
	// Lease is how long a claimed call stays with this server
	// (DefaultLease when zero); a call still leased when the server dies
	// is made by another, or after a restart, once it expires.
	Lease time.Duration
	// PollInterval is how often the outbox is read when nothing wakes the
	// worker (DefaultPollInterval when zero).
	PollInterval time.Duration
	// MinBackoff is the wait before a failed call is tried again the first
	// time (one second when zero); the waits double up to MaxBackoff
	// (DefaultMaxBackoff when zero).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// HTTPDeployer is a modelreg.Deployer and modelreg.Monitor that reaches an
// orchestrator over HTTP. The stores record a call in the outbox with every
// change of a service (in the same transaction); Run makes the calls, never
// the API request, so an orchestrator that is down or slow delays the
// deployment but never an API call. The orchestrator reports back through
// the callback route (httpapi), which moves the service's status.
type HTTPDeployer struct {
	cfg  Config
	base *url.URL
	wake chan struct{}
}

var (
	_ modelreg.Deployer = (*HTTPDeployer)(nil)
	_ modelreg.Monitor  = (*HTTPDeployer)(nil)
)

// New returns an HTTP deployer for cfg, or an error naming what is wrong.
func New(cfg Config) (*HTTPDeployer, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("the deployer URL %q must be http(s)://host[:port][/path], without query", cfg.URL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("the deployer secret must be at least %d bytes", MinSecretLen)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.CallTimeout}
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		cfg.Owner = "deployer-" + modelreg.NewID()
	}
	return &HTTPDeployer{cfg: cfg, base: u, wake: make(chan struct{}, 1)}, nil
}

// Deploy wakes the worker: the outbox already holds the call (the store
// wrote it with the service). The service stays deploying until the
// orchestrator reports.
func (d *HTTPDeployer) Deploy(ctx context.Context, s *modelreg.Service) error {
	d.Wake()
	return nil
}

// Wake makes the worker read the outbox now. It never blocks.
func (d *HTTPDeployer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// MonitorService returns the figures the orchestrator last reported.
func (d *HTTPDeployer) MonitorService(ctx context.Context, s *modelreg.Service) ([]modelreg.ModelMonitor, error) {
	return d.cfg.Store.FindServiceMonitors(ctx, s.ProjectID, s.ID)
}

// Run makes the outbox's calls until ctx ends.
func (d *HTTPDeployer) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		for {
			n, err := d.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "deployer: reading the outbox", slog.Any("err", err))
			}
			if n < claimBatch || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.wake:
		}
	}
}

// RunOnce claims a batch of due calls and makes them; it returns how many
// it claimed.
func (d *HTTPDeployer) RunOnce(ctx context.Context) (int, error) {
	calls, err := d.cfg.Store.ClaimDeployCalls(ctx, d.cfg.Owner, d.cfg.Lease, claimBatch)
	if err != nil {
		return 0, err
	}
	for _, c := range calls {
		d.process(ctx, c)
	}
	return len(calls), nil
}

// Call is the body of PUT {url}/services/{service_id}: what changed, and
// the service as it should be now (its status is the wish: deploying or
// running means run it, stopped means stop it).
type Call struct {
	Action  string            `json:"action"`
	Service *modelreg.Service `json:"service"`
}

// process makes one call and completes it, or schedules a retry.
func (d *HTTPDeployer) process(ctx context.Context, c modelreg.DeployCall) {
	log := d.cfg.Logger.With(slog.String("service_id", c.ServiceID), slog.String("action", c.Action), slog.Int("attempt", c.Attempts))
	svc, err := d.cfg.Store.FindServiceByID(ctx, c.ProjectID, c.ServiceID)
	var req *http.Request
	var body []byte
	target := *d.base
	target.Path += "/services/" + c.ServiceID
	switch {
	case modelreg.ErrorCode(err) == modelreg.ENOTFOUND:
		// Gone (deleted since): the orchestrator must remove it.
		target.RawQuery = url.Values{"project_id": {c.ProjectID}}.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodDelete, target.String(), nil)
	case err != nil:
		log.LogAttrs(ctx, slog.LevelWarn, "deployer: reading the service", slog.Any("err", err))
		d.retry(ctx, c, log)
		return
	default:
		if body, err = json.Marshal(Call{Action: c.Action, Service: svc}); err == nil {
			req, err = http.NewRequestWithContext(ctx, http.MethodPut, target.String(), bytes.NewReader(body))
		}
	}
	if err != nil {
		log.LogAttrs(ctx, slog.LevelError, "deployer: building the call", slog.Any("err", err))
		d.retry(ctx, c, log)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	Sign(req, d.cfg.Secret, body, d.cfg.Now())
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "deployer: the orchestrator did not answer", slog.Any("err", err))
		d.retry(ctx, c, log)
		return
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		if err := d.cfg.Store.CompleteDeployCall(ctx, c.ID, d.cfg.Owner); err != nil {
			// The lease ran out and another server has the call: it
			// will tell the orchestrator again, which is harmless.
			log.LogAttrs(ctx, slog.LevelWarn, "deployer: completing the call", slog.Any("err", err))
		}
	case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		// Refused for good: retrying would not help. The service learns
		// of it, and fails if it was waiting for this deployment.
		log.LogAttrs(ctx, slog.LevelError, "deployer: the orchestrator refused the call", slog.Int("status", resp.StatusCode), slog.String("body", string(msg)))
		d.refused(ctx, c, svc, resp.StatusCode, string(msg))
	default:
		log.LogAttrs(ctx, slog.LevelWarn, "deployer: the orchestrator failed the call", slog.Int("status", resp.StatusCode))
		d.retry(ctx, c, log)
	}
}

// retry schedules the call again after a backoff doubling from
// MinBackoff.
func (d *HTTPDeployer) retry(ctx context.Context, c modelreg.DeployCall, log *slog.Logger) {
	wait := d.cfg.MaxBackoff
	if c.Attempts < 30 {
		wait = min(d.cfg.MinBackoff<<(c.Attempts-1), d.cfg.MaxBackoff)
	}
	if err := d.cfg.Store.RetryDeployCall(ctx, c.ID, d.cfg.Owner, d.cfg.Now().Add(wait)); err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "deployer: scheduling the retry", slog.Any("err", err))
	}
}

// refused drops a call the orchestrator refused (4xx) and records why.
func (d *HTTPDeployer) refused(ctx context.Context, c modelreg.DeployCall, svc *modelreg.Service, status int, msg string) {
	if err := d.cfg.Store.CompleteDeployCall(ctx, c.ID, d.cfg.Owner); err != nil {
		return
	}
	if svc == nil {
		return
	}
	ev := modelreg.ServiceEvent{EventType: modelreg.EventAbnormal,
		EventInfo: fmt.Sprintf("[%s] the orchestrator refused the %s (HTTP %d): %s", svc.Name, c.Action, status, strings.TrimSpace(msg))}
	if svc.Status == modelreg.ServiceDeploying {
		if err := d.cfg.Store.TransitionService(ctx, c.ProjectID, c.ServiceID, modelreg.ServiceDeploying, modelreg.ServiceFailed, ev); err == nil {
			return
		}
	}
	_ = d.cfg.Store.AddServiceEvent(ctx, c.ProjectID, c.ServiceID, ev)
}
