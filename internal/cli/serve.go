package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/collector"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/importer"
	"github.com/modelreg/modelreg/internal/sqlite"
	"github.com/modelreg/modelreg/internal/webhook"
)

func serveCommand() *command {
	return &command{
		name:    "serve",
		args:    "[flags]",
		summary: "run the server",
		help: `Every flag is also an environment variable MODELREG_<FLAG> (upper case, "-"
as "_"; MODELREG_IMPORT_ROOT is a ":"-separated list). Flags win over the
environment, the environment over the defaults.

On first start the server keeps its default project id in
<data-dir>/project_id, where the client commands find it. With --auth=aksk
(the default) it also creates that project, an admin user and the admin's
access key: MODELREG_ACCESS_KEY and MODELREG_SECRET_KEY when set, else a
generated pair, written to <data-dir>/credentials (mode 0600) and printed
once. Secret keys are sealed in the database with MODELREG_MASTER_KEY (32
bytes, hex or base64), else with <data-dir>/master.key, created at first
start.`,
		flags: func(e *env, fs *flag.FlagSet) func([]string) error {
			cfg := DefaultConfig()
			cfg.register(fs)
			envErr := applyEnv(fs, e.getenv)
			cfg.applySecretEnv(e.getenv)
			cfg.readSecrets(e.getenv) // object-store source credentials: environment only
			return func(args []string) error {
				if envErr != nil {
					return envErr
				}
				if len(args) > 0 {
					return usagef("serve takes no arguments, got %q", args[0])
				}
				if err := cfg.Validate(os.Getwd); err != nil {
					return err
				}
				return Serve(e.ctx, cfg, e.stdout, e.stderr)
			}
		},
	}
}

// Server timeouts. Request bodies are small (a JSON document of at most
// --max-body-bytes), so reading one never takes long; the routes that
// stream model files replace the read and write timeouts by an idle timeout
// of their own (see internal/httpapi/upload.go).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 120 * time.Second
	idleTimeout       = 120 * time.Second
	// gcPercent is the GOGC the server runs with under a memory limit.
	gcPercent = 400
	// collectInterval is how often the collector looks for queued blobs.
	collectInterval = 2 * time.Second
	// scheduleInterval is how often the server stops the running services
	// whose schedule says their time is up.
	scheduleInterval = 5 * time.Second
)

