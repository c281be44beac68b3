package postgres

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/modelreg/modelreg"
)

// statementCounter is a pgx.QueryTracer that counts the statements sent to
// the server (BEGIN and COMMIT included): each is a round trip.
type statementCounter struct {
	mu    sync.Mutex
	sqls  []string
	count bool
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.count {
		c.sqls = append(c.sqls, d.SQL)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// measure returns the statements fn sends, after a first call of fn that
// warms the connections' statement caches.
func (c *statementCounter) measure(t *testing.T, fn func() error) []string {
	t.Helper()
	if err := fn(); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.sqls, c.count = nil, true
	c.mu.Unlock()
	err := fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count = false
	if err != nil {
		t.Fatal(err)
	}
	return c.sqls
}

func wantStatements(t *testing.T, what string, sqls []string, want int) {
	t.Helper()
	if len(sqls) != want {
		t.Errorf("%s: %d statements, want %d:", what, len(sqls), want)
		for _, s := range sqls {
			t.Logf("  %.120s", s)
		}
	}
}

// TestRoundTrips guards the statements per call of the hot paths (issue
// 18): a GET and a list page are one round trip, a delete with nothing to
// collect wakes a poll of one.
func TestRoundTrips(t *testing.T) {
	c := &statementCounter{}
	db := mustOpen(t, mustSchema(t), Options{Tracer: c, MaxConns: 1})
	ctx := context.Background()
	ids := seedModels(t, db, proj, 300)

	if mode := db.pool.Config().ConnConfig.DefaultQueryExecMode; mode != pgx.QueryExecModeCacheStatement {
		t.Errorf("DefaultQueryExecMode %v, want cache_statement (prepared once per connection)", mode)
	}
	if cfg := db.pool.Config(); cfg.MinConns < 1 || cfg.MaxConnIdleTime <= 0 {
		t.Errorf("pool keeps MinConns %d, MaxConnIdleTime %v: want idle connections kept", cfg.MinConns, cfg.MaxConnIdleTime)
	}

	wantStatements(t, "FindModelByID", c.measure(t, func() error {
		_, err := db.FindModelByID(ctx, proj, ids[0])
		return err
	}), 1)
	for _, tc := range []struct {
		name string
		f    modelreg.ModelFilter
	}{
		{"first page", modelreg.ModelFilter{ProjectID: proj, Page: modelreg.Page{Limit: 100}}},
		{"second page", modelreg.ModelFilter{ProjectID: proj, Page: modelreg.Page{Limit: 100, Offset: 1}}},
		{"name filter", modelreg.ModelFilter{ProjectID: proj, Name: "model-1", Page: modelreg.Page{Limit: 100}}},
		{"status filter", modelreg.ModelFilter{ProjectID: proj, Status: modelreg.ModelPublished, Page: modelreg.Page{Limit: 10}}},
		{"past the end", modelreg.ModelFilter{ProjectID: proj, Page: modelreg.Page{Limit: 100, Offset: 9}}},
		// A substring search is one statement at any depth: its matches
		// are collected once, then counted and paged.
		{"deep substring page", modelreg.ModelFilter{ProjectID: proj, Name: "model-", Page: modelreg.Page{Limit: 10, Offset: 101}}},
		{"description filter", modelreg.ModelFilter{ProjectID: proj, Description: "x", Page: modelreg.Page{Limit: 10}}},
	} {
		var got []*modelreg.ModelSummary
		var total int
		wantStatements(t, "FindModels "+tc.name, c.measure(t, func() (err error) {
			got, total, err = db.FindModels(ctx, tc.f)
			return err
		}), 1)
		if tc.f.Name == "" && tc.f.Description == "" && total != 300 {
			t.Errorf("FindModels %s: total %d, want 300", tc.name, total)
		}
		if tc.name == "past the end" && len(got) != 0 {
			t.Errorf("FindModels %s: %d models, want none", tc.name, len(got))
		}
	}
	// A page more than shortSkip rows deep keeps its transaction: the
	// count first, then (not here: these pages are past the 300 models)
	// the page from the nearer end.
	for _, f := range []modelreg.ModelFilter{
		{ProjectID: proj, Page: modelreg.Page{Limit: 100, Offset: 11}},
		{ProjectID: proj, Page: modelreg.Page{Limit: 10, Offset: 101}},
	} {
		var total int
		wantStatements(t, "FindModels deep page", c.measure(t, func() (err error) {
			_, total, err = db.FindModels(ctx, f)
			return err
		}), 3)
		if total != 300 {
			t.Errorf("FindModels deep page: total %d, want 300", total)
		}
	}
	wantStatements(t, "FindServices", c.measure(t, func() error {
		_, _, err := db.FindServices(ctx, modelreg.ServiceFilter{ProjectID: proj, Page: modelreg.Page{Limit: 10}})
		return err
	}), 1)
	wantStatements(t, "ClaimBlobDeletions with nothing due", c.measure(t, func() error {
		_, err := db.ClaimBlobDeletions(ctx, "collector", 0, 10)
		return err
	}), 1)
	next := 0
	del := c.measure(t, func() error {
		next++
		errs, _, err := db.DeleteModelBatch(ctx, proj, []string{ids[next]}, modelreg.DeleteOptions{})
		if err == nil && errs[0] != nil {
			err = errs[0]
		}
		return err
	})
	// BEGIN, lock the row, protection, services, its audit event with the
	// project's webhooks (the outbox) in one statement, queue its blobs,
	// DELETE, unqueue the blobs still referenced, COMMIT.
	wantStatements(t, "DeleteModelBatch of one", del, 9)
}

// TestFindModelsPaths checks that the one-statement pages and the deep
// pages read in a transaction (from the nearer end) line up: every page of
// a list, in both orders, with and without a name filter, holds the next
// models in order and the same total.
func TestFindModelsPaths(t *testing.T) {
	db := MustOpenDB(t, nil)
	ctx := context.Background()
	const n = 1250
	seedModels(t, db, proj, n)
	for _, f := range []modelreg.ModelFilter{
		{ProjectID: proj, Page: modelreg.Page{Limit: 100, Order: "desc"}},
		{ProjectID: proj, Page: modelreg.Page{Limit: 100, Order: "asc", SortBy: modelreg.ModelSortVersion}},
		{ProjectID: proj, Name: "model-", Page: modelreg.Page{Limit: 100, Order: "asc"}},
	} {
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		all, total, err := db.FindModels(ctx, modelreg.ModelFilter{ProjectID: f.ProjectID, Name: f.Name,
			Page: modelreg.Page{Limit: n, SortBy: f.SortBy, Order: f.Order}})
		if err != nil || total != n || len(all) != n {
			t.Fatalf("whole list: %d of %d, %v", len(all), total, err)
		}
		for page := 0; page*f.Limit < n+f.Limit; page++ {
			f.Offset = page
			got, total, err := db.FindModels(ctx, f)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			if total != n {
				t.Errorf("page %d: total %d, want %d", page, total, n)
			}
			want := all[min(page*f.Limit, n):min(page*f.Limit+f.Limit, n)]
			if len(got) != len(want) {
				t.Fatalf("page %d (skip %d): %d models, want %d", page, f.Skip(), len(got), len(want))
			}
			for i := range got {
				if got[i].ID != want[i].ID {
					t.Fatalf("page %d (skip %d), item %d: %s, want %s", page, f.Skip(), i, got[i].ID, want[i].ID)
				}
			}
		}
	}
}

// TestPoolSize checks the pool's default size (issue 18: 8 or the number of
// CPUs), and that the DSN's pool_max_conns and Options.MaxConns win over it.
func TestPoolSize(t *testing.T) {
	dsn := mustSchema(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	for _, c := range []struct {
		dsn  string
		opt  Options
		want int32
	}{
		{dsn, Options{}, DefaultMaxConns()},
		{dsn + sep + "pool_max_conns=3", Options{}, 3},
		{dsn + sep + "pool_max_conns=3", Options{MaxConns: 5}, 5},
	} {
		db := mustOpen(t, c.dsn, c.opt)
		if got := db.pool.Config().MaxConns; got != c.want {
			t.Errorf("%+v: MaxConns %d, want %d", c.opt, got, c.want)
		}
	}
	if DefaultMaxConns() < 8 {
		t.Errorf("DefaultMaxConns %d, want at least 8", DefaultMaxConns())
	}
}
