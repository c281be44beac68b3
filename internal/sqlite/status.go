package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
)

// MigrationState is one migration and whether the database has it.
type MigrationState struct {
	Name      string    // file name, as 0001_init.sql
	Known     bool      // this version of modelreg has it (else a newer one applied it)
	Applied   bool      // recorded in the database
	AppliedAt time.Time // when, in UTC; zero when not applied
}

// MigrationStatus returns every migration this version knows, in order,
// then any the database has that it does not know, each with its state. It
// changes nothing (Open applies what is pending). Returns ENOTFOUND when
// there is no database file at path.
func MigrationStatus(ctx context.Context, path string) ([]MigrationState, error) {
	const op = "sqlite.MigrationStatus"
	if path == "" || strings.Contains(path, "?") {
		return nil, modelreg.Errorf(modelreg.EINVALID, modelreg.CodeInvalidArgument, "Invalid database path %q.", path)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, modelreg.Errorf(modelreg.ENOTFOUND, "", "There is no SQLite database at %s.", path)
	} else if err != nil {
		return nil, modelreg.Internal(op, err)
	}
	db, err := sql.Open("sqlite", path+fmt.Sprintf("?_pragma=busy_timeout(%d)&_query_only=1", busyTimeout.Milliseconds()))
	if err != nil {
		return nil, modelreg.Internal(op, err)
	}
	defer db.Close()
	applied := map[string]int64{}
	var exists int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'migrations'`).Scan(&exists); err != nil {
		return nil, modelreg.Internal(op, err)
	}
	if exists > 0 {
		rows, err := db.QueryContext(ctx, `SELECT name, applied_at FROM migrations`)
		if err != nil {
			return nil, modelreg.Internal(op, err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var at int64
			if err := rows.Scan(&name, &at); err != nil {
				return nil, modelreg.Internal(op, err)
			}
			applied[name] = at
		}
		if err := rows.Err(); err != nil {
			return nil, modelreg.Internal(op, err)
		}
	}
	paths, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, modelreg.Internal(op, err)
	}
	sort.Strings(paths)
	var states []MigrationState
	for _, p := range paths {
		st := MigrationState{Name: filepath.Base(p), Known: true}
		if at, ok := applied[st.Name]; ok {
			st.Applied, st.AppliedAt = true, time.UnixMilli(at).UTC()
			delete(applied, st.Name)
		}
		states = append(states, st)
	}
	var unknown []string
	for name := range applied {
		unknown = append(unknown, name)
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		states = append(states, MigrationState{Name: name, Applied: true, AppliedAt: time.UnixMilli(applied[name]).UTC()})
	}
	return states, nil
}
