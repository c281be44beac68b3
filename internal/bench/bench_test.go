package bench_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/bench"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/sqlite"
)

const project = "0123456789abcdef0123456789abcdef"

// TestRun runs every workload and limit briefly against a real server and
// checks that each did work without errors. It measures nothing.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "db.sqlite")
	store, err := sqlite.Open(context.Background(), dbPath, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Config{Store: store}))
	defer srv.Close()
	c, err := client.New(srv.URL, project)
	if err != nil {
		t.Fatal(err)
	}
	// A second server on the same database, with the trash on.
	trashSrv := httptest.NewServer(httpapi.NewServer(httpapi.Config{Store: store, TrashRetention: time.Hour}))
	defer trashSrv.Close()
	tc, err := client.New(trashSrv.URL, project)
	if err != nil {
		t.Fatal(err)
	}
	importDir := filepath.Join(dir, "import")
	if err := bench.EnsureImportDir(importDir); err != nil {
		t.Fatal(err)
	}
	var seen []string
	results, err := bench.Run(context.Background(), bench.Config{
		// Short: an op in flight when a window closes still counts, so
		// every workload counts some however loaded the machine.
		Client: c, TrashClient: tc, Models: 3000, Duration: 1500 * time.Millisecond, Concurrency: 3,
		Limits: true, Database: dbPath, Synchronous: "NORMAL", ImportDir: importDir, Seed: 1,
		ImportWait: -1, // no importer runs here: the imports stay publishing
		OnResult:   func(r bench.Result) { seen = append(seen, r.Workload) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(results) {
		t.Errorf("OnResult saw %d results, Run returned %d", len(seen), len(results))
	}
	want := []string{"seed", "limit-http-bare", "limit-http", "show", "limit-store-read", "list-first-page sort_by=create_at",
		"list-first-page model_name substring", "list-first-page description substring", "list-deep-page",
		"list-deep-page marker", "limit-store-delete", "limit-store-delete-trash", "delete", "delete-trash", "delete-cascade", "import", "mixed"}
	byName := map[string]bench.Result{}
	for _, r := range results {
		byName[r.Workload] = r
	}
	for _, w := range want {
		r, ok := byName[w]
		if !ok {
			t.Errorf("no result for %s", w)
			continue
		}
		if r.Ops == 0 || r.Errors != 0 || r.OpsPerSec <= 0 || r.P99ms < r.P50ms {
			t.Errorf("%s: %+v", w, r)
		}
	}
	// Every counted op of delete-trash and limit-store-delete-trash put a
	// model in the trash.
	if tl, err := tc.ListTrash(context.Background(), "", 1, 0); err != nil || tl.TotalCount < int(byName["delete-trash"].Ops+byName["limit-store-delete-trash"].Ops) {
		t.Errorf("trash holds %+v (%v), want every model of delete-trash and limit-store-delete-trash", tl, err)
	}
	if r := byName["seed"]; r.Ops != 3000 {
		t.Errorf("seeded %d models, want 3000", r.Ops)
	}
	var table strings.Builder
	if err := bench.Table(&table, results); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "list-deep-page marker") {
		t.Errorf("table:\n%s", table.String())
	}
	var js strings.Builder
	if err := bench.JSON(&js, results[0]); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"workload":"seed"`, `"ops":3000`, `"ops_per_sec":`, `"p50_ms":`, `"p99_ms":`, `"errors":0`} {
		if !strings.Contains(js.String(), k) {
			t.Errorf("JSON %s lacks %s", js.String(), k)
		}
	}
}
