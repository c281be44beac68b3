package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/pgtest"
	"github.com/modelreg/modelreg/internal/postgres"
)

// wantBusy fails unless err is the 503 ModelArts.6101 of a request the
// server could not serve in time.
func wantBusy(t *testing.T, what string, err error) {
	t.Helper()
	if client.StatusCode(err) != http.StatusServiceUnavailable || modelreg.ErrorAPICode(err) != "ModelArts.6101" {
		t.Errorf("%s: %v, want 503 ModelArts.6101", what, err)
	}
}

// waitUntil polls cond until it holds, failing the test after a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRequestTimeout(t *testing.T) { eachStore(t, testRequestTimeout) }

func testRequestTimeout(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t, func(cfg *httpapi.Config) {
		cfg.Store = slowStore{cfg.Store} // FindModels waits for its context to end
		// Long enough for the calls below that must end in time, on a
		// loaded CI machine (the slow list waits for it whatever it is).
		cfg.RequestTimeout = 2 * time.Second
	})
	_, err := e.c.ListModels(ctx, modelreg.ModelFilter{})
	wantBusy(t, "a list that never ends", err)
	if msg := modelreg.ErrorMessage(err); !strings.Contains(msg, "did not complete in time") {
		t.Errorf("message %q", msg)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"msg":"request failed"`) || strings.Contains(logs, `"msg":"internal error"`) {
		t.Errorf("a timed-out request must be logged as failed (503), not as an internal error:\n%s", logs)
	}
	// Requests that end in time are not affected.
	if _, err := e.c.ImportModel(ctx, newImport("m", "1.0.0")); err != nil {
		t.Error(err)
	}
	if _, err := e.c.GetModel(ctx, "00000000-0000-4000-8000-000000000000"); modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound {
		t.Errorf("get: %v, want 404", err)
	}
}

// mustServePostgres starts a server over a PostgreSQL store opened on dsn
// with opt.
func mustServePostgres(t *testing.T, dsn string, opt postgres.Options, opts ...option) *testEnv {
	t.Helper()
	store, err := postgres.Open(context.Background(), dsn, opt)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return serve(t, store, opts...)
}

// TestReadyFollowsTheDatabase takes the database away under a running
// server, then the network, and brings each back: /readyz answers 503 while
// the database is unreachable and 200 again once it returns, the API
// answers 503 meanwhile (in time, not hanging), and the server recovers
// without a restart (pgxpool dials new connections).
func TestReadyFollowsTheDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.MustSchema(t)
	p := pgtest.StartProxy(t, pgtest.Addr(t, dsn))
	e := mustServePostgres(t, p.DSN(t, dsn), postgres.Options{QueryTimeout: 2 * time.Second, MaxConns: 4})
	ready := func() int { return e.raw(t, http.MethodGet, "/readyz", nil, nil).status }
	id := MustImportPublished(t, e, e.c, "m", "1.0.0")
	if s := ready(); s != http.StatusOK {
		t.Fatalf("readyz = %d before the outage", s)
	}
	for _, c := range []struct {
		name string
		mode pgtest.Mode
	}{{"Down", pgtest.Refuse}, {"Dark", pgtest.Blackhole}} {
		t.Run(c.name, func(t *testing.T) {
			p.Set(c.mode)
			waitUntil(t, "readyz answers 503", func() bool { return ready() == http.StatusServiceUnavailable })
			if err := e.c.Health(ctx); err != nil {
				t.Errorf("healthz must not depend on the database: %v", err)
			}
			if _, err := e.c.GetModel(ctx, id); client.StatusCode(err) != http.StatusServiceUnavailable {
				t.Errorf("get during the outage: %v, want 503", err)
			}
			p.Set(pgtest.Forward)
			waitUntil(t, "readyz answers 200", func() bool { return ready() == http.StatusOK })
			if m, err := e.c.GetModel(ctx, id); err != nil || m.Status != modelreg.ModelPublished {
				t.Errorf("get after the outage: %v", err)
			}
			if _, err := e.c.ImportModel(ctx, newImport("after-"+strings.ToLower(c.name), "1.0.0")); err != nil {
				t.Errorf("import after the outage: %v", err)
			}
		})
	}
}

// TestStatementTimeout holds a lock on the models table from another
// session (a replica stuck in a transaction, a migration) and checks that
// requests waiting for it answer 503 after the store's query timeout, and
// work again once the lock is gone.
func TestStatementTimeout(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.MustSchema(t)
	e := mustServePostgres(t, dsn, postgres.Options{QueryTimeout: time.Second})
	id := MustImportPublished(t, e, e.c, "m", "1.0.0")

	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE models IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.ListModels(ctx, modelreg.ModelFilter{})
	if client.StatusCode(err) != http.StatusServiceUnavailable || modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
		t.Errorf("list behind a lock: %v, want 503", err)
	}
	_, err = e.c.CreateService(ctx, newService("svc", id))
	if client.StatusCode(err) != http.StatusServiceUnavailable {
		t.Errorf("deploy behind a lock: %v, want 503", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ListModels(ctx, modelreg.ModelFilter{}); err != nil {
		t.Errorf("list after the lock: %v", err)
	}
	MustDeploy(t, e.c, "svc", id)
}
