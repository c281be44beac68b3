package storetest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/modelreg/modelreg"
)

// BenchOpener returns a fresh, empty store for a benchmark, closed when b
// ends.
type BenchOpener func(b *testing.B) modelreg.Store

// BenchSettle, when not nil, runs after the seeding: what the database
// would have done by itself meanwhile on a server (PostgreSQL's autovacuum
// and analyze).
type BenchSettle func(b *testing.B, s modelreg.Store)

// benchModels is the number of models Bench seeds, unless
// MODELREG_BENCH_MODELS says otherwise.
const benchModels = 20000

// Bench runs the store benchmarks every backend shares: bulk creation,
// single deletes, point reads, and the list pages modelreg bench measures
// over HTTP (each sort, the counted filters, the substring filters, a deep
// page by offset and by marker), over a project of benchModels models
// (MODELREG_BENCH_MODELS) in names of 10 versions.
func Bench(b *testing.B, open BenchOpener, settle BenchSettle) {
	n := benchModels
	if v, err := strconv.Atoi(os.Getenv("MODELREG_BENCH_MODELS")); err == nil && v >= 1000 {
		n = v
	}
	ctx := context.Background()

	b.Run("CreateModels1000", func(b *testing.B) {
		s := open(b)
		i := 0
		for b.Loop() {
			if err := s.CreateModels(ctx, benchBatch(i, 1000)); err != nil {
				b.Fatal(err)
			}
			i += 1000
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "models/s")
	})

	s := open(b)
	var ids []string
	for i := 0; i < n; i += 1000 {
		batch := benchBatch(i, min(1000, n-i))
		if err := s.CreateModels(ctx, batch); err != nil {
			b.Fatal(err)
		}
		for _, m := range batch {
			ids = append(ids, m.ID)
		}
	}
	if settle != nil {
		settle(b, s)
	}

	b.Run("FindModelByID", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.FindModelByID(ctx, projA, ids[i*7919%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})

	deepOffset := (n/100)*9/10 + 1
	marker := func() string {
		f := modelreg.ModelFilter{ProjectID: projA, Page: modelreg.Page{Offset: deepOffset - 1}}
		if err := f.Validate(); err != nil {
			b.Fatal(err)
		}
		p, _, err := s.FindModels(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		return f.NextMarker(p)
	}()
	for _, c := range []struct {
		name string
		f    modelreg.ModelFilter
	}{
		{"FirstPage/create_at", modelreg.ModelFilter{}},
		{"FirstPage/model_version", modelreg.ModelFilter{Page: modelreg.Page{SortBy: modelreg.ModelSortVersion}}},
		{"FirstPage/model_size", modelreg.ModelFilter{Page: modelreg.Page{SortBy: modelreg.ModelSortSize}}},
		{"FirstPage/status", modelreg.ModelFilter{Status: modelreg.ModelPublished}},
		{"FirstPage/type", modelreg.ModelFilter{Type: "PyTorch"}},
		{"FirstPage/name_exact", modelreg.ModelFilter{Name: "bench-123", ExactMatch: true}},
		{"FirstPage/name_substring", modelreg.ModelFilter{Name: "ch-123"}},
		{"FirstPage/description_substring", modelreg.ModelFilter{Description: "build 123"}},
		{"DeepPage/offset", modelreg.ModelFilter{Page: modelreg.Page{Offset: deepOffset}}},
		{"DeepPage/marker", modelreg.ModelFilter{Marker: marker}},
	} {
		b.Run("FindModels/"+c.name, func(b *testing.B) {
			f := c.f
			f.ProjectID = projA
			if err := f.Validate(); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, err := s.FindModels(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}

	// Last: they consume the models, the batches from the end (a name's 10
	// versions a call, as a cascade deletes them), single deletes from
	// the start.
	tail := len(ids) - len(ids)%10
	b.Run("DeleteModelBatch10", func(b *testing.B) {
		for b.Loop() {
			if tail < 10 {
				b.Fatal("out of models: set MODELREG_BENCH_MODELS higher")
			}
			tail -= 10
			errs, _, err := s.DeleteModelBatch(ctx, projA, ids[tail:tail+10], modelreg.DeleteOptions{})
			if err != nil {
				b.Fatal(err)
			}
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "models/s")
	})
	b.Run("DeleteModel", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if i == tail {
				b.Fatal("out of models: set MODELREG_BENCH_MODELS higher")
			}
			if err := modelreg.DeleteModel(ctx, s, projA, ids[i]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// benchBatch returns count models for CreateModels, numbered from first:
// names of 10 versions, types and sizes spread out.
func benchBatch(first, count int) []*modelreg.Model {
	ms := make([]*modelreg.Model, count)
	for j := range ms {
		i := first + j
		ms[j] = &modelreg.Model{ModelSummary: modelreg.ModelSummary{
			ProjectID: projA, Name: fmt.Sprintf("bench-%d", i/10), Version: fmt.Sprintf("1.0.%d", i%10),
			Type: modelreg.ModelTypes[i%len(modelreg.ModelTypes)], Size: int64(i * 7919 % 1000003),
			Description: fmt.Sprintf("bench model, build %d-%d", i/10, i%10), WorkspaceID: "0",
			InstallType: []string{"real-time", "batch"},
		}}
	}
	return ms
}
