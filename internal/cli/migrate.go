package cli

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/postgres"
	"github.com/modelreg/modelreg/internal/sqlite"
	"github.com/modelreg/modelreg/internal/sqlstore"
)

func migrateCommand() *command {
	return &command{
		name:    "migrate",
		args:    "[status] [flags]",
		summary: "apply the database migrations, or show which are applied",
		help: `Without an argument, applies the migrations this version of modelreg has and
the database has not, then shows them all. "modelreg migrate status" only
shows them and changes nothing.

The server applies pending migrations itself at start, so migrate is never
required. With several servers on one PostgreSQL database, run the new
version's migrate once before restarting the servers on it, one by one (see
docs/scaling.md). Several runs at once are safe: they take turns.

A database that has a migration this version does not know was migrated by a
newer modelreg, and this version refuses to start on it: both commands then
exit with status 1 and change nothing.

The database is --database (MODELREG_DATABASE), as for serve: a postgres://
URL or a SQLite file, by default <data-dir>/modelreg.db.`,
		flags: func(e *env, fs *flag.FlagSet) func([]string) error {
			dataDir := envOr(e.getenv, "MODELREG_DATA_DIR", DefaultDataDir)
			database := e.getenv("MODELREG_DATABASE")
			output := "table"
			fs.StringVar(&database, "database", database, "SQLite database `file` or postgres:// URL (env MODELREG_DATABASE; default <data-dir>/modelreg.db)")
			fs.StringVar(&dataDir, "data-dir", dataDir, "server data `dir`ectory holding the default SQLite database (env MODELREG_DATA_DIR)")
			fs.StringVar(&output, "output", output, "output `format`: table or json")
			return func(args []string) error {
				statusOnly := false
				switch {
				case len(args) == 1 && args[0] == "status":
					statusOnly = true
				case len(args) > 0:
					return usagef("migrate takes no argument but status, got %q", args[0])
				}
				if output != "table" && output != "json" {
					return usagef("invalid --output %q: want table or json", output)
				}
				if database == "" {
					database = filepath.Join(dataDir, "modelreg.db")
				}
				return e.migrate(database, statusOnly, output == "json")
			}
		},
	}
}

// migrationRow is one migration as migrate prints it.
type migrationRow struct {
	Name      string `json:"name"`
	Status    string `json:"status"`     // statusApplied, statusPending or statusUnknown
	AppliedAt int64  `json:"applied_at"` // ms since the epoch; 0 when pending
}

// migrateOutput is what migrate prints with --output json.
type migrateOutput struct {
	Database   string         `json:"database"`    // password redacted
	Engine     string         `json:"engine"`      // sqlite or postgres
	AppliedNow []string       `json:"applied_now"` // by this run; empty for status
	Migrations []migrationRow `json:"migrations"`
}

