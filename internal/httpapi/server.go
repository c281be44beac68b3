// Package httpapi serves the ModelArts v1 model-management API (models and
// services) over HTTP, plus /healthz, /readyz and /metrics.
//
// Handlers are methods on *Server: each parses its input, calls the store
// or the domain, and encodes the result. Every failure goes through
// Server.error, which owns the internal code → HTTP status map.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
)

// DefaultMaxBodyBytes is the largest request body accepted when
// Config.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 1 << 20

// readyTimeout bounds the store ping of /readyz.
const readyTimeout = 2 * time.Second

// Config configures a Server. Only Store is required.
type Config struct {
	// Store is the database. Required.
	Store modelreg.Store
	// Catalog lists the runtimes, flavors and dedicated pools imports and
	// deploys may name. Nil means modelreg.DefaultCatalog().
	Catalog *modelreg.Catalog
	// DeployerSecret, when set, serves POST /modelreg/v1/deployer/reports:
	// the orchestrator's reports, signed with this secret (deployer.go).
	DeployerSecret []byte
	// Deployer brings new and restarted services up. Nil means
	// &modelreg.InstantDeployer{Services: Store}.
	Deployer modelreg.Deployer
	// CheckSource validates a model's source_location before the model is
	// created; a *modelreg.Error it returns reaches the client as is (400
	// ModelArts.3017 for a refused location), any other error is an
	// internal error. Nil accepts every location.
	CheckSource func(loc string) error
	// OnModelCreated is called after a model (and its import job) is
	// stored, to wake the importer. It runs in the request and must not
	// block. Nil does nothing.
	OnModelCreated func()
	// OnModelsDeleted is called after a delete call queued blobs for
	// collection (a model deleted for good had files no other model
	// references), after a purge of the trash and after an upload was
	// aborted, to wake the blob collector. A delete that queued nothing (the
	// model had no files, or went to the trash) does not call it. It must
	// not block. Nil does nothing.
	OnModelsDeleted func()
	// CascadeLimit is the most models one delete call removes. Zero means
	// modelreg.DefaultCascadeLimit.
	CascadeLimit int
	// TrashRetention, when > 0, turns the trash on: a deleted model is
	// kept that long, restorable, before it is purged. Zero deletes at
	// once (the ModelArts behaviour).
	TrashRetention time.Duration
	// MaxBodyBytes is the largest request body accepted; larger ones get
	// 413. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives access logs and internal errors. Nil discards them.
	Logger *slog.Logger
	// RequestTimeout bounds the handling of each request: when it runs out,
	// the store calls in flight are cancelled and the request gets 503
	// ModelArts.6101. Zero means no bound.
	RequestTimeout time.Duration
	// Registry receives the server's metrics and is served at /metrics.
	// Nil means a new registry with the Go and process collectors.
	Registry *prometheus.Registry
	// Auth authenticates every request but /healthz, /readyz, /metrics and
	// POST /v3/auth/tokens, and serves the IAM routes (/v3/...). Nil means
	// no authentication (--auth=none): every request may act on every
	// project, and the IAM routes do not exist.
	Auth *auth.Authenticator

	// TrustedProxies are the address ranges of the proxies in front of
	// the server: only a request whose peer is in one of them has its
	// client address taken from X-Forwarded-For (the rightmost address
	// not in these ranges), for the access log and the authentication
	// limiter. Empty means the peer is the client.
	TrustedProxies []netip.Prefix

	// WebhookAllowPrivate lets webhooks reach loopback, link-local and
	// private addresses (--webhook-allow-private).
	WebhookAllowPrivate bool
	// Secrets seals webhook secrets at rest (the master key's keyring);
	// nil stores them unsealed (no master key: --auth=none).
	Secrets modelreg.SecretSealer

	// Uploads receives pushed models (the /modelreg/v1/…/uploads routes);
	// nil answers them with 404.
	Uploads modelreg.Uploader
	// UploadMinRate is the fewest bytes a file upload's body must deliver
	// in every UploadRateWindow; a slower body is cut with 400
	// ModelArts.0101, which frees its stream for others. Zero means
	// DefaultUploadMinRate, a negative value no minimum.
	UploadMinRate int64
	// UploadRateWindow is the window of UploadMinRate; zero means
	// DefaultUploadRateWindow.
	UploadRateWindow time.Duration
	// Blobs serves the files of models for download; nil answers file
	// downloads with 404.
	Blobs modelreg.BlobStore
}

// Server is the HTTP API. It implements http.Handler.
type Server struct {
	store               modelreg.Store
	deployer            modelreg.Deployer
	catalog             *modelreg.Catalog
	deployerSecret      []byte
	checkSource         func(string) error
	onModelCreated      func()
	onModelsDeleted     func()
	cascadeLimit        int
	trashRetention      time.Duration
	maxBody             int64
	requestTimeout      time.Duration
	logger              *slog.Logger
	registry            *prometheus.Registry
	metrics             *metrics
	auth                *auth.Authenticator
	uploads             modelreg.Uploader
	uploadMinRate       int64 // 0: none
	uploadWindow        time.Duration
	blobs               modelreg.BlobStore
	trustedProxies      []netip.Prefix
	webhookAllowPrivate bool
	secrets             modelreg.SecretSealer

	mux      *http.ServeMux
	patterns map[string]bool // every pattern registered on mux
	handler  http.Handler    // mux behind the middleware
}