// Serve runs the server with cfg (validated) until ctx is cancelled, then
// shuts it down gracefully. It prints "modelreg listening on http://ADDR"
// to stdout once it accepts connections; logs go to stderr. wire builds
// the parts, run is the lifecycle, close releases what wire took.
func Serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) (err error) {
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	if cfg.MemoryLimit > 0 {
		// The live heap is a few MiB, so at the default GOGC of 100 the
		// collector runs every few MiB allocated, dozens of times a second
		// under load. With the limit bounding the heap, let it grow to five
		// times the live heap between collections.
		debug.SetMemoryLimit(cfg.MemoryLimit)
		debug.SetGCPercent(gcPercent)
	}
	s := &server{cfg: cfg, stdout: stdout, logger: logger}
	defer func() {
		if cerr := s.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := s.wire(ctx); err != nil {
		return err
	}
	return s.run(ctx)
}

// server is a running modelreg serve: the parts wire built, which run
// starts and stops.
type server struct {
	cfg    Config
	stdout io.Writer
	logger *slog.Logger

	project string
	store   modelreg.Store
	sources *importer.Sources
	coll    *collector.Collector
	runner  *importer.Runner
	hs      *http.Server
	ln      net.Listener
	closers []func() error // run by close, last first

	runDeployer func(context.Context) error // the deployer worker (deployer.go)
	authn       *auth.Authenticator         // nil with --auth=none
	sender      *webhook.Sender             // webhook deliveries
}

// wire builds the server's parts from its configuration: the data dir and
// its lock, the default project, the store, authentication, the blob
// store, the import sources, the workers, the API and the listener. A
// crash's leftovers in the blob store are swept before anything serves.
func (s *server) wire(ctx context.Context) error {
	cfg, logger := s.cfg, s.logger
	catalog, err := cfg.loadCatalog() // catalog.go
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	lock, err := lockStore(cfg) // lock.go: one server per SQLite data dir
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() error { lock.Release(); return nil })
	project, created, err := ensureProjectID(cfg.DataDir, cfg.ProjectID, logger)
	if err != nil {
		return err
	}
	s.project = project
	if created && cfg.Auth == AuthNone { // with authentication, the bootstrap says it
		fmt.Fprintf(s.stdout, "modelreg: created project %s (saved in %s)\n", project, filepath.Join(cfg.DataDir, ProjectIDFile))
	}

	store, err := openStore(ctx, cfg, logger) // database.go
	if err != nil {
		return err
	}
	s.store = store
	s.closers = append(s.closers, func() error {
		if err := store.Close(); err != nil {
			return fmt.Errorf("closing the database: %w", err)
		}
		return nil
	})
	var authn *auth.Authenticator
	if cfg.Auth == AuthAKSK {
		if authn, err = startAuth(ctx, cfg, store, project, s.stdout, logger); err != nil {
			return err
		}
	} else {
		logger.Warn("authentication is off (--auth=none): every client on this machine may act on every project")
	}
	s.authn = authn
	blobs, sweepGrace, err := openBlobStore(ctx, cfg, logger) // objectstore.go
	if err != nil {
		return err
	}
	if s.sources, err = importer.NewSourcesFromConfig(cfg.sourcesConfig()); err != nil {
		return err
	}
	// The server's own data is never imported (importer.Sources refuses
	// it); a root inside it is a mistake, a root holding it (the default:
	// the working directory holds ./modelreg-data) is said once.
	if holding, inside := s.sources.RootsHoldingProtected(); len(inside) > 0 {
		return fmt.Errorf("--import-root %s lies inside the server's own data (its data dir, blob store or database), which is never imported; choose another import root", inside[0])
	} else if len(holding) > 0 {
		logger.Info("import roots hold the server's own data; imports that reach it (directly, through a parent folder or a symbolic link) are refused",
			"import_roots", holding, "data_dir", cfg.DataDir)
	}

	owner := importer.DefaultOwner()
	s.coll = collector.New(collector.Config{
		Store: store, Blobs: blobs, Owner: owner, Lease: cfg.JobLease, Interval: collectInterval,
		StagingInterval: stagingCleanInterval, StagingGrace: cfg.StagingGrace,
		Trash:  store,
		Logger: logger,
	})
	// A crash may have left staged files and committed blobs nothing
	// references; queue and collect them. Staged files go at once only in
	// a directory used with SQLite, which no other process writes to; with
	// PostgreSQL or a bucket, other servers may be staging now, and only
	// those older than --staging-grace go (openBlobStore decides).
	if err := s.coll.Sweep(ctx, sweepGrace); err != nil {
		return fmt.Errorf("sweeping the blob store: %w", err)
	}
	if _, err := s.coll.RunOnce(ctx); err != nil {
		return fmt.Errorf("collecting blobs: %w", err)
	}
	s.runner = importer.New(importer.Config{
		Store: store, Blobs: blobs, Sources: s.sources, Owner: owner, Lease: cfg.JobLease,
		PollInterval: jobPollInterval(cfg.JobLease), MaxFileSize: cfg.MaxFileSize, Logger: logger,
		Workers: cfg.ImportWorkers, ProjectJobs: cfg.ImportProjectJobs, StallTimeout: cfg.ImportStallTimeout,
	})
	uploads := importer.NewUploads(importer.UploadConfig{
		Store: store, Blobs: blobs, MaxFileSize: cfg.MaxFileSize, Logger: logger,
		MaxProjectStreams: cfg.UploadProjectSlots,
	})
	uploadMinRate := cfg.UploadMinRate
	if uploadMinRate == 0 {
		uploadMinRate = -1 // --upload-min-rate 0: no minimum
	}
	deploy, deploySecret, runDeployer, err := openDeployer(ctx, cfg, s.store, owner, logger) // deployer.go
	if err != nil {
		return err
	}
	s.runDeployer = runDeployer
	var secrets modelreg.SecretSealer // webhook secrets: sealed with the master key, when there is one
	if authn != nil {
		secrets = authn.Keyring()
	}
	s.sender = webhook.New(webhook.Config{Store: store, Sealer: secrets, Owner: owner + "-webhooks",
		AllowPrivate: cfg.WebhookPrivate, Logger: logger})
	api := httpapi.NewServer(httpapi.Config{
		Store:               store,
		Deployer:            deploy,
		DeployerSecret:      deploySecret,
		Catalog:             catalog,
		CheckSource:         s.sources.Check,
		OnModelCreated:      s.runner.Wake,
		OnModelsDeleted:     s.coll.Wake,
		CascadeLimit:        cfg.CascadeLimit,
		TrashRetention:      cfg.TrashRetention,
		MaxBodyBytes:        cfg.MaxBodyBytes,
		RequestTimeout:      cfg.RequestTimeout,
		Logger:              logger,
		Auth:                authn,
		TrustedProxies:      cfg.TrustedProxies,
		WebhookAllowPrivate: cfg.WebhookPrivate,
		Secrets:             secrets,
		Uploads:             uploads, // model push and pull (modelreg extensions)
		UploadMinRate:       uploadMinRate,
		UploadRateWindow:    cfg.UploadRateWindow,
		Blobs:               blobs,
	})
	if err := registerCollectorMetrics(api.Registry(), s.coll); err != nil {
		return err
	}
	if db, ok := s.store.(*sqlite.DB); ok {
		if err := registerModelCacheMetrics(api.Registry(), db); err != nil {
			return err
		}
	}

	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return err
	}
	s.hs = &http.Server{
		Handler:           api,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return nil
}

