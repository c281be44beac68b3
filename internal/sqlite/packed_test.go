package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
)

// TestPackedRow round-trips awkward values through packColumns and
// packedRow: empty strings, colons and digits where the lengths are, NUL
// bytes, multi-byte UTF-8, negative and large integers.
func TestPackedRow(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (a TEXT NOT NULL, b INTEGER NOT NULL, c TEXT NOT NULL, d INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	type row struct {
		a string
		b int64
		c string
		d bool
	}
	for _, want := range []row{
		{"", 0, "", false},
		{"12:34", -9223372036854775808, "3:abc", true},
		{"nul\x00byte", 9223372036854775807, "héllo wörld ✓ 𝄞", false},
		{`"quoted" \ back`, 42, "\n\t", true},
	} {
		if _, err := db.ExecContext(ctx, `DELETE FROM t`); err != nil {
			t.Fatal(err)
		}
		d := 0
		if want.d {
			d = 1
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES (?, ?, ?, ?)`, want.a, want.b, want.c, d); err != nil {
			t.Fatal(err)
		}
		p := packColumns("a, b,\n\tc, d")
		for _, safe := range []bool{false, true} {
			var got row
			var tail string
			err := packedRow{db.QueryRowContext(ctx, `SELECT `+p.form(safe)+`, 'tail' FROM t`), 4, safe}.
				Scan(&got.a, &got.b, &got.c, &got.d, &tail)
			if err != nil {
				t.Fatalf("%q (safe %v): %v", want.a, safe, err)
			}
			if got != want || tail != "tail" {
				t.Errorf("safe %v: got %+v %q, want %+v", safe, got, tail, want)
			}
		}
	}

	// A column holding the fast form's separator: the fast read says so,
	// the safe one reads it.
	for _, a := range []string{"a\x1fb", "\x1f", "x\x1f\x1f"} {
		if _, err := db.ExecContext(ctx, `DELETE FROM t`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES (?, 1, ?, 0)`, a, a); err != nil {
			t.Fatal(err)
		}
		p := packColumns("a, b, c, d")
		var got row
		err := packedRow{db.QueryRowContext(ctx, `SELECT `+p.fast+` FROM t`), 4, false}.Scan(&got.a, &got.b, &got.c, &got.d)
		if !errors.Is(err, errSeparator) {
			t.Errorf("fast read of %q: %v, want errSeparator", a, err)
		}
		err = packedRow{db.QueryRowContext(ctx, `SELECT `+p.safe+` FROM t`), 4, true}.Scan(&got.a, &got.b, &got.c, &got.d)
		if err != nil || got != (row{a, 1, a, false}) {
			t.Errorf("safe read of %q: %+v, %v", a, got, err)
		}
	}
}

func TestUnpackFastMalformed(t *testing.T) {
	var s string
	var n int64
	for _, bad := range []string{"", "x", "a\x1f", "a\x1fx", "a\x1f1\x1f"} {
		if err := unpackFast(bad, []any{&s, &n}); err == nil {
			t.Errorf("unpackFast(%q): no error", bad)
		}
	}
	if err := unpackFast("a\x1f12", []any{&s, &n}); err != nil || s != "a" || n != 12 {
		t.Errorf("unpackFast: %q %d %v", s, n, err)
	}
}

func TestUnpackMalformed(t *testing.T) {
	var s string
	var n int64
	for _, bad := range []string{"", "x", ":", "3:ab", "-1:", "2:ab1:", "1:a1", "01:a"} {
		if err := unpack(bad, []any{&s, &n}); err == nil {
			t.Errorf("unpack(%q): no error", bad)
		}
	}
	if err := unpack("1:a2:12", []any{&s, &n}); err != nil || s != "a" || n != 12 {
		t.Errorf("unpack: %q %d %v", s, n, err)
	}
}

// TestSeparatorInColumns checks that a model whose text columns hold the
// fast packing's separator reads back intact: shown, listed (a page and
// its count) and in its name's aggregate, through the safe form.
func TestSeparatorInColumns(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	const project = "0123456789abcdef0123456789abcdef"
	odd := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: project, Name: "odd", Version: "1.0.0",
		Type: "Custom", Description: "a\x1fb", Owner: "\x1f", Tenant: "t\x1f\x1f"}, SourceLocation: "obs://b/\x1f"}
	plain := &modelreg.Model{ModelSummary: modelreg.ModelSummary{ProjectID: project, Name: "plain", Version: "1.0.0",
		Type: "Custom", Description: "plain"}}
	for _, m := range []*modelreg.Model{plain, odd} {
		if err := db.CreateModel(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.FindModelByID(ctx, project, odd.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != odd.Description || got.Owner != odd.Owner || got.Tenant != odd.Tenant || got.SourceLocation != odd.SourceLocation {
		t.Errorf("shown: %q %q %q %q", got.Description, got.Owner, got.Tenant, got.SourceLocation)
	}
	page, total, err := db.FindModels(ctx, modelreg.ModelFilter{ProjectID: project, Page: modelreg.Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(page) != 2 || page[0].ID != odd.ID || page[0].Description != odd.Description || page[0].Tenant != odd.Tenant ||
		page[1].Description != "plain" {
		t.Errorf("listed: total %d, %+v", total, page)
	}
	names, err := db.FindModelNames(ctx, modelreg.ModelNameFilter{ProjectID: project, Names: []string{"odd"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0].Newest == nil || names[0].Newest.Description != odd.Description {
		t.Errorf("names: %+v", names)
	}
}

// TestListPagesCovered checks that a page that walks a sort index reads
// every list column from that index (migration 0013): a list column added
// to the query but not to the indexes makes each row a seek into the
// table again, and fails here.
func TestListPagesCovered(t *testing.T) {
	db := MustOpenDB(t, nil)
	const project = "0123456789abcdef0123456789abcdef"
	index := map[string]string{
		"create_at":   "models_project_create_at",
		"version_key": "models_project_version",
		"size":        "models_project_size",
	}
	for _, f := range []modelreg.ModelFilter{
		{},
		{Page: modelreg.Page{SortBy: modelreg.ModelSortVersion, Order: "asc"}},
		{Page: modelreg.Page{SortBy: modelreg.ModelSortSize}},
		{Type: "Custom"},
		{NotType: "Custom"},
		{Status: modelreg.ModelPublished},
		{Page: modelreg.Page{Offset: 3}},
	} {
		f.ProjectID = project
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		planned := planModelQuery(f, modelWhere(f))
		if planned.count {
			t.Fatalf("%+v: planned as a narrow filter", f)
		}
		// The page as counted, and the next one by its marker.
		marker := planned
		marker.seek(&modelreg.ModelCursor{Key: 1, ID: "m"}, 10)
		for _, q := range []modelQuery{planned, marker} {
			for _, safe := range []bool{false, true} {
				plan := explain(t, db, q.query(safe), q.queryArgs()...)
				want := "SEARCH m USING COVERING INDEX " + index[q.sortCol] + " (project_id=?"
				if len(plan) != 1 || !strings.HasPrefix(plan[0], want) {
					t.Errorf("filter %+v, where %q, safe %v: plan %q, want %q…", f, q.where, safe, plan, want)
				}
			}
		}
	}
}

// explain returns the details of the query plan of query, a step a line.
func explain(t *testing.T, db *DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.reader.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
