package auth

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimiterConfig sets how many failed authentications a client may make.
// Each client address and each key (an access key, a user) has a bucket of
// Burst failures that refills at Rate per second. Only failures drain a
// bucket, and only a request that fails is refused because of one (429
// instead of 401): a request whose credential verifies always passes. The
// exception is a password, which can be guessed: a password attempt is not
// even checked while its user's or its address's bucket is empty, unless
// the address authenticated as that user before (within KnownTTL) and the
// bucket of that pair has room.
type LimiterConfig struct {
	AddrRate  rate.Limit // failures per second refilled per client address
	AddrBurst int        // failures a client address may make at once
	KeyRate   rate.Limit // failures per second refilled per key (and per known address of a key)
	KeyBurst  int        // failures one key may suffer at once
	// KnownTTL is how long an address that authenticated as a user stays
	// known for that user; 0 means DefaultKnownTTL.
	KnownTTL time.Duration
	// MaxEntries bounds the buckets (and known addresses) kept in memory
	// per kind; full buckets are dropped first, and past the bound new
	// keys are not tracked (addresses still are).
	MaxEntries int
}

// DefaultKnownTTL is how long an address stays known for a user it
// authenticated as.
const DefaultKnownTTL = 24 * time.Hour

// DefaultLimiterConfig allows 20 failures at once per address, then one
// every 3 s, and 10 per key, then one every 6 s.
func DefaultLimiterConfig() LimiterConfig {
	return LimiterConfig{
		AddrRate: rate.Every(3 * time.Second), AddrBurst: 20,
		KeyRate: rate.Every(6 * time.Second), KeyBurst: 10,
		KnownTTL: DefaultKnownTTL, MaxEntries: 100_000,
	}
}

// Limiter slows down clients that keep failing to authenticate. It is safe
// for concurrent use; its state is per process.
type Limiter struct {
	cfg   LimiterConfig
	mu    sync.Mutex
	addr  buckets
	key   buckets
	pair  buckets              // key + "\x00" + addr, for known pairs only
	known map[string]time.Time // key + "\x00" + addr → last success
	swept time.Time            // last sweep of known
}

// buckets are the rate limiters of one kind, by name.
type buckets struct {
	m     map[string]*rate.Limiter
	swept time.Time // last sweep, so a full map is swept at most once a second
}

// NewLimiter returns a limiter with cfg.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultLimiterConfig().MaxEntries
	}
	if cfg.KnownTTL <= 0 {
		cfg.KnownTTL = DefaultKnownTTL
	}
	return &Limiter{cfg: cfg, addr: buckets{m: map[string]*rate.Limiter{}}, key: buckets{m: map[string]*rate.Limiter{}},
		pair: buckets{m: map[string]*rate.Limiter{}}, known: map[string]time.Time{}}
}

// Wait returns how long a client at addr must wait before it may try to
// authenticate as key ("" for none) at now: 0 when it may try now.
func (l *Limiter) Wait(now time.Time, addr, key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := wait(l.addr.m[addr], now, l.cfg.AddrRate)
	if key != "" {
		w = max(w, wait(l.key.m[key], now, l.cfg.KeyRate))
	}
	return w
}

func wait(lim *rate.Limiter, now time.Time, r rate.Limit) time.Duration {
	if lim == nil {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	if r <= 0 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration((1 - tokens) / float64(r) * float64(time.Second))
}

// Fail records a failed authentication from addr as key ("" for none).
func (l *Limiter) Fail(now time.Time, addr, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.take(&l.addr, now, addr, l.cfg.AddrRate, l.cfg.AddrBurst, true)
	if key != "" {
		l.take(&l.key, now, key, l.cfg.KeyRate, l.cfg.KeyBurst, false)
		if l.isKnown(now, addr, key) {
			l.take(&l.pair, now, key+"\x00"+addr, l.cfg.KeyRate, l.cfg.KeyBurst, false)
		}
	}
}

// Succeed records that a client at addr authenticated as key: the address
// is then known for key (WaitGuess).
func (l *Limiter) Succeed(now time.Time, addr, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := key + "\x00" + addr
	if _, ok := l.known[name]; !ok && len(l.known) >= l.cfg.MaxEntries {
		if now.Sub(l.swept) >= time.Second {
			l.swept = now
			for k, t := range l.known {
				if now.Sub(t) >= l.cfg.KnownTTL {
					delete(l.known, k)
				}
			}
		}
		if len(l.known) >= l.cfg.MaxEntries {
			return
		}
	}
	l.known[name] = now
}

// WaitGuess is Wait for an attempt to guess a secret (a password), which
// is refused unchecked while it must wait: it returns 0 when the buckets
// of addr and key have room, or when addr is known for key and the bucket
// of the pair has room.
func (l *Limiter) WaitGuess(now time.Time, addr, key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := max(wait(l.addr.m[addr], now, l.cfg.AddrRate), wait(l.key.m[key], now, l.cfg.KeyRate))
	if w > 0 && l.isKnown(now, addr, key) && wait(l.pair.m[key+"\x00"+addr], now, l.cfg.KeyRate) == 0 {
		return 0
	}
	return w
}

// isKnown reports whether addr authenticated as key within KnownTTL.
func (l *Limiter) isKnown(now time.Time, addr, key string) bool {
	t, ok := l.known[key+"\x00"+addr]
	return ok && now.Sub(t) < l.cfg.KnownTTL
}

// take removes one token from the bucket of name, creating it when needed.
// A full set is swept first; an address is tracked even past the bound
// (always), a key is not.
func (l *Limiter) take(b *buckets, now time.Time, name string, r rate.Limit, burst int, always bool) {
	lim := b.m[name]
	if lim == nil {
		if len(b.m) >= l.cfg.MaxEntries && now.Sub(b.swept) >= time.Second {
			b.sweep(now, burst)
		}
		if len(b.m) >= l.cfg.MaxEntries && !always {
			return
		}
		lim = rate.NewLimiter(r, burst)
		b.m[name] = lim
	}
	lim.AllowN(now, 1)
}

// sweep drops the buckets that have refilled: they hold no memory of
// failures.
func (b *buckets) sweep(now time.Time, burst int) {
	b.swept = now
	for k, lim := range b.m {
		if lim.TokensAt(now) >= float64(burst) {
			delete(b.m, k)
		}
	}
}

// retryAfter is the error detail of a refused attempt; httpapi turns it
// into a Retry-After header.
type retryAfter struct{ d time.Duration }

func (e *retryAfter) Error() string { return "too many failed authentications" }

// RetryAfter returns how long the client should wait.
func (e *retryAfter) RetryAfter() time.Duration { return e.d }
