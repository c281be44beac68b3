package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
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
		var got row
		var tail string
		err := packedRow{db.QueryRowContext(ctx, `SELECT `+packColumns("a, b,\n\tc, d")+`, 'tail' FROM t`), 4}.
			Scan(&got.a, &got.b, &got.c, &got.d, &tail)
		if err != nil {
			t.Fatalf("%q: %v", want.a, err)
		}
		if got != want || tail != "tail" {
			t.Errorf("got %+v %q, want %+v", got, tail, want)
		}
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
