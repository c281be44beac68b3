// Package bench is modelreg's load generator: it seeds a server with models
// through the bulk extension, runs each workload for a duration at a
// concurrency against the server's URL, and reports throughput, latency
// percentiles and errors, next to the limits of the same machine (a trivial
// route on the same HTTP stack, the raw store operations on the same
// database file).
//
// It is a closed loop: Concurrency workers each send one request, wait for
// the answer, and send the next, for Duration. That is what "at a
// concurrency" means, and it needs per-request state a rate-driven attacker
// does not model well: every delete takes a model no other request takes,
// every cascade a name of exactly 20 versions. Latencies go into an HDR
// histogram per worker (1 µs to 1 min, 3 significant digits), merged at the
// end, so percentiles are exact to 0.1 % whatever the run's length.
package bench

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is the outcome of one workload. The first six fields are the
// stable JSON report; the others help read it.
type Result struct {
	Workload    string  `json:"workload"`
	Ops         int64   `json:"ops"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	Errors      int64   `json:"errors"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	// MaxRSSMiB is the largest resident memory of the server sampled
	// during the workload (0 when it could not be read).
	MaxRSSMiB float64 `json:"server_rss_max_mib,omitempty"`
	// Note says what the workload did: the filter, how many models a
	// page matched, why it stopped early.
	Note string `json:"note,omitempty"`
}

// op is one operation of a workload, run by worker w. It returns false when
// the workload has nothing left to do (no model left to delete), and an
// error when the operation failed; a failed operation still counts, as an
// error. An op that finds nothing to do returns false and an *exhausted
// error: it is not counted, and the workload stops early.
type op func(ctx context.Context, w int) (more bool, err error)

// exhausted is the error of an op that had nothing to work on.
type exhausted struct{ why string }

func (e *exhausted) Error() string { return e.why }

// drainLimit is how long an op still in flight when the window closes may
// take to finish before its context is cancelled.
const drainLimit = time.Minute

// measure runs fn with concurrency workers for d after a warm-up (not
// measured), and returns the counts and latencies. A worker starts no op
// after the window closes, but the op it has in flight finishes and counts
// (up to drainLimit): cancelling it would waste its work, leave a delete
// half-reported, and, when a loaded machine makes one op outlast a short
// window, count nothing at all. The elapsed time runs to the last op's end.
func measure(ctx context.Context, name string, concurrency int, warmup, d time.Duration, fn op) Result {
	type worker struct {
		h          *hdrhistogram.Histogram
		ops, errs  int64
		firstError error
		stopped    error // why the worker ran out of work
	}
	ws := make([]*worker, concurrency)
	start := time.Now()
	measureFrom := start.Add(warmup)
	deadline := measureFrom.Add(d)
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(drainLimit))
	defer cancel()
	done := make(chan struct{})
	for i := range ws {
		ws[i] = &worker{h: hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)}
		go func(w *worker, i int) {
			defer func() { done <- struct{}{} }()
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				more, err := fn(ctx, i)
				t1 := time.Now()
				if ctx.Err() != nil {
					return // cut by the drain limit or the caller: neither an op nor an error
				}
				var ex *exhausted
				if errors.As(err, &ex) {
					w.stopped = err
					return
				}
				if t0.After(measureFrom) {
					w.ops++
					if err != nil {
						w.errs++
						if w.firstError == nil {
							w.firstError = err
						}
					}
					_ = w.h.RecordValue(max(1, t1.Sub(t0).Microseconds()))
				}
				if !more {
					return
				}
			}
		}(ws[i], i)
	}
	for range ws {
		<-done
	}
	elapsed := max(0, time.Since(measureFrom))
	h := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	res := Result{Workload: name, Concurrency: concurrency, Seconds: elapsed.Seconds()}
	var firstError, stopped error
	for _, w := range ws {
		h.Merge(w.h)
		res.Ops += w.ops
		res.Errors += w.errs
		if firstError == nil {
			firstError = w.firstError
		}
		if stopped == nil {
			stopped = w.stopped
		}
	}
	if elapsed > 0 {
		res.OpsPerSec = float64(res.Ops) / elapsed.Seconds()
	}
	res.P50ms = float64(h.ValueAtQuantile(50)) / 1000
	res.P99ms = float64(h.ValueAtQuantile(99)) / 1000
	if firstError != nil {
		res.Note = "first error: " + firstError.Error()
	}
	if stopped != nil {
		res.Note = strings.TrimSpace(res.Note + " stopped early: " + stopped.Error())
	}
	return res
}
