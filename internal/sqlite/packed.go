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
// less. The tables are STRICT with NOT NULL columns, so a column is never
// NULL and an INTEGER column always an integer.
//
// Two forms. The fast one joins the columns with the unit separator
// (U+001F) in one concat_ws(); a column holding that character itself
// (nothing the API validates forbids it in every column) shows as a wrong
// count of separators, and the reader then reads again in the safe form,
// which writes each column as its length in bytes, a colon and its text
// ("5:hello", "3:123"). Writing the lengths took SQLite as long as all the
// rest of a page's packing (196 against 118 µs a page of 100 in the
// engine), so the safe form is only the fallback.

// unitSeparator joins the columns of the fast form.
const unitSeparator = "\x1f"

// errSeparator is the error of reading a fast-form value in which a column
// holds the separator: read it again in the safe form.
var errSeparator = errors.New("packed row: a column holds the separator")

// packing holds the SQL of both forms of packed columns: the expressions
// themselves, or a query reading them (findModelQuery).
type packing struct{ fast, safe string }

// packColumns returns the SQL expressions packing the comma-separated
// columns cols (as sqlstore.ModelColumns lists them): one text value that
// packedRow reads back.
func packColumns(cols string) packing {
	var names, parts []string
	for _, c := range strings.Split(cols, ",") {
		c = strings.TrimSpace(c)
		names = append(names, c)
		parts = append(parts, "octet_length("+c+"), ':', "+c)
	}
	// One concat() builds the value in one allocation, where a chain of
	// || would copy it once per operator.
	return packing{
		fast: "concat_ws('" + unitSeparator + "', " + strings.Join(names, ", ") + ")",
		safe: "concat(" + strings.Join(parts, ", ") + ")",
	}
}

// form returns the expression of the safe form when safe, else the fast
// one.
func (p packing) form(safe bool) string {
	if safe {
		return p.safe
	}
	return p.fast
}

// packedRow is a row whose first column packs n columns (packColumns), in
// the safe form when safe: its Scan unpacks that column into the first n
// destinations and scans the columns after it into the rest, so
// sqlstore's scanners read it as they read a row of separate columns. In
// the fast form it returns errSeparator when a column holds the separator.
type packedRow struct {
	row  sqlstore.Scanner
	n    int
	safe bool
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
	if r.safe {
		return unpack(s, dest[:r.n])
	}
	return unpackFast(s, dest[:r.n])
}

// unpackFast reads the fast form of packed columns (joined by the
// separator) into dest, as unpack does.
func unpackFast(s string, dest []any) error {
	if strings.Count(s, unitSeparator) != len(dest)-1 {
		return errSeparator
	}
	for i, d := range dest {
		v := s
		if i < len(dest)-1 {
			v, s, _ = strings.Cut(s, unitSeparator)
		}
		if err := setColumn(d, v); err != nil {
			return err
		}
	}
	return nil
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
		if err := setColumn(d, v); err != nil {
			return err
		}
	}
	if s != "" {
		return errPacked
	}
	return nil
}

// setColumn reads the text v of a column into d: *string, *int64, *int or
// *bool.
func setColumn(d any, v string) error {
	var err error
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
	return nil
}
