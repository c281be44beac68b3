package postgres

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelreg/modelreg"
)

func mustMigrationNames(t *testing.T) []string {
	t.Helper()
	names, err := migrationNames()
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v, %v", names, err)
	}
	return names
}

func TestMigrate(t *testing.T) {
	testDSN(t) // skip once, not in every subtest
	ctx := context.Background()
	names := mustMigrationNames(t)

	t.Run("ConcurrentOpen", func(t *testing.T) {
		// Replicas starting at the same moment on one empty database.
		dsn, _ := mustDatabase(t)
		const n = 8
		dbs := make([]*DB, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { dbs[i], errs[i] = Open(ctx, dsn, Options{MaxConns: 2}) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				continue
			}
			defer dbs[i].Close()
		}
		states, err := MigrationStatus(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != len(names) {
			t.Fatalf("%d migrations recorded, want %d: %+v", len(states), len(names), states)
		}
		for i, st := range states {
			if st.Name != names[i] || !st.Applied || st.AppliedAt.IsZero() {
				t.Errorf("state %d = %+v, want %s applied", i, st, names[i])
			}
		}
		// Every replica works on the same schema.
		for i, db := range dbs {
			if db == nil {
				continue
			}
			m := newTestModel("p", "m", "1.0."+string(rune('0'+i)))
			if err := db.CreateModel(ctx, m); err != nil {
				t.Errorf("replica %d: CreateModel: %v", i, err)
			}
		}
	})

	t.Run("ConcurrentMigrate", func(t *testing.T) {
		dsn, _ := mustDatabase(t)
		const n = 8
		applied := make([][]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { applied[i], errs[i] = Migrate(ctx, dsn) })
		}
		wg.Wait()
		var all []string
		for i := range n {
			if errs[i] != nil {
				t.Errorf("Migrate %d: %v", i, errs[i])
			}
			all = append(all, applied[i]...)
		}
		// Each migration applied once, by one of them, in order.
		slices.Sort(all)
		if !slices.Equal(all, names) {
			t.Errorf("applied %v in all, want each of %v once", all, names)
		}
		for i := range n {
			if len(applied[i]) != 0 && !slices.Equal(applied[i], names) {
				t.Errorf("Migrate %d applied %v: the first run should apply all", i, applied[i])
			}
		}
	})

	t.Run("Status", func(t *testing.T) {
		dsn, _ := mustDatabase(t)
		states, err := MigrationStatus(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var want []MigrationState
		for _, name := range names {
			want = append(want, MigrationState{Name: name, Known: true})
		}
		if !slices.Equal(states, want) {
			t.Errorf("status of an empty database = %+v, want %+v", states, want)
		}
		applied, err := Migrate(ctx, dsn)
		if err != nil || !slices.Equal(applied, names) {
			t.Fatalf("Migrate = %v, %v; want %v", applied, err, names)
		}
		applied, err = Migrate(ctx, dsn)
		if err != nil || len(applied) != 0 || applied == nil {
			t.Fatalf("second Migrate = %#v, %v; want an empty list", applied, err)
		}
		states, err = MigrationStatus(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		for i, st := range states {
			if st.Name != names[i] || !st.Known || !st.Applied || time.Since(st.AppliedAt) > time.Hour || st.AppliedAt.Location() != time.UTC {
				t.Errorf("state %d = %+v", i, st)
			}
		}
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		dsn := mustSchema(t)
		db := mustOpen(t, dsn, Options{})
		db.mustExec(t, `INSERT INTO `+migrationTable+` (name, applied_at) VALUES ('9999_future.sql', 0)`)
		db2, err := Open(ctx, dsn, Options{})
		if err == nil {
			db2.Close()
			t.Fatal("Open accepted a database migrated by a newer version")
		}
		if modelreg.ErrorCode(err) != modelreg.EINTERNAL {
			t.Errorf("err = %v, want EINTERNAL", err)
		}
		if _, err := Migrate(ctx, dsn); modelreg.ErrorCode(err) != modelreg.EINTERNAL {
			t.Errorf("Migrate = %v, want EINTERNAL", err)
		}
		states, err := MigrationStatus(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if last := states[len(states)-1]; last.Name != "9999_future.sql" || !last.Applied || last.Known {
			t.Errorf("last state = %+v, want the unknown migration, applied", last)
		}
	})

	t.Run("UpToDateNeedsNoLock", func(t *testing.T) {
		// A migrated database opens without the session-level migration
		// lock (which a pooler in transaction mode would not keep): here,
		// while another session holds it.
		dsn := mustSchema(t)
		mustOpen(t, dsn, Options{})
		holder, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close(ctx)
		if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
			t.Fatal(err)
		}
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		db, err := Open(octx, dsn, Options{})
		if err != nil {
			t.Fatalf("Open of a migrated database waited for the migration lock: %v", err)
		}
		db.Close()
		if applied, err := Migrate(octx, dsn); err != nil || len(applied) != 0 {
			t.Fatalf("Migrate = %v, %v", applied, err)
		}
	})

	t.Run("Trigram", func(t *testing.T) {
		dsn, _ := mustDatabase(t)
		db := mustOpen(t, dsn, Options{})
		var available bool
		if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')`).Scan(&available); err != nil {
			t.Fatal(err)
		}
		if n := trigramIndexes(t, db); available && n != 3 || !available && n != 0 {
			t.Errorf("%d trigram indexes (pg_trgm available: %t)", n, available)
		}
		if !available {
			return
		}
		// The substring filter uses them once the project is large enough
		// for the planner to prefer them; here, only check it is correct.
		_, n, err := db.FindModels(ctx, modelreg.ModelFilter{ProjectID: "p", Name: "x", Page: modelreg.Page{Limit: 10}})
		if err != nil || n != 0 {
			t.Errorf("FindModels = %d, %v", n, err)
		}
	})

	t.Run("TrigramUnavailable", func(t *testing.T) {
		// A role that may create tables but not extensions: the migration
		// succeeds without the trigram indexes.
		admin := testDSN(t)
		dsn, _ := mustDatabase(t)
		role := randomName("mr_role_")
		adminExec(t, admin, `CREATE ROLE `+role+` LOGIN`)
		t.Cleanup(func() { adminExec(t, admin, `DROP ROLE `+role) })
		adminExec(t, dsn, `CREATE SCHEMA app AUTHORIZATION `+role)
		t.Cleanup(func() { adminExec(t, dsn, `DROP SCHEMA app CASCADE`) })
		// Cleanups run last first: the store is closed, then the schema and
		// the role are dropped, then the database.
		var logged strings.Builder
		log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
		db := mustOpen(t, withParams(t, dsn, "user", role, "search_path", "app"), Options{Logger: log})
		if n := trigramIndexes(t, db); n != 0 {
			t.Errorf("%d trigram indexes without the right to create pg_trgm", n)
		}
		if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "no trigram indexes") {
			t.Errorf("no warning about the missing indexes in the log:\n%s", logged.String())
		}
		states, err := MigrationStatus(ctx, withParams(t, dsn, "user", role, "search_path", "app"))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range states {
			if !st.Applied {
				t.Errorf("migration %s not applied", st.Name)
			}
		}
		_, n, err := db.FindModels(ctx, modelreg.ModelFilter{ProjectID: "p", Name: "x", Page: modelreg.Page{Limit: 10}})
		if err != nil || n != 0 {
			t.Errorf("FindModels = %d, %v", n, err)
		}
	})

	t.Run("TrigramInOtherSchema", func(t *testing.T) {
		// A DBA installed pg_trgm in a schema of its own, off the
		// search_path: the indexes use it from there.
		dsn, _ := mustDatabase(t)
		adminExec(t, dsn, `CREATE SCHEMA ext`, `CREATE EXTENSION pg_trgm WITH SCHEMA ext`)
		db := mustOpen(t, dsn, Options{})
		if n := trigramIndexes(t, db); n != 3 {
			t.Errorf("%d trigram indexes, want 3", n)
		}
	})

	t.Run("Reopen", func(t *testing.T) {
		dsn := mustSchema(t)
		db, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := newTestModel("p", "n", "1.0.0")
		if err := db.CreateModel(ctx, m); err != nil {
			t.Fatal(err)
		}
		db.Close()
		db = mustOpen(t, dsn, Options{})
		got, err := db.FindModelByID(ctx, "p", m.ID)
		if err != nil || got.ID != m.ID || got.UpdateAt != m.UpdateAt {
			t.Fatalf("after reopen: %+v, %v", got, err)
		}
		if applied, err := Migrate(ctx, dsn); err != nil || len(applied) != 0 {
			t.Errorf("Migrate after Open = %v, %v; want nothing to apply", applied, err)
		}
	})
}