// run starts the workers and the HTTP server, and on ctx's end (or a
// worker's failure) shuts them down: the HTTP server first, draining its
// requests, then the workers.
func (s *server) run(ctx context.Context) error {
	cfg, logger := s.cfg, s.logger
	// Workers outlive ctx until the HTTP server has drained, so a request
	// in flight at shutdown still finds them.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	errc := make(chan error, 8)
	var wg sync.WaitGroup
	wg.Go(func() { errc <- named("import runner", s.runner.Run(workCtx)) })
	wg.Go(func() { errc <- named("blob collector", s.coll.Run(workCtx)) })
	wg.Go(func() {
		errc <- named("service scheduler", stopDueServices(workCtx, s.store, scheduleInterval, logger))
	})
	wg.Go(func() { errc <- named("deployer", s.runDeployer(workCtx)) })
	wg.Go(func() { errc <- named("webhook sender", s.sender.Run(workCtx)) })
	wg.Go(func() {
		errc <- named("audit retention", every(workCtx, time.Hour, func(ctx context.Context) {
			ageOutEvents(ctx, s.store, s.cfg.AuditRetention, logger)
		}))
	})
	wg.Go(func() {
		errc <- named("cleanup policies", every(workCtx, s.cfg.CleanupInterval, func(ctx context.Context) {
			runCleanupPolicies(ctx, s.store, s.cfg.CleanupInterval, s.cfg.TrashRetention, logger)
		}))
	})
	if s.authn != nil { // the credential cache answers only while its generation is watched
		wg.Go(func() { s.authn.Watch(workCtx, auth.DefaultPollInterval, logger) })
	}
	var httpDone sync.WaitGroup
	httpDone.Go(func() {
		if err := s.hs.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
		}
	})

	addr := s.ln.Addr().String()
	objectSources, _ := s.sources.ObjectStore()
	logger.Info("modelreg started", "addr", addr, "data_dir", cfg.DataDir, "database", cfg.databaseForLog(),
		"blob_store", cfg.BlobStore, "import_roots", s.sources.Roots(), "source_endpoint", objectSources, "project_id", s.project, "auth", cfg.Auth)
	fmt.Fprintf(s.stdout, "modelreg listening on http://%s\n", addr)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc: // a worker or the listener stopped on its own
		if runErr == nil {
			runErr = errors.New("a background worker stopped unexpectedly")
		}
	}
	logger.Info("modelreg shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := s.hs.Shutdown(shutCtx); err != nil {
		logger.Warn("http shutdown timed out; closing connections", "err", err)
		s.hs.Close()
	}
	httpDone.Wait()
	stopWork()
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil && runErr == nil {
			runErr = err
		}
	}
	if runErr == nil {
		logger.Info("modelreg stopped")
	}
	return runErr
}

