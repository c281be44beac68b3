package sqlite

import (
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultModelCache is the default Options.ModelCache: 8 MiB, about
// 16,000 models of the bench's size (500 bytes each, see cachedSize).
const DefaultModelCache = 8 << 20

// modelCache keeps the rows FindModelByID read (modelRow: the packed
// columns and the protection), so that reading a model again costs a map
// lookup and the decoding instead of a statement. A statement is about a
// third of a GET's CPU: SQLite's read transaction (its locks on the WAL
// index), the descents of the id index, the table and model_protection,
// and database/sql around them.
//
// It relies on what hookCache relies on (cli.LockFile): one process, one
// DB, writes the database, every write in a transaction on the one writer
// connection (Tx). A write transaction that changed rows empties the cache
// and advances its generation once it has committed (Tx.Commit); a read
// puts its row in only if the generation has not moved since before the
// read began. So every row the cache holds was read after the last commit
// that changed anything, and a model read after a write was acknowledged
// is read as written. One rule for every write path (a delete, a status,
// a protection, a restore...) rather than one per path: a registry is read
// far more than it is written, and after a write the cache refills as
// models are read again.
type modelCache struct {
	mu    sync.RWMutex
	gen   uint64 // commits that changed rows
	rows  map[modelKey]modelRow
	bytes int // the rows' size, by cachedSize
	limit int // the most bytes held; 0 disables the cache

	hits, misses atomic.Uint64
	committing   atomic.Int64 // commits between their start and changed (checkModelCache)

	// onHit, when set (by tests), sees each row get returns with the
	// generation it was returned at.
	onHit func(project, id string, r modelRow, gen uint64)
}

// modelKey is a model's key in the cache.
type modelKey struct{ project, id string }

// entryOverhead approximates what a row costs the cache beyond its
// strings: the map's slot, the key's and the row's headers.
const entryOverhead = 96

// cachedSize is what holding r under k costs, in bytes.
func cachedSize(k modelKey, r modelRow) int {
	return len(k.project) + len(k.id) + len(r.packed) + entryOverhead
}

// newModelCache returns a cache of limit bytes of rows; limit < 0
// disables it, 0 means DefaultModelCache.
func newModelCache(limit int) *modelCache {
	switch {
	case limit < 0:
		limit = 0
	case limit == 0:
		limit = DefaultModelCache
	}
	return &modelCache{limit: limit}
}

// enabled reports whether the cache may hold rows.
func (c *modelCache) enabled() bool { return c.limit > 0 }

// get returns the row of project's model id, if held, and else the
// generation to pass to put for the read that begins now.
func (c *modelCache) get(project, id string) (r modelRow, gen uint64, ok bool) {
	c.mu.RLock()
	r, ok = c.rows[modelKey{project, id}]
	gen = c.gen
	c.mu.RUnlock()
	if ok {
		c.hits.Add(1)
		if c.onHit != nil {
			c.onHit(project, id, r, gen)
		}
	} else {
		c.misses.Add(1)
	}
	return r, gen, ok
}

// put keeps r, read by a read that began at generation gen, unless a
// commit has changed rows since. Arbitrary rows make room when it is full.
func (c *modelCache) put(gen uint64, project, id string, r modelRow) {
	n := cachedSize(modelKey{project, id}, r)
	if n > c.limit { // also when the cache is off
		return
	}
	// The key's strings may be parts of a request's; hold copies.
	k := modelKey{strings.Clone(project), strings.Clone(id)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if old, ok := c.rows[k]; ok {
		c.bytes -= cachedSize(k, old)
		delete(c.rows, k)
	}
	for victim, old := range c.rows {
		if c.bytes+n <= c.limit {
			break
		}
		c.bytes -= cachedSize(victim, old)
		delete(c.rows, victim)
	}
	if c.rows == nil {
		c.rows = make(map[modelKey]modelRow)
	}
	c.rows[k] = r
	c.bytes += n
}

// changed empties the cache: a commit has changed rows.
func (c *modelCache) changed() {
	c.mu.Lock()
	c.gen++
	c.rows, c.bytes = nil, 0
	c.mu.Unlock()
}

// ModelCacheStats are the model cache's counts since the database opened.
type ModelCacheStats struct {
	Hits, Misses uint64 // FindModelByID calls answered from the cache, and not
	Bytes, Limit int    // what the cache holds and may hold (cachedSize)
	Emptied      uint64 // commits that changed rows, each emptying the cache
}

// ModelCacheStats returns the model cache's counts.
func (db *DB) ModelCacheStats() ModelCacheStats {
	c := db.models
	c.mu.RLock()
	defer c.mu.RUnlock()
	return ModelCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Bytes: c.bytes, Limit: c.limit, Emptied: c.gen}
}
