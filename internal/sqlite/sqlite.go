// Package sqlite implements modelreg.Store over an embedded SQLite database
// (modernc.org/sqlite, pure Go).
//
// The database runs in WAL mode with foreign keys on. All writes go through
// one connection, in BEGIN IMMEDIATE transactions, so they are serialized:
// every read-check-write of a Store method happens inside one write
// transaction and no two of them interleave. Reads use a separate pool of
// query-only connections and see every committed write.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// busyTimeout is how long a connection waits for a lock held by another
// process (another modelreg, or the sqlite3 shell) before giving up.
const busyTimeout = 10 * time.Second

// Page cache sizes, in KiB. SQLite's default (2 MiB a connection) makes
// the writer read most pages from the kernel again and again on a large
// database: an insert touches pages all over the id, size and version
// indexes. Readers keep the default: there are several, and a point read
// touches a few pages the kernel's cache holds anyway. mmap is left off:
// mapped pages count as the process's resident memory, and the database
// may be far larger than the memory a server should hold.
var (
	writerCacheKiB = 16 << 10
	readerCacheKiB = 2 << 10
)

// Options configures a DB.
type Options struct {
	// Synchronous is the PRAGMA synchronous level: "FULL" (the default), so
	// an acknowledged write survives a power cut, or "NORMAL", which only
	// survives a process crash but commits faster.
	Synchronous string
	// Now returns the current time; nil means time.Now. Tests replace it.
	Now func() time.Time
	// Logger receives migration and lifecycle messages; nil discards them.
	Logger *slog.Logger
	// ModelCache is the most bytes of rows FindModelByID keeps in memory
	// (modelCache): 0 means DefaultModelCache, a negative size none.
	ModelCache int
}

// DB is a modelreg.Store backed by one SQLite database file.
type DB struct {
	writer *sql.DB // one connection: every write transaction, serialized
	reader *sql.DB // query-only connections for reads
	// Prepared statements of each pool.
	writeStmts, readStmts *stmtCache
	path                  string
	now                   func() time.Time
	log                   *slog.Logger

	hooks  hookCache     // which projects have webhooks
	models *modelCache   // the rows FindModelByID read
	queued chan struct{} // signalled when a commit queued webhook deliveries
}

var _ modelreg.Store = (*DB)(nil)

// Now implements modelreg.Clock: the clock the store stamps its writes
// with (Options.Now, time.Now by default).
func (db *DB) Now() time.Time { return db.now() }

// Open opens the database at path, creating the file and its parent
// directory when missing, and applies the pending migrations.
func Open(ctx context.Context, path string, opt Options) (*DB, error) {
	const op = "sqlite.Open"
	// The driver reads everything after a '?' as connection parameters.
	if path == "" || strings.Contains(path, "?") || path == ":memory:" {
		return nil, modelreg.Errorf(modelreg.EINVALID, modelreg.CodeInvalidArgument, "Invalid database path %q.", path)
	}
	syncMode := strings.ToUpper(opt.Synchronous)
	switch syncMode {
	case "":
		syncMode = "FULL"
	case "FULL", "NORMAL":
	default:
		return nil, modelreg.Errorf(modelreg.EINVALID, modelreg.CodeInvalidArgument, "Invalid SQLite synchronous mode %q: want FULL or NORMAL.", opt.Synchronous)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, modelreg.Internal(op, err)
		}
	}
	db := &DB{path: path, now: opt.Now, log: opt.Logger, models: newModelCache(opt.ModelCache), queued: make(chan struct{}, 1)}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}

	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	var err error
	db.writer, err = sql.Open("sqlite", path+"?"+common+
		fmt.Sprintf("&_pragma=cache_size(%d)", -writerCacheKiB)+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous("+syncMode+")&_txlock=immediate")
	if err != nil {
		return nil, modelreg.Internal(op, err)
	}
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)
	db.writeStmts = newStmtCache(db.writer)
	// Connecting the writer first creates the file and switches it to WAL
	// before any reader opens it.
	if err := db.writer.PingContext(ctx); err != nil {
		db.writer.Close()
		return nil, modelreg.Internal(op, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.writer.Close()
		return nil, modelreg.Internal(op, err)
	}

	db.reader, err = sql.Open("sqlite", path+"?"+common+fmt.Sprintf("&_pragma=cache_size(%d)", -readerCacheKiB)+"&_query_only=1")
	if err != nil {
		db.writer.Close()
		return nil, modelreg.Internal(op, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.reader.SetMaxOpenConns(n)
	db.reader.SetMaxIdleConns(n)
	db.readStmts = newStmtCache(db.reader)
	if err := db.reader.PingContext(ctx); err != nil {
		db.Close()
		return nil, modelreg.Internal(op, err)
	}
	db.log.Debug("sqlite database open", "path", path, "synchronous", syncMode)
	return db, nil
}

// Close closes the database. It waits for running transactions to end.
func (db *DB) Close() error {
	var errs []error
	if db.reader != nil {
		errs = append(errs, db.readStmts.close(), db.reader.Close())
	}
	if db.writer != nil {
		errs = append(errs, db.writeStmts.close(), db.writer.Close())
	}
	return modelreg.Internal("sqlite.Close", errors.Join(errs...))
}

// Ping reports whether the database answers. Returns EUNAVAILABLE.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.reader.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return &modelreg.Error{Code: modelreg.EUNAVAILABLE, APICode: modelreg.CodeInternal,
			Message: "The database is unavailable.", Op: "sqlite.Ping", Err: err}
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check and PRAGMA foreign_key_check
// and returns an EINTERNAL error describing the first problems found.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	const op = "sqlite.IntegrityCheck"
	var problems []string
	err := db.view(ctx, op, func(tx *Tx) (err error) {
		if problems, err = integrityProblems(ctx, tx); err != nil {
			return err
		}
		fks, err := foreignKeyProblems(ctx, tx)
		problems = append(problems, fks...)
		return err
	})
	if err != nil {
		return err
	}
	if len(problems) > 10 {
		problems = append(problems[:10], fmt.Sprintf("and %d more", len(problems)-10))
	}
	if len(problems) > 0 {
		return modelreg.Internal(op, errors.New("integrity check failed: "+strings.Join(problems, "; ")))
	}
	return nil
}

