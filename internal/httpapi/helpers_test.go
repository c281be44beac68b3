package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/pgtest"
	"github.com/modelreg/modelreg/internal/postgres"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// Two projects: most tests work in projectA; projectB's resources must be
// invisible from it.
const (
	projectA = "0123456789abcdef0123456789abcdef"
	projectB = "fedcba9876543210fedcba9876543210"
)

// testEnv is a real server (httpapi over a fresh store) on a loopback port,
// with a client per project.
type testEnv struct {
	store modelreg.Store
	srv   *httptest.Server
	c     *client.Client // projectA
	cb    *client.Client // projectB
	logs  *syncBuffer    // the server's JSON logs, Debug and up
	api   http.Handler   // the server srv serves, for requests from made-up addresses
	// hc is the HTTP client of c, cb and raw: it fails the test for a
	// response without X-Request-Id or one api/openapi.yaml does not allow.
	hc *http.Client
}

// option adjusts the server's Config; cfg.Store is already set.
type option func(*httpapi.Config)

// The stores the HTTP tests run on, named as the subtests of eachStore.
const (
	storeSQLite   = "sqlite"
	storePostgres = "postgres"
)

// eachStore runs test once per store, as the subtests "sqlite" and
// "postgres"; MustServe, called inside, opens a fresh store of its
// subtest's kind. The postgres subtest is skipped unless
// MODELREG_TEST_POSTGRES_DSN names a server (CI sets it).
func eachStore(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	for _, kind := range []string{storeSQLite, storePostgres} {
		t.Run(kind, func(t *testing.T) {
			if kind == storePostgres {
				pgtest.DSN(t)
			}
			test(t)
		})
	}
}

// storeOf returns the kind of store t runs on: the name of the eachStore
// subtest it is in.
func storeOf(t *testing.T) string {
	t.Helper()
	if parts := strings.Split(t.Name(), "/"); len(parts) > 1 && (parts[1] == storeSQLite || parts[1] == storePostgres) {
		return parts[1]
	}
	t.Fatalf("%s: run the test through eachStore(t, …), so that it covers every store", t.Name())
	return ""
}

// MustOpenStore opens a fresh store of t's kind (see eachStore) with the
// clock now, closed when t ends: SQLite in a temporary directory, or
// PostgreSQL in a schema of its own.
func MustOpenStore(t *testing.T, now func() time.Time) modelreg.Store {
	t.Helper()
	ctx := context.Background()
	var store modelreg.Store
	var err error
	switch storeOf(t) {
	case storePostgres:
		store, err = postgres.Open(ctx, pgtest.MustSchema(t), postgres.Options{Now: now, MaxConns: 4})
	default:
		store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), sqlite.Options{Now: now, Synchronous: "NORMAL"})
	}
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// MustServe starts a server backed by a fresh store of t's kind (see
// eachStore). The store has a clock that advances one second per reading,
// so create_at values are distinct and ordered. Every response the clients
// receive is checked for an X-Request-Id header.
func MustServe(t *testing.T, opts ...option) *testEnv {
	t.Helper()
	clk := &clock{t: time.Date(2024, 3, 8, 12, 0, 0, 0, time.UTC)}
	return serve(t, MustOpenStore(t, clk.Now), opts...)
}

// serve starts a server over store.
func serve(t *testing.T, store modelreg.Store, opts ...option) *testEnv {
	t.Helper()
	logs := &syncBuffer{}
	cfg := httpapi.Config{
		Store:   store,
		Catalog: testCatalog(), // catalog_test.go
		Logger:  slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	api := httpapi.NewServer(cfg)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	_, faulty := cfg.Store.(*faultyStore)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: requireRequestID{t: t, next: checkContract{t: t, next: srv.Client().Transport, faults: faulty}}}
	e := &testEnv{store: store, srv: srv, logs: logs, api: api, hc: hc}
	var err error
	if e.c, err = client.New(srv.URL, projectA, client.WithHTTPClient(hc)); err != nil {
		t.Fatal(err)
	}
	if e.cb, err = client.New(srv.URL, projectB, client.WithHTTPClient(hc)); err != nil {
		t.Fatal(err)
	}
	return e
}

// clock is a fake time source that advances one second per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// requireRequestID fails the test for any response without X-Request-Id.
type requireRequestID struct {
	t    *testing.T
	next http.RoundTripper
}

func (rt requireRequestID) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(r)
	if err == nil && resp.Header.Get("X-Request-Id") == "" {
		rt.t.Errorf("%s %s: %d response without X-Request-Id", r.Method, r.URL, resp.StatusCode)
	}
	return resp, err
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newImport returns a minimal valid import request.
func newImport(name, version string) *modelreg.ModelImport {
	return &modelreg.ModelImport{Name: name, Version: version, Type: "TensorFlow",
		SourceLocation: "obs://bucket/models/" + name + "/" + version}
}

