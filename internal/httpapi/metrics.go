package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelreg/modelreg"
)

// gaugeTimeout bounds the store query behind a gauge at scrape time.
const gaugeTimeout = 2 * time.Second

// metrics holds the server's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	deletes  *prometheus.CounterVec
	authFail *prometheus.CounterVec
}

// newMetrics creates the server's collectors and registers them (reusing
// the ones already registered by another Server on the same registry).
func newMetrics(s *Server) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelreg_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "modelreg_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		deletes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelreg_model_deletes_total",
			Help: `Models processed by delete calls, by outcome: "success", or "failed-NNNN" with the ModelArts code of the failure.`,
		}, []string{"outcome"}),
		authFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "modelreg_auth_failures_total",
			Help: "Requests refused by authentication, by ModelArts code (ModelArts.6101: slowed down after repeated failures).",
		}, []string{"code"}),
	}
	m.requests = registerAs(s, m.requests)
	m.authFail = registerAs(s, m.authFail)
	m.latency = registerAs(s, m.latency)
	m.deletes = registerAs(s, m.deletes)
	s.register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "modelreg_import_jobs_pending",
		Help: "Import jobs not finished, running or waiting (NaN when the store does not answer).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), gaugeTimeout)
		defer cancel()
		n, err := s.store.PendingImportJobs(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}))
	s.register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "modelreg_blob_gc_pending",
		Help: "Blobs queued for removal from the blob store (NaN when the store does not answer).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), gaugeTimeout)
		defer cancel()
		n, err := s.store.PendingBlobDeletions(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}))
	return m
}

// register registers c and returns it, or the equal collector already
// registered. Any other failure is logged: metrics never stop the server.
func (s *Server) register(c prometheus.Collector) prometheus.Collector {
	err := s.registry.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		return are.ExistingCollector
	}
	s.logger.Warn("cannot register a metric", slog.Any("error", err))
	return c
}

// registerAs is register for a collector of a known type: it returns the
// collector to use, the existing one when an equal one is registered.
func registerAs[T prometheus.Collector](s *Server, c T) T {
	if existing, ok := s.register(c).(T); ok {
		return existing
	}
	return c
}

// observe records one finished request.
func (m *metrics) observe(route, method string, status int, d time.Duration) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
	default:
		method = "other" // a label value per made-up method would grow without bound
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// observeDelete records the per-model outcomes of one delete call.
func (m *metrics) observeDelete(res *modelreg.DeleteResult) {
	if n := len(res.Success); n > 0 {
		m.deletes.WithLabelValues("success").Add(float64(n))
	}
	for _, f := range res.Failed {
		m.deletes.WithLabelValues("failed-" + strings.TrimPrefix(f.ErrorCode, "ModelArts.")).Inc()
	}
}

// observeAuthFailure counts a request that authentication refused: 401,
// or 429 after repeated failures. Other errors met while authenticating (a
// body too large to hash, 413; a store that does not answer) are not
// authentication failures.
func (m *metrics) observeAuthFailure(err error) {
	switch modelreg.ErrorCode(err) {
	case modelreg.EUNAUTHORIZED, modelreg.ERATELIMIT:
		m.authFail.WithLabelValues(modelreg.ErrorAPICode(err)).Inc()
	}
}
