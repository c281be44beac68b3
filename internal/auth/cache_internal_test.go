package auth

import (
	"testing"
	"time"
)

// TestCredCacheLoadRacingFlush checks that an entry loaded before a flush
// (a revocation, here or noticed through the generation) is not added.
func TestCredCacheLoadRacingFlush(t *testing.T) {
	c := newCredCache(10, time.Hour)
	c.observe(1, time.Now())
	e := &cached{key: "ak:A"}

	v := c.begin()
	c.flush()
	c.put(v, e)
	if _, ok := c.get(e.key); ok {
		t.Error("an entry loaded before a local flush was added")
	}

	v = c.begin()
	c.observe(2, time.Now()) // another replica revoked something
	c.put(v, e)
	if _, ok := c.get(e.key); ok {
		t.Error("an entry loaded before a new generation was added")
	}

	v = c.begin()
	c.observe(2, time.Now()) // nothing changed
	c.put(v, e)
	if _, ok := c.get(e.key); !ok {
		t.Error("an entry was not added")
	}
	c.observe(3, time.Now())
	if _, ok := c.get(e.key); ok || c.len() != 0 {
		t.Error("a new generation did not empty the cache")
	}
}

// TestCredCacheNeedsFreshGeneration checks that the cache answers only
// while the generation was read less than maxStale ago, and never before
// the first read.
func TestCredCacheNeedsFreshGeneration(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newCredCache(10, time.Second)
	c.now = func() time.Time { return now }
	e := &cached{key: "ak:A"}
	c.put(c.begin(), e)
	if _, ok := c.get(e.key); ok {
		t.Error("answered before the generation was ever read")
	}
	c.observe(5, now)
	c.put(c.begin(), e)
	now = now.Add(time.Second)
	if _, ok := c.get(e.key); !ok {
		t.Error("no answer at the bound")
	}
	now = now.Add(time.Millisecond)
	if _, ok := c.get(e.key); ok {
		t.Error("answered past the bound")
	}
	c.observe(5, now.Add(-2*time.Second)) // a slow read that began long ago
	if _, ok := c.get(e.key); ok {
		t.Error("a read that began before the last one made it fresh")
	}
	c.observe(5, now)
	if _, ok := c.get(e.key); !ok {
		t.Error("an unchanged generation emptied the cache")
	}
}
