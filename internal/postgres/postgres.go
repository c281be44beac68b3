// Package postgres implements modelreg.Store over PostgreSQL with pgx and
// pgxpool.
//
// Several stateless replicas may share one database; they coordinate through
// it alone. Write transactions run at READ COMMITTED and take row locks in
// one global order, so that no two of them deadlock in normal operation:
//
//	service row -> model rows (sorted by id) -> import job row -> blob_gc rows (sorted by digest)
//	  -> model_counts rows (sorted by key)
//
// DeleteModelBatch locks the model rows FOR UPDATE; CreateService and
// UpdateService lock the models of a config FOR SHARE (sorted by id), and a
// foreign key with ON DELETE RESTRICT backs them up; import jobs and blob
// deletions are claimed with FOR UPDATE SKIP LOCKED; blobgc.go explains how
// AttachModelFile and ClaimBlobDeletions serialize on a digest.
//
// The model_counts rows (0004_counts.sql) are locked by the triggers on
// models, at the statement that inserts or deletes a model or changes its
// status, which every transaction makes after its other locks: they come
// last. A transaction that touches one model takes one row, or two for a
// status change (the old status's, then the new one's: every status change
// leaves publishing, so two of them take their rows in the same order). A
// DeleteModelBatch of several models locks its rows in key order before its
// DELETE; CreateModels, whose triggers take the rows in the order of its
// models, first takes an advisory lock (bulkLock) that serializes bulk
// calls. A batch delete of a name's publishing and published versions and
// a FinishImport of a model of the same project, type and counter shard can
// still take two rows in opposite orders: the server breaks that deadlock
// and the store retries (below). A
// serialization failure or a deadlock the server breaks (SQLSTATE 40001,
// 40P01) is retried inside the store a few times with jitter, and so is a
// transaction whose connection was lost before COMMIT; neither reaches the
// caller as an internal error. Reads that need more than one statement run
// in a READ ONLY REPEATABLE READ transaction, so a page and its total_count
// come from one snapshot.
//
// Every statement is bounded by Options.QueryTimeout (on the server as
// statement_timeout, and on the client), so no request hangs on a dead
// database: it gets EUNAVAILABLE instead, and pgxpool reconnects when the
// database comes back.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/modelreg/modelreg"
)

// DefaultQueryTimeout bounds each statement when Options.QueryTimeout is 0.
const DefaultQueryTimeout = 10 * time.Second

// idleInTransactionTimeout ends the session of a replica that stopped
// talking in the middle of a transaction (it died, or the network did), so
// that the row locks it held are released.
const idleInTransactionTimeout = time.Minute

// maxAttempts is how many times a transaction is tried when it fails with
// a serialization failure, a deadlock or a lost connection.
const maxAttempts = 5

// Options configures a DB.
type Options struct {
	// Now returns the current time; nil means time.Now. Tests replace it.
	Now func() time.Time
	// Logger receives migration and lifecycle messages; nil discards them.
	Logger *slog.Logger
	// MaxConns is the size of the connection pool; 0 is DefaultMaxConns
	// (or the dsn's pool_max_conns).
	MaxConns int32
	// QueryTimeout bounds every statement; 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// Tracer, when not nil, sees every statement of every connection
	// (tests count round trips with it).
	Tracer pgx.QueryTracer
}

// Idle connections are kept: at least minIdleConns, closed only after
// maxConnIdleTime unused, so that a burst after a quiet spell does not
// dial (and prepare every statement) afresh.
const (
	minIdleConns    = 2
	maxConnIdleTime = 30 * time.Minute
)

// DB is a modelreg.Store backed by a PostgreSQL database.
type DB struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration
	queued  chan struct{} // signalled when a commit queued webhook deliveries
}

var _ modelreg.Store = (*DB)(nil)

// Now implements modelreg.Clock: the clock the store stamps its writes
// with (Options.Now, time.Now by default).
func (db *DB) Now() time.Time { return db.now() }

// DeliveriesQueued implements modelreg.DeliveryNotifier for this process's
// commits (other replicas' senders find them by polling).
func (db *DB) DeliveriesQueued() <-chan struct{} { return db.queued }

