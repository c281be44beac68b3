package auth_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/sqlite"
)

const (
	cacheProjA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	cacheProjB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// countingStore counts the reads that authenticate a request.
type countingStore struct {
	modelreg.AuthStore
	reads atomic.Int64
}

func (s *countingStore) FindCredential(ctx context.Context, ak string) (*modelreg.Credential, error) {
	s.reads.Add(1)
	return s.AuthStore.FindCredential(ctx, ak)
}

func (s *countingStore) FindUserByID(ctx context.Context, id string) (*modelreg.User, error) {
	s.reads.Add(1)
	return s.AuthStore.FindUserByID(ctx, id)
}

func (s *countingStore) FindToken(ctx context.Context, hash string) (*modelreg.Token, error) {
	s.reads.Add(1)
	return s.AuthStore.FindToken(ctx, hash)
}

// cacheEnv is one store and a user (a member of project A) with an access
// key and a token.
type cacheEnv struct {
	t     testing.TB
	ctx   context.Context
	store *sqlite.DB
	keys  *auth.Keyring
	user  *modelreg.User
	sig   *auth.Signer
	token string
}

func newCacheEnv(t testing.TB) *cacheEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := auth.NewKeyring(bytes.Repeat([]byte{7}, auth.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	e := &cacheEnv{t: t, ctx: ctx, store: db, keys: keys}
	for _, p := range []*modelreg.Project{{ID: cacheProjA, Name: "a"}, {ID: cacheProjB, Name: "b"}} {
		must(t, db.CreateProject(ctx, p))
	}
	e.user = &modelreg.User{Name: "alice", ProjectIDs: []string{cacheProjA}}
	must(t, db.CreateUser(ctx, e.user))
	e.sig = e.newKey()
	token, hash := auth.NewToken()
	now := time.Now()
	must(t, db.CreateToken(ctx, &modelreg.Token{Hash: hash, UserID: e.user.ID, ProjectID: cacheProjA, Method: modelreg.MethodPassword,
		IssuedAt: modelreg.Millis(now), ExpiresAt: modelreg.Millis(now.Add(time.Hour))}))
	e.token = token
	return e
}

// newKey creates an access key of the user and returns its signer.
func (e *cacheEnv) newKey() *auth.Signer {
	e.t.Helper()
	ak, sk := auth.NewAccessKey(), auth.NewSecretKey()
	must(e.t, e.store.CreateCredential(e.ctx, &modelreg.Credential{AccessKey: ak, UserID: e.user.ID, SecretEnc: e.keys.Seal(ak, sk)}))
	return &auth.Signer{AccessKey: ak, SecretKey: sk}
}

// newAuth returns an authenticator over store (a replica of its own) with
// the cache fresh.
func (e *cacheEnv) newAuth(store modelreg.AuthStore, cfg auth.Config) *auth.Authenticator {
	e.t.Helper()
	cfg.Store, cfg.Keyring, cfg.PasswordIterations = store, e.keys, 1000
	a, err := auth.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	must(e.t, a.Poll(e.ctx))
	return a
}

// signed authenticates a request signed by s.
func signed(t *testing.T, a *auth.Authenticator, s *auth.Signer) (*modelreg.Principal, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://modelreg.test/v1/"+cacheProjA+"/models", nil)
	must(t, s.Sign(r, nil))
	return a.Authenticate(r, 1<<20)
}

// withToken authenticates a request carrying token.
func withToken(a *auth.Authenticator, token string) (*modelreg.Principal, error) {
	r := httptest.NewRequest(http.MethodGet, "http://modelreg.test/v1/"+cacheProjA+"/models", nil)
	r.Header.Set(auth.HeaderAuthToken, token)
	return a.Authenticate(r, 1<<20)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantRefused fails unless err is a 401 with code.
func wantRefused(t *testing.T, what string, err error, code string) {
	t.Helper()
	if modelreg.ErrorCode(err) != modelreg.EUNAUTHORIZED || modelreg.ErrorAPICode(err) != code {
		t.Errorf("%s: err = %v, want 401 %s", what, err, code)
	}
}

func TestCacheKnownCredentialReadsNoStore(t *testing.T) {
	e := newCacheEnv(t)
	cs := &countingStore{AuthStore: e.store}
	a := e.newAuth(cs, auth.Config{})
	first, err := signed(t, a, e.sig)
	must(t, err)
	if _, err := withToken(a, e.token); err != nil {
		t.Fatal(err)
	}
	before := cs.reads.Load()
	if before == 0 {
		t.Fatal("the first requests read nothing")
	}
	for range 3 {
		p, err := signed(t, a, e.sig)
		must(t, err)
		if p.UserID != e.user.ID || p.Method != modelreg.MethodAKSK || p.AccessKey != e.sig.AccessKey || !slices.Equal(p.ProjectIDs, first.ProjectIDs) {
			t.Errorf("cached principal %+v, first %+v", p, first)
		}
		p, err = withToken(a, e.token)
		must(t, err)
		if p.Method != modelreg.MethodToken || p.Scope != cacheProjA || !slices.Equal(p.ProjectIDs, []string{cacheProjA}) {
			t.Errorf("cached token principal %+v", p)
		}
	}
	if got := cs.reads.Load(); got != before {
		t.Errorf("known credentials read the store %d more times", got-before)
	}

	// A wrong signature with a cached key is still refused, and counted.
	bad := &auth.Signer{AccessKey: e.sig.AccessKey, SecretKey: auth.NewSecretKey()}
	_, err = signed(t, a, bad)
	wantRefused(t, "wrong secret of a cached key", err, modelreg.CodeAuthCheckFailed)
}

func TestCacheDisabledReadsStore(t *testing.T) {
	e := newCacheEnv(t)
	cs := &countingStore{AuthStore: e.store}
	a := e.newAuth(cs, auth.Config{CacheSize: -1})
	_, err := signed(t, a, e.sig)
	must(t, err)
	before := cs.reads.Load()
	_, err = signed(t, a, e.sig)
	must(t, err)
	if cs.reads.Load() == before {
		t.Error("a disabled cache answered")
	}
}

// TestCacheRevocation revokes on "replica" A (its own authenticator over the
// same store): refused on A at once, on B after its next poll.
func TestCacheRevocation(t *testing.T) {
	e := newCacheEnv(t)
	a, b := e.newAuth(e.store, auth.Config{}), e.newAuth(e.store, auth.Config{})
	for _, x := range []*auth.Authenticator{a, b} {
		_, err := signed(t, x, e.sig)
		must(t, err)
		_, err = withToken(x, e.token)
		must(t, err)
	}

	must(t, e.store.RevokeCredential(e.ctx, e.sig.AccessKey))
	a.Invalidate() // what the HTTP handler does after revoking
	_, err := signed(t, a, e.sig)
	wantRefused(t, "revoked key on the replica that revoked it", err, modelreg.CodeAKSKInvalid)
	must(t, b.Poll(e.ctx))
	_, err = signed(t, b, e.sig)
	wantRefused(t, "revoked key on another replica after a poll", err, modelreg.CodeAKSKInvalid)

	must(t, a.RevokeToken(e.ctx, &modelreg.Principal{UserID: e.user.ID}, e.token))
	_, err = withToken(a, e.token)
	wantRefused(t, "revoked token on the replica that revoked it", err, modelreg.CodeTokenInvalid)
	must(t, b.Poll(e.ctx))
	_, err = withToken(b, e.token)
	wantRefused(t, "revoked token on another replica after a poll", err, modelreg.CodeTokenInvalid)

	// A membership change reaches the cached principal of another key.
	sig := e.newKey()
	p, err := signed(t, b, sig)
	must(t, err)
	if !slices.Equal(p.ProjectIDs, []string{cacheProjA}) {
		t.Fatalf("projects %v", p.ProjectIDs)
	}
	must(t, e.store.GrantProject(e.ctx, e.user.ID, cacheProjB))
	must(t, b.Poll(e.ctx))
	p, err = signed(t, b, sig)
	must(t, err)
	if !slices.Equal(p.ProjectIDs, []string{cacheProjA, cacheProjB}) {
		t.Errorf("after a grant and a poll: projects %v", p.ProjectIDs)
	}
}

// TestCacheNeverServesPastBound revokes a key on the store behind the back
// of a replica that does not poll: once MaxStale has passed since its last
// poll began, the cached key is refused.
func TestCacheNeverServesPastBound(t *testing.T) {
	e := newCacheEnv(t)
	const maxStale = 100 * time.Millisecond
	cs := &countingStore{AuthStore: e.store}
	b := e.newAuth(cs, auth.Config{MaxStale: maxStale})
	polled := time.Now() // after the poll began
	_, err := signed(t, b, e.sig)
	must(t, err)
	_, err = withToken(b, e.token)
	must(t, err)

	must(t, e.store.RevokeCredential(e.ctx, e.sig.AccessKey))
	must(t, e.store.DeleteToken(e.ctx, auth.HashToken(e.token)))
	time.Sleep(maxStale - time.Since(polled) + 10*time.Millisecond)
	_, err = signed(t, b, e.sig)
	wantRefused(t, "revoked key past the bound", err, modelreg.CodeAKSKInvalid)
	_, err = withToken(b, e.token)
	wantRefused(t, "revoked token past the bound", err, modelreg.CodeTokenInvalid)
}

// TestCacheWatch revokes a key and waits for a watching replica to refuse
// it.
func TestCacheWatch(t *testing.T) {
	e := newCacheEnv(t)
	b := e.newAuth(e.store, auth.Config{})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); b.Watch(ctx, 10*time.Millisecond, nil) }()
	defer func() { cancel(); <-done }()
	_, err := signed(t, b, e.sig)
	must(t, err)
	if b.CacheLen() == 0 {
		t.Fatal("the verified key was not cached")
	}
	must(t, e.store.RevokeCredential(e.ctx, e.sig.AccessKey))
	revoked := time.Now()
	deadline := revoked.Add(10 * time.Second) // generous: the machine may be loaded
	for {
		_, err = signed(t, b, e.sig)
		if err != nil {
			wantRefused(t, "revoked key", err, modelreg.CodeAKSKInvalid)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the revoked key still authenticates")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("refused %v after the revocation", time.Since(revoked))
}

func TestCacheSizeBound(t *testing.T) {
	e := newCacheEnv(t)
	cs := &countingStore{AuthStore: e.store}
	a := e.newAuth(cs, auth.Config{CacheSize: 3})
	var sigs []*auth.Signer
	for range 6 {
		sigs = append(sigs, e.newKey())
	}
	for range 2 {
		for _, s := range sigs {
			_, err := signed(t, a, s)
			must(t, err)
			if n := a.CacheLen(); n > 3 {
				t.Fatalf("%d cached credentials, the bound is 3", n)
			}
		}
	}
	// The most recently used stay: signing again with the last reads nothing.
	before := cs.reads.Load()
	_, err := signed(t, a, sigs[len(sigs)-1])
	must(t, err)
	if cs.reads.Load() != before {
		t.Error("the most recently used key was evicted")
	}
}

// BenchmarkSign is the load generator's cost of signing one request (as
// client.WithSigner does for every request of modelreg bench): its rate
// alone, on one core, against the server's rate of limit-http, says
// whether signing limits the bench.
func BenchmarkSign(b *testing.B) {
	s := &auth.Signer{AccessKey: auth.NewAccessKey(), SecretKey: auth.NewSecretKey()}
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/modelreg/v1/ping", nil)
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", "modelreg-client")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Sign(r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate is the server's cost of verifying a signed request
// with the credential cache (a known key: an HMAC) and without it (two
// store reads and an unseal).
func BenchmarkAuthenticate(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newCacheEnv(b)
			a := e.newAuth(e.store, auth.Config{CacheSize: bc.size, MaxStale: time.Hour})
			r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/modelreg/v1/ping", nil)
			if err := e.sig.Sign(r, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(r, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
