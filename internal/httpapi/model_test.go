package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/httpapi"
)

func TestModelImport(t *testing.T) { eachStore(t, testModelImport) }

func testModelImport(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var woken atomic.Int32
		var mu sync.Mutex
		var checked []string
		e := MustServe(t, func(cfg *httpapi.Config) {
			cfg.OnModelCreated = func() { woken.Add(1) }
			cfg.CheckSource = func(loc string) error {
				mu.Lock()
				defer mu.Unlock()
				checked = append(checked, loc)
				return nil
			}
		})
		ctx := context.Background()
		min, max := 0.0, 10.0
		in := &modelreg.ModelImport{
			Name: "resnet_50", Version: "1.2.3", Type: "tensorflow", SourceLocation: "obs://bucket/resnet/",
			SourceJobID: "job-1", SourceJobVersion: "V001", Runtime: "python3.7", Description: "an image classifier",
			ModelAlgorithm: "image_classification", ExecutionCode: "obs://bucket/resnet/model/customize_service.py",
			InputParams: []modelreg.Param{{URL: "/", Method: "POST", Protocol: "http", ParamName: "images", ParamType: "file"},
				{URL: "/", Method: "post", Protocol: "http", ParamName: "k", ParamType: "int", Min: &min, Max: &max}},
			OutputParams: []modelreg.Param{{URL: "/", Method: "post", Protocol: "http", ParamName: "label", ParamType: "string"}},
			Dependencies: []modelreg.Dependency{{Installer: "pip", Packages: []modelreg.Package{
				{Name: "numpy", Version: "1.26.0", Restraint: "ATLEAST"}, {Name: "pillow"}}}},
			ModelMetrics:  `{"f1":0.9,"recall":0.8,"precision":0.7,"accuracy":0.95}`,
			APIs:          []json.RawMessage{json.RawMessage(`{"url": "/", "method": "POST", "protocol": "http"}`)},
			InitialConfig: `{"model_type":"TensorFlow"}`,
			ModelDocs:     []modelreg.ModelDoc{{Name: "readme", URL: "https://example.com/readme"}},
			InstallType:   []string{"real-time"},
		}
		id, err := e.c.ImportModel(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !modelreg.ValidID(id) {
			t.Fatalf("model id %q is not a UUID v4", id)
		}
		if woken.Load() != 1 {
			t.Errorf("OnModelCreated called %d times, want 1", woken.Load())
		}
		mu.Lock()
		if !slices.Equal(checked, []string{"obs://bucket/resnet/"}) {
			t.Errorf("CheckSource saw %q", checked)
		}
		mu.Unlock()

		m, err := e.c.GetModel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := &modelreg.Model{
			ModelSummary: modelreg.ModelSummary{ID: id, Name: "resnet_50", Version: "1.2.3", Status: modelreg.ModelPublishing,
				Type: "TensorFlow", ProjectID: projectA, CreateAt: m.CreateAt, Description: "an image classifier",
				WorkspaceID: "0", ModelSource: "custom", InstallType: []string{"real-time"}},
			SourceLocation: in.SourceLocation, SourceJobID: "job-1", SourceJobVersion: "V001", Runtime: "python3.7",
			ExecutionCode: in.ExecutionCode, InputParams: in.InputParams, OutputParams: in.OutputParams,
			Dependencies: in.Dependencies, ModelMetrics: in.ModelMetrics,
			APIs:      `[{"url":"/","method":"POST","protocol":"http"}]`,
			ModelDocs: in.ModelDocs, ModelAlgorithm: "image_classification", ModelLabels: []string{},
			LabelsMap: modelreg.LabelsMap{Labels: []string{}}, Config: in.InitialConfig, UpdateAt: m.UpdateAt,
		}
		want.InputParams[0].Method = "post" // normalised
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("model (-want +got):\n%s", diff)
		}
		if m.CreateAt == 0 || m.UpdateAt < m.CreateAt {
			t.Errorf("create_at %d, update_at %d", m.CreateAt, m.UpdateAt)
		}

		MustPublish(t, e.store, id)
		if m, err = e.c.GetModel(ctx, id); err != nil {
			t.Fatal(err)
		}
		if m.Status != modelreg.ModelPublished || m.Size != 1024 {
			t.Errorf("after publishing: status %q size %d", m.Status, m.Size)
		}
	})

	t.Run("ArraysNotNull", func(t *testing.T) {
		e := MustServe(t)
		id := MustImport(t, e.c, newImport("bare", "1.0.0"))
		r := e.raw(t, http.MethodGet, "/v1/"+projectA+"/models/"+id, nil, nil)
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		for _, f := range []string{`"input_params":[]`, `"output_params":[]`, `"dependencies":[]`, `"model_docs":[]`,
			`"model_labels":[]`, `"labels":[]`, `"install_type":["real-time","batch"]`, `"apis":""`} {
			if !strings.Contains(r.body, f) {
				t.Errorf("body lacks %s: %s", f, r.body)
			}
		}
	})

	t.Run("UnknownFieldsIgnored", func(t *testing.T) {
		e := MustServe(t)
		body := `{"model_name":"m","model_version":"1.0.0","model_type":"TensorFlow","source_location":"obs://b/m",
			"source_copy":"true","something_new":{"a":[1,2]}}`
		var res modelreg.ModelImportResult
		if err := e.c.Do(context.Background(), http.MethodPost, "models", nil, []byte(body), &res); err != nil {
			t.Fatal(err)
		}
		if !modelreg.ValidID(res.ModelID) {
			t.Errorf("model id %q", res.ModelID)
		}
	})
}

