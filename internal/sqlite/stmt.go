package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
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

// marshalCompact returns the JSON of v without the top-level members whose
// value decodes to the zero value anyway ("", 0, false, null), which keeps
// the stored documents, and their decoding, small. Empty arrays and objects
// are kept: an empty slice must not come back nil. v must marshal to an
// object.
func marshalCompact(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b) < 2 || b[0] != '{' {
		return "", errors.New("marshalCompact: not a JSON object")
	}
	out := make([]byte, 0, len(b))
	out = append(out, '{')
	for i := 1; i < len(b)-1; {
		// A member: "key":value, then a comma unless it is the last.
		start := i
		i = skipString(b, i)
		i++ // the colon
		vstart := i
		i = skipValue(b, i)
		switch string(b[vstart:i]) {
		case `""`, `0`, `false`, `null`:
		default:
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, b[start:i]...)
		}
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
	return string(append(out, '}')), nil
}

// skipString returns the index just after the JSON string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index just after the compact JSON value starting at
// b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}