// Open connects to the database at dsn (a postgres:// URL or a key=value
// connection string), applies the pending migrations and returns the store.
// Returns EINVALID for a malformed dsn and EUNAVAILABLE when the database
// cannot be reached.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	const op = "postgres.Open"
	db := &DB{now: opt.Now, log: opt.Logger, timeout: opt.QueryTimeout, queued: make(chan struct{}, 1)}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.timeout <= 0 {
		db.timeout = DefaultQueryTimeout
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, invalidDSN(err)
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	} else if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns()
	}
	configurePool(cfg, dsn)
	configureConn(cfg.ConnConfig, db.timeout)
	if opt.Tracer != nil {
		cfg.ConnConfig.Tracer = opt.Tracer
	}

	if _, err := migrate(ctx, cfg.ConnConfig, db.now, db.log); err != nil {
		return nil, formatError(ctx, op, err)
	}
	db.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, formatError(ctx, op, err)
	}
	if err := db.Ping(ctx); err != nil {
		db.pool.Close()
		return nil, err
	}
	db.log.Debug("postgres database open", "host", cfg.ConnConfig.Host, "database", cfg.ConnConfig.Database)
	return db, nil
}

// DefaultMaxConns is the pool size when neither Options.MaxConns nor the
// dsn's pool_max_conns sets one: 8 or the number of CPUs, whichever is
// larger. Measured on 2 cores (docs/performance.md): 4 connections made
// requests wait for a connection at concurrency 64 (show p50 17–18 ms
// against 6–9 ms with 8), and 16 or 32 gained nothing over 8 while a
// small PostgreSQL's max_connections (100) must cover every replica.
func DefaultMaxConns() int32 {
	return int32(max(8, runtime.NumCPU()))
}

// configurePool keeps idle connections (unless the dsn sets its own
// pool_min_conns, pool_max_conn_idle_time or pool_max_conn_lifetime_jitter):
// pgxpool's defaults keep none open once they have been idle for 30
// minutes, so a replica that was quiet reconnects (and prepares its
// statements again) when traffic resumes, and they retire connections
// opened together at the same age, all at once.
//
// Statements are prepared once per connection and then only bound and
// executed: pgx's default_query_exec_mode cache_statement, which this
// store expects (a dsn may still choose another mode, for a pooler such as
// PgBouncer in transaction mode).
func configurePool(cfg *pgxpool.Config, dsn string) {
	if !strings.Contains(dsn, "pool_min_conns") {
		cfg.MinConns = min(minIdleConns, cfg.MaxConns)
	}
	if !strings.Contains(dsn, "pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = maxConnIdleTime
	}
	if !strings.Contains(dsn, "pool_max_conn_lifetime_jitter") {
		// Connections opened together (at start) are not all retired
		// together an hour later.
		cfg.MaxConnLifetimeJitter = cfg.MaxConnLifetime / 4
	}
}

// configureConn sets the session defaults of the store's connections,
// unless the dsn sets them: statement_timeout is timeout, so the server
// abandons a statement the client gives up on; a dead replica's open
// transaction is ended; dialing is bounded too.
func configureConn(cc *pgx.ConnConfig, timeout time.Duration) {
	params := map[string]string{
		"statement_timeout":                   strconv.FormatInt(timeout.Milliseconds(), 10),
		"idle_in_transaction_session_timeout": strconv.FormatInt(idleInTransactionTimeout.Milliseconds(), 10),
		"application_name":                    "modelreg",
	}
	for k, v := range params {
		if _, ok := cc.RuntimeParams[k]; !ok {
			cc.RuntimeParams[k] = v
		}
	}
	if cc.ConnectTimeout == 0 || cc.ConnectTimeout > timeout {
		cc.ConnectTimeout = timeout
	}
}

// CheckDSN reports whether dsn is a connection string Open accepts,
// without connecting. Returns EINVALID; the message never holds the
// password.
func CheckDSN(dsn string) error {
	if _, err := pgxpool.ParseConfig(dsn); err != nil {
		return invalidDSN(err)
	}
	return nil
}

func invalidDSN(err error) error {
	return &modelreg.Error{Code: modelreg.EINVALID, APICode: modelreg.CodeInvalidArgument,
		Message: "Invalid PostgreSQL connection string.", Op: "postgres.Open", Err: err}
}

// Close closes every connection of the pool. It waits for the connections
// in use to be released.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers. Returns EUNAVAILABLE.
func (db *DB) Ping(ctx context.Context) error {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, db.timeout)
		err = db.pool.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !db.connLost(err) {
			break
		}
	}
	return unavailable("postgres.Ping", err)
}

