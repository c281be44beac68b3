package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/storetest"
)

// benchModels is how many models the benchmarks' project holds.
const benchModels = 3000

// seedModels stores n published models in project in one transaction: 50
// names, two files each (one blob of its own, one shared by all), and
// returns their ids.
func seedModels(tb testing.TB, db *DB, project string, n int) []string {
	tb.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	err := db.update(ctx, "seed", func(tx *Tx) error {
		for i := range n {
			m := newTestModel(project, fmt.Sprintf("model-%d", i%50), fmt.Sprintf("%d.%d.%d", i/10000%100, i/100%100, i%100))
			m.ID = modelreg.NewID()
			m.Description = fmt.Sprintf("benchmark model number %d", i)
			if err := createModel(ctx, tx, m); err != nil {
				return err
			}
			ids[i] = m.ID
		}
		for _, q := range []string{
			`INSERT INTO model_files (model_id, path, digest, size)
				SELECT id, 'model/weights', md5(id) || md5(id), 1000 FROM models WHERE project_id = $1
				UNION ALL SELECT id, 'model/config.json', 'shared', 10 FROM models WHERE project_id = $1`,
			`UPDATE models SET status = 'published', size = 1010 WHERE project_id = $1`,
			`DELETE FROM import_jobs WHERE project_id = $1`,
		} {
			if _, err := tx.exec(ctx, q, project); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seeding %d models: %v", n, err)
	}
	db.mustExec(tb, `VACUUM ANALYZE models, model_files, model_counts`) // as autovacuum would have: index-only scans need the visibility map
	return ids
}

func BenchmarkFindModelByID(b *testing.B) {
	ctx := context.Background()
	db := MustOpenDB(b, nil)
	ids := seedModels(b, db, proj, benchModels)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := db.FindModelByID(ctx, proj, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkFindModels(b *testing.B) {
	ctx := context.Background()
	db := MustOpenDB(b, nil)
	seedModels(b, db, proj, benchModels)
	for _, c := range []struct {
		name string
		f    modelreg.ModelFilter
	}{
		{"FirstPage", modelreg.ModelFilter{}},
		{"DeepPage", modelreg.ModelFilter{Page: modelreg.Page{Offset: 25}}},
		{"SortBySize", modelreg.ModelFilter{Page: modelreg.Page{SortBy: modelreg.ModelSortSize, Order: "asc"}}},
		{"SortByVersion", modelreg.ModelFilter{Page: modelreg.Page{SortBy: modelreg.ModelSortVersion}}},
		{"NameSubstring", modelreg.ModelFilter{Name: "EL-4"}},
		{"NameExact", modelreg.ModelFilter{Name: "model-7", ExactMatch: true}},
		{"Description", modelreg.ModelFilter{Description: "number 12"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := c.f
			f.ProjectID = proj
			if err := f.Validate(); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, err := db.FindModels(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDeleteModel(b *testing.B) {
	ctx := context.Background()
	for _, parallel := range []bool{false, true} {
		for _, event := range []bool{true, false} {
			name := "Serial"
			if parallel {
				name = "Parallel"
			}
			if !event {
				name += "/NoEvent" // the same delete without its audit event
			}
			b.Run(name, func(b *testing.B) {
				auditOff = !event
				defer func() { auditOff = false }()
				db := MustOpenDB(b, nil)
				seedModels(b, db, "other", benchModels)
				ids := seedModels(b, db, proj, b.N)
				b.ResetTimer()
				if !parallel {
					for _, id := range ids {
						if err := modelreg.DeleteModel(ctx, db, proj, id); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := modelreg.DeleteModel(ctx, db, proj, ids[next.Add(1)-1]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkStore runs the benchmarks every store shares (storetest.Bench)
// on a fresh schema, analyzed after the seeding as autovacuum would.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) modelreg.Store { return MustOpenDB(b, nil) },
		func(b *testing.B, s modelreg.Store) {
			s.(*DB).mustExec(b, `VACUUM ANALYZE models, model_counts`)
		})
}
