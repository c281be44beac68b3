package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/httpapi"
)

// faultyStore wraps a real store to inject failures: a panic in
// FindModels, an error from FindModelByID or Ping.
type faultyStore struct {
	modelreg.Store
	panicInFindModels bool
	findModelErr      error
	pingErr           error
}

func (s *faultyStore) FindModels(ctx context.Context, f modelreg.ModelFilter) ([]*modelreg.ModelSummary, int, error) {
	if s.panicInFindModels {
		panic("faultyStore: injected panic")
	}
	return s.Store.FindModels(ctx, f)
}

func (s *faultyStore) FindModelByID(ctx context.Context, projectID, id string) (*modelreg.Model, error) {
	if s.findModelErr != nil {
		return nil, s.findModelErr
	}
	return s.Store.FindModelByID(ctx, projectID, id)
}

func (s *faultyStore) Ping(ctx context.Context) error {
	if s.pingErr != nil {
		return s.pingErr
	}
	return s.Store.Ping(ctx)
}

// MustServeFaulty starts a server over a faultyStore configured by set.
func MustServeFaulty(t *testing.T, set func(*faultyStore)) *testEnv {
	t.Helper()
	return MustServe(t, func(cfg *httpapi.Config) {
		fs := &faultyStore{Store: cfg.Store}
		set(fs)
		cfg.Store = fs
	})
}

// decodeErrorBody checks that body is a ModelArts error body with the same
// text in both message fields and returns it.
func decodeErrorBody(t *testing.T, body string) (code, msg string) {
	t.Helper()
	var eb map[string]string
	if err := json.Unmarshal([]byte(body), &eb); err != nil {
		t.Fatalf("not a ModelArts error body: %q", body)
	}
	if len(eb) != 3 || eb["error_msg"] != eb["error_message"] || eb["error_msg"] == "" ||
		!strings.HasPrefix(eb["error_code"], "ModelArts.") {
		t.Errorf("error body %q", body)
	}
	return eb["error_code"], eb["error_msg"]
}

func TestRequestID(t *testing.T) { eachStore(t, testRequestID) }

func testRequestID(t *testing.T) {
	e := MustServeFaulty(t, func(s *faultyStore) { s.panicInFindModels = true })
	models := "/v1/" + projectA + "/models"
	requests := []struct {
		name, method, path string
		body               string
		status             int
	}{
		{"OK", http.MethodGet, "/healthz", "", 200},
		{"Metrics", http.MethodGet, "/metrics", "", 200},
		{"BadRequest", http.MethodGet, "/v1/x/models", "", 400},
		{"NotFoundRoute", http.MethodGet, "/nowhere", "", 404},
		{"NotFoundModel", http.MethodGet, models + "/" + modelreg.NewID(), "", 404},
		{"MethodNotAllowed", http.MethodPatch, models, "", 405},
		{"TooLarge", http.MethodPost, models, string(oversize()), 413},
		{"Panic", http.MethodGet, models, "", 500},
	}
	seen := map[string]bool{}
	for _, tc := range requests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.raw(t, tc.method, tc.path, strings.NewReader(tc.body), nil)
			if r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			id := r.header.Get("X-Request-Id")
			if len(id) < 16 || seen[id] {
				t.Errorf("request id %q (empty, short or reused)", id)
			}
			seen[id] = true

			r = e.raw(t, tc.method, tc.path, strings.NewReader(tc.body), http.Header{"X-Request-Id": {"req-42_a.b:c"}})
			if got := r.header.Get("X-Request-Id"); got != "req-42_a.b:c" {
				t.Errorf("incoming id replaced by %q", got)
			}
		})
	}
	t.Run("InsaneIncomingReplaced", func(t *testing.T) {
		for _, bad := range []string{"has space", strings.Repeat("x", 129), "quote\"", "ünïcode"} {
			r := e.raw(t, http.MethodGet, "/healthz", nil, http.Header{"X-Request-Id": {bad}})
			if got := r.header.Get("X-Request-Id"); got == bad || got == "" {
				t.Errorf("incoming %q gave %q", bad, got)
			}
		}
	})
}

func TestPanicRecovery(t *testing.T) { eachStore(t, testPanicRecovery) }