// MustImport imports a model through c and returns its id (publishing).
func MustImport(t testing.TB, c *client.Client, m *modelreg.ModelImport) string {
	t.Helper()
	id, err := c.ImportModel(context.Background(), m)
	if err != nil {
		t.Fatalf("import %s %s: %v", m.Name, m.Version, err)
	}
	return id
}

// MustImportPublished imports a model and publishes it with a 1 KiB file.
func MustImportPublished(t testing.TB, e *testEnv, c *client.Client, name, version string) string {
	t.Helper()
	id := MustImport(t, c, newImport(name, version))
	MustPublish(t, e.store, id)
	return id
}

// MustPublish plays the importer for one model: it claims the model's
// import job through the store's job API, attaches one file and finishes
// the job as published.
func MustPublish(t testing.TB, store modelreg.JobStore, modelID string) {
	t.Helper()
	MustFinishImport(t, store, modelID, modelreg.ImportResult{Status: modelreg.ModelPublished, Size: 1024})
}

// MustFinishImport claims modelID's job (releasing the other jobs it has to
// claim on the way) and finishes it with res; a published result gets one
// file of res.Size bytes.
func MustFinishImport(t testing.TB, store modelreg.JobStore, modelID string, res modelreg.ImportResult) {
	t.Helper()
	ctx := context.Background()
	owner := "test-importer-" + modelID
	var skipped []string
	defer func() {
		for _, id := range skipped {
			if err := store.RetryImport(ctx, id, owner, "claimed by a test helper", time.Time{}); err != nil {
				t.Errorf("release job %s: %v", id, err)
			}
		}
	}()
	for {
		job, err := store.ClaimImportJob(ctx, owner, time.Hour, 0)
		if err != nil {
			t.Fatalf("claim the import job of %s: %v", modelID, err)
		}
		if job.ModelID == modelID {
			break
		}
		skipped = append(skipped, job.ModelID)
	}
	if res.Status == modelreg.ModelPublished {
		sum := sha256.Sum256([]byte(modelID))
		f := modelreg.ModelFile{Path: "model/model.bin", Digest: hex.EncodeToString(sum[:]), Size: res.Size}
		if err := store.AttachModelFile(ctx, modelID, owner, f); err != nil {
			t.Fatalf("attach a file to %s: %v", modelID, err)
		}
	}
	if err := store.FinishImport(ctx, modelID, owner, res); err != nil {
		t.Fatalf("finish the import of %s: %v", modelID, err)
	}
}

// newService returns a real-time service request over the given models,
// with weights adding up to 100.
func newService(name string, modelIDs ...string) *modelreg.ServiceCreate {
	s := &modelreg.ServiceCreate{Name: name, InferType: modelreg.InferRealTime}
	for i, id := range modelIDs {
		w := 100 / len(modelIDs)
		if i == 0 {
			w += 100 % len(modelIDs)
		}
		s.Config = append(s.Config, modelreg.ServiceConfig{ModelID: id, Weight: modelreg.FlexInt(w),
			Specification: "modelarts.vm.cpu.2u", InstanceCount: 1})
	}
	return s
}

// MustDeploy creates a service over the models and returns its id.
func MustDeploy(t testing.TB, c *client.Client, name string, modelIDs ...string) string {
	t.Helper()
	res, err := c.CreateService(context.Background(), newService(name, modelIDs...))
	if err != nil {
		t.Fatalf("deploy %s: %v", name, err)
	}
	return res.ServiceID
}

// state is everything a client can see of both projects: model lists and
// details, service lists, details and event counts.
type state struct {
	Models        map[string]*modelreg.ModelList
	ModelDetails  map[string]*modelreg.Model
	Services      map[string]*modelreg.ServiceList
	ServiceDetail map[string]*modelreg.Service
	EventCounts   map[string]int
	Trash         map[string]*modelreg.TrashList
	// Changes are each project's audit events of changes (outcome
	// success), Webhooks and Policies its webhooks and cleanup policies.
	Changes  map[string][]*modelreg.AuditEvent
	Webhooks map[string][]*modelreg.Webhook
	Policies map[string][]*modelreg.CleanupPolicy
}