// listFixture creates five models in projectA (and one in projectB) and
// returns their ids by "name@version".
func listFixture(t *testing.T, e *testEnv) map[string]string {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	add := func(m *modelreg.ModelImport, res *modelreg.ImportResult) {
		id := MustImport(t, e.c, m)
		ids[m.Name+"@"+m.Version] = id
		if res != nil {
			MustFinishImport(t, e.store, id, *res)
		}
	}
	published := func(size int64) *modelreg.ImportResult {
		return &modelreg.ImportResult{Status: modelreg.ModelPublished, Size: size}
	}
	m := newImport("alpha", "1.0.0")
	m.Description = "first model"
	add(m, published(100))
	m = newImport("alpha", "1.0.1")
	m.Description = "second"
	add(m, nil) // stays publishing
	m = newImport("alpha_beta", "2.0.0")
	m.Type, m.Description = "PyTorch", "under score"
	add(m, published(300))
	m = newImport("gamma", "0.0.1")
	m.Type, m.Description = "PyTorch", "third model"
	add(m, &modelreg.ImportResult{Status: modelreg.ModelFailed, Reason: "no model file"})
	m = newImport("delta", "10.2.3")
	m.Type, m.WorkspaceID = "Image", "ws1"
	add(m, published(50))
	if _, err := e.cb.ImportModel(ctx, newImport("alpha", "9.9.9")); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestModelList(t *testing.T) { eachStore(t, testModelList) }

func testModelList(t *testing.T) {
	e := MustServe(t)
	ids := listFixture(t, e)
	// Creation order, oldest first.
	all := []string{"alpha@1.0.0", "alpha@1.0.1", "alpha_beta@2.0.0", "gamma@0.0.1", "delta@10.2.3"}
	reversed := slices.Clone(all)
	slices.Reverse(reversed)

	tests := []struct {
		name  string
		query string
		total int
		want  []string // in order
	}{
		{"Default", "", 5, reversed},
		{"CreateAtAsc", "order=asc", 5, all},
		{"OrderAnyCase", "order=ASC", 5, all},
		{"NameSubstring", "model_name=alpha&order=asc", 3, all[:3]},
		{"NameExact", "model_name=alpha&exact_match=true&order=asc", 2, all[:2]},
		{"NameExactAnyCase", "model_name=alpha&exact_match=TRUE&order=asc", 2, all[:2]},
		{"NameNotExact", "model_name=alpha&exact_match=false&order=asc", 3, all[:3]},
		{"NameUnderscoreLiteral", "model_name=a_b", 1, []string{"alpha_beta@2.0.0"}},
		{"Version", "model_version=1.0.1", 1, []string{"alpha@1.0.1"}},
		{"Description", "description=model&order=asc", 2, []string{"alpha@1.0.0", "gamma@0.0.1"}},
		{"StatusPublished", "model_status=published&order=asc", 3, []string{"alpha@1.0.0", "alpha_beta@2.0.0", "delta@10.2.3"}},
		{"StatusAnyCase", "model_status=Publishing", 1, []string{"alpha@1.0.1"}},
		{"StatusFailed", "model_status=failed", 1, []string{"gamma@0.0.1"}},
		{"Type", "model_type=pytorch&order=asc", 2, []string{"alpha_beta@2.0.0", "gamma@0.0.1"}},
		{"NotType", "not_model_type=PyTorch&order=asc", 3, []string{"alpha@1.0.0", "alpha@1.0.1", "delta@10.2.3"}},
		{"Workspace", "workspace_id=ws1", 1, []string{"delta@10.2.3"}},
		{"SortVersionAsc", "sort_by=model_version&order=asc", 5,
			[]string{"gamma@0.0.1", "alpha@1.0.0", "alpha@1.0.1", "alpha_beta@2.0.0", "delta@10.2.3"}},
		{"SortVersionDesc", "sort_by=model_version", 5,
			[]string{"delta@10.2.3", "alpha_beta@2.0.0", "alpha@1.0.1", "alpha@1.0.0", "gamma@0.0.1"}},
		{"SortSizeDesc", "sort_by=model_size&model_status=published", 3,
			[]string{"alpha_beta@2.0.0", "alpha@1.0.0", "delta@10.2.3"}},
		{"Page0", "order=asc&limit=2", 5, all[0:2]},
		{"Page1", "order=asc&limit=2&offset=1", 5, all[2:4]},
		{"Page2", "order=asc&limit=2&offset=2", 5, all[4:5]},
		{"PageBeyond", "order=asc&limit=2&offset=3", 5, []string{}},
		{"NoMatch", "model_name=zzz", 0, []string{}},
		{"EmptyValuesAreDefaults", "model_name=&sort_by=&order=", 5, reversed},
		{"UnknownParamIgnored", "frobnicate=1&order=asc", 5, all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			var got modelreg.ModelList
			if err := e.c.Do(context.Background(), http.MethodGet, "models", q, nil, &got); err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, m := range got.Models {
				names = append(names, m.Name+"@"+m.Version)
				if m.ID != ids[m.Name+"@"+m.Version] || m.ProjectID != projectA {
					t.Errorf("model %s: id %s project %s", m.Name, m.ID, m.ProjectID)
				}
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Errorf("models (-want +got):\n%s", diff)
			}
			if got.TotalCount != tc.total || got.Count != len(tc.want) {
				t.Errorf("total_count %d count %d, want %d %d", got.TotalCount, got.Count, tc.total, len(tc.want))
			}
		})
	}

	t.Run("FailureReason", func(t *testing.T) {
		got, err := e.c.ListModels(context.Background(), modelreg.ModelFilter{Status: "failed"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Models) != 1 || got.Models[0].FailureReason != "no model file" {
			t.Errorf("failed model: %+v", got.Models)
		}
	})

	t.Run("EmptyListIsArray", func(t *testing.T) {
		r := e.raw(t, http.MethodGet, "/v1/"+projectA+"/models?model_name=nothing", nil, nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, `"models":[]`) || !strings.Contains(r.body, `"total_count":0`) {
			t.Errorf("%d %s", r.status, r.body)
		}
	})

	t.Run("OtherProjectInvisible", func(t *testing.T) {
		got, err := e.cb.ListModels(context.Background(), modelreg.ModelFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if got.TotalCount != 1 || got.Models[0].Version != "9.9.9" {
			t.Errorf("project B sees %+v", got.Models)
		}
	})
}

func TestModelDelete(t *testing.T) { eachStore(t, testModelDelete) }

func testModelDelete(t *testing.T) {
	ctx := context.Background()

	t.Run("Single", func(t *testing.T) {
		e := MustServe(t)
		v1 := MustImportPublished(t, e, e.c, "single", "1.0.0")
		v2 := MustImportPublished(t, e, e.c, "single", "1.0.1")
		res, err := e.c.DeleteModel(ctx, v1, false)
		if err != nil {
			t.Fatal(err)
		}
		want := &modelreg.DeleteResult{Success: []string{v1}, Failed: []modelreg.DeleteFailure{}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if _, err := e.c.GetModel(ctx, v1); modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound {
			t.Errorf("deleted model: %v", err)
		}
		if _, err := e.c.GetModel(ctx, v2); err != nil {
			t.Errorf("other version: %v", err)
		}
	})

	t.Run("Publishing", func(t *testing.T) {
		e := MustServe(t)
		id := MustImport(t, e.c, newImport("importing", "1.0.0"))
		res, err := e.c.DeleteModel(ctx, id, false)
		if err != nil || !slices.Equal(res.Success, []string{id}) {
			t.Fatalf("delete a publishing model: %+v %v", res, err)
		}
	})

	t.Run("CascadeTrueAnyCase", func(t *testing.T) {
		e := MustServe(t)
		v1 := MustImportPublished(t, e, e.c, "casey", "1.0.0")
		v2 := MustImportPublished(t, e, e.c, "casey", "1.0.1")
		var res modelreg.DeleteResult
		if err := e.c.Do(ctx, http.MethodDelete, "models/"+v1, url.Values{"cascade": {"TRUE"}}, nil, &res); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Success, []string{v1, v2}) {
			t.Errorf("success %v, want %v", res.Success, []string{v1, v2})
		}
		if err := e.c.Do(ctx, http.MethodDelete, "models/"+MustImportPublished(t, e, e.c, "casey", "2.0.0"),
			url.Values{"cascade": {"False"}}, nil, &res); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("CascadeWithDeployedVersion", func(t *testing.T) {
		e := MustServe(t)
		v1 := MustImportPublished(t, e, e.c, "casc", "1.0.0")
		v2 := MustImportPublished(t, e, e.c, "casc", "1.0.1")
		v3 := MustImportPublished(t, e, e.c, "casc", "1.0.2")
		other := MustImportPublished(t, e, e.c, "unrelated", "1.0.0")
		MustDeploy(t, e.c, "svc", v2)

		r := e.raw(t, http.MethodDelete, "/v1/"+projectA+"/models/"+v1+"?cascade=true", nil, nil)
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf("Failed to delete model, model (%s) already deploy service.", v2)
		want := map[string]any{
			"delete_success_list": []any{v1, v3},
			"delete_failed_list": []any{map[string]any{
				"model_id": v2, "error_code": "ModelArts.3009", "error_message": msg, "error_msg": msg}},
			"remaining_count": 0.0,
		}
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
		got, err := e.c.ListModels(ctx, modelreg.ModelFilter{Page: modelreg.Page{Order: "asc"}})
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, m := range got.Models {
			left = append(left, m.ID)
		}
		if !slices.Equal(left, []string{v2, other}) {
			t.Errorf("left %v, want %v", left, []string{v2, other})
		}
	})

	t.Run("AllFailedIsStill200", func(t *testing.T) {
		e := MustServe(t)
		v1 := MustImportPublished(t, e, e.c, "pinned", "1.0.0")
		MustDeploy(t, e.c, "pin", v1)
		r := e.raw(t, http.MethodDelete, "/v1/"+projectA+"/models/"+v1, nil, nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, `"delete_success_list":[]`) ||
			!strings.Contains(r.body, `"ModelArts.3009"`) {
			t.Errorf("%d %s", r.status, r.body)
		}
	})

	t.Run("CascadeLimit", func(t *testing.T) {
		e := MustServe(t)
		var versions []string // oldest first
		for i := range 25 {
			versions = append(versions, MustImportPublished(t, e, e.c, "many", fmt.Sprintf("1.0.%d", i)))
		}
		target := versions[24] // the newest
		res, err := e.c.DeleteModel(ctx, target, true)
		if err != nil {
			t.Fatal(err)
		}
		want := &modelreg.DeleteResult{
			Success:        append([]string{target}, versions[:19]...),
			Failed:         []modelreg.DeleteFailure{},
			RemainingCount: 5,
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		got, err := e.c.ListModels(ctx, modelreg.ModelFilter{Name: "many", Page: modelreg.Page{Order: "asc"}})
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, m := range got.Models {
			left = append(left, m.ID)
		}
		if !slices.Equal(left, versions[19:24]) {
			t.Errorf("left %v, want the five newest but the target %v", left, versions[19:24])
		}
		// The next call takes the rest.
		if res, err = e.c.DeleteModel(ctx, versions[19], true); err != nil || len(res.Success) != 5 || res.RemainingCount != 0 {
			t.Errorf("second call: %+v %v", res, err)
		}
	})

	t.Run("CascadeLimitSetting", func(t *testing.T) {
		e := MustServe(t, func(cfg *httpapi.Config) { cfg.CascadeLimit = 2 })
		a := MustImportPublished(t, e, e.c, "lim", "1.0.0")
		b := MustImportPublished(t, e, e.c, "lim", "1.0.1")
		MustImportPublished(t, e, e.c, "lim", "1.0.2")
		res, err := e.c.DeleteModel(ctx, a, true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Success, []string{a, b}) || res.RemainingCount != 1 {
			t.Errorf("%+v", res)
		}
	})
}