// close releases what wire took, last first: the listener when run never
// served on it, the database, the data dir lock.
func (s *server) close() error {
	if s.ln != nil && s.hs != nil {
		s.ln.Close() // after Serve, already closed: the error is moot
	}
	var first error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// stopDueServices stops, every interval until ctx ends, the running
// services whose stop schedule has come due. A failed round is logged and
// the next one tries again (the database may be away for a while).
func stopDueServices(ctx context.Context, store modelreg.ServiceStore, interval time.Duration, logger *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := store.StopDueServices(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			logger.Warn("stopping the services due to stop failed", "err", err)
		case n > 0:
			logger.Info("stopped services by their schedule", "services", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// every runs fn at once and then every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func(ctx context.Context)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ageOutEvents removes the audit events older than retention, a thousand
// a transaction so that no transaction holds the writer for long.
func ageOutEvents(ctx context.Context, store modelreg.AuditStore, retention time.Duration, logger *slog.Logger) {
	total := 0
	for ctx.Err() == nil {
		n, err := store.DeleteAuditEventsBefore(ctx, modelreg.StoreNow(store).Add(-retention), 1000)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("removing old audit events failed", "error", err)
			}
			return
		}
		total += n
		if n < 1000 {
			break
		}
	}
	if total > 0 {
		logger.Info("removed old audit events", "events", total, "retention", retention.String())
	}
}

// runCleanupPolicies runs every enabled cleanup policy of every project
// that no replica ran in the last interval (their last_run_at says), each
// through the user's delete path with the policy as the actor.
func runCleanupPolicies(ctx context.Context, store modelreg.Store, interval, trash time.Duration, logger *slog.Logger) {
	ps, err := store.FindCleanupPolicies(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			logger.Warn("listing cleanup policies failed", "error", err)
		}
		return
	}
	now := modelreg.StoreNow(store)
	for _, p := range ps {
		if !p.Enabled || now.Sub(time.UnixMilli(p.LastRunAt)) < interval*9/10 {
			continue
		}
		deleted, err := modelreg.RunCleanup(ctx, store, p, now, trash)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("cleanup policy failed", "policy", p.ID, "project", p.ProjectID, "error", err)
			}
			continue
		}
		if len(deleted) > 0 {
			logger.Info("cleanup policy deleted models", "policy", p.ID, "project", p.ProjectID, "models", len(deleted))
		}
	}
}

// named prefixes a worker's error with its name.
func named(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	level, err := cfg.level()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// registerCollectorMetrics exposes the collector's totals.
func registerCollectorMetrics(reg *prometheus.Registry, coll *collector.Collector) error {
	blobs := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "modelreg_blobs_freed_total",
		Help: "Blobs removed from the blob store by the collector since start.",
	}, func() float64 { n, _ := coll.Freed(); return float64(n) })
	bytes := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "modelreg_blob_bytes_freed_total",
		Help: "Bytes removed from the blob store by the collector since start.",
	}, func() float64 { _, n := coll.Freed(); return float64(n) })
	for _, c := range []prometheus.Collector{blobs, bytes} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering collector metrics: %w", err)
		}
	}
	return nil
}

