package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/pgtest"
	"github.com/modelreg/modelreg/internal/storetest"
)

// Helpers of internal/pgtest, under the names these tests use.
var (
	testDSN      = pgtest.DSN
	withParams   = pgtest.WithParams
	randomName   = pgtest.RandomName
	adminExec    = pgtest.Exec
	mustSchema   = pgtest.MustSchema
	mustDatabase = pgtest.MustDatabase
)

// MustOpenDB opens a store on a fresh schema, closed when tb ends.
func MustOpenDB(tb testing.TB, now func() time.Time) *DB {
	tb.Helper()
	return mustOpen(tb, mustSchema(tb), Options{Now: now})
}

func mustOpen(tb testing.TB, dsn string, opt Options) *DB {
	tb.Helper()
	db, err := Open(context.Background(), dsn, opt)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	testDSN(t) // skip once, not in every subtest
	storetest.Run(t, func(t *testing.T, now func() time.Time) modelreg.Store {
		return MustOpenDB(t, now)
	})
}

// exec runs a statement behind the store's back.
func (db *DB) mustExec(tb testing.TB, sql string, args ...any) {
	tb.Helper()
	if _, err := db.pool.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// newTestModel returns a minimal model for CreateModel.
func newTestModel(project, name, version string) *modelreg.Model {
	return &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: project, Name: name, Version: version, Type: "Custom"},
		SourceLocation: "obs://b/" + name}
}

// TestDeleteModelForeignKey checks that the database itself refuses to
// delete a deployed model, should the store's own check ever be bypassed.
func TestDeleteModelForeignKey(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	m := newTestModel("p", "n", "1.0.0")
	if err := db.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	db.mustExec(t, `INSERT INTO services (id, project_id, name, status, infer_type, publish_at, update_time, transition_at)
		VALUES ('s', 'p', 'svc', 'running', 'real-time', 0, 0, 0)`)
	db.mustExec(t, `INSERT INTO service_models (service_id, position, model_id) VALUES ('s', 0, $1)`, m.ID)
	_, err := db.pool.Exec(ctx, `DELETE FROM models WHERE id = $1`, m.ID)
	if pgError(err, foreignKeyViolation) == nil {
		t.Fatalf("raw delete of a deployed model: %v, want a foreign key violation", err)
	}
	if err := modelreg.DeleteModel(ctx, db, "p", m.ID); modelreg.ErrorAPICode(err) != modelreg.CodeModelDeployed {
		t.Fatalf("DeleteModel = %v, want ModelArts.3009", err)
	}
	// And a config naming a missing model fails on the foreign key too.
	_, err = db.pool.Exec(ctx, `INSERT INTO service_models (service_id, position, model_id) VALUES ('s', 1, 'nobody')`)
	if pgError(err, foreignKeyViolation) == nil {
		t.Fatalf("raw insert of a config naming no model: %v, want a foreign key violation", err)
	}
}

// TestClaimDropsReferenced covers a queue row whose digest a model file
// references, which the Store API itself never leaves behind.
func TestClaimDropsReferenced(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	m := newTestModel("p", "n", "1.0.0")
	if err := db.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimImportJob(ctx, "w", time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.AttachModelFile(ctx, m.ID, "w", modelreg.ModelFile{Path: "a", Digest: "d1", Size: 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.TrackBlob(ctx, "d2"); err != nil {
		t.Fatal(err)
	}
	db.mustExec(t, `INSERT INTO blob_gc (digest, enqueued_at, not_before) VALUES ('d1', 0, 0)`)
	ds, err := db.ClaimBlobDeletions(ctx, "c", time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	// d1 comes first (not_before 0), is dropped, and the claim goes on to d2.
	if len(ds) != 1 || ds[0] != "d2" {
		t.Errorf("claimed %v, want [d2]", ds)
	}
	if n, _ := db.PendingBlobDeletions(ctx); n != 1 {
		t.Errorf("pending = %d, want 1 (the referenced digest dropped)", n)
	}
}

func TestLikePattern(t *testing.T) {
	for in, want := range map[string]string{
		"abc":   "%abc%",
		"a_b":   `%a\_b%`,
		"50%":   `%50\%%`,
		`a\b`:   `%a\\b%`,
		`\%_\_`: `%\\\%\_\\\_%`,
	} {
		if got := likePattern(in); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCaseFolding pins down that substring filters fold ASCII letters only,
// like SQLite's LIKE, whatever the database's locale.
func TestCaseFolding(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	for i, desc := range []string{"ÉCOLE", "école", "Ecole"} {
		m := newTestModel("p", "m", "1.0."+string(rune('0'+i)))
		m.Description = desc
		if err := db.CreateModel(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{"école": 1, "ÉCOLE": 1, "cole": 3, "ECOLE": 1, "COLE": 3} {
		_, n, err := db.FindModels(ctx, modelreg.ModelFilter{ProjectID: "p", Description: q, Page: modelreg.Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("description %q matches %d, want %d", q, n, want)
		}
	}
}

func TestMemory(t *testing.T) {
	db := MustOpenDB(t, nil)
	m, err := db.Memory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.SharedBuffers <= 0 || m.HotIndexes <= 0 {
		t.Errorf("Memory = %+v, want positive sizes", m)
	}
	for _, tt := range []struct {
		m    Memory
		warn bool
	}{
		{Memory{SharedBuffers: 128 << 20, HotIndexes: 1 << 20}, false},
		{Memory{SharedBuffers: 128 << 20, HotIndexes: 256 << 20}, false},
		{Memory{SharedBuffers: 128 << 20, HotIndexes: 257 << 20}, true},
		{Memory{SharedBuffers: 128 << 20, HotIndexes: 0}, false},
	} {
		if got := tt.m.Warning(); (got != "") != tt.warn {
			t.Errorf("%+v: Warning() = %q, want a warning: %v", tt.m, got, tt.warn)
		}
	}
}
