package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/storetest"
)

// MustOpenDB opens a database in a temporary directory, closed when tb ends.
func MustOpenDB(tb testing.TB, now func() time.Time) *DB {
	tb.Helper()
	return mustOpenPath(tb, filepath.Join(tb.TempDir(), "data", "modelreg.db"), Options{Now: now})
}

func mustOpenPath(tb testing.TB, path string, opt Options) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path, opt)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	if t, ok := tb.(*testing.T); ok {
		checkModelCache(t, db) // not in benchmarks: it reads every hit twice
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) modelreg.Store {
		return MustOpenDB(t, now)
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()

	t.Run("Reopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a", "b", "modelreg.db")
		db, err := Open(ctx, path, Options{Synchronous: "normal"})
		if err != nil {
			t.Fatal(err)
		}
		m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: "p", Name: "n", Version: "1.0.0", Type: "Custom"}, SourceLocation: "obs://b/p"}
		if err := db.CreateModel(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := db.TrackBlob(ctx, "d1"); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		// Data survives, and migrations are not applied twice.
		db = mustOpenPath(t, path, Options{})
		got, err := db.FindModelByID(ctx, "p", m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("model after reopen (-want +got):\n%s", diff)
		}
		if n, err := db.PendingBlobDeletions(ctx); err != nil || n != 1 {
			t.Errorf("PendingBlobDeletions = %d, %v; want 1", n, err)
		}
		job, err := db.ClaimImportJob(ctx, "w", time.Minute, 0)
		if err != nil || job.ModelID != m.ID {
			t.Errorf("ClaimImportJob = %+v, %v", job, err)
		}
		files, _ := fs.Glob(migrationFS, "migrations/*.sql")
		var n int
		if err := db.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(files) || n == 0 {
			t.Errorf("%d migrations recorded, want %d", n, len(files))
		}
	})

	t.Run("Pragmas", func(t *testing.T) {
		db := MustOpenDB(t, nil)
		for _, c := range []struct {
			pool   string
			pragma string
			want   string
		}{
			{"writer", "journal_mode", "wal"},
			{"writer", "foreign_keys", "1"},
			{"writer", "synchronous", "2"}, // FULL
			{"writer", "busy_timeout", "10000"},
			{"reader", "foreign_keys", "1"},
			{"reader", "query_only", "1"},
			{"reader", "busy_timeout", "10000"},
		} {
			pool := db.writer
			if c.pool == "reader" {
				pool = db.reader
			}
			var got string
			if err := pool.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", c.pool, c.pragma, got, c.want)
			}
		}
	})

	t.Run("SynchronousNormal", func(t *testing.T) {
		db := mustOpenPath(t, filepath.Join(t.TempDir(), "x.db"), Options{Synchronous: "NORMAL"})
		var got string
		if err := db.writer.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != "1" {
			t.Errorf("synchronous = %s, want 1 (NORMAL)", got)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		dir := t.TempDir()
		for _, c := range []struct {
			path string
			opt  Options
		}{
			{"", Options{}},
			{":memory:", Options{}},
			{filepath.Join(dir, "x?mode=ro"), Options{}},
			{filepath.Join(dir, "x.db"), Options{Synchronous: "OFF"}},
		} {
			db, err := Open(ctx, c.path, c.opt)
			if err == nil {
				db.Close()
				t.Errorf("Open(%q, %+v) succeeded", c.path, c.opt)
			} else if modelreg.ErrorCode(err) != modelreg.EINVALID {
				t.Errorf("Open(%q, %+v) = %v, want EINVALID", c.path, c.opt, err)
			}
		}
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.db")
		db := mustOpenPath(t, path, Options{})
		if _, err := db.writer.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES ('9999_future.sql', 0)`); err != nil {
			t.Fatal(err)
		}
		db2, err := Open(ctx, path, Options{})
		if err == nil {
			db2.Close()
			t.Fatal("Open accepted a database migrated by a newer version")
		}
		if modelreg.ErrorCode(err) != modelreg.EINTERNAL {
			t.Errorf("err = %v, want EINTERNAL", err)
		}
	})
}

func TestIntegrityCheck(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatalf("IntegrityCheck on a fresh database: %v", err)
	}
	m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: "p", Name: "n", Version: "1.0.0"}}
	if err := db.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatalf("IntegrityCheck: %v", err)
	}
	// Break a foreign key behind the store's back.
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`PRAGMA foreign_keys = OFF`,
		`INSERT INTO model_files (model_id, path, digest, size) VALUES ('nobody', 'a', 'd', 1)`,
		`PRAGMA foreign_keys = ON`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	err = db.IntegrityCheck(ctx)
	if modelreg.ErrorCode(err) != modelreg.EINTERNAL {
		t.Fatalf("IntegrityCheck = %v, want EINTERNAL", err)
	}
}

func TestReleaseAllLeases(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	db := MustOpenDB(t, func() time.Time { return now })
	m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: "p", Name: "n", Version: "1.0.0"}}
	if err := db.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimImportJob(ctx, "dead", time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.TrackBlob(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if ds, err := db.ClaimBlobDeletions(ctx, "dead", time.Hour, 10); err != nil || len(ds) != 1 {
		t.Fatalf("ClaimBlobDeletions = %v, %v", ds, err)
	}

	if err := db.ReleaseAllLeases(ctx); err != nil {
		t.Fatal(err)
	}
	job, err := db.ClaimImportJob(ctx, "alive", time.Hour, 0)
	if err != nil || job.ModelID != m.ID || job.Attempts != 2 {
		t.Errorf("ClaimImportJob after release = %+v, %v", job, err)
	}
	if ds, err := db.ClaimBlobDeletions(ctx, "alive", time.Hour, 10); err != nil || len(ds) != 1 {
		t.Errorf("ClaimBlobDeletions after release = %v, %v", ds, err)
	}
	if err := db.RenewImportJob(ctx, m.ID, "dead", time.Hour); modelreg.ErrorCode(err) != modelreg.ENOTFOUND {
		t.Errorf("the released owner renewed: %v", err)
	}
}

// TestClaimDropsReferenced covers a queue row whose digest a model file
// references, which the Store API itself never creates.
func TestClaimDropsReferenced(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: "p", Name: "n", Version: "1.0.0"}}
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
	if _, err := db.writer.ExecContext(ctx, `INSERT INTO blob_gc (digest, enqueued_at, not_before) VALUES ('d1', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	ds, err := db.ClaimBlobDeletions(ctx, "c", time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"d2"}, ds); diff != "" {
		t.Errorf("claimed (-want +got):\n%s", diff)
	}
	if n, _ := db.PendingBlobDeletions(ctx); n != 1 {
		t.Errorf("pending = %d, want 1 (the referenced digest dropped)", n)
	}
}

// TestDeleteModelForeignKey checks that the database itself refuses to
// delete a deployed model, should the store's own check ever be bypassed.
func TestDeleteModelForeignKey(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	m := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: "p", Name: "n", Version: "1.0.0"}}
	if err := db.CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := db.writer.ExecContext(ctx, `INSERT INTO services (id, project_id, name, status, infer_type, publish_at, update_time, transition_at)
		VALUES ('s', 'p', 'svc', 'running', 'real-time', 0, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.writer.ExecContext(ctx, `INSERT INTO service_models (service_id, position, model_id) VALUES ('s', 0, ?)`, m.ID); err != nil {
		t.Fatal(err)
	}
	_, err := db.writer.ExecContext(ctx, `DELETE FROM models WHERE id = ?`, m.ID)
	if !isConstraint(err) {
		t.Fatalf("raw delete of a deployed model: %v, want a foreign key violation", err)
	}
	err = modelreg.DeleteModel(ctx, db, "p", m.ID)
	if modelreg.ErrorAPICode(err) != modelreg.CodeModelDeployed {
		t.Fatalf("DeleteModel = %v, want ModelArts.3009", err)
	}
}

func TestErrorsAreTranslated(t *testing.T) {
	db := MustOpenDB(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := db.FindModelByID(ctx, "p", "x")
	if err == nil {
		t.Fatal("FindModelByID with a cancelled context succeeded")
	}
	if _, ok := err.(*modelreg.Error); !ok {
		t.Fatalf("err = %T %v, want *modelreg.Error", err, err)
	}
	if modelreg.ErrorCode(err) != modelreg.EINTERNAL {
		t.Errorf("ErrorCode = %s, want EINTERNAL", modelreg.ErrorCode(err))
	}
	if err := modelreg.DeleteModel(ctx, db, "p", "x"); modelreg.ErrorCode(err) != modelreg.EINTERNAL {
		t.Errorf("DeleteModel with a cancelled context = %v", err)
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

func TestClosed(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := db.Ping(ctx)
	if modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
		t.Errorf("Ping after Close = %v, want EUNAVAILABLE", err)
	}
	_, err = db.FindModelByID(ctx, "p", "x")
	if _, ok := err.(*modelreg.Error); !ok || modelreg.ErrorCode(err) != modelreg.EINTERNAL {
		t.Errorf("FindModelByID after Close = %T %v, want an EINTERNAL *modelreg.Error", err, err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