// migrate applies the pending migrations of database (unless statusOnly)
// and prints every migration's state. A database with migrations this
// version does not know is left alone and reported as a failure.
func (e *env) migrate(database string, statusOnly, asJSON bool) error {
	out := migrateOutput{Database: redactDSN(database), Engine: "sqlite", AppliedNow: []string{}}
	var m migrator = sqliteMigrator(database)
	if isPostgresURL(database) {
		out.Engine = "postgres"
		if err := postgres.CheckDSN(database); err != nil {
			return fmt.Errorf("--database: %s", describe(err))
		}
		m = postgresMigrator(database)
	}
	failed := func(err error) error { return fmt.Errorf("%s: %s", out.Database, describe(err)) }

	before, err := m.status(e.ctx)
	switch {
	case statusOnly && err != nil:
		return failed(err)
	case err != nil && modelreg.ErrorCode(err) != modelreg.ENOTFOUND: // a SQLite file not created yet
		return failed(err)
	}
	unknown, pending := 0, 0
	for _, r := range before {
		switch r.Status {
		case statusUnknown:
			unknown++
		case statusPending:
			pending++
		}
	}
	out.Migrations = before
	if !statusOnly && unknown == 0 {
		if out.AppliedNow, err = m.apply(e.ctx, before); err != nil {
			return failed(err)
		}
		if out.Migrations, err = m.status(e.ctx); err != nil {
			return failed(err)
		}
	}

	if asJSON {
		if err := printJSON(e.stdout, out); err != nil {
			return err
		}
	} else {
		var what string
		switch {
		case unknown > 0:
			what = "migrated by a newer modelreg"
		case statusOnly && pending > 0:
			what = plural(pending, "migration") + " pending; modelreg migrate applies them (so does the server at start)"
		case statusOnly, len(out.AppliedNow) == 0:
			what = "up to date"
		default:
			what = "applied " + plural(len(out.AppliedNow), "migration")
		}
		fmt.Fprintf(e.stdout, "%s (%s): %s.\n\n", out.Database, out.Engine, what)
		tw := newTable(e.stdout)
		row(tw, "MIGRATION", "STATUS", "APPLIED AT")
		for _, r := range out.Migrations {
			row(tw, r.Name, r.Status, e.when(r.AppliedAt))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if unknown > 0 {
		return &FailedError{Msg: fmt.Sprintf("the database has %s this version of modelreg does not know: "+
			"it was migrated by a newer version, which this one cannot serve; upgrade modelreg", plural(unknown, "migration"))}
	}
	return nil
}

// Migration statuses as migrate prints them.
const (
	statusApplied = "applied"
	statusPending = "pending"
	statusUnknown = "unknown" // applied by a newer modelreg
)

// migrator applies and lists the migrations of one database.
type migrator interface {
	// status lists the migrations; ENOTFOUND when there is no database.
	status(ctx context.Context) ([]migrationRow, error)
	// apply applies the pending migrations and returns their names;
	// before is what status said just before.
	apply(ctx context.Context, before []migrationRow) ([]string, error)
}

type postgresMigrator string

func (dsn postgresMigrator) apply(ctx context.Context, _ []migrationRow) ([]string, error) {
	return postgres.Migrate(ctx, string(dsn))
}

func (dsn postgresMigrator) status(ctx context.Context) ([]migrationRow, error) {
	return migrationRows(postgres.MigrationStatus(ctx, string(dsn)))
}

// sqliteMigrator applies migrations by opening the database, as the server
// does at start. What it applied is what was pending before (SQLite serves
// one process: nothing else migrates it meanwhile).
type sqliteMigrator string

func (path sqliteMigrator) apply(ctx context.Context, before []migrationRow) ([]string, error) {
	db, err := sqlite.Open(ctx, string(path), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	after, err := path.status(ctx)
	if err != nil {
		return nil, err
	}
	was := map[string]string{}
	for _, r := range before {
		was[r.Name] = r.Status
	}
	applied := []string{}
	for _, r := range after {
		if r.Status == statusApplied && (was[r.Name] == statusPending || len(before) == 0) {
			applied = append(applied, r.Name)
		}
	}
	return applied, nil
}

func (path sqliteMigrator) status(ctx context.Context) ([]migrationRow, error) {
	return migrationRows(sqlite.MigrationStatus(ctx, string(path)))
}

// migrationRows returns the rows of a store's migration states (empty, not
// nil, when there are none), and err.
func migrationRows(states []sqlstore.MigrationState, err error) ([]migrationRow, error) {
	rows := []migrationRow{}
	for _, st := range states {
		r := migrationRow{Name: st.Name, Status: statusPending}
		switch {
		case !st.Known:
			r.Status, r.AppliedAt = statusUnknown, modelreg.Millis(st.AppliedAt)
		case st.Applied:
			r.Status, r.AppliedAt = statusApplied, modelreg.Millis(st.AppliedAt)
		}
		rows = append(rows, r)
	}
	return rows, err
}

// plural returns "1 migration" or "n migrations".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
