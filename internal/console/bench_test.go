package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// benchModels is how many models BenchmarkModelsPage seeds, unless
// MODELREG_BENCH_MODELS says otherwise.
const benchModels = 100_000

// BenchmarkModelsPage measures the models page server-side: the console's
// handler and the API calls it makes in-process (the model list and the
// aggregates of the names on the page), over SQLite holding benchModels
// models (5 versions per name) in the project, some of them deployed, with
// the authenticator's Watch running as the server runs it (so the user's
// token is served from the credential cache). It reports the p50 and p99
// of the iterations besides the mean.
//
//	go test ./internal/console -run '^$' -bench ModelsPage -benchtime 200x -count 3
//	MODELREG_BENCH_MODELS=1000000 go test ./internal/console -run '^$' -bench ModelsPage -benchtime 200x -timeout 1h
func BenchmarkModelsPage(b *testing.B) {
	n := benchModels
	if v := os.Getenv("MODELREG_BENCH_MODELS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	e := newEnv(b, store)
	e.watch(b)
	const batch = 5000
	types := []string{"PyTorch", "TensorFlow", "MindSpore", "Custom"}
	for i := 0; i < n; i += batch {
		ms := make([]*modelreg.Model, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			ms = append(ms, &modelreg.Model{ModelSummary: modelreg.ModelSummary{
				Name: fmt.Sprintf("model-%06d", j/5), Version: fmt.Sprintf("1.0.%d", j%5), Type: types[j%len(types)],
				ProjectID: projectA, Description: fmt.Sprintf("benchmark model %d", j), ModelSource: "custom", Size: int64(j) << 10,
			}})
		}
		if err := store.CreateModels(ctx, ms); err != nil {
			b.Fatal(err)
		}
	}
	list, err := e.alice.ListModels(ctx, modelreg.ModelFilter{Page: modelreg.Page{Limit: 10}})
	if err != nil {
		b.Fatal(err)
	}
	for i, m := range list.Models[:3] {
		deploy(b, e.alice, "svc-"+strconv.Itoa(i), m.ID)
	}
	br := e.browser(b)
	br.signIn("alice", "alpha")
	u := e.srv.URL + "/console/"
	req0, _ := http.NewRequest(http.MethodGet, u, nil)
	cookies := br.hc.Jar.Cookies(req0.URL)
	next := br.get("/console/models").body
	marker := ""
	if m := reNext.FindStringSubmatch(next); m != nil {
		marker = m[1]
	}
	rounds := 1 // MODELREG_BENCH_ROUNDS repeats the measurements over the same seeding
	if v := os.Getenv("MODELREG_BENCH_ROUNDS"); v != "" {
		var err error
		if rounds, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	for range rounds {
		benchModelsPages(b, e, cookies, marker)
	}
}

// benchModelsPages measures each kind of models page once.
func benchModelsPages(b *testing.B, e *env, cookies []*http.Cookie, marker string) {
	h := e.srv.Config.Handler
	for _, bc := range []struct{ name, target string }{
		{"first", "/console/models"},
		{"next", "/console/models?" + unescapeAmp(marker)},
		{"search", "/console/models?q=model-0999&in=name"},
		{"type+size", "/console/models?type=PyTorch&sort=model_size&order=desc"},
		{"description", "/console/models?q=model+4242&in=description"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			durations := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, bc.target, nil)
				for _, c := range cookies {
					r.AddCookie(c)
				}
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, r)
				durations = append(durations, time.Since(start))
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s: %d\n%s", bc.target, w.Code, w.Body)
				}
			}
			slices.Sort(durations)
			if len(durations) > 0 {
				p50 := durations[len(durations)/2]
				p99 := durations[min(len(durations)-1, len(durations)*99/100)]
				b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			}
		})
	}
}

var reNext = regexp.MustCompile(`href="/console/models\?([^"]*)" id="next"`)

func unescapeAmp(s string) string { return strings.ReplaceAll(s, "&amp;", "&") }
