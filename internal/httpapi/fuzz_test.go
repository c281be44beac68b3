package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// FuzzRequestBodies sends arbitrary bodies to every route that decodes one.
// Whatever the body, the answer is a 200 or a 4xx with a ModelArts error
// body and a request id: never a 500.
func FuzzRequestBodies(f *testing.F) {
	store, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	srv := httpapi.NewServer(httpapi.Config{Store: store})
	model := &modelreg.Model{ModelSummary: modelreg.ModelSummary{Name: "fuzz", Version: "1.0.0", Type: "TensorFlow",
		ProjectID: projectA, WorkspaceID: "0"}, SourceLocation: "obs://b/fuzz"}
	if err := store.CreateModel(context.Background(), model); err != nil {
		f.Fatal(err)
	}
	svc := &modelreg.Service{Name: "fuzz", ProjectID: projectA, InferType: modelreg.InferRealTime, WorkspaceID: "0"}
	MustPublish(f, store, model.ID)
	svc.Config = []modelreg.ServiceConfig{{ModelID: model.ID, Weight: 100, Specification: "s", InstanceCount: 1}}
	if err := store.CreateService(context.Background(), svc); err != nil {
		f.Fatal(err)
	}
	targets := []struct{ method, path string }{
		{http.MethodPost, "/v1/" + projectA + "/models"},
		{http.MethodPost, "/v1/" + projectA + "/services"},
		{http.MethodPut, "/v1/" + projectA + "/services/" + svc.ID},
	}
	for _, seed := range []string{
		`{"model_name":"m","model_version":"1.0.0","model_type":"TensorFlow","source_location":"obs://b/m"}`,
		`{"model_name":"m","model_version":"1.0.0","model_type":"Template","template":{"template_id":"t","template_inputs":[{"input_id":"a","input":"b"}]}}`,
		`{"input_params":[{"url":"/","method":"post","protocol":"http","param_name":"x","param_type":"int","min":1e308,"max":-1e308}]}`,
		`{"apis":[{"method":"GET"},{}],"model_metrics":"{\"f1\":1}","install_type":["batch"]}`,
		`{"service_name":"s","infer_type":"real-time","config":[{"model_id":"` + model.ID + `","weight":"100","specification":"custom","custom_spec":{"cpu":1,"memory":1},"instance_count":1}]}`,
		`{"status":"stopped"}`, `{"status":"running","config":[]}`, `{"description":"\u0000"}`,
		`{"config":[{"weight":"1e3"}]}`, `{"config":[{"weight":null}]}`, `{"schedule":[{"duration":-1}]}`,
		`null`, `[]`, `{}`, `{"a":`, `{}{}`, "\xff\xfe", `{"model_name":"\ud800"}`, `{"model_name":1e400}`,
	} {
		for i := range targets {
			f.Add(i, seed)
		}
	}
	f.Fuzz(func(t *testing.T, target int, body string) {
		tg := targets[(target%len(targets)+len(targets))%len(targets)]
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(tg.method, tg.path, strings.NewReader(body)))
		if rec.Header().Get("X-Request-Id") == "" {
			t.Errorf("no request id")
		}
		if rec.Code == http.StatusOK {
			return
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", tg.method, tg.path, body, rec.Code, rec.Body)
		}
		var eb struct {
			ErrorCode string `json:"error_code"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || !strings.HasPrefix(eb.ErrorCode, "ModelArts.") {
			t.Errorf("%d body %q", rec.Code, rec.Body)
		}
	})
}
