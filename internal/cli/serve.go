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
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/blob/disk"
	"github.com/modelreg/modelreg/internal/collector"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/importer"
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
<data-dir>/project_id, where the client commands find it.`,
		flags: func(e *env, fs *flag.FlagSet) func([]string) error {
			cfg := DefaultConfig()
			cfg.register(fs)
			envErr := applyEnv(fs, e.getenv)
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
// --max-body-bytes), so reading one never takes long.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 120 * time.Second
	idleTimeout       = 120 * time.Second
	// collectInterval is how often the collector looks for queued blobs.
	collectInterval = 2 * time.Second
)

// Serve runs the server with cfg (validated) until ctx is cancelled, then
// shuts it down gracefully. It prints "modelreg listening on http://ADDR"
// to stdout once it accepts connections; logs go to stderr.
func Serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) (err error) {
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	project, created, err := ensureProjectID(cfg.DataDir, cfg.ProjectID, logger)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "modelreg: created project %s (saved in %s)\n", project, filepath.Join(cfg.DataDir, ProjectIDFile))
	}

	store, err := openStore(ctx, cfg, logger) // database.go
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the database: %w", cerr)
		}
	}()
	blobs, err := disk.Open(cfg.BlobStore)
	if err != nil {
		return fmt.Errorf("opening the blob store: %w", err)
	}
	sources, err := importer.NewSources(cfg.ImportRoots...)
	if err != nil {
		return err
	}

	owner := importer.DefaultOwner()
	coll := collector.New(collector.Config{
		Store: store, Blobs: blobs, Owner: owner, Lease: cfg.JobLease, Interval: collectInterval,
		Logger: logger,
	})
	// A crash may have left staged files (with a grace when other servers
	// share the database, and so the blob store, and may be staging now) and
	// committed blobs nothing references; queue and collect them.
	if err := coll.Sweep(ctx, cfg.startupStagingGrace()); err != nil {
		return fmt.Errorf("sweeping the blob store: %w", err)
	}
	if _, err := coll.RunOnce(ctx); err != nil {
		return fmt.Errorf("collecting blobs: %w", err)
	}
	runner := importer.New(importer.Config{
		Store: store, Blobs: blobs, Sources: sources, Owner: owner, Lease: cfg.JobLease,
		PollInterval: jobPollInterval(cfg.JobLease), MaxFileSize: cfg.MaxFileSize, Logger: logger,
	})
	api := httpapi.NewServer(httpapi.Config{
		Store:           store,
		Deployer:        &modelreg.InstantDeployer{Services: store},
		CheckSource:     sources.Check,
		OnModelCreated:  runner.Wake,
		OnModelsDeleted: coll.Wake,
		CascadeLimit:    cfg.CascadeLimit,
		MaxBodyBytes:    cfg.MaxBodyBytes,
		RequestTimeout:  cfg.RequestTimeout,
		Logger:          logger,
	})
	if err := registerCollectorMetrics(api.Registry(), coll); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	// Workers outlive ctx until the HTTP server has drained, so a request
	// in flight at shutdown still finds them.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Go(func() { errc <- named("import runner", runner.Run(workCtx)) })
	wg.Go(func() { errc <- named("blob collector", coll.Run(workCtx)) })
	var httpDone sync.WaitGroup
	httpDone.Go(func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
		}
	})

	addr := ln.Addr().String()
	logger.Info("modelreg started", "addr", addr, "data_dir", cfg.DataDir, "database", cfg.databaseForLog(),
		"blob_store", cfg.BlobStore, "import_roots", sources.Roots(), "project_id", project)
	fmt.Fprintf(stdout, "modelreg listening on http://%s\n", addr)

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
	if err := hs.Shutdown(shutCtx); err != nil {
		logger.Warn("http shutdown timed out; closing connections", "error", err)
		hs.Close()
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
	if err := writeFileAtomic(path, []byte(id+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("writing the project id: %w", err)
	}
	return id, created, nil
}

// writeFileAtomic writes data to path through a synced temporary file and a
// rename, so a crash leaves either no file or the whole one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
