package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the key of the session-level advisory lock held for a
// whole migration run, so that replicas starting at once apply each
// migration once, one after the other. Advisory locks are per database; the
// key is "modelreg" in ASCII.
const migrationLock int64 = 0x6d6f64656c726567

// migrationTable records the applied migrations.
const migrationTable = "modelreg_migrations"

// MigrationState is one migration and whether the database has it.
type MigrationState = sqlstore.MigrationState

// Migrate applies the pending migrations to the database at dsn and returns
// the names of those it applied, in order. It is safe to run from several
// processes at once: they take turns, and each migration is applied once.
// A database that has a migration this version does not know is refused.
func Migrate(ctx context.Context, dsn string) (applied []string, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, invalidDSN(err)
	}
	configureConn(cfg, DefaultQueryTimeout)
	applied, err = migrate(ctx, cfg, time.Now, slog.New(slog.DiscardHandler))
	return applied, formatError(ctx, "postgres.Migrate", err)
}

// MigrationStatus returns every migration this version knows, in order,
// then any the database has that it does not know, each with its state.
// It changes nothing.
func MigrationStatus(ctx context.Context, dsn string) ([]MigrationState, error) {
	const op = "postgres.MigrationStatus"
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, invalidDSN(err)
	}
	configureConn(cfg, DefaultQueryTimeout)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, formatError(ctx, op, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, migrationTable).Scan(&exists); err != nil {
		return nil, formatError(ctx, op, err)
	}
	applied := map[string]int64{}
	if exists {
		if applied, err = appliedMigrations(ctx, conn); err != nil {
			return nil, formatError(ctx, op, err)
		}
	}
	names, err := migrationNames()
	if err != nil {
		return nil, modelreg.Internal(op, err)
	}
	return sqlstore.MergeMigrations(names, applied), nil
}

// migrationNames returns the embedded migrations' file names, in order.
func migrationNames() ([]string, error) {
	paths, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = path.Base(p)
	}
	sort.Strings(names)
	return names, nil
}

// migrate applies the pending migrations on a connection of its own, which
// holds the advisory lock for the whole run. Migrations are not bounded by
// the query timeout (an index on a big table takes its time); waiting for
// the lock is bounded by ctx only.
func migrate(ctx context.Context, cc *pgx.ConnConfig, now func() time.Time, log *slog.Logger) ([]string, error) {
	cc = cc.Copy()
	cc.RuntimeParams["statement_timeout"] = "0"
	cc.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		level := slog.LevelInfo
		if n.Severity == "WARNING" {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "migration: "+n.Message)
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, err
	}
	// Closing the connection also releases the advisory lock, whatever
	// happened before.
	defer conn.Close(context.WithoutCancel(ctx))

	names, err := migrationNames()
	if err != nil {
		return nil, err
	}
	// The usual start: nothing to apply. Say so without the lock, which is
	// a session lock: behind a pooler in transaction mode (PgBouncer) it
	// would not stay with this session. Migrations only go forward, so what
	// is applied now stays applied.
	if upToDate, err := migrated(ctx, conn, names); err != nil || upToDate {
		return []string{}, err
	}

	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return nil, fmt.Errorf("take the migration lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+migrationTable+` (
		name       text   COLLATE "C" NOT NULL PRIMARY KEY,
		applied_at bigint NOT NULL
	)`); err != nil {
		return nil, fmt.Errorf("create the migrations table: %w", err)
	}
	done, err := appliedMigrations(ctx, conn)
	if err != nil {
		return nil, err
	}
	// Forward only: a database migrated by a newer version is refused
	// rather than used with a schema this code does not know.
	known := make(map[string]bool, len(names))
	for _, name := range names {
		known[name] = true
	}
	for name := range done {
		if !known[name] {
			return nil, fmt.Errorf("database has migration %s, unknown to this version of modelreg", name)
		}
	}
	applied := []string{}
	for _, name := range names {
		if _, ok := done[name]; ok {
			continue
		}
		if err := migrateFile(ctx, conn, name, now); err != nil {
			return applied, fmt.Errorf("migration %s: %w", name, err)
		}
		log.Info("applied migration", "name", name)
		applied = append(applied, name)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, migrationLock); err != nil {
		return applied, err
	}
	return applied, nil
}

// migrated reports whether the database has exactly the migrations names:
// nothing to apply, and nothing unknown to this version (which migrate
// refuses, under the lock).
func migrated(ctx context.Context, conn *pgx.Conn, names []string) (bool, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, migrationTable).Scan(&exists); err != nil || !exists {
		return false, err
	}
	done, err := appliedMigrations(ctx, conn)
	if err != nil || len(done) != len(names) {
		return false, err
	}
	for _, name := range names {
		if _, ok := done[name]; !ok {
			return false, nil
		}
	}
	return true, nil
}

// migrateFile applies one migration and records it, in one transaction.
func migrateFile(ctx context.Context, conn *pgx.Conn, name string, now func() time.Time) error {
	src, err := fs.ReadFile(migrationFS, "migrations/"+name)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Without arguments, Exec uses the simple protocol, which runs a
		// file of several statements.
		if _, err := tx.Exec(ctx, string(src)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+migrationTable+` (name, applied_at) VALUES ($1, $2)`, name, modelreg.Millis(now()))
		return err
	})
}

// appliedMigrations returns the recorded migrations and when each was
// applied (ms since the epoch).
func appliedMigrations(ctx context.Context, conn *pgx.Conn) (map[string]int64, error) {
	rows, err := conn.Query(ctx, `SELECT name, applied_at FROM `+migrationTable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			return nil, err
		}
		out[name] = at
	}
	return out, rows.Err()
}