func unavailable(op string, err error) error {
	return &modelreg.Error{Code: modelreg.EUNAVAILABLE, APICode: modelreg.CodeInternal,
		Message: "The database is unavailable, retry later.", Op: op, Err: err}
}

// querier is what a Tx runs its statements on: a pgx.Tx, or the pool for a
// read of one statement.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Tx is a database transaction with the time fixed at its start, so that
// every row it writes carries the same timestamp. Each of its statements is
// bounded by the store's query timeout.
type Tx struct {
	q       querier
	timeout time.Duration
	now     time.Time
	queued  bool // the transaction queued webhook deliveries (record)
}

// ms returns the transaction's time in milliseconds since the epoch.
func (tx *Tx) ms() int64 { return modelreg.Millis(tx.now) }

// exec runs a statement and returns the number of rows it affected.
func (tx *Tx) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	ctx, cancel := tx.bound(ctx)
	defer cancel()
	tag, err := tx.q.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

// queryRow runs a query of at most one row; Scan returns pgx.ErrNoRows when
// there is none.
func (tx *Tx) queryRow(ctx context.Context, sql string, args ...any) row {
	ctx, cancel := tx.bound(ctx)
	return row{r: tx.q.QueryRow(ctx, sql, args...), cancel: cancel}
}

type row struct {
	r      pgx.Row
	cancel context.CancelFunc
}

// Scan reads the row into dst.
func (r row) Scan(dst ...any) error {
	defer r.cancel()
	return r.r.Scan(dst...)
}

// query runs a query and calls each for every row.
func (tx *Tx) query(ctx context.Context, each func(pgx.Rows) error, sql string, args ...any) error {
	ctx, cancel := tx.bound(ctx)
	defer cancel()
	rows, err := tx.q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryStrings runs a query of one text column and returns its values.
func (tx *Tx) queryStrings(ctx context.Context, sql string, args ...any) ([]string, error) {
	out := []string{}
	err := tx.query(ctx, func(rows pgx.Rows) error {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	}, sql, args...)
	return out, err
}

// bound returns ctx limited to one statement's time. The server's
// statement_timeout is the same, so on a live server the statement fails
// there first (and the connection stays usable); the client's bound, a
// little later, is for a server that stopped answering.
func (tx *Tx) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, clientTimeout(tx.timeout))
}

func clientTimeout(d time.Duration) time.Duration { return d + d/10 + 100*time.Millisecond }

// txMode says how run runs fn.
type txMode int

const (
	readWrite txMode = iota // a READ COMMITTED transaction
	readOnly                // a READ ONLY REPEATABLE READ transaction: one snapshot
	noTx                    // no transaction: fn runs one statement on the pool
)

// update runs fn in a read-write transaction and commits it when fn
// succeeds, retrying it as run says. Errors come back translated.
func (db *DB) update(ctx context.Context, op string, fn func(tx *Tx) error) error {
	return db.run(ctx, op, readWrite, fn)
}

// view runs fn in a read-only transaction that sees one snapshot.
func (db *DB) view(ctx context.Context, op string, fn func(tx *Tx) error) error {
	return db.run(ctx, op, readOnly, fn)
}

// read runs fn, which runs one statement, outside a transaction.
func (db *DB) read(ctx context.Context, op string, fn func(tx *Tx) error) error {
	return db.run(ctx, op, noTx, fn)
}

// run runs fn once, and again after a short random pause when it failed in
// a way that left nothing behind and may not fail again: a serialization
// failure, a deadlock, or a connection lost before COMMIT (the pool is then
// reset, since a lost connection usually means they all are). fn must be
// safe to call again: it starts from its arguments each time.
func (db *DB) run(ctx context.Context, op string, mode txMode, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = db.attempt(ctx, mode, fn)
		if err == nil || attempt == maxAttempts || ctx.Err() != nil || !db.retryable(err) {
			break
		}
		db.log.Debug("retrying transaction", "op", op, "attempt", attempt, "err", err)
		// 2 ms, plus a random pause of up to 2 ms × 2^attempt.
		pause := time.Duration(rand.Int64N(int64(2*time.Millisecond)<<attempt)) + 2*time.Millisecond
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return formatError(ctx, op, err)
		case <-t.C:
		}
	}
	return formatError(ctx, op, err)
}

// commitError is an error of COMMIT itself: whether the transaction was
// committed is unknown when the connection was lost, so it is not retried.
type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

