package cli

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
)

func TestConfigPostgres(t *testing.T) {
	const dsn = "postgres://modelreg:s3cret@db.internal:5432/modelreg?sslmode=require"
	env := map[string]string{
		"MODELREG_DATABASE":               dsn,
		"MODELREG_POSTGRES_MAX_CONNS":     "8",
		"MODELREG_POSTGRES_QUERY_TIMEOUT": "5s",
		"MODELREG_JOB_LEASE":              "2s",
		"MODELREG_STAGING_GRACE":          "1h",
		"MODELREG_REQUEST_TIMEOUT":        "30s",
	}
	cfg, err := parseServeConfig(env, nil, "/wd")
	if err != nil {
		t.Fatal(err)
	}
	want := ReplicaConfig{PostgresMaxConns: 8, PostgresQueryTimeout: 5 * time.Second, JobLease: 2 * time.Second,
		RequestTimeout: 30 * time.Second}
	if diff := cmp.Diff(want, cfg.ReplicaConfig); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if cfg.Database != dsn || !cfg.sharedDatabase() {
		t.Errorf("database %q, shared %v", cfg.Database, cfg.sharedDatabase())
	}
	if got := cfg.databaseForLog(); got != "postgres://modelreg:xxxxx@db.internal:5432/modelreg?sslmode=require" {
		t.Errorf("databaseForLog = %q", got)
	}
	if got := startupGrace(t, cfg); got != time.Hour {
		t.Errorf("startup staging grace %s in a directory, want the setting (1h): other replicas may be staging", got)
	}

	// Flags win; postgresql:// is the same scheme.
	cfg, err = parseServeConfig(env, []string{"--database", "postgresql://db/x", "--job-lease", "1m", "--request-timeout", "0"}, "/wd")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.sharedDatabase() || cfg.JobLease != time.Minute || cfg.RequestTimeout != 0 {
		t.Errorf("flags: %+v", cfg)
	}

	// SQLite serves one process: no grace at start.
	cfg, err = parseServeConfig(nil, nil, "/wd")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.sharedDatabase() || startupGrace(t, cfg) != 0 || cfg.JobLease != DefaultJobLease {
		t.Errorf("SQLite: shared %v, grace %s, lease %s", cfg.sharedDatabase(), startupGrace(t, cfg), cfg.JobLease)
	}
}

// startupGrace returns the staging grace of the start-up sweep for cfg with
// a blob directory.
func startupGrace(t *testing.T, cfg Config) time.Duration {
	t.Helper()
	cfg.BlobStore = t.TempDir()
	_, grace, err := openBlobStore(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return grace
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"modelreg-data/modelreg.db":                         "modelreg-data/modelreg.db",
		"postgres://u@h/db":                                 "postgres://u@h/db",
		"postgres://u:pw@h/db":                              "postgres://u:xxxxx@h/db",
		"postgres://u@h/db?password=pw&sslmode=disable":     "postgres://u@h/db?password=xxxxx&sslmode=disable",
		"postgresql://u:p%40ss@h1:5432,h2:5433/db?x=1":      "postgresql://u:xxxxx@h1:5432,h2:5433/db?x=1",
		"postgres://u:pw@h/db?target_session_attrs=any&a=b": "postgres://u:xxxxx@h/db?target_session_attrs=any&a=b",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJobPollInterval(t *testing.T) {
	for lease, want := range map[time.Duration]time.Duration{
		30 * time.Second: 5 * time.Second,
		4 * time.Second:  2 * time.Second,
		time.Second:      500 * time.Millisecond,
	} {
		if got := jobPollInterval(lease); got != want {
			t.Errorf("jobPollInterval(%s) = %s, want %s", lease, got, want)
		}
	}
}

// TestSQLiteErrorNamesTheFile checks that a database that cannot be opened
// or written is named in the error, with a hint when it is read-only.
func TestSQLiteErrorNamesTheFile(t *testing.T) {
	err := sqliteError("opening", "/srv/modelreg/modelreg.db",
		modelreg.Internal("sqlite.Open", errors.New("attempt to write a readonly database (8)")))
	want := "Error: opening the database /srv/modelreg/modelreg.db: Internal error: attempt to write a readonly database (8) " +
		"(/srv/modelreg/modelreg.db or its directory /srv/modelreg is read-only for this user; modelreg needs to write both)"
	if got := FormatError(err); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// For real: a database path that is a directory.
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Database = dir, dir
	_, err = openStore(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if got := FormatError(err); err == nil || !strings.Contains(got, "opening the database "+dir+":") {
		t.Errorf("a directory as the database: %s", got)
	}
}
