package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelreg/modelreg/internal/pgtest"
)

// runMigrate runs "modelreg migrate args… --output json" and decodes what
// it printed.
func runMigrate(t *testing.T, env map[string]string, args ...string) (migrateOutput, error) {
	t.Helper()
	var stdout bytes.Buffer
	argv := append([]string{"modelreg", "migrate"}, args...)
	err := Run(context.Background(), append(argv, "--output", "json"), func(k string) string { return env[k] }, &stdout, io.Discard)
	var out migrateOutput
	if stdout.Len() > 0 {
		if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
			t.Fatalf("migrate printed %q: %v", stdout.String(), jerr)
		}
	}
	return out, err
}

// statuses returns "name=status" for every migration of out.
func statuses(out migrateOutput) string {
	var s []string
	for _, m := range out.Migrations {
		s = append(s, m.Name+"="+m.Status)
	}
	return strings.Join(s, " ")
}

// testMigrate runs the migrate command through its life on one empty
// database: status, apply, apply again, and a database a newer version
// migrated. addFuture records a migration this version does not know.
func testMigrate(t *testing.T, env map[string]string, engine string, addFuture func()) {
	out, err := runMigrate(t, env, "status")
	if engine == "sqlite" {
		// No file yet: status says so, and creates nothing.
		if err == nil || !strings.Contains(FormatError(err), "There is no SQLite database") {
			t.Fatalf("status of a missing SQLite file: %v", err)
		}
	} else {
		if err != nil {
			t.Fatal(FormatError(err))
		}
		if len(out.Migrations) == 0 || strings.Contains(statuses(out), "=applied") || len(out.AppliedNow) != 0 {
			t.Errorf("status of an empty database: %+v", out)
		}
	}

	out, err = runMigrate(t, env)
	if err != nil {
		t.Fatal(FormatError(err))
	}
	if out.Engine != engine || len(out.Migrations) == 0 || len(out.AppliedNow) != len(out.Migrations) ||
		strings.Contains(statuses(out), "=pending") {
		t.Errorf("first migrate: %+v", out)
	}
	for _, m := range out.Migrations {
		if m.AppliedAt == 0 {
			t.Errorf("%s: no applied_at", m.Name)
		}
	}
	n := len(out.Migrations)

	out, err = runMigrate(t, env)
	if err != nil || len(out.AppliedNow) != 0 || len(out.Migrations) != n {
		t.Errorf("second migrate: %+v, %v; want nothing applied", out, err)
	}
	if out, err = runMigrate(t, env, "status"); err != nil || len(out.AppliedNow) != 0 || strings.Contains(statuses(out), "=pending") {
		t.Errorf("status after migrate: %+v, %v", out, err)
	}

	// Table output, for people.
	var table bytes.Buffer
	if err := Run(context.Background(), []string{"modelreg", "migrate", "status"}, func(k string) string { return env[k] }, &table, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "up to date") || !strings.Contains(table.String(), "MIGRATION") {
		t.Errorf("table:\n%s", table.String())
	}

	// A newer version migrated the database: listed as unknown, nothing
	// applied, exit status 1.
	addFuture()
	for _, args := range [][]string{{"status"}, nil} {
		out, err = runMigrate(t, env, args...)
		if ExitCode(err) != 1 || !strings.Contains(FormatError(err), "migrated by a newer version") {
			t.Errorf("migrate %v on a newer database: %v", args, err)
		}
		if got := statuses(out); !strings.HasSuffix(got, "9999_future.sql=unknown") {
			t.Errorf("migrate %v on a newer database: %s", args, got)
		}
		if len(out.AppliedNow) != 0 {
			t.Errorf("migrate %v on a newer database applied %v", args, out.AppliedNow)
		}
	}
}

func TestMigrateSQLite(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"MODELREG_DATA_DIR": dir}
	testMigrate(t, env, "sqlite", func() {
		db, err := sql.Open("sqlite", filepath.Join(dir, "modelreg.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`INSERT INTO migrations (name, applied_at) VALUES ('9999_future.sql', 1)`); err != nil {
			t.Fatal(err)
		}
	})
	// --database wins over the data dir.
	other := filepath.Join(t.TempDir(), "other.db")
	if out, err := runMigrate(t, env, "--database", other); err != nil || out.Database != other || len(out.AppliedNow) == 0 {
		t.Errorf("migrate --database: %+v %v", out, err)
	}
}

func TestMigratePostgres(t *testing.T) {
	dsn, _ := pgtest.MustDatabase(t)
	env := map[string]string{"MODELREG_DATABASE": dsn}
	testMigrate(t, env, "postgres", func() {
		pgtest.Exec(t, dsn, `INSERT INTO modelreg_migrations (name, applied_at) VALUES ('9999_future.sql', 1)`)
	})
}

// TestMigrateConcurrent runs migrate from several processes' worth of
// goroutines at once on one empty database: every run succeeds and each
// migration is applied by exactly one of them.
func TestMigrateConcurrent(t *testing.T) {
	dsn, _ := pgtest.MustDatabase(t)
	const n = 4
	outs := make([]migrateOutput, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { outs[i], errs[i] = runMigrate(t, nil, "--database", dsn) })
	}
	wg.Wait()
	applied := map[string]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("run %d: %s", i, FormatError(errs[i]))
		}
		for _, name := range outs[i].AppliedNow {
			applied[name]++
		}
	}
	for _, m := range outs[0].Migrations {
		if applied[m.Name] != 1 || m.Status != statusApplied {
			t.Errorf("%s applied %d times, status %s", m.Name, applied[m.Name], m.Status)
		}
	}
}
