package sqlite

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/modelreg/modelreg/internal/sqlstore"
)

// The hot reads (a model, a page of models) read their columns packed into
// one text column. The driver takes the connection's mutex several times
// for every column it reads (modernc.org/sqlite opens each connection with
// SQLITE_OPEN_FULLMUTEX, and reads every column's type and value through
// the C API), which made reading the columns of a page of models about
// half of its CPU: SQLite concatenating them in its own engine costs far
// less. Each column becomes its length in bytes, a colon and its text
// ("5:hello", "3:123"); the tables are STRICT with NOT NULL columns, so a
// column is never NULL and an INTEGER column always an integer.

// packColumns returns the SQL expression packing the comma-separated
// columns cols (as sqlstore.ModelColumns lists them): one text value that
// packedRow reads back.
func packColumns(cols string) string {
	var parts []string
	for _, c := range strings.Split(cols, ",") {
		c = strings.TrimSpace(c)
		parts = append(parts, "octet_length("+c+"), ':', "+c)
	}
	// One concat() builds the value in one allocation, where a chain of
	// || would copy it once per operator.
	return "concat(" + strings.Join(parts, ", ") + ")"
}

// packedRow is a row whose first column packs n columns (packColumns): its
// Scan unpacks that column into the first n destinations and scans the
// columns after it into the rest, so sqlstore's scanners read it as they
// read a row of separate columns.
type packedRow struct {
	row sqlstore.Scanner
	n   int
}

// Scan implements sqlstore.Scanner.
func (r packedRow) Scan(dest ...any) error {
	if len(dest) < r.n {
		return fmt.Errorf("packed row: %d destinations for %d columns", len(dest), r.n)
	}
	var s string
	if err := r.row.Scan(append([]any{&s}, dest[r.n:]...)...); err != nil {
		return err
	}
	return unpack(s, dest[:r.n])
}

var errPacked = errors.New("packed row: malformed value")

// unpack reads the packed columns of s into dest: *string, *int64, *int
// or *bool.
func unpack(s string, dest []any) error {
	for _, d := range dest {
		i := strings.IndexByte(s, ':')
		if i < 1 {
			return errPacked
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > len(s)-i-1 {
			return errPacked
		}
		v := s[i+1 : i+1+n]
		s = s[i+1+n:]
		switch d := d.(type) {
		case *string:
			*d = v
		case *int64:
			*d, err = strconv.ParseInt(v, 10, 64)
		case *int:
			*d, err = strconv.Atoi(v)
		case *bool:
			var x int64
			x, err = strconv.ParseInt(v, 10, 64)
			*d = x != 0
		default:
			return fmt.Errorf("packed row: unsupported destination %T", d)
		}
		if err != nil {
			return fmt.Errorf("packed row: %w", err)
		}
	}
	if s != "" {
		return errPacked
	}
	return nil
}