func testPanicRecovery(t *testing.T) {
	e := MustServeFaulty(t, func(s *faultyStore) { s.panicInFindModels = true })
	r := e.raw(t, http.MethodGet, "/v1/"+projectA+"/models", nil, http.Header{"X-Request-Id": {"panic-1"}})
	if r.status != http.StatusInternalServerError {
		t.Fatalf("status %d", r.status)
	}
	code, msg := decodeErrorBody(t, r.body)
	if code != modelreg.CodeInternal || msg != "Internal error." {
		t.Errorf("body %s", r.body)
	}
	for _, leak := range []string{"goroutine", "injected", "panic", ".go:"} {
		if strings.Contains(r.body, leak) {
			t.Errorf("response leaks %q: %s", leak, r.body)
		}
	}
	if r.header.Get("X-Request-Id") != "panic-1" || r.header.Get("Content-Type") != "application/json; charset=UTF-8" {
		t.Errorf("headers %v", r.header)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"msg":"panic"`) || !strings.Contains(logs, "injected panic") ||
		!strings.Contains(logs, "runtime/debug.Stack") || !strings.Contains(logs, `"request_id":"panic-1"`) {
		t.Errorf("panic not logged with its stack and request id:\n%s", logs)
	}
	// The server lives on.
	if err := e.c.Health(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := e.c.ImportModel(context.Background(), newImport("after", "1.0.0")); err != nil {
		t.Error(err)
	}
}

func TestHealthAndReady(t *testing.T) { eachStore(t, testHealthAndReady) }

func testHealthAndReady(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		e := MustServe(t)
		for _, p := range []string{"/healthz", "/readyz"} {
			r := e.raw(t, http.MethodGet, p, nil, nil)
			if r.status != 200 || strings.TrimSpace(r.body) != `{"status":"ok"}` {
				t.Errorf("%s: %d %s", p, r.status, r.body)
			}
		}
		if err := e.c.Ready(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Run("StoreDown", func(t *testing.T) {
		e := MustServeFaulty(t, func(s *faultyStore) {
			s.pingErr = modelreg.Internal("sqlite.Ping", errors.New("database is locked: /secret/path/db.sqlite"))
		})
		if err := e.c.Health(ctx); err != nil {
			t.Errorf("healthz must not depend on the store: %v", err)
		}
		err := e.c.Ready(ctx)
		if client.StatusCode(err) != http.StatusServiceUnavailable || modelreg.ErrorCode(err) != modelreg.EUNAVAILABLE {
			t.Fatalf("readyz: %v", err)
		}
		r := e.raw(t, http.MethodGet, "/readyz", nil, nil)
		decodeErrorBody(t, r.body)
		if strings.Contains(r.body, "secret") {
			t.Errorf("readyz leaks the cause: %s", r.body)
		}
		if !strings.Contains(e.logs.String(), "/secret/path/db.sqlite") {
			t.Errorf("the cause is not logged")
		}
	})
}

func TestRouting(t *testing.T) { eachStore(t, testRouting) }

func testRouting(t *testing.T) {
	e := MustServe(t)
	id := MustImport(t, e.c, newImport("m", "1.0.0"))
	models := "/v1/" + projectA + "/models"
	tests := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, "/", 404, "ModelArts.0015", ""},
		{http.MethodGet, "/v2/" + projectA + "/models", 404, "ModelArts.0015", ""},
		{http.MethodGet, models + "/", 404, "ModelArts.0015", ""},
		{http.MethodGet, "/v1/" + projectA + "/modelz", 404, "ModelArts.0015", ""},
		{http.MethodGet, models + "/" + id + "/files", 404, "ModelArts.0015", ""},
		{http.MethodPut, models, 405, "ModelArts.0101", "GET, HEAD, POST"},
		{http.MethodPatch, models + "/" + id, 405, "ModelArts.0101", "DELETE, GET, HEAD"},
		{http.MethodPost, "/v1/" + projectA + "/services/" + id, 405, "ModelArts.0101", "DELETE, GET, HEAD, PUT"},
		{http.MethodDelete, "/v1/" + projectA + "/services/" + id + "/events", 405, "ModelArts.0101", "GET, HEAD"},
		{http.MethodPost, "/healthz", 405, "ModelArts.0101", "GET, HEAD"},
		// Paths the mux would redirect (307, an HTML body) to their clean
		// form, and a subtree pattern's path without its slash.
		{http.MethodGet, "/v1/../x/models", 400, "ModelArts.0101", ""},
		{http.MethodGet, "/v1/" + projectA + "/./models", 400, "ModelArts.0101", ""},
		{http.MethodGet, "//v1/" + projectA + "/models", 400, "ModelArts.0101", ""},
		{http.MethodGet, models + "//" + id, 400, "ModelArts.0101", ""},
		{http.MethodDelete, "/v1/" + projectA + "/services/x/..", 400, "ModelArts.0101", ""},
		{http.MethodPut, "/modelreg/v1/" + projectA + "/uploads/" + id + "/files", 404, "ModelArts.0015", ""},
		// A query string that is not one.
		{http.MethodGet, models + "?a=%zz", 400, "ModelArts.0101", ""},
		{http.MethodGet, models + "?limit=%", 400, "ModelArts.0101", ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			r := e.raw(t, tc.method, tc.path, nil, nil)
			if r.status != tc.status {
				t.Errorf("status %d, want %d", r.status, tc.status)
			}
			if code, _ := decodeErrorBody(t, r.body); code != tc.code {
				t.Errorf("code %s, want %s", code, tc.code)
			}
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if r.header.Get("X-Request-Id") == "" || r.header.Get("Location") != "" {
				t.Errorf("X-Request-Id %q, Location %q", r.header.Get("X-Request-Id"), r.header.Get("Location"))
			}
		})
	}
	t.Run("HeadOnGet", func(t *testing.T) {
		r := e.raw(t, http.MethodHead, models+"/"+id, nil, nil)
		if r.status != 200 || r.body != "" {
			t.Errorf("HEAD: %d %q", r.status, r.body)
		}
	})
	t.Run("SemicolonQuery", func(t *testing.T) {
		r := e.raw(t, http.MethodGet, models+"?limit=1;offset=2", nil, nil)
		if code, _ := decodeErrorBody(t, r.body); r.status != 400 || code != "ModelArts.0101" {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
}

// TestErrorMapping proves the server's code → status map and the client's
// reverse map agree: every internal code survives the round trip, and
// internal causes never reach the client.
func TestErrorMapping(t *testing.T) { eachStore(t, testErrorMapping) }

func testErrorMapping(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		err      error
		status   int
		code     string // internal code the client reports
		apiCode  string
		msg      string
		leakable string // a string of the cause that must not be sent
	}{
		{modelreg.Invalid("bad thing"), 400, modelreg.EINVALID, "ModelArts.0101", "bad thing", ""},
		{modelreg.Errorf(modelreg.ESTATE, modelreg.CodeServiceState, "wrong state"), 400, modelreg.ESTATE, "ModelArts.3519", "wrong state", ""},
		{modelreg.Errorf(modelreg.EUNAUTHORIZED, "ModelArts.0201", "no token"), 401, modelreg.EUNAUTHORIZED, "ModelArts.0201", "no token", ""},
		{modelreg.Errorf(modelreg.EFORBIDDEN, modelreg.CodeProjectMismatch, "not yours"), 403, modelreg.EFORBIDDEN, "ModelArts.0210", "not yours", ""},
		{modelreg.ModelNotFound("x"), 404, modelreg.ENOTFOUND, "ModelArts.3001", "Model (x) does not exist.", ""},
		{modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeModelExists, "exists"), 409, modelreg.ECONFLICT, "ModelArts.3002", "exists", ""},
		{modelreg.Errorf(modelreg.ETOOLARGE, modelreg.CodeFileTooLarge, "big"), 413, modelreg.ETOOLARGE, "ModelArts.3044", "big", ""},
		{modelreg.Errorf(modelreg.ERATELIMIT, "ModelArts.6101", "slow down"), 429, modelreg.ERATELIMIT, "ModelArts.6101", "slow down", ""},
		{&modelreg.Error{Code: modelreg.EUNAVAILABLE, APICode: "ModelArts.6101", Message: "busy", Err: errors.New("pool exhausted")},
			503, modelreg.EUNAVAILABLE, "ModelArts.6101", "busy", "pool exhausted"},
		{modelreg.Internal("sqlite.FindModelByID", errors.New("disk I/O error at /var/lib/secret")),
			500, modelreg.EINTERNAL, "ModelArts.0010", "Internal error.", "secret"},
		{fmt.Errorf("wrapped: %w", errors.New("plain error with password=hunter2")),
			500, modelreg.EINTERNAL, "ModelArts.0010", "Internal error.", "hunter2"},
		{&modelreg.Error{Code: modelreg.EINTERNAL, APICode: "ModelArts.3006", Message: "publish failed: secret detail"},
			500, modelreg.EINTERNAL, "ModelArts.0010", "Internal error.", "secret"},
		{&modelreg.Error{Code: "no_such_code", Message: "odd"}, 500, modelreg.EINTERNAL, "ModelArts.0010", "Internal error.", "odd"},
		// An *Error without a ModelArts code gets one from its status.
		{&modelreg.Error{Code: modelreg.ENOTFOUND, Message: "gone"}, 404, modelreg.ENOTFOUND, "ModelArts.0015", "gone", ""},
		{&modelreg.Error{Code: modelreg.EINVALID, Message: "bad"}, 400, modelreg.EINVALID, "ModelArts.0101", "bad", ""},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprintf("%02d_%d_%s", i, tc.status, tc.apiCode), func(t *testing.T) {
			e := MustServeFaulty(t, func(s *faultyStore) { s.findModelErr = tc.err })
			_, err := e.c.GetModel(ctx, modelreg.NewID())
			if client.StatusCode(err) != tc.status || modelreg.ErrorCode(err) != tc.code ||
				modelreg.ErrorAPICode(err) != tc.apiCode || modelreg.ErrorMessage(err) != tc.msg {
				t.Errorf("got %d %s %s %q, want %d %s %s %q", client.StatusCode(err), modelreg.ErrorCode(err),
					modelreg.ErrorAPICode(err), modelreg.ErrorMessage(err), tc.status, tc.code, tc.apiCode, tc.msg)
			}
			r := e.raw(t, http.MethodGet, "/v1/"+projectA+"/models/"+modelreg.NewID(), nil, http.Header{"X-Request-Id": {"map-1"}})
			decodeErrorBody(t, r.body)
			if tc.leakable != "" && strings.Contains(r.body, tc.leakable) {
				t.Errorf("body leaks %q: %s", tc.leakable, r.body)
			}
			if tc.status == 500 {
				logs := e.logs.String()
				for _, want := range []string{`"msg":"internal error"`, `"request_id":"map-1"`, `"method":"GET"`,
					`"uri":"/v1/` + projectA + `/models/`, `"client_ip":"127.0.0.1"`, tc.leakable} {
					if !strings.Contains(logs, want) {
						t.Errorf("log lacks %s:\n%s", want, logs)
					}
				}
				if strings.Count(logs, `"msg":"internal error","request_id":"map-1"`) != 1 {
					t.Errorf("internal error not logged exactly once:\n%s", logs)
				}
			}
		})
	}
}

