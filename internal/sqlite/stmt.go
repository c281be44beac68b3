package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxCachedStmts bounds the prepared statements kept per pool. The store's
// queries are a bounded set (the list filters combine into a few hundred
// texts at most), so the bound is only a guard.
const maxCachedStmts = 512

// stmtCache keeps prepared statements of one pool, by query text. Parsing a
// query costs more than running it for the store's point reads and small
// writes, so each query is prepared once and reused.
//
// A statement is never prepared inside a transaction: with one writer
// connection, preparing on the pool while a transaction holds that
// connection would wait forever. A transaction runs an unknown query
// unprepared and notes it; prepareMissed prepares the noted queries once the
// transaction has ended.
type stmtCache struct {
	pool *sql.DB
	mu   sync.Mutex
	m    map[string]*sql.Stmt
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: make(map[string]*sql.Stmt)}
}

func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// prepare prepares and caches the queries not cached yet. Failures are
// ignored: the query just stays unprepared.
func (c *stmtCache) prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		c.mu.Lock()
		_, ok := c.m[q]
		full := len(c.m) >= maxCachedStmts
		c.mu.Unlock()
		if ok || full || ctx.Err() != nil {
			continue
		}
		s, err := c.pool.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, ok := c.m[q]; ok {
			c.mu.Unlock()
			s.Close()
			continue
		}
		c.m[q] = s
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, s := range c.m {
		errs = append(errs, s.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// ExecContext runs a statement in the transaction, prepared when cached.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := tx.stmts.lookup(query); s != nil {
		return tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	tx.missed = append(tx.missed, query)
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction, prepared when cached.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := tx.stmts.lookup(query); s != nil {
		return tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	tx.missed = append(tx.missed, query)
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the transaction, prepared when
// cached.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := tx.stmts.lookup(query); s != nil {
		return tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	tx.missed = append(tx.missed, query)
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// queryRow runs a one-row query on the reader pool outside a transaction,
// prepared when cached (and prepared for next time when not): for reads of
// one statement, which see a consistent snapshot anyway.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s := db.readStmts.lookup(query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	db.readStmts.prepare(ctx, []string{query})
	return db.reader.QueryRowContext(ctx, query, args...)
}

// prepareMissed prepares the queries tx ran unprepared. Call it after the
// transaction has ended.
func (tx *Tx) prepareMissed(ctx context.Context) {
	if len(tx.missed) > 0 {
		tx.stmts.prepare(ctx, tx.missed)
		tx.missed = nil
	}
}