// registerModelCacheMetrics exposes the SQLite store's model cache.
func registerModelCacheMetrics(reg *prometheus.Registry, db *sqlite.DB) error {
	cs := []prometheus.Collector{prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "modelreg_sqlite_model_cache_bytes",
		Help: "Memory the SQLite store's model cache holds (estimated).",
	}, func() float64 { return float64(db.ModelCacheStats().Bytes) })}
	for _, c := range []struct {
		name, help string
		count      func(sqlite.ModelCacheStats) uint64
	}{
		{"hits_total", "Models read by id from the SQLite store's model cache since start.",
			func(s sqlite.ModelCacheStats) uint64 { return s.Hits }},
		{"misses_total", "Models read by id from the SQLite database, not found in the model cache, since start.",
			func(s sqlite.ModelCacheStats) uint64 { return s.Misses }},
		{"emptied_total", "Commits that changed rows, each emptying the model cache, since start.",
			func(s sqlite.ModelCacheStats) uint64 { return s.Emptied }},
	} {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "modelreg_sqlite_model_cache_" + c.name, Help: c.help},
			func() float64 { return float64(c.count(db.ModelCacheStats())) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering the model cache metrics: %w", err)
		}
	}
	return nil
}

// ensureProjectID returns the server's default project id: configured when
// set, else the one in dataDir/project_id, else a new one written there
// (created reports that). A configured id is written to the file when the
// file does not exist yet, so the client commands find it.
func ensureProjectID(dataDir, configured string, logger *slog.Logger) (id string, created bool, err error) {
	path := filepath.Join(dataDir, ProjectIDFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		stored := strings.TrimSpace(string(b))
		if !modelreg.ValidProjectID(stored) {
			return "", false, fmt.Errorf("%s holds %q, not a project id (32 lower-case hex characters)", path, stored)
		}
		if configured != "" && configured != stored {
			logger.Warn("the configured project id differs from the one in the data dir; the client commands read the file",
				"project_id", configured, "file", path, "file_project_id", stored)
			return configured, false, nil
		}
		return stored, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("reading the project id: %w", err)
	}
	id, created = configured, configured == ""
	if created {
		var raw [16]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return "", false, err
		}
		id = hex.EncodeToString(raw[:])
	}
	if err := auth.WriteSecretFile(path, []byte(id+"\n")); err != nil {
		return "", false, fmt.Errorf("writing the project id: %w", err)
	}
	return id, created, nil
}

// Names the bootstrap gives.
const (
	// DefaultProjectName names the project created at first start.
	DefaultProjectName = "default"
	// AdminUserName names the admin user created at first start.
	AdminUserName = "admin"
)