// snapshot reads the state of both projects through the API.
func snapshot(t *testing.T, e *testEnv) state {
	t.Helper()
	ctx := context.Background()
	st := state{Models: map[string]*modelreg.ModelList{}, ModelDetails: map[string]*modelreg.Model{},
		Services: map[string]*modelreg.ServiceList{}, ServiceDetail: map[string]*modelreg.Service{}, EventCounts: map[string]int{},
		Trash: map[string]*modelreg.TrashList{}, Changes: map[string][]*modelreg.AuditEvent{},
		Webhooks: map[string][]*modelreg.Webhook{}, Policies: map[string][]*modelreg.CleanupPolicy{}}
	for _, c := range []*client.Client{e.c, e.cb} {
		ml, err := c.ListModels(ctx, modelreg.ModelFilter{Page: modelreg.Page{Limit: modelreg.MaxListLimit, Order: "asc"}})
		if err != nil {
			t.Fatalf("snapshot: list models: %v", err)
		}
		st.Models[c.ProjectID()] = ml
		for _, m := range ml.Models {
			if st.ModelDetails[m.ID], err = c.GetModel(ctx, m.ID); err != nil {
				t.Fatalf("snapshot: get model: %v", err)
			}
		}
		sl, err := c.ListServices(ctx, modelreg.ServiceFilter{Page: modelreg.Page{Limit: modelreg.MaxListLimit, Order: "asc"}})
		if err != nil {
			t.Fatalf("snapshot: list services: %v", err)
		}
		st.Services[c.ProjectID()] = sl
		if st.Trash[c.ProjectID()], err = c.ListTrash(ctx, "", modelreg.MaxListLimit, 0); err != nil {
			t.Fatalf("snapshot: list trash: %v", err)
		}
		evs, err := c.ListEvents(ctx, modelreg.AuditFilter{Limit: modelreg.MaxAuditLimit})
		if err != nil {
			t.Fatalf("snapshot: list audit events: %v", err)
		}
		for _, ev := range evs.Events {
			if ev.Outcome == modelreg.OutcomeSuccess {
				st.Changes[c.ProjectID()] = append(st.Changes[c.ProjectID()], ev)
			}
		}
		if st.Webhooks[c.ProjectID()], err = c.ListWebhooks(ctx); err != nil {
			t.Fatalf("snapshot: list webhooks: %v", err)
		}
		if st.Policies[c.ProjectID()], err = c.ListCleanupPolicies(ctx); err != nil {
			t.Fatalf("snapshot: list cleanup policies: %v", err)
		}
		for _, s := range sl.Services {
			if st.ServiceDetail[s.ID], err = c.GetService(ctx, s.ID); err != nil {
				t.Fatalf("snapshot: get service: %v", err)
			}
			ev, err := c.ListServiceEvents(ctx, s.ID, modelreg.EventFilter{})
			if err != nil {
				t.Fatalf("snapshot: list events: %v", err)
			}
			st.EventCounts[s.ID] = ev.TotalCount
		}
	}
	return st
}

// badCase is one request that must be refused with status and code and
// change nothing.
type badCase struct {
	name   string
	method string
	path   string // relative to /v1/{projectA}/, or absolute when it starts with "/"
	query  string // raw query string
	body   any    // encoded as JSON unless []byte or io.Reader
	status int
	code   string // ModelArts code
	msg    string // a substring of the message, when set
	// ifMatch, when set, is sent as the If-Match header.
	ifMatch string
}

// runBadCases sends each case through the client and checks its status,
// code, request id, and that the state before and after is the same.
func runBadCases(t *testing.T, e *testEnv, cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e)
			q, err := parseRawQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.ifMatch != "" {
				ctx = client.WithIfMatch(ctx, tc.ifMatch)
			}
			err = e.c.Do(ctx, tc.method, tc.path, q, tc.body, nil)
			if err == nil {
				t.Fatalf("%s %s?%s succeeded, want %d %s", tc.method, tc.path, tc.query, tc.status, tc.code)
			}
			if got := client.StatusCode(err); got != tc.status {
				t.Errorf("status = %d, want %d (%v)", got, tc.status, err)
			}
			if got := modelreg.ErrorAPICode(err); got != tc.code {
				t.Errorf("code = %s, want %s (%v)", got, tc.code, err)
			}
			if msg := modelreg.ErrorMessage(err); msg == "" || !strings.Contains(msg, tc.msg) {
				t.Errorf("message = %q, want it to contain %q", msg, tc.msg)
			}
			if client.RequestID(err) == "" {
				t.Errorf("no request id in %v", err)
			}
			if diff := cmp.Diff(before, snapshot(t, e)); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
		})
	}
}

// parseRawQuery parses a query string written in a case, keeping what
// url.ParseQuery would also keep: repeated parameters and empty values.
// client.Do encodes it again, so the server sees the same values.
func parseRawQuery(s string) (url.Values, error) {
	if s == "" {
		return nil, nil
	}
	return url.ParseQuery(s)
}

// rawResponse is a response read in full.
type rawResponse struct {
	status int
	header http.Header
	body   string
}

// raw sends one request with the standard library only, for what the
// client cannot express (odd paths, headers).
func (e *testEnv) raw(t *testing.T, method, path string, body io.Reader, header http.Header) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}