func (db *DB) attempt(ctx context.Context, mode txMode, fn func(tx *Tx) error) (err error) {
	tx := &Tx{q: db.pool, timeout: db.timeout, now: db.now()}
	if mode == noTx {
		return fn(tx)
	}
	opts := pgx.TxOptions{}
	if mode == readOnly {
		opts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	bctx, cancel := tx.bound(ctx)
	ptx, err := db.pool.BeginTx(bctx, opts)
	cancel()
	if err != nil {
		return err
	}
	tx.q = ptx
	defer func() {
		if err != nil {
			// Roll back even when ctx is done: the connection goes back to
			// the pool clean (or is closed by pgx when that fails).
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clientTimeout(db.timeout))
			_ = ptx.Rollback(rctx)
			cancel()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	cctx, cancel := tx.bound(ctx)
	defer cancel()
	if err = ptx.Commit(cctx); err != nil {
		return &commitError{err}
	}
	if tx.queued {
		select {
		case db.queued <- struct{}{}:
		default:
		}
	}
	return nil
}

// retryable reports whether a failed attempt may be run again. A lost
// connection also resets the pool, so that the next attempt dials afresh
// instead of picking another dead connection.
func (db *DB) retryable(err error) bool {
	var me *modelreg.Error
	if errors.As(err, &me) {
		return false
	}
	switch sqlState(err) {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	}
	var ce *commitError
	return !errors.As(err, &ce) && db.connLost(err)
}

// connLost reports whether err says the connection broke (not that it
// timed out: trying again would only wait again), and then resets the pool.
func (db *DB) connLost(err error) bool {
	if !isConnLost(err) {
		return false
	}
	db.log.Warn("lost the connection to the database; reconnecting", "err", err)
	db.pool.Reset()
	return true
}

// isConnLost reports whether err says that an established connection
// broke. A connection that could not be made is not "lost": the server is
// not there, and trying again at once would fail again.
func isConnLost(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	switch code := sqlState(err); {
	case code == "57P01", code == "57P02", strings.HasPrefix(code, "08"): // admin or crash shutdown, connection exception
		return true
	case code != "":
		return false
	}
	return isNetError(err) || pgconn.SafeToRetry(err)
}

// isNetError reports whether err comes from the network or a closed
// connection.
func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// sqlState returns the SQLSTATE of a server error, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pgError returns the server error in err when it has the given SQLSTATE.
func pgError(err error, code string) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == code {
		return pe
	}
	return nil
}

// SQLSTATEs the store looks at.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// unavailableState reports whether a server error means "not now": the
// server is shutting down, starting, overloaded or read-only (a standby
// after a failover), a lock or statement timed out, or a conflict
// outlasted the retries.
func unavailableState(code string) bool {
	switch code {
	case "40001", "40P01", // serialization_failure, deadlock_detected
		"55P03",                   // lock_not_available
		"57014",                   // query_canceled: statement_timeout
		"57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
		"25006": // read_only_sql_transaction
		return true
	}
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") // connection exception, insufficient resources
}

// formatError translates err to a *modelreg.Error: an *Error keeps its codes
// (gaining op); pgx.ErrNoRows becomes ENOTFOUND; a unique violation
// ECONFLICT; a database that is down, unreachable, too slow or too busy
// EUNAVAILABLE (so that clients see a 503 and retry); anything else, a
// cancelled ctx included, EINTERNAL. Driver errors never leave the package.
func formatError(ctx context.Context, op string, err error) error {
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
	if errors.Is(err, pgx.ErrNoRows) {
		return &modelreg.Error{Code: modelreg.ENOTFOUND, Message: "Not found.", Op: op, Err: err}
	}
	if ctx.Err() != nil {
		// The caller gave up; whatever the driver made of it is not the
		// database's fault.
		return modelreg.Internal(op, err)
	}
	if code := sqlState(err); code != "" {
		switch {
		case code == uniqueViolation:
			return &modelreg.Error{Code: modelreg.ECONFLICT, Message: "Conflict.", Op: op, Err: err}
		case unavailableState(code):
			return unavailable(op, err)
		}
		return modelreg.Internal(op, err)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || isNetError(err) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) ||
		pgconn.SafeToRetry(err) {
		return unavailable(op, err)
	}
	return modelreg.Internal(op, err)
}

// likePattern returns a LIKE pattern matching s anywhere, with the LIKE
// wildcards in s escaped by a backslash (use ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// params builds the positional parameters of a query.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return fmt.Sprintf("$%d", len(*p))
}
