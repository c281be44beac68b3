package postgres

import (
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/storetest"
)

// BenchmarkStore runs the benchmarks every store shares (storetest.Bench)
// on a fresh schema; skipped unless MODELREG_TEST_POSTGRES_DSN is set.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) modelreg.Store { return MustOpenDB(b, nil) })
}
