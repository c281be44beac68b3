package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// Workloads lists every workload in the order they run. The list-first-page
// and limit workloads stand for several: one per sort and filter, one per
// limit.
var Workloads = []string{"show", "list-first-page", "list-deep-page", "delete", "delete-trash", "delete-cascade", "import", "mixed"}

// Config configures a run.
type Config struct {
	// Client calls the server; it should have a connection pool at least
	// Concurrency wide.
	Client *client.Client
	// TrashClient, when set, calls a second server on the same database
	// (and project) run with --trash-retention > 0: the delete-trash
	// workload is the delete workload through it, so that the run
	// measures the delete with the trash off and on.
	TrashClient *client.Client
	// Models is how many models to seed; 0 seeds none.
	Models int
	// Reuse works on the models already in the project (seeded by an
	// earlier run) as well as those seeded now: it lists them first.
	Reuse bool
	// Duration and Warmup of each workload; Concurrency workers.
	Duration, Warmup time.Duration
	Concurrency      int
	// Workloads to run, from Workloads; nil means all.
	Workloads []string
	// Limits adds limit-http-bare and limit-http, and with Database
	// limit-store-read and limit-store-delete.
	Limits bool
	// Database is the server's SQLite file, opened by the store limits.
	Database string
	// Synchronous is the SQLite synchronous mode of the store limits: the
	// server's.
	Synchronous string
	// ImportDir is the folder the import workload imports (it is created
	// with a small model in it when missing). The server must be allowed
	// to read it (--import-root).
	ImportDir string
	// Seed makes the run's random choices repeatable.
	Seed uint64
	// ImportWait bounds the wait, after the import and mixed workloads,
	// for their imports to finish (failed ones count as errors): 0 means a
	// minute, a negative value does not wait.
	ImportWait time.Duration
	// Progress receives what the run is doing; nil discards it.
	Progress io.Writer
	// OnResult is called with each workload's result as soon as it is known.
	OnResult func(Result)
}

// cascadeVersions is the size of the names the delete-cascade workload
// deletes: the server's default cascade limit.
const cascadeVersions = 20

// seedBatch is the number of models per bulk call: well under the 1 MiB
// default body limit.
const seedBatch = 2000

// families are the first word of seeded names and descriptions.
var families = []string{"resnet", "bert", "yolo", "llama", "whisper", "vit", "gpt", "unet", "clip", "mobilenet",
	"efficientnet", "roberta", "t5", "wav2vec", "detr", "sam", "mistral", "gemma", "phi", "falcon"}

// types are the model types of seeded models: all but Template, which
// needs a template.
var types = slices.DeleteFunc(slices.Clone(modelreg.ModelTypes), func(t string) bool { return t == "Template" })

var tasks = []string{"image classification", "object detection", "translation", "summarization", "speech recognition",
	"segmentation", "question answering", "embedding"}

// run is the state of one Run.
type run struct {
	cfg Config
	c   *client.Client
	rng *rand.Rand
	tag string // makes this run's names unique in the project
	rss *rssSampler

	// importTag makes the names of this run's imports unique.
	importTag string

	randsMu     sync.Mutex
	workerRands map[int]*rand.Rand // per worker, made on first use

	names    []seededName // every seeded name
	show     []string     // ids never deleted by the run
	deletes  []string     // ids for the delete workloads, taken in order
	nextDel  atomic.Int64
	cascades []string // one id of each name of exactly cascadeVersions versions
	nextCas  atomic.Int64
	imports  atomic.Int64
}

// seededName is one name with its versions' ids.
type seededName struct {
	name string
	ids  []string
}