func integrityProblems(ctx context.Context, tx *Tx) ([]string, error) {
	rows, err := tx.Tx.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	return problems, rows.Err()
}

func foreignKeyProblems(ctx context.Context, tx *Tx) ([]string, error) {
	rows, err := tx.Tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64 // NULL in a WITHOUT ROWID table
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return nil, err
		}
		problems = append(problems, fmt.Sprintf("a row of %s (rowid %d) references a missing %s row", table, rowid.Int64, parent))
	}
	return problems, rows.Err()
}

// ReleaseAllLeases clears every import job and blob collection lease. A
// single-process server calls it at startup: since SQLite is used by one
// process, any lease found then belongs to a worker that died with the
// previous process, and waiting for it to expire would only delay the work.
func (db *DB) ReleaseAllLeases(ctx context.Context) error {
	return db.update(ctx, "sqlite.ReleaseAllLeases", func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE import_jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE blob_gc SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE deploy_outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL`)
		return err
	})
}

// Tx is a database transaction with the time fixed at its start, so that
// every row it writes carries the same timestamp.
type Tx struct {
	*sql.Tx
	db     *DB
	now    time.Time
	stmts  *stmtCache // the pool's prepared statements
	missed []string   // queries run unprepared, to prepare afterwards

	hooksChanged bool  // the transaction creates or deletes webhooks (hookCache)
	queued       bool  // the transaction queued webhook deliveries (record)
	tracked      bool  // a write transaction the model cache must know of
	changes      int64 // the writer's total_changes() when it began; -1 unknown
}

// Commit commits the transaction. When a write transaction has changed
// rows, the model cache is emptied after the commit, visible to every
// reader then, and before the caller learns that it committed
// (modelCache). A rollback leaves the cache alone: what it undid was
// never visible.
func (tx *Tx) Commit() error {
	if !tx.changed() {
		return tx.Tx.Commit()
	}
	tx.db.models.committing.Add(1)
	defer tx.db.models.committing.Add(-1)
	err := tx.Tx.Commit()
	tx.db.models.changed()
	return err
}

// totalChanges returns the rows the connection of tx has inserted,
// updated or deleted since it opened, or -1 when it cannot tell.
func (tx *Tx) totalChanges() int64 {
	n := int64(-1)
	if err := tx.QueryRowContext(context.Background(), `SELECT total_changes()`).Scan(&n); err != nil {
		return -1
	}
	return n
}

// changed reports whether tx may have changed rows: a write transaction
// (with the model cache on) whose connection counted changes since it
// began, or that cannot tell. Polls that claim nothing (an idle import
// worker's) commit without emptying the model cache. total_changes()
// counts no schema change; only migrations make them, in Open, before
// anything is read.
func (tx *Tx) changed() bool {
	if !tx.tracked {
		return false
	}
	n := tx.totalChanges()
	return n < 0 || tx.changes < 0 || n != tx.changes
}

// ms returns the transaction's time in milliseconds since the epoch.
func (tx *Tx) ms() int64 { return modelreg.Millis(tx.now) }

// BeginTx starts a transaction. A read-only transaction (opts.ReadOnly) runs
// on the reader pool and sees a consistent snapshot; any other transaction
// takes the single writer connection with BEGIN IMMEDIATE, waiting for the
// previous write transaction to end.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	pool, stmts := db.writer, db.writeStmts
	readOnly := opts != nil && opts.ReadOnly
	if readOnly {
		pool, stmts = db.reader, db.readStmts
	}
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	t := &Tx{Tx: tx, db: db, now: db.now(), stmts: stmts}
	if !readOnly && db.models.enabled() {
		t.tracked, t.changes = true, t.totalChanges()
	}
	return t, nil
}

// update runs fn in a write transaction and commits it when fn succeeds.
// Errors come back translated by formatError.
func (db *DB) update(ctx context.Context, op string, fn func(tx *Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return formatError(op, err)
	}
	defer tx.prepareMissed(ctx) // runs after the rollback: the connection is free
	defer func() {
		if tx.hooksChanged {
			db.hooks.done() // after the rollback below, committed or not
		}
	}()
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return formatError(op, err)
	}
	if err := tx.Commit(); err != nil {
		return formatError(op, err)
	}
	if tx.queued {
		db.notifyDeliveries()
	}
	return nil
}

// DeliveriesQueued implements modelreg.DeliveryNotifier: a value arrives
// after a commit queued webhook deliveries (several commits may fold into
// one value).
func (db *DB) DeliveriesQueued() <-chan struct{} { return db.queued }

func (db *DB) notifyDeliveries() {
	select {
	case db.queued <- struct{}{}:
	default:
	}
}

// view runs fn in a read-only transaction.
func (db *DB) view(ctx context.Context, op string, fn func(tx *Tx) error) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return formatError(op, err)
	}
	defer tx.prepareMissed(ctx)
	defer tx.Rollback()
	return formatError(op, fn(tx))
}

// formatError translates err to a *modelreg.Error: an *Error keeps its codes
// (gaining op), sql.ErrNoRows becomes ENOTFOUND, a unique violation
// ECONFLICT, a lock held by another process EUNAVAILABLE, and anything else
// EINTERNAL. Driver errors never leave the package.
func formatError(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *modelreg.Error
	if errors.As(err, &e) {
		if e.Op == "" {
			e.Op = op
		}
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &modelreg.Error{Code: modelreg.ENOTFOUND, Message: "Not found.", Op: op, Err: err}
	}
	switch code := sqliteCode(err); {
	case isUniqueViolation(err):
		return &modelreg.Error{Code: modelreg.ECONFLICT, Message: "Conflict.", Op: op, Err: err}
	case code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED:
		return &modelreg.Error{Code: modelreg.EUNAVAILABLE, APICode: modelreg.CodeInternal,
			Message: "The database is busy, retry later.", Op: op, Err: err}
	}
	return modelreg.Internal(op, err)
}

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUniqueViolation(err error) bool {
	code := sqliteCode(err)
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// migrate applies the embedded migrations that the database has not
// recorded yet, in name order, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		name       TEXT    NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	known := make(map[string]bool, len(names))
	for _, name := range names {
		known[filepath.Base(name)] = true
	}
	// Forward only: a database migrated by a newer binary is refused rather
	// than used with a schema this code does not know.
	applied, err := db.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		if !known[name] {
			return fmt.Errorf("database has migration %s, unknown to this version of modelreg", name)
		}
	}
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", filepath.Base(name), err)
		}
	}
	return nil
}

func (db *DB) appliedMigrations(ctx context.Context) ([]string, error) {
	rows, err := db.writer.QueryContext(ctx, `SELECT name FROM migrations ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// migrateFile applies one migration unless it is recorded already. The check
// and the change share one IMMEDIATE transaction, so two processes starting
// at once cannot both apply it.
func (db *DB) migrateFile(ctx context.Context, path string) error {
	name := filepath.Base(path)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	src, err := fs.ReadFile(migrationFS, path)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(src)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, tx.ms()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.log.Info("applied migration", "name", name, "path", db.path)
	return nil
}

// likePattern returns a LIKE pattern matching s anywhere, with the LIKE
// wildcards in s escaped by a backslash (use ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// isConstraint reports whether err is a constraint violation of any kind.
// (A violated ON DELETE RESTRICT foreign key is reported as
// SQLITE_CONSTRAINT_TRIGGER, not SQLITE_CONSTRAINT_FOREIGNKEY.)
func isConstraint(err error) bool {
	return sqliteCode(err)&0xff == sqlite3.SQLITE_CONSTRAINT
}