// startAuth loads the master key (creating <data-dir>/master.key on first
// use), bootstraps the store on its first start (the project, the admin
// user and the admin's access key, printed once and kept in
// <data-dir>/credentials when generated) and checks, on later starts, that
// the master key opens the stored secrets.
func startAuth(ctx context.Context, cfg Config, store modelreg.Store, projectID string, stdout io.Writer, logger *slog.Logger) (*auth.Authenticator, error) {
	key, created, err := auth.LoadMasterKey(cfg.MasterKey, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Info("created the master key", "file", filepath.Join(cfg.DataDir, auth.MasterKeyFile))
	}
	keys, err := auth.NewKeyring(key)
	if err != nil {
		return nil, err
	}
	a, err := auth.New(auth.Config{Store: store, Keyring: keys, TokenTTL: cfg.TokenTTL})
	if err != nil {
		return nil, err
	}

	// A generated key is written to credentials.new before the bootstrap
	// commits and renamed to credentials after, so that a crash in between
	// never loses the only admin key (see recoverCredentials).
	path := filepath.Join(cfg.DataDir, auth.CredentialsFile)
	pending := path + ".new"
	if err := recoverCredentials(ctx, a, path, logger); err != nil {
		return nil, err
	}
	ak, sk := cfg.AccessKey, cfg.SecretKey
	generated := ak == ""
	if generated {
		ak, sk = auth.NewAccessKey(), auth.NewSecretKey()
		if err := auth.WriteCredentialsFile(pending, auth.FileCredentials{ProjectID: projectID, AccessKey: ak, SecretKey: sk}); err != nil {
			return nil, fmt.Errorf("writing the admin credentials: %w", err)
		}
	}
	p := &modelreg.Project{ID: projectID, Name: DefaultProjectName}
	u := &modelreg.User{Name: AdminUserName, Admin: true}
	c := &modelreg.Credential{AccessKey: ak, Description: "admin key created at first start", SecretEnc: a.Seal(ak, sk)}
	done, err := store.Bootstrap(ctx, p, u, c)
	if err != nil {
		return nil, fmt.Errorf("creating the first project and admin: %w", err)
	}
	if done {
		logger.Info("created the first project and its admin", "project_id", p.ID, "project", p.Name,
			"user", u.Name, "access_key", ak, "from_environment", !generated)
		if !generated {
			fmt.Fprintf(stdout, "modelreg: created project %s (%s) and user %s with access key %s from MODELREG_ACCESS_KEY\n",
				p.Name, p.ID, u.Name, ak)
			return a, nil
		}
		if err := os.Rename(pending, path); err != nil {
			return nil, fmt.Errorf("saving the admin credentials: %w", err)
		}
		fmt.Fprintf(stdout, "modelreg: created project %s (%s) and user %s with an access key (saved in %s; shown only this once):\n"+
			"  access key: %s\n  secret key: %s\n", p.Name, p.ID, u.Name, path, ak, sk)
		return a, nil
	}
	if generated {
		if err := os.Remove(pending); err != nil {
			return nil, err
		}
	}

	if err := a.CheckMasterKey(ctx); err != nil {
		return nil, fmt.Errorf("%w; give the original key in MODELREG_MASTER_KEY or restore %s",
			err, filepath.Join(cfg.DataDir, auth.MasterKeyFile))
	}
	if cfg.AccessKey != "" {
		ok, err := a.CheckCredential(ctx, cfg.AccessKey, cfg.SecretKey)
		switch {
		case modelreg.ErrorCode(err) == modelreg.ENOTFOUND || err == nil && !ok:
			logger.Warn("MODELREG_ACCESS_KEY and MODELREG_SECRET_KEY are not an active access key of this server; "+
				"they are only used on the first start", "access_key", cfg.AccessKey)
		case err != nil:
			return nil, err
		}
	}
	return a, nil
}

// recoverCredentials deals with a <data-dir>/credentials.new left by a
// previous start: it crashed after its bootstrap committed but before the
// file was renamed (the key is real: the file is renamed, unless a
// credentials file exists), or before the bootstrap committed (the key does
// not exist: the file is removed).
func recoverCredentials(ctx context.Context, a *auth.Authenticator, path string, logger *slog.Logger) error {
	pending := path + ".new"
	c, err := auth.ReadCredentialsFile(pending)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, serr := os.Stat(path); err == nil && errors.Is(serr, fs.ErrNotExist) {
		ok, cerr := a.CheckCredential(ctx, c.AccessKey, c.SecretKey)
		if cerr != nil && modelreg.ErrorCode(cerr) != modelreg.ENOTFOUND {
			return cerr // the master key is wrong: keep the file for the next try
		}
		if ok {
			logger.Warn("recovered the admin credentials of an interrupted first start", "file", path)
			return os.Rename(pending, path)
		}
	}
	return os.Remove(pending)
}
