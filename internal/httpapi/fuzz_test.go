package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
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
		{http.MethodPost, "/modelreg/v1/" + projectA + "/models:bulk"},
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
		`{"models":[{"model_name":"b","model_version":"1.0.0","model_type":"Custom","model_size":3}]}`,
		`{"models":[{"model_name":"b","model_version":"1.0.0","model_type":"Template"}]}`,
		`{"models":[{"model_name":"fuzz","model_version":"1.0.0","model_type":"custom","model_size":-1}]}`,
		`{"models":null}`, `{"models":[null]}`, `{"models":{}}`,
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

// FuzzModelListQuery sends arbitrary query strings to the model list.
// Whatever the query, the answer is a 200 whose page holds at most limit
// models, all of the project, or a 400 with a ModelArts error body: never
// a 500. A next_marker it returns is accepted back.
func FuzzModelListQuery(f *testing.F) {
	store, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	srv := httpapi.NewServer(httpapi.Config{Store: store})
	var ms []*modelreg.Model
	for i, d := range []string{"resnet image", "bert 100% text", `back\slash`, "caf\u00e9", "\u212aelvin"} {
		ms = append(ms, &modelreg.Model{ModelSummary: modelreg.ModelSummary{Name: fmt.Sprintf("m_%d-x", i), Version: fmt.Sprintf("1.%d.0", i),
			Type: modelreg.ModelTypes[i], ProjectID: projectA, Description: d, Size: int64(i % 3)}})
	}
	if err := store.CreateModels(context.Background(), ms); err != nil {
		f.Fatal(err)
	}
	marker := modelreg.ModelCursor{SortBy: "create_at", Order: "desc", Key: ms[0].CreateAt, ID: ms[2].ID}.Encode()
	for _, seed := range []string{
		"", "limit=2", "limit=2&offset=1", "offset=99999999", "limit=0", "limit=1001", "limit=-1", "offset=-1",
		"model_name=m_1", "model_name=M_&exact_match=true", "model_name=_&exact_match=TRUE", "exact_match=yes",
		"description=100%25", "description=%5C", "description=%22%22", "description=caf%C3%A9", "description=ELVIN",
		"model_status=PUBLISHED", "model_status=nope", "model_type=custom", "not_model_type=PyTorch&model_type=Custom",
		"sort_by=model_size&order=asc", "sort_by=model_version&order=DESC", "sort_by=x", "order=sideways",
		"marker=" + marker, "marker=" + marker + "&offset=1", "marker=x", "marker=e30", "marker=" + marker + "&order=asc",
		"workspace_id=0", "model_version=1.0.0", "a=%zz", "limit=1&limit=2", "model_name=%00", "model_name=%ff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/v1/"+projectA+"/models", nil)
		req.URL.RawQuery = query
		srv.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
		case rec.Code == http.StatusBadRequest:
			var eb struct {
				ErrorCode string `json:"error_code"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || !strings.HasPrefix(eb.ErrorCode, "ModelArts.") {
				t.Errorf("400 body %q", rec.Body)
			}
			return
		default:
			t.Fatalf("%q: %d %s", query, rec.Code, rec.Body)
		}
		var list modelreg.ModelList
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
			t.Fatalf("%q: undecodable 200: %v", query, err)
		}
		if list.Count != len(list.Models) || list.Count > modelreg.MaxListLimit || list.TotalCount > len(ms) {
			t.Errorf("%q: count %d, %d models, total %d", query, list.Count, len(list.Models), list.TotalCount)
		}
		for _, m := range list.Models {
			if m.ProjectID != projectA {
				t.Errorf("%q: model of project %q", query, m.ProjectID)
			}
		}
		if list.NextMarker != "" {
			if _, err := modelreg.DecodeModelCursor(list.NextMarker); err != nil {
				t.Errorf("%q: next_marker %q does not decode: %v", query, list.NextMarker, err)
			}
		}
	})
}
