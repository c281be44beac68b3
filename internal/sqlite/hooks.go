package sqlite

import (
	"context"
	"sync"
)

// hookCache knows which projects have webhooks, so that an event of a
// project without any (the common case) skips the webhook lookup in its
// change's transaction.
//
// It relies on what the server's lock file guarantees (cli.LockFile): one
// process, one DB, writes the database, and its write transactions are
// serialized on the one writer connection. A transaction that creates or
// deletes a webhook calls changing inside the transaction and done after it
// has ended, committed or not; while one is in flight the cache is neither
// used nor filled, so no transaction reads a state it did not commit or
// that was rolled back. Otherwise the set is loaded once, in a write
// transaction (which sees every commit), and kept until the next change.
type hookCache struct {
	mu       sync.Mutex
	inFlight int             // webhook-changing transactions not ended yet
	projects map[string]bool // projects with webhooks; nil: not loaded
}

// has reports whether project may have webhooks: true when it has, or when
// the cache cannot tell (the caller then looks them up).
func (c *hookCache) has(ctx context.Context, tx *Tx, project string) (bool, error) {
	c.mu.Lock()
	inFlight, projects := c.inFlight, c.projects
	c.mu.Unlock()
	if inFlight > 0 {
		return true, nil
	}
	if projects != nil {
		return projects[project], nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT project_id FROM webhooks`)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	projects = map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return false, err
		}
		projects[p] = true
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	c.mu.Lock()
	if c.inFlight == 0 {
		c.projects = projects
	}
	c.mu.Unlock()
	return projects[project], nil
}

// changing marks tx as changing webhooks: the cache is dropped, and unused
// until tx has ended (update calls done).
func (c *hookCache) changing(tx *Tx) {
	if tx.hooksChanged {
		return
	}
	tx.hooksChanged = true
	c.mu.Lock()
	c.inFlight++
	c.projects = nil
	c.mu.Unlock()
}

// done ends what changing began, once the transaction has ended.
func (c *hookCache) done() {
	c.mu.Lock()
	c.inFlight--
	c.projects = nil
	c.mu.Unlock()
}