// trigramIndexes returns the number of trigram indexes of the store's schema.
func trigramIndexes(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_indexes
		WHERE schemaname = current_schema() AND indexname LIKE '%\_trgm'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, dsn := range []string{"postgres://%zz", "host='unterminated", "postgres://h:notaport/db"} {
			if db, err := Open(ctx, dsn, Options{}); err == nil {
				db.Close()
				t.Errorf("Open(%q) succeeded", dsn)
			} else if modelreg.ErrorCode(err) != modelreg.EINVALID {
				t.Errorf("Open(%q) = %v, want EINVALID", dsn, err)
			}
			if _, err := Migrate(ctx, dsn); modelreg.ErrorCode(err) != modelreg.EINVALID {
				t.Errorf("Migrate(%q) = %v, want EINVALID", dsn, err)
			}
			if _, err := MigrationStatus(ctx, dsn); modelreg.ErrorCode(err) != modelreg.EINVALID {
				t.Errorf("MigrationStatus(%q) = %v, want EINVALID", dsn, err)
			}
		}
	})

	t.Run("ErrUnavailable", func(t *testing.T) {
		// Nothing listens on a port just closed.
		dsn := "postgres://modelreg@" + closedAddr(t) + "/modelreg?sslmode=disable&connect_timeout=2"
		db, err := Open(ctx, dsn, Options{})
		if err == nil {
			db.Close()
			t.Fatal("Open of an unreachable database succeeded")
		}
		if modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
			t.Errorf("Open = %v, want EUNAVAILABLE", err)
		}
		if _, err := Migrate(ctx, dsn); modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
			t.Errorf("Migrate = %v, want EUNAVAILABLE", err)
		}
		if _, err := MigrationStatus(ctx, dsn); modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
			t.Errorf("MigrationStatus = %v, want EUNAVAILABLE", err)
		}
	})
}