// NewServer returns a Server for cfg with its routes and middleware in place.
func NewServer(cfg Config) *Server {
	s := &Server{
		store:               cfg.Store,
		deployer:            cfg.Deployer,
		catalog:             cfg.Catalog,
		deployerSecret:      cfg.DeployerSecret,
		checkSource:         cfg.CheckSource,
		onModelCreated:      cfg.OnModelCreated,
		onModelsDeleted:     cfg.OnModelsDeleted,
		cascadeLimit:        cfg.CascadeLimit,
		trashRetention:      cfg.TrashRetention,
		maxBody:             cfg.MaxBodyBytes,
		requestTimeout:      cfg.RequestTimeout,
		logger:              cfg.Logger,
		registry:            cfg.Registry,
		auth:                cfg.Auth,
		uploads:             cfg.Uploads,
		uploadMinRate:       cfg.UploadMinRate,
		uploadWindow:        cfg.UploadRateWindow,
		blobs:               cfg.Blobs,
		trustedProxies:      cfg.TrustedProxies,
		webhookAllowPrivate: cfg.WebhookAllowPrivate,
		secrets:             cfg.Secrets,
		mux:                 http.NewServeMux(),
		patterns:            map[string]bool{},
	}
	if s.deployer == nil {
		s.deployer = &modelreg.InstantDeployer{Services: cfg.Store}
	}
	switch {
	case s.uploadMinRate == 0:
		s.uploadMinRate = DefaultUploadMinRate
	case s.uploadMinRate < 0:
		s.uploadMinRate = 0
	}
	if s.uploadWindow <= 0 {
		s.uploadWindow = DefaultUploadRateWindow
	}
	if s.catalog == nil {
		s.catalog = modelreg.DefaultCatalog()
	}
	if s.checkSource == nil {
		s.checkSource = func(string) error { return nil }
	}
	if s.onModelCreated == nil {
		s.onModelCreated = func() {}
	}
	if s.onModelsDeleted == nil {
		s.onModelsDeleted = func() {}
	}
	if s.cascadeLimit <= 0 {
		s.cascadeLimit = modelreg.DefaultCascadeLimit
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		s.register(collectors.NewGoCollector())
		s.register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s.metrics = newMetrics(s)
	s.registerDeployerMetrics() // deployer.go
	s.routes()

	// Outermost last: the request id first, so every response has one;
	// then the client's address (behind trusted proxies); then the access log and metrics, which see the final status (a
	// recovered panic's 500 included); then recovery; then the request
	// deadline, which bounds authentication too; then the refusal of paths
	// and query strings no route can parse; then authentication; then
	// routing.
	var h http.Handler = http.HandlerFunc(s.dispatch)
	h = s.authenticate(h)
	h = s.wellFormed(h)
	h = s.deadline(h)
	h = s.recoverer(h)
	h = s.instrument(h)
	h = s.accessLog(h)
	h = s.auditContext(h)
	h = s.clientAddress(h)
	h = requestID(h)
	s.handler = h
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Registry returns the registry served at /metrics, so that callers can
// register more collectors.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// handle registers one route on the mux and remembers its pattern.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, h)
	s.patterns[pattern] = true
}

// dispatch routes r. Requests matching a registered pattern go to the mux;
// the others get the mux's answer rewritten as a ModelArts error body: 404
// (a redirect too: no route serves the path as it is) or 405. A path that
// is not clean never gets here (wellFormed).
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	// Every route is an http.HandlerFunc (handle); for a path a route
	// serves only with a trailing slash, the mux hands back the pattern
	// with its own redirect handler instead.
	if _, route := h.(http.HandlerFunc); route && s.patterns[pattern] {
		if info := infoFrom(r.Context()); info != nil {
			info.route = pattern
		}
		s.mux.ServeHTTP(w, r)
		return
	}
	cw := &captureWriter{header: http.Header{}}
	h.ServeHTTP(cw, r)
	switch {
	case cw.status == http.StatusNotFound:
		s.error(w, r, errRouteNotFound())
	case cw.status == http.StatusMethodNotAllowed:
		s.methodNotAllowed(w, r, cw.header.Get("Allow"))
	case cw.status >= 300 && cw.status < 400:
		// The mux redirects a path without the trailing slash of a
		// {path...} pattern: no route serves it as it is.
		s.error(w, r, errRouteNotFound())
	default:
		for k, v := range cw.header {
			w.Header()[k] = v
		}
		w.WriteHeader(cw.status)
		_, _ = w.Write(cw.body)
	}
}

// cleanPath reports whether p is as the mux wants it: no empty, "." or
// ".." segment (a trailing slash aside).
func cleanPath(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// captureWriter records what the mux's own handlers (not found, method not
// allowed, redirect) write, so dispatch can answer in its place.
type captureWriter struct {
	header http.Header
	status int
	body   []byte
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	c.body = append(c.body, b...)
	return len(b), nil
}

// respond writes v as a 200 JSON response.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.error(w, r, modelreg.Internal("httpapi.respond", err))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// writeJSON writes a JSON body with status.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("X-Content-Type-Options", "nosniff")
	// Without it net/http sends a large body (a page of models) chunked.
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// status is the body of /healthz and of a ready /readyz.
type status struct {
	Status string `json:"status"`
}

// handleHealth reports that the process is alive. It checks nothing else.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, status{Status: "ok"})
}

// handlePing answers {"status":"ok"} and does nothing else: GET
// /modelreg/v1/ping (a modelreg extension). It runs behind the same
// middleware as the API and is logged like it, so that its throughput is
// the ceiling of the HTTP stack, against which a load test reads the API's.
func (s *Server) handlePing(w http.ResponseWriter, r *http.Request) {
	s.respond(w, r, status{Status: "ok"})
}

// handleReady reports whether the store answers: 200, or 503 when it does not.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.error(w, r, &modelreg.Error{Code: modelreg.EUNAVAILABLE, APICode: codeBusy,
			Message: "The store is unavailable. Please try again later.", Op: "httpapi.ready", Err: err})
		return
	}
	s.respond(w, r, status{Status: "ok"})
}
