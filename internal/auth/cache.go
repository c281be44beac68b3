package auth

import (
	"container/list"
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of the credential cache (docs/decisions.md, "Credential cache").
const (
	// DefaultCacheSize is how many verified access keys and tokens an
	// Authenticator keeps in memory.
	DefaultCacheSize = 10000
	// DefaultPollInterval is how often Watch reads the store's
	// generation of authentication data.
	DefaultPollInterval = 250 * time.Millisecond
	// DefaultMaxStale is how old the last successful read of the
	// generation may be for the cache to answer: a revocation committed
	// on any replica stops working everywhere within this bound. When the
	// store cannot be read for longer, every request reads the store.
	DefaultMaxStale = 750 * time.Millisecond
)

// cached is what a verified access key or token grants: enough to build
// its Principal without reading the store.
type cached struct {
	key       string // "ak:" + access key, or "tk:" + token hash
	secretKey string // the unsealed secret of an access key
	scope     string // the key's or token's one project, "" for all
	expiresAt int64  // of a token, ms since the epoch; 0 for a key
	userID    string
	userName  string
	admin     bool
	projects  []string // the user's projects; shared, never modified
}

// credCache is a bounded LRU cache of verified credentials. An entry is
// served only while the generation of the store's authentication data was
// read less than maxStale ago; a change of the generation, or a local
// change (flush), empties it. An entry loaded from the store is added only
// if no flush happened since the load began (version), so that a load
// racing with a revocation cannot put the revoked key back.
type credCache struct {
	max      int
	maxStale time.Duration
	now      func() time.Time // monotonic clock of freshness

	mu      sync.Mutex
	ll      *list.List // of *cached, most recently used first
	m       map[string]*list.Element
	version uint64    // increased by every flush
	gen     int64     // the store's generation at the last read
	haveGen bool      // gen was read at least once
	fresh   time.Time // when the last successful read of gen began
}

func newCredCache(max int, maxStale time.Duration) *credCache {
	return &credCache{max: max, maxStale: maxStale, now: time.Now, ll: list.New(), m: map[string]*list.Element{}}
}

// get returns the entry of key when the cache is fresh.
func (c *credCache) get(key string) (*cached, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.haveGen || c.now().Sub(c.fresh) > c.maxStale {
		return nil, false
	}
	el, ok := c.m[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*cached), true
}

// begin returns the version to pass to put for an entry about to be loaded
// from the store.
func (c *credCache) begin() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// put adds e, loaded since begin returned version, unless the cache was
// flushed since. It evicts the least recently used entries beyond max.
func (c *credCache) put(version uint64, e *cached) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.version {
		return
	}
	if el, ok := c.m[e.key]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.m[e.key] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.m, old.Value.(*cached).key)
	}
}

// flush empties the cache.
func (c *credCache) flush() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *credCache) flushLocked() {
	c.version++
	clear(c.m)
	c.ll.Init()
}

// observe records the store's generation gen, read by a query that began
// at start: a new generation empties the cache.
func (c *credCache) observe(gen int64, start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.haveGen || gen != c.gen {
		c.flushLocked()
	}
	c.gen, c.haveGen = gen, true
	if start.After(c.fresh) {
		c.fresh = start
	}
}

// len returns the number of entries.
func (c *credCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// Invalidate empties the credential cache. Call it after a change that
// withdraws access made directly on the store (revoking an access key,
// changing a membership), so that it takes effect on this server at once;
// other servers notice it through Watch.
func (a *Authenticator) Invalidate() { a.cache.flush() }

// CacheLen returns the number of cached credentials (for tests and metrics).
func (a *Authenticator) CacheLen() int {
	if a.cache == nil {
		return 0
	}
	return a.cache.len()
}

// Watch reads the store's generation of authentication data every
// interval (DefaultPollInterval when 0) until ctx ends, emptying the
// credential cache when it changed. Without Watch running the cache never
// answers: every request reads the store. log receives read failures
// (once per outage); nil discards them.
func (a *Authenticator) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if a.cache == nil {
		return
	}
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		if err := a.Poll(ctx); err != nil && ctx.Err() == nil {
			if !failing {
				log.Warn("cannot read the generation of authentication data: every request reads the store", "err", err)
			}
			failing = true
		} else if failing && err == nil {
			log.Info("read the generation of authentication data again: the credential cache is back")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads the store's generation of authentication data once and
// empties the credential cache when it changed (Watch calls it).
func (a *Authenticator) Poll(ctx context.Context) error {
	if a.cache == nil {
		return nil
	}
	start := a.cache.now()
	ctx, cancel := context.WithTimeout(ctx, a.cache.maxStale)
	defer cancel()
	gen, err := a.store.AuthGeneration(ctx)
	if err != nil {
		return err
	}
	a.cache.observe(gen, start)
	return nil
}
