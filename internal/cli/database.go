package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/importer"
	"github.com/modelreg/modelreg/internal/postgres"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// Defaults of ReplicaConfig.
const (
	// DefaultJobLease is how long an import job or a blob deletion stays
	// with a replica that stopped renewing it (it died): another replica
	// takes the work over about this long after.
	DefaultJobLease = 30 * time.Second
	// DefaultRequestTimeout bounds the handling of one API request.
	DefaultRequestTimeout = time.Minute
	// minJobLease is the shortest --job-lease: a worker renews its lease
	// every third of it, and a database round trip must fit in that.
	minJobLease = time.Second
)

// ReplicaConfig is the part of Config about the database and the work that
// replicas sharing one database share: the PostgreSQL pool, the leases of
// import jobs and blob deletions, the request bound. (The staging grace,
// which matters to replicas too, is with the object storage settings.)
type ReplicaConfig struct {
	PostgresMaxConns     int           // connections per replica; 0 is pgxpool's default
	PostgresQueryTimeout time.Duration // bound of one statement
	JobLease             time.Duration // lease of an import job or a blob deletion
	RequestTimeout       time.Duration // bound of one API request; 0 is none
}

// defaultReplicaConfig returns the defaults of ReplicaConfig.
func defaultReplicaConfig() ReplicaConfig {
	return ReplicaConfig{
		PostgresQueryTimeout: postgres.DefaultQueryTimeout,
		JobLease:             DefaultJobLease,
		RequestTimeout:       DefaultRequestTimeout,
	}
}

// registerReplica defines the flags of ReplicaConfig on fs.
func (c *ReplicaConfig) registerReplica(fs *flag.FlagSet) {
	fs.IntVar(&c.PostgresMaxConns, "postgres-max-conns", c.PostgresMaxConns,
		"most PostgreSQL connections this server opens, a `count` (default: 8 or the number of CPUs, whichever is larger)")
	fs.DurationVar(&c.PostgresQueryTimeout, "postgres-query-timeout", c.PostgresQueryTimeout,
		"longest a PostgreSQL statement may run (and a connection take to open) before the request gets a 503, as a `duration`")
	fs.DurationVar(&c.JobLease, "job-lease", c.JobLease,
		"`duration` after which an import or a blob deletion whose server stopped renewing it (it died) is taken over by another")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout,
		"longest an API request may take before it gets a 503, as a `duration`; 0 is no limit")
}

// sharedDatabase reports whether other servers may use the database (and
// therefore the blob store) at the same time: PostgreSQL. A SQLite file
// serves one process.
func (c *Config) sharedDatabase() bool { return isPostgresURL(c.Database) }

// validateDatabase checks the database setting (filled by Validate) and
// ReplicaConfig.
func (c *Config) validateDatabase() error {
	switch {
	case isPostgresURL(c.Database):
		if err := postgres.CheckDSN(c.Database); err != nil {
			return fmt.Errorf("--database: %s", describe(err))
		}
	case strings.Contains(c.Database, "://"):
		return fmt.Errorf("--database %q: want a SQLite file path or a postgres:// URL", redactDSN(c.Database))
	}
	if c.PostgresMaxConns < 0 {
		return fmt.Errorf("--postgres-max-conns %d: must not be negative", c.PostgresMaxConns)
	}
	if c.PostgresQueryTimeout < 100*time.Millisecond {
		return fmt.Errorf("--postgres-query-timeout %s: must be at least 100ms", c.PostgresQueryTimeout)
	}
	if c.JobLease < minJobLease {
		return fmt.Errorf("--job-lease %s: must be at least %s", c.JobLease, minJobLease)
	}
	if c.RequestTimeout < 0 {
		return fmt.Errorf("--request-timeout %s: must not be negative", c.RequestTimeout)
	}
	return nil
}

// databaseForLog returns the database setting with any password replaced,
// for logs and messages.
func (c *Config) databaseForLog() string { return redactDSN(c.Database) }

// redactDSN replaces the password of a URL (in its user info or its
// password parameter) with "xxxxx". Anything that is not a URL is returned
// as it is: a SQLite path.
func redactDSN(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(an unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// openStore opens the database cfg names and readies it for this process.
// A SQLite file serves one process, so the import job and blob deletion
// leases left in it belong to a previous run and are released at once.
// PostgreSQL is shared by replicas whose leases are live; a lease of a
// replica that died is taken over when it expires.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (modelreg.Store, error) {
	if !cfg.sharedDatabase() {
		cache := int(cfg.SQLiteModelCache)
		if cache == 0 {
			cache = -1 // sqlite.Options: none
		}
		store, err := sqlite.Open(ctx, cfg.Database, sqlite.Options{Synchronous: cfg.SQLiteSynchronous, ModelCache: cache, Logger: logger})
		if err != nil {
			return nil, sqliteError("opening", cfg.Database, err)
		}
		if err := store.ReleaseAllLeases(ctx); err != nil {
			store.Close()
			return nil, sqliteError("releasing the stale leases of", cfg.Database, err)
		}
		return store, nil
	}
	store, err := postgres.Open(ctx, cfg.Database, postgres.Options{
		Logger:       logger,
		MaxConns:     int32(min(cfg.PostgresMaxConns, 1<<30)),
		QueryTimeout: cfg.PostgresQueryTimeout,
	})
	if err != nil {
		// Not wrapped: FormatError would show the store's message only.
		return nil, fmt.Errorf("opening the database %s: %s", cfg.databaseForLog(), describe(err))
	}
	if mem, err := store.Memory(ctx); err != nil {
		logger.Warn("cannot compare shared_buffers with the size of the indexes", "err", err)
	} else if w := mem.Warning(); w != "" {
		logger.Warn(w, "shared_buffers_bytes", mem.SharedBuffers, "models_indexes_bytes", mem.HotIndexes)
	}
	if !cfg.isS3() {
		logger.Warn("the blob store is a directory: if several servers use this database, they must all use this same directory "+
			"(on a shared filesystem), or the files a model imported on one has are missing on the others; an s3:// blob store avoids that",
			"blob_store", cfg.BlobStore)
	}
	return store, nil
}

// sqliteError describes a failure of the SQLite file path: not wrapped,
// so that FormatError shows the path (it shows a *modelreg.Error's message
// only), and with a hint when the file cannot be written.
func sqliteError(doing, path string, err error) error {
	msg := fmt.Sprintf("%s the database %s: %s", doing, path, describe(err))
	if strings.Contains(msg, "readonly") || strings.Contains(msg, "read-only") {
		msg += fmt.Sprintf(" (%s or its directory %s is read-only for this user; modelreg needs to write both)", path, filepath.Dir(path))
	}
	return errors.New(msg)
}

// jobPollInterval is how often an idle import worker looks for due jobs
// (a worker is also woken at once by a model created on its own server):
// often enough that a job of a dead replica, or one created on another
// replica, starts within about a lease.
func jobPollInterval(lease time.Duration) time.Duration {
	return min(importer.DefaultPollInterval, max(lease/2, 100*time.Millisecond))
}

// describe returns the message of err for a person: an *Error's message
// followed by its cause.
func describe(err error) string {
	var e *modelreg.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	msg := e.Message
	if e.Err != nil {
		msg = strings.TrimSuffix(msg, ".") + ": " + e.Err.Error()
	}
	return msg
}
