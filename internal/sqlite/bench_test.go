package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/storetest"
)

const benchProject = "0123456789abcdef0123456789abcdef"

// seedModels creates n published models with two files each in one
// transaction (so seeding stays fast at synchronous=FULL) and returns their
// ids. Every model's name has 10 versions.
func seedModels(tb testing.TB, db *DB, n int) []string {
	tb.Helper()
	ctx := context.Background()
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 1000 {
		err := db.update(ctx, "seed", func(tx *Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				m := &modelreg.Model{
					ModelSummary: modelreg.ModelSummary{
						ID: modelreg.NewID(), ProjectID: benchProject,
						Name: fmt.Sprintf("model-%d", i/10), Version: fmt.Sprintf("1.0.%d", i%10),
						Type: "TensorFlow", Description: "benchmark model", WorkspaceID: "0",
						InstallType: []string{"real-time", "batch"},
					},
					SourceLocation: "obs://bucket/models/",
				}
				if err := createModel(ctx, tx, m); err != nil {
					return err
				}
				for j := range 2 {
					if _, err := tx.ExecContext(ctx, `INSERT INTO model_files (model_id, path, digest, size) VALUES (?, ?, ?, ?)`,
						m.ID, fmt.Sprintf("model/f%d", j), fmt.Sprintf("%064x", i*2+j), 1<<20); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, `UPDATE models SET status = 'published', size = ? WHERE id = ?`, 2<<20, m.ID); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM import_jobs WHERE model_id = ?`, m.ID); err != nil {
					return err
				}
				ids = append(ids, m.ID)
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("seeding: %v", err)
		}
	}
	return ids
}

func benchDB(b *testing.B, opt Options) *DB {
	b.Helper()
	return mustOpenPath(b, filepath.Join(b.TempDir(), "bench.db"), opt)
}

// BenchmarkDeleteModel measures one delete transaction (existence and
// deployment checks, blob queueing, cascade) on a database of at least
// 5,000 models.
//
// The Trash variants move the models into the trash instead
// (DeleteOptions.Trash), for the comparison of docs/performance.md.
func BenchmarkDeleteModel(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		for _, trash := range []time.Duration{0, time.Hour} {
			for _, event := range []bool{true, false} {
				name := sync
				if trash > 0 {
					name += "/Trash"
				}
				if !event {
					name += "/NoEvent" // the same delete without its audit event
				}
				b.Run(name, func(b *testing.B) {
					auditOff = !event
					defer func() { auditOff = false }()
					path := filepath.Join(b.TempDir(), "bench.db")
					db := mustOpenPath(b, path, Options{Synchronous: sync})
					ids := seedModels(b, db, max(5000, b.N))
					ctx := context.Background()
					wal := walGrowth(b, db, path)
					b.ResetTimer()
					for i := range b.N {
						errs, _, err := db.DeleteModelBatch(ctx, benchProject, ids[i:i+1], modelreg.DeleteOptions{Trash: trash})
						if err == nil {
							err = errs[0]
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					b.ReportMetric(float64(wal())/float64(b.N), "WAL-B/op")
				})
			}
		}
	}
}

// walGrowth empties the WAL of db (at path) and turns automatic
// checkpoints off, so that the returned function reports the bytes
// appended to the WAL since: the pages a benchmark's commits wrote, a
// measure the load of a shared machine does not move (unlike time).
func walGrowth(tb testing.TB, db *DB, path string) func() int64 {
	tb.Helper()
	ctx := context.Background()
	for _, q := range []string{`PRAGMA wal_checkpoint(TRUNCATE)`, `PRAGMA wal_autocheckpoint = 0`} {
		if _, err := db.writer.ExecContext(ctx, q); err != nil {
			tb.Fatal(err)
		}
	}
	size := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			tb.Fatal(err)
		}
		return fi.Size()
	}
	start := size()
	return func() int64 { return size() - start }
}

// BenchmarkDeleteModelWebhook is BenchmarkDeleteModel/NORMAL with a
// webhook of every action on the project: each delete also queues a
// delivery in its transaction (the outbox), which WAL-B/op shows.
func BenchmarkDeleteModelWebhook(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.db")
	db := mustOpenPath(b, path, Options{Synchronous: "NORMAL"})
	ids := seedModels(b, db, max(5000, b.N))
	ctx := context.Background()
	if err := db.CreateWebhook(ctx, &modelreg.Webhook{ProjectID: benchProject, URL: "https://hooks.example.com/",
		Events: []string{"*"}, SecretSealed: []byte{0}}); err != nil {
		b.Fatal(err)
	}
	wal := walGrowth(b, db, path)
	b.ResetTimer()
	for i := range b.N {
		errs, _, err := db.DeleteModelBatch(ctx, benchProject, ids[i:i+1], modelreg.DeleteOptions{})
		if err == nil {
			err = errs[0]
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(wal())/float64(b.N), "WAL-B/op")
}

// BenchmarkFindModelByID measures point reads among 5,000 models, from
// the model cache (which holds them all after the first read of each)
// and from the database.
func BenchmarkFindModelByID(b *testing.B) {
	for _, cache := range []struct {
		name string
		size int
	}{{"Cached", 0}, {"Uncached", -1}} {
		b.Run(cache.name, func(b *testing.B) {
			db := benchDB(b, Options{ModelCache: cache.size})
			ids := seedModels(b, db, 5000)
			ctx := context.Background()
			b.Run("Serial", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := db.FindModelByID(ctx, benchProject, ids[i%len(ids)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("Parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					i := int(time.Now().UnixNano() % int64(len(ids)))
					for pb.Next() {
						if _, err := db.FindModelByID(ctx, benchProject, ids[i%len(ids)]); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		})
	}
}

// BenchmarkFindModels measures list pages (with the total count) over 5,000
// models.
func BenchmarkFindModels(b *testing.B) {
	db := benchDB(b, Options{})
	seedModels(b, db, 5000)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		f    modelreg.ModelFilter
	}{
		{"FirstPage100", modelreg.ModelFilter{}},
		{"Page10By100BySize", modelreg.ModelFilter{Page: modelreg.Page{SortBy: modelreg.ModelSortSize, Order: "asc", Offset: 10}}},
		{"NameSubstring", modelreg.ModelFilter{Name: "model-12"}},
		{"NameExact", modelreg.ModelFilter{Name: "model-123", ExactMatch: true, Page: modelreg.Page{SortBy: modelreg.ModelSortVersion}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := c.f
			f.ProjectID = benchProject
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

// BenchmarkStore runs the benchmarks every store shares (storetest.Bench)
// at the server's default durability.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) modelreg.Store { return benchDB(b, Options{}) }, nil)
}