func TestMetrics(t *testing.T) { eachStore(t, testMetrics) }

func testMetrics(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	e := MustServe(t, func(cfg *httpapi.Config) { cfg.Registry = reg })
	v1 := MustImportPublished(t, e, e.c, "m", "1.0.0")
	v2 := MustImportPublished(t, e, e.c, "m", "1.0.1")
	MustDeploy(t, e.c, "s", v2)
	MustImport(t, e.c, newImport("still-publishing", "1.0.0"))
	if _, err := e.c.DeleteModel(ctx, v1, true); err != nil {
		t.Fatal(err)
	}
	e.raw(t, "BREW", "/v1/"+projectA+"/models", nil, nil)

	r := e.raw(t, http.MethodGet, "/metrics", nil, nil)
	for _, want := range []string{
		`modelreg_http_requests_total{code="200",method="POST",route="/v1/{project_id}/models"} 3`,
		`modelreg_http_requests_total{code="200",method="DELETE",route="/v1/{project_id}/models/{model_id}"} 1`,
		`modelreg_http_requests_total{code="405",method="other",route="unmatched"} 1`,
		`modelreg_http_request_duration_seconds_count{route="/v1/{project_id}/services"} 1`,
		`modelreg_model_deletes_total{outcome="success"} 1`,
		`modelreg_model_deletes_total{outcome="failed-3009"} 1`,
		`modelreg_blob_gc_pending 1`,
		`modelreg_import_jobs_pending 1`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The registry is the caller's: main can add collectors.
	e2 := httpapi.NewServer(httpapi.Config{Store: e.store, Registry: reg})
	if e2.Registry() != reg {
		t.Error("Registry() is not the configured registry")
	}
	// A second server on the same registry shares the collectors.
	srv := httptest.NewServer(e2)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r = e.raw(t, http.MethodGet, "/metrics", nil, nil)
	if !strings.Contains(r.body, `modelreg_http_requests_total{code="200",method="GET",route="/healthz"} 1`) {
		t.Errorf("the second server's request is not counted")
	}

	t.Run("DefaultRegistry", func(t *testing.T) {
		s := httpapi.NewServer(httpapi.Config{Store: e.store})
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if !strings.Contains(rec.Body.String(), "go_goroutines") || !strings.Contains(rec.Body.String(), "modelreg_blob_gc_pending") {
			t.Errorf("default registry lacks the Go collector or the server's metrics")
		}
	})
}

// slowStore makes FindModels wait for its context, as a store call cut
// short by a client that went away.
type slowStore struct{ modelreg.Store }

func (s slowStore) FindModels(ctx context.Context, _ modelreg.ModelFilter) ([]*modelreg.ModelSummary, int, error) {
	<-ctx.Done()
	return nil, 0, modelreg.Internal("slow.FindModels", ctx.Err())
}

func TestClientGoneIsNotAnInternalError(t *testing.T) {
	eachStore(t, testClientGoneIsNotAnInternalError)
}

func testClientGoneIsNotAnInternalError(t *testing.T) {
	e := MustServe(t, func(cfg *httpapi.Config) { cfg.Store = slowStore{cfg.Store} })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := e.c.ListModels(ctx, modelreg.ModelFilter{}); err == nil {
		t.Fatal("the list did not time out")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), `"msg":"request canceled"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no request canceled log line:\n%s", e.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(e.logs.String(), `"msg":"internal error"`) {
		t.Errorf("a canceled request was logged as an internal error:\n%s", e.logs.String())
	}
}