// Run seeds and runs the workloads, reporting each result to
// cfg.OnResult, and returns all results.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.OnResult == nil {
		cfg.OnResult = func(Result) {}
	}
	if len(cfg.Workloads) == 0 {
		cfg.Workloads = Workloads
	}
	for _, w := range cfg.Workloads {
		if !slices.Contains(Workloads, w) {
			return nil, fmt.Errorf("unknown workload %q (want one of %s)", w, strings.Join(Workloads, ", "))
		}
	}
	r := &run{cfg: cfg, c: cfg.Client, rng: rand.New(rand.NewPCG(cfg.Seed, 1))}
	r.tag = fmt.Sprintf("%c%c", 'a'+r.rng.IntN(26), 'a'+r.rng.IntN(26))
	r.importTag = fmt.Sprintf("%s%04d", r.tag, r.rng.IntN(10000))
	r.rss = newRSSSampler(cfg.Client)
	defer r.rss.stop()
	if err := r.c.Ping(ctx); err != nil {
		return nil, fmt.Errorf("the server does not answer: %w", err)
	}
	var results []Result
	emit := func(res Result) {
		results = append(results, res)
		cfg.OnResult(res)
	}
	if cfg.Reuse {
		if err := r.load(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Models > 0 {
		res, err := r.seed(ctx)
		if err != nil {
			return nil, err
		}
		emit(res)
	}
	r.partition()
	want := func(w string) bool { return slices.Contains(cfg.Workloads, w) }
	if cfg.Limits {
		emit(r.workload(ctx, "limit-http-bare", r.limitHTTPBare))
		emit(r.workload(ctx, "limit-http", r.limitHTTP))
	}
	if want("show") {
		emit(r.workload(ctx, "show", r.showOp))
	}
	var store *sqlite.DB
	if cfg.Limits && cfg.Database != "" {
		var err error
		// The model cache off: limit-store-read measures SQLite's read,
		// what a show costs the server's store when it reads the database.
		store, err = sqlite.Open(ctx, cfg.Database, sqlite.Options{Synchronous: cfg.Synchronous, ModelCache: -1})
		if err != nil {
			return results, fmt.Errorf("opening %s for the store limits: %w", cfg.Database, err)
		}
		defer store.Close()
		emit(r.workload(ctx, "limit-store-read", r.limitStoreRead(store)))
	} else if cfg.Limits {
		fmt.Fprintln(cfg.Progress, "bench: no --database: limit-store-read and limit-store-delete skipped")
	}
	if want("list-first-page") {
		for _, l := range r.firstPageLists() {
			emit(r.listWorkload(ctx, "list-first-page "+l.name, l.gen))
		}
	}
	if want("list-deep-page") {
		emit(r.listWorkload(ctx, "list-deep-page", r.deepPage(false)))
		emit(r.listWorkload(ctx, "list-deep-page marker", r.deepPage(true)))
	}
	if store != nil {
		emit(r.workload(ctx, "limit-store-delete", r.limitStoreDelete(store, 0)))
		emit(r.workload(ctx, "limit-store-delete-trash", r.limitStoreDelete(store, 7*24*time.Hour)))
	}
	switch {
	case want("delete") && want("delete-trash") && cfg.TrashClient != nil:
		for _, res := range r.deletePair(ctx) {
			emit(res)
		}
	case want("delete"):
		emit(r.workload(ctx, "delete", r.deleteOp))
	case want("delete-trash") && cfg.TrashClient != nil:
		res := r.workload(ctx, "delete-trash", r.deleteTrashOp)
		r.checkTrash(ctx, &res)
		emit(res)
	}
	if want("delete-trash") && cfg.TrashClient == nil {
		fmt.Fprintln(cfg.Progress, "bench: no --trash-endpoint: delete-trash skipped")
	}
	if want("delete-cascade") {
		emit(r.workload(ctx, "delete-cascade", r.cascadeOp))
	}
	if want("import") {
		res := r.workload(ctx, "import", r.importOp)
		r.settleImports(ctx, &res)
		emit(res)
	}
	if want("mixed") {
		res := r.workload(ctx, "mixed", r.mixedOp)
		r.settleImports(ctx, &res)
		emit(res)
	}
	return results, nil
}

// workload measures fn and samples the server's memory meanwhile.
func (r *run) workload(ctx context.Context, name string, fn op) Result {
	fmt.Fprintf(r.cfg.Progress, "bench: %s (%d workers, %v)\n", name, r.cfg.Concurrency, r.cfg.Duration)
	r.rss.reset()
	res := measure(ctx, name, r.cfg.Concurrency, r.cfg.Warmup, r.cfg.Duration, fn)
	res.MaxRSSMiB = r.rss.max()
	return res
}

// seed creates cfg.Models models through the bulk extension: names of 1 to
// 30 versions, spread over model types and sizes, two bulk calls in flight.
// Its result counts models, not calls; the latencies are the calls'.
func (r *run) seed(ctx context.Context) (Result, error) {
	start := time.Now()
	r.rss.reset()
	calls := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	fmt.Fprintf(r.cfg.Progress, "bench: seeding %d models (names of 1-30 versions, tag %q)\n", r.cfg.Models, r.tag)
	type batch struct {
		models []modelreg.BulkModel
		names  []int // index in r.names of each model
	}
	batches := make(chan batch, 2)
	errc := make(chan error, 1)
	go func() {
		defer close(batches)
		var b batch
		n := 0
		for i := 0; n < r.cfg.Models; i++ {
			versions := 1 + r.rng.IntN(30)
			versions = min(versions, r.cfg.Models-n)
			name := fmt.Sprintf("%s-%s%d", families[i%len(families)], r.tag, i)
			r.names = append(r.names, seededName{name: name})
			for v := range versions {
				b.models = append(b.models, modelreg.BulkModel{
					ModelImport: modelreg.ModelImport{
						Name: name, Version: fmt.Sprintf("%d.%d.%d", v/100, v/10%10, v%10),
						Type:        types[r.rng.IntN(len(types))],
						Description: fmt.Sprintf("%s %s model, build %d-%d", families[(i/7)%len(families)], tasks[i%len(tasks)], i, v),
					},
					Size: r.rng.Int64N(10 << 30),
				})
				b.names = append(b.names, len(r.names)-1)
				n++
				if len(b.models) == seedBatch || n == r.cfg.Models {
					select {
					case batches <- b:
					case <-ctx.Done():
						return
					}
					b = batch{}
				}
			}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var seeded atomic.Int64
	for range 2 {
		wg.Go(func() {
			for b := range batches {
				t0 := time.Now()
				ids, err := r.c.CreateModels(ctx, b.models)
				mu.Lock()
				_ = calls.RecordValue(max(1, time.Since(t0).Microseconds()))
				mu.Unlock()
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					for range batches { // drain so the producer ends
					}
					return
				}
				mu.Lock()
				for i, id := range ids {
					sn := &r.names[b.names[i]]
					sn.ids = append(sn.ids, id)
				}
				mu.Unlock()
				if n := seeded.Add(int64(len(ids))); n/100000 != (n-int64(len(ids)))/100000 {
					fmt.Fprintf(r.cfg.Progress, "bench: %d models seeded (%.0f/s)\n", n, float64(n)/time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return Result{}, fmt.Errorf("seeding: %w", err)
	default:
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	d := time.Since(start)
	fmt.Fprintf(r.cfg.Progress, "bench: seeded %d models under %d names in %v (%.0f models/s)\n",
		r.cfg.Models, len(r.names), d.Round(time.Millisecond), float64(r.cfg.Models)/d.Seconds())
	res := Result{Workload: "seed", Ops: int64(r.cfg.Models), OpsPerSec: float64(r.cfg.Models) / d.Seconds(),
		P50ms: float64(calls.ValueAtQuantile(50)) / 1000, P99ms: float64(calls.ValueAtQuantile(99)) / 1000,
		Concurrency: 2, Seconds: d.Seconds(), MaxRSSMiB: r.rss.max(),
		Note: fmt.Sprintf("%d names, bulk calls of %d models (latencies per call)", len(r.names), seedBatch)}

	return res, nil
}

// load lists the project's models (published ones: the seeded kind) into
// r.names, by marker, 1,000 a page.
func (r *run) load(ctx context.Context) error {
	start := time.Now()
	byName := map[string]int{}
	q := url.Values{"limit": {"1000"}, "sort_by": {modelreg.ModelSortCreateAt}, "order": {"asc"},
		"model_status": {modelreg.ModelPublished}}
	n := 0
	for {
		var l modelreg.ModelList
		if err := r.c.Do(ctx, http.MethodGet, "models", q, nil, &l); err != nil {
			return fmt.Errorf("listing the project's models: %w", err)
		}
		for _, m := range l.Models {
			if strings.HasPrefix(m.Name, "bench-import-") {
				continue
			}
			i, ok := byName[m.Name]
			if !ok {
				i = len(r.names)
				byName[m.Name] = i
				r.names = append(r.names, seededName{name: m.Name})
			}
			r.names[i].ids = append(r.names[i].ids, m.ID)
			n++
		}
		if l.NextMarker == "" {
			break
		}
		q.Set("marker", l.NextMarker)
	}
	fmt.Fprintf(r.cfg.Progress, "bench: reusing %d models under %d names (listed in %v)\n", n, len(r.names), time.Since(start).Round(time.Millisecond))
	return nil
}

// partition deals the models out to the workloads: names of exactly
// cascadeVersions versions are the cascade's; every other model is shown
// (even position) or deleted (odd position).
func (r *run) partition() {
	var rest []string
	for _, sn := range r.names {
		if len(sn.ids) == cascadeVersions {
			r.cascades = append(r.cascades, sn.ids[0])
			continue
		}
		rest = append(rest, sn.ids...)
	}
	r.rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	r.rng.Shuffle(len(r.cascades), func(i, j int) { r.cascades[i], r.cascades[j] = r.cascades[j], r.cascades[i] })
	for i, id := range rest {
		if i%2 == 0 {
			r.show = append(r.show, id)
		} else {
			r.deletes = append(r.deletes, id)
		}
	}
}

// workerRand returns a random source for worker w of the current workload.
func (r *run) workerRand(w int) *rand.Rand {
	return rand.New(rand.NewPCG(r.cfg.Seed+uint64(w), uint64(time.Now().UnixNano())))
}

// get sends a GET of a path under /v1/{project_id} and discards the body:
// decoding it would spend, on the same cores, CPU the server could use.
func (r *run) get(ctx context.Context, path string, q url.Values) error {
	return r.c.Do(ctx, http.MethodGet, path, q, nil, nil)
}

// limitHTTP calls the authenticated ping: the HTTP stack, the middleware
// and authentication.
func (r *run) limitHTTP(ctx context.Context, _ int) (bool, error) {
	return true, r.c.Ping(ctx)
}

// limitHTTPBare calls /healthz, which runs behind the same middleware but
// authentication (and is logged at Debug): what limit-http would be
// without authentication. The client signs it all the same, so the two
// differ only in the server's work.
func (r *run) limitHTTPBare(ctx context.Context, _ int) (bool, error) {
	return true, r.c.Health(ctx)
}

// randomID returns a random model that no workload deletes.
func (r *run) randomID(rng *rand.Rand) string {
	if len(r.show) == 0 {
		return ""
	}
	return r.show[rng.IntN(len(r.show))]
}

// showOp returns an op that shows a random model.
func (r *run) showOp(ctx context.Context, w int) (bool, error) {
	return r.showWith(ctx, r.rands(w))
}

func (r *run) showWith(ctx context.Context, rng *rand.Rand) (bool, error) {
	id := r.randomID(rng)
	if id == "" {
		return false, &exhausted{"no model to show: seed some with --models"}
	}
	return true, r.get(ctx, "models/"+id, nil)
}

// rands returns worker w's random source.
func (r *run) rands(w int) *rand.Rand {
	r.randsMu.Lock()
	defer r.randsMu.Unlock()
	if r.workerRands == nil {
		r.workerRands = map[int]*rand.Rand{}
	}
	rng, ok := r.workerRands[w]
	if !ok {
		rng = r.workerRand(w)
		r.workerRands[w] = rng
	}
	return rng
}

// list is a list workload: gen returns the query of each request.
type list struct {
	name string
	gen  func(rng *rand.Rand) url.Values
}

// firstPageLists returns the first-page workloads: each sort with no
// filter, then each filter.
func (r *run) firstPageLists() []list {
	var ls []list
	for _, sort := range []string{modelreg.ModelSortCreateAt, modelreg.ModelSortVersion, modelreg.ModelSortSize} {
		ls = append(ls, list{"sort_by=" + sort, func(*rand.Rand) url.Values { return url.Values{"sort_by": {sort}} }})
	}
	ls = append(ls,
		list{"model_name exact", func(rng *rand.Rand) url.Values {
			return url.Values{"model_name": {r.randomName(rng)}, "exact_match": {"true"}}
		}},
		list{"model_status=published", func(*rand.Rand) url.Values { return url.Values{"model_status": {modelreg.ModelPublished}} }},
		list{"model_type", func(rng *rand.Rand) url.Values {
			return url.Values{"model_type": {types[rng.IntN(len(types))]}}
		}},
		list{"not_model_type", func(rng *rand.Rand) url.Values {
			return url.Values{"not_model_type": {types[rng.IntN(len(types))]}}
		}},
		// A name substring as a person types it: the tag and the first
		// three digits of a seeded name's number, which match about one
		// name in 600 at a million models (123, 1230-1239, 12300-12399).
		list{"model_name substring", func(rng *rand.Rand) url.Values {
			return url.Values{"model_name": {r.nameNeedle(rng)}}
		}},
		list{"description substring", func(rng *rand.Rand) url.Values {
			return url.Values{"description": {"build " + strconv.Itoa(100+rng.IntN(900))}}
		}},
	)
	return ls
}

// nameNeedle returns a substring of a random seeded name: what follows
// its family and dash, 5 characters (its tag and the first three digits of
// its number).
func (r *run) nameNeedle(rng *rand.Rand) string {
	for range 100 {
		_, rest, ok := strings.Cut(r.randomName(rng), "-")
		if ok && len(rest) >= 5 {
			return rest[:5]
		}
	}
	return "none"
}

// randomName returns a random seeded name.
func (r *run) randomName(rng *rand.Rand) string {
	if len(r.names) == 0 {
		return "none"
	}
	return r.names[rng.IntN(len(r.names))].name
}

// listWorkload runs a list workload, noting the average total_count of a
// sample of its queries.
func (r *run) listWorkload(ctx context.Context, name string, gen func(*rand.Rand) url.Values) Result {
	sample := rand.New(rand.NewPCG(r.cfg.Seed, 7))
	var sum, n int
	for range 20 {
		q := gen(sample)
		if q == nil {
			break
		}
		var l modelreg.ModelList
		if err := r.c.Do(ctx, http.MethodGet, "models", q, nil, &l); err == nil {
			sum += l.TotalCount
			n++
		}
	}
	res := r.workload(ctx, name, func(ctx context.Context, w int) (bool, error) {
		q := gen(r.rands(w))
		if q == nil {
			return false, &exhausted{"nothing to list: seed more models"}
		}
		return true, r.get(ctx, "models", q)
	})
	if n > 0 && res.Note == "" {
		res.Note = fmt.Sprintf("total_count %d on average", sum/n)
	}
	return res
}

// deepPage returns the generator of list-deep-page: a random page of 100
// in the last 10 % of the project, by offset or by the marker of the page
// before it (found once, by offset, before the run).
func (r *run) deepPage(marker bool) func(*rand.Rand) url.Values {
	ctx := context.Background()
	var l modelreg.ModelList
	if err := r.c.Do(ctx, http.MethodGet, "models", url.Values{"limit": {"1"}}, nil, &l); err != nil || l.TotalCount < 1000 {
		return func(*rand.Rand) url.Values { return nil }
	}
	pages := l.TotalCount / 100
	first := pages - pages/10
	if !marker {
		return func(rng *rand.Rand) url.Values {
			return url.Values{"offset": {strconv.Itoa(first + rng.IntN(pages-first))}}
		}
	}
	var markers []string
	sample := rand.New(rand.NewPCG(r.cfg.Seed, 9))
	for range 50 {
		q := url.Values{"offset": {strconv.Itoa(first - 1 + sample.IntN(pages-first))}}
		var p modelreg.ModelList
		if err := r.c.Do(ctx, http.MethodGet, "models", q, nil, &p); err == nil && p.NextMarker != "" {
			markers = append(markers, p.NextMarker)
		}
	}
	if len(markers) == 0 {
		return func(*rand.Rand) url.Values { return nil }
	}
	return func(rng *rand.Rand) url.Values {
		return url.Values{"marker": {markers[rng.IntN(len(markers))]}}
	}
}

// takeDelete returns the next model to delete, or "" when none is left.
func (r *run) takeDelete() string {
	i := r.nextDel.Add(1) - 1
	if i >= int64(len(r.deletes)) {
		return ""
	}
	return r.deletes[i]
}

func (r *run) deleteOp(ctx context.Context, _ int) (bool, error) { return r.deleteWith(ctx, r.c) }

// pairRounds is how many alternating rounds deletePair runs of each.
const pairRounds = 5

// deletePair measures delete and delete-trash in pairRounds alternating
// rounds of Duration/pairRounds each (a warm-up before the first of each),
// so that both see the same drift of a shared machine's load, and merges
// each one's rounds: ops and seconds add up, p50 and p99 are the worst
// round's. Each round takes at most its share of the models left.
func (r *run) deletePair(ctx context.Context) []Result {
	total := [2]Result{{Workload: "delete"}, {Workload: "delete-trash"}}
	ops := [2]op{r.deleteOp, r.deleteTrashOp}
	d := r.cfg.Duration / pairRounds
	for round := range pairRounds {
		for i := range ops {
			warmup := time.Duration(0)
			if round == 0 {
				warmup = r.cfg.Warmup
			}
			left := int64(len(r.deletes)) - r.nextDel.Load()
			budget := left / int64(2*(pairRounds-round)-i)
			var taken atomic.Int64
			fn := func(ctx context.Context, w int) (bool, error) {
				if taken.Add(1) > budget {
					return false, &exhausted{"took its share of the models left to delete: seed more"}
				}
				return ops[i](ctx, w)
			}
			fmt.Fprintf(r.cfg.Progress, "bench: %s round %d (%d workers, %v)\n", total[i].Workload, round+1, r.cfg.Concurrency, d)
			r.rss.reset()
			res := measure(ctx, total[i].Workload, r.cfg.Concurrency, warmup, d, fn)
			t := &total[i]
			t.Ops += res.Ops
			t.Errors += res.Errors
			t.Seconds += res.Seconds
			t.Concurrency = res.Concurrency
			t.P50ms, t.P99ms = max(t.P50ms, res.P50ms), max(t.P99ms, res.P99ms)
			t.MaxRSSMiB = max(t.MaxRSSMiB, r.rss.max())
			if res.Note != "" && t.Note == "" {
				t.Note = res.Note
			}
		}
	}
	for i := range total {
		if total[i].Seconds > 0 {
			total[i].OpsPerSec = float64(total[i].Ops) / total[i].Seconds
		}
		total[i].Note = strings.TrimSpace(fmt.Sprintf("%d alternating rounds, p50/p99 of the worst; %s", pairRounds, total[i].Note))
	}
	r.checkTrash(ctx, &total[1])
	if total[0].OpsPerSec > 0 {
		fmt.Fprintf(r.cfg.Progress, "bench: delete-trash runs at %.0f %% of delete\n", 100*total[1].OpsPerSec/total[0].OpsPerSec)
	}
	return total[:]
}

// deleteTrashOp is deleteOp through the server with the trash on.
func (r *run) deleteTrashOp(ctx context.Context, _ int) (bool, error) {
	return r.deleteWith(ctx, r.cfg.TrashClient)
}

// checkTrash counts an error in res when the delete-trash workload deleted
// models and the trash server's trash is empty: it does not keep one.
func (r *run) checkTrash(ctx context.Context, res *Result) {
	list, err := r.cfg.TrashClient.ListTrash(ctx, "", 1, 0)
	if err == nil && list.TotalCount == 0 && res.Ops > 0 {
		err = errors.New("the --trash-endpoint server keeps no trash: run it with --trash-retention > 0")
	}
	if err != nil {
		fmt.Fprintf(r.cfg.Progress, "bench: delete-trash: %v\n", err)
		res.Errors++
	}
}

func (r *run) deleteWith(ctx context.Context, c *client.Client) (bool, error) {
	id := r.takeDelete()
	if id == "" {
		return false, &exhausted{"no model left to delete: seed more"}
	}
	var res modelreg.DeleteResult
	if err := c.Do(ctx, http.MethodDelete, "models/"+id, nil, nil, &res); err != nil {
		return true, err
	}
	if len(res.Success) != 1 {
		return true, fmt.Errorf("delete %s: %d deleted, failures %v", id, len(res.Success), res.Failed)
	}
	return true, nil
}

func (r *run) cascadeOp(ctx context.Context, _ int) (bool, error) {
	i := r.nextCas.Add(1) - 1
	if i >= int64(len(r.cascades)) {
		return false, &exhausted{"no name of 20 versions left: seed more"}
	}
	var res modelreg.DeleteResult
	q := url.Values{"cascade": {"true"}}
	if err := r.c.Do(ctx, http.MethodDelete, "models/"+r.cascades[i], q, nil, &res); err != nil {
		return true, err
	}
	if len(res.Success) != cascadeVersions {
		return true, fmt.Errorf("cascade %s: %d deleted, failures %v", r.cascades[i], len(res.Success), res.Failed)
	}
	return true, nil
}

// importOp imports the small model of cfg.ImportDir under a new version.
func (r *run) importOp(ctx context.Context, _ int) (bool, error) {
	n := r.imports.Add(1)
	var res modelreg.ModelImportResult
	err := r.c.Do(ctx, http.MethodPost, "models", nil, &modelreg.ModelImport{
		Name: "bench-import-" + r.importTag + "-" + strconv.FormatInt(n/1000000, 10), Version: fmt.Sprintf("%d.%d.%d", n/10000%100, n/100%100, n%100),
		Type: "PyTorch", Description: "imported by modelreg bench", SourceLocation: "file://" + filepath.ToSlash(r.cfg.ImportDir),
	}, &res)
	return true, err
}

// settleImports waits (a minute at most) for the imports the workload
// started to finish, and counts the failed ones as errors.
func (r *run) settleImports(ctx context.Context, res *Result) {
	wait := r.cfg.ImportWait
	if wait == 0 {
		wait = time.Minute
	} else if wait < 0 {
		return
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		var l modelreg.ModelList
		err := r.c.Do(ctx, http.MethodGet, "models", url.Values{"model_status": {modelreg.ModelPublishing}, "limit": {"1"}}, nil, &l)
		if err != nil || l.TotalCount == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var l modelreg.ModelList
	q := url.Values{"model_status": {modelreg.ModelFailed}, "model_name": {"bench-import-" + r.importTag + "-"}, "limit": {"1"}}
	if err := r.c.Do(ctx, http.MethodGet, "models", q, nil, &l); err == nil && l.TotalCount > 0 {
		res.Errors += int64(l.TotalCount)
		res.Note = strings.TrimSpace(res.Note + fmt.Sprintf(" %d imports failed", l.TotalCount))
	}
}

// mixedOp is the read/write blend: 60 % show, 15 % first page, 5 % a
// filtered first page, 10 % delete, 10 % import.
func (r *run) mixedOp(ctx context.Context, w int) (bool, error) {
	rng := r.rands(w)
	switch p := rng.IntN(100); {
	case p < 60:
		return r.showWith(ctx, rng)
	case p < 75:
		return true, r.get(ctx, "models", nil)
	case p < 80:
		return true, r.get(ctx, "models", url.Values{"model_type": {types[rng.IntN(len(types))]}})
	case p < 90:
		_, err := r.deleteOp(ctx, w)
		var ex *exhausted
		if errors.As(err, &ex) {
			return r.showWith(ctx, rng) // out of models to delete: read instead
		}
		return true, err
	default:
		return r.importOp(ctx, w)
	}
}

// limitStoreRead reads random models straight from the store.
func (r *run) limitStoreRead(db *sqlite.DB) op {
	project := r.c.ProjectID()
	return func(ctx context.Context, w int) (bool, error) {
		id := r.randomID(r.rands(w))
		if id == "" {
			return false, &exhausted{"no model to read: seed some with --models"}
		}
		_, err := db.FindModelByID(ctx, project, id)
		return true, err
	}
}

// limitStoreDelete deletes models straight from the store, taking them from
// the same queue as the delete workload, but at most half of what is left
// of it: the delete workload, measured after it, must not find it empty.
// With trash > 0 the models go to the trash.
func (r *run) limitStoreDelete(db *sqlite.DB, trash time.Duration) op {
	project := r.c.ProjectID()
	var taken atomic.Int64
	budget := (int64(len(r.deletes)) - r.nextDel.Load()) / 2
	return func(ctx context.Context, _ int) (bool, error) {
		if taken.Add(1) > budget {
			return false, &exhausted{"took half the models left to delete (the other half is the delete workload's): seed more"}
		}
		id := r.takeDelete()
		if id == "" {
			return false, &exhausted{"no model left to delete: seed more"}
		}
		errs, _, err := db.DeleteModelBatch(ctx, project, []string{id}, modelreg.DeleteOptions{Trash: trash})
		if err == nil {
			err = errs[0]
		}
		return true, err
	}
}

// EnsureImportDir creates dir with a small model (a config.json and a
// 4 KiB weights file) unless it exists.
func EnsureImportDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "model", "config.json")); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "model"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "model", "config.json"), []byte(`{"model_type":"PyTorch"}`+"\n"), 0o644); err != nil {
		return err
	}
	weights := make([]byte, 4096)
	for i := range weights {
		weights[i] = byte(i * 31)
	}
	return os.WriteFile(filepath.Join(dir, "model", "weights.bin"), weights, 0o644)
}

// Table writes results as a table for people.
func Table(w io.Writer, results []Result) error {
	if _, err := fmt.Fprintf(w, "%-36s %9s %10s %9s %9s %7s %8s  %s\n", "WORKLOAD", "OPS", "OPS/S", "P50 MS", "P99 MS", "ERRORS", "RSS MiB", "NOTE"); err != nil {
		return err
	}
	for _, r := range results {
		if _, err := fmt.Fprintf(w, "%-36s %9d %10.1f %9.2f %9.2f %7d %8.1f  %s\n",
			r.Workload, r.Ops, r.OpsPerSec, r.P50ms, r.P99ms, r.Errors, r.MaxRSSMiB, r.Note); err != nil {
			return err
		}
	}
	return nil
}

// JSON writes one JSON object per line for r.
func JSON(w io.Writer, r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
