package cli

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/bench"
)

func benchCommand() *command {
	return &command{
		name:    "bench",
		args:    "[flags]",
		summary: "measure a server: seed models, run each workload, report the limits",
		help: `Seeds --models models through the bulk extension (names of 1-30 versions),
then runs each workload for --duration with --concurrency requests in flight:
show, list-first-page (each sort, and each filter), list-deep-page (a page in
the last 10 %, by offset and by marker), delete, delete-cascade (names of 20
versions), import (a small folder, --import-dir, which the server must be
allowed to read) and mixed (60 % show, 20 % list, 10 % delete, 10 % import).
delete-trash is the delete workload through --trash-endpoint: a second server
on the same database run with --trash-retention > 0, so that one run measures
the delete with the trash off and on (skipped without it).

--limits adds limit-http-bare (GET /healthz: the server's HTTP stack and
middleware without authentication), limit-http (GET /modelreg/v1/ping: the
same with authentication, and nothing else) and, with --database (the server's SQLite file, opened by this
process with the same --sqlite-synchronous), limit-store-read (with no model
cache: SQLite's read) and limit-store-delete and limit-store-delete-trash: the
raw store operation in a loop. Read every result as a
ratio of its limit.

Prints a table, or with --json one JSON object per workload:
{"workload","ops","ops_per_sec","p50_ms","p99_ms","errors",...}. The RSS
column is the server's peak resident memory during the workload, sampled
from its /metrics. Deletes consume the seeded models: seed enough, or
--reuse the models of an earlier run (they are listed first).`,
		flags: func(e *env, fs *flag.FlagSet) func([]string) error {
			g := e.clientFlags(fs)
			models := fs.Int("models", 10000, "`number` of models to seed (0: none)")
			reuse := fs.Bool("reuse", false, "also work on the published models already in the project (an earlier run's)")
			duration := fs.Duration("duration", 10*time.Second, "how long each workload runs")
			warmup := fs.Duration("warmup", time.Second, "unmeasured run before each workload")
			concurrency := fs.Int("concurrency", 16, "requests in flight")
			workloads := fs.String("workloads", "", "comma-separated `list` of workloads (default: all): "+strings.Join(bench.Workloads, ","))
			limits := fs.Bool("limits", false, "also measure limit-http-bare and limit-http, and with --database the store limits")
			database := fs.String("database", "", "the server's SQLite `file`, for the store limits")
			syncMode := fs.String("sqlite-synchronous", "FULL", "SQLite synchronous `mode` of the store limits: the server's")
			trashEndpoint := fs.String("trash-endpoint", "", "`URL` of a server on the same database with --trash-retention > 0, for delete-trash")
			importDir := fs.String("import-dir", "modelreg-bench-import", "`dir`ectory the import workload imports (created when missing)")
			seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random `seed`")
			asJSON := fs.Bool("json", false, "one JSON object per workload (same as --output json)")
			yes := fs.Bool("yes", false, "seed even into a project that already holds models (the delete workloads delete them)")
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("bench takes no arguments, got %q", args[0])
				}
				if *asJSON {
					g.output.format = "json"
				}
				if *concurrency < 1 || *duration <= 0 || *warmup < 0 || *models < 0 {
					return usagef("--concurrency, --duration, --warmup and --models must be positive")
				}
				var ws []string
				if *workloads != "" {
					ws = strings.Split(*workloads, ",")
				}
				dir, err := absPath(*importDir)
				if err != nil {
					return err
				}
				if err := bench.EnsureImportDir(dir); err != nil {
					return fmt.Errorf("import dir: %w", err)
				}
				hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
					Proxy:               http.ProxyFromEnvironment,
					MaxIdleConns:        *concurrency + 8,
					MaxIdleConnsPerHost: *concurrency + 8,
					IdleConnTimeout:     time.Minute,
				}}
				c, err := g.client(client.WithHTTPClient(hc), client.WithUserAgent("modelreg-bench/"+version()))
				if err != nil {
					return err
				}
				if *models > 0 && !*reuse && !*yes {
					list, err := c.ListModels(e.ctx, modelreg.ModelFilter{Page: modelreg.Page{Limit: 1}})
					if err != nil {
						return err
					}
					if list.TotalCount > 0 {
						return fmt.Errorf("project %s already holds %d models, and the delete workloads delete models: "+
							"run bench in a dedicated project (modelreg project create bench, then --project ID), or give --yes (or --reuse)",
							c.ProjectID(), list.TotalCount)
					}
				}
				var tc *client.Client
				if *trashEndpoint != "" {
					tg := *g
					tg.endpoint = *trashEndpoint
					if tc, err = tg.client(client.WithHTTPClient(hc), client.WithUserAgent("modelreg-bench/"+version())); err != nil {
						return err
					}
				}
				var results []bench.Result
				cfg := bench.Config{
					Client: c, TrashClient: tc, Models: *models, Reuse: *reuse, Duration: *duration, Warmup: *warmup, Concurrency: *concurrency,
					Workloads: ws, Limits: *limits, Database: *database, Synchronous: *syncMode,
					ImportDir: dir, Seed: *seed, Progress: e.stderr,
					OnResult: func(r bench.Result) {
						results = append(results, r)
						if g.json() {
							_ = bench.JSON(e.stdout, r)
						}
					},
				}
				_, err = bench.Run(e.ctx, cfg)
				if !g.json() && len(results) > 0 {
					if terr := bench.Table(e.stdout, results); terr != nil && err == nil {
						err = terr
					}
				}
				if err != nil {
					return err
				}
				for _, r := range results {
					if r.Errors > 0 {
						return &FailedError{Msg: fmt.Sprintf("workload %s had %d errors", r.Workload, r.Errors)}
					}
				}
				return nil
			}
		},
	}
}

// absPath returns p made absolute.
func absPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	return filepath.Abs(p)
}
