package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
)

// MigrationState is one migration and whether the database has it.
type MigrationState = sqlstore.MigrationState

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
	known := make([]string, len(paths))
	for i, p := range paths {
		known[i] = filepath.Base(p)
	}
	slices.Sort(known)
	return sqlstore.MergeMigrations(known, applied), nil
}
