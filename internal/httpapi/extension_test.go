package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
)

func bulkModels(n int, name string) []modelreg.BulkModel {
	var ms []modelreg.BulkModel
	for i := range n {
		ms = append(ms, modelreg.BulkModel{ModelImport: modelreg.ModelImport{
			Name: name, Version: fmt.Sprintf("1.0.%d", i), Type: "pytorch", Description: "seeded"}, Size: int64(i)})
	}
	return ms
}

func TestModelBulkCreate(t *testing.T) { eachStore(t, testModelBulkCreate) }

func testModelBulkCreate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := MustServe(t)
		ctx := context.Background()
		ids, err := e.c.CreateModels(ctx, bulkModels(3, "bulk"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 3 {
			t.Fatalf("%d ids, want 3", len(ids))
		}
		for i, id := range ids {
			m, err := e.c.GetModel(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != modelreg.ModelPublished || m.Type != "PyTorch" || m.Size != int64(i) ||
				m.Version != fmt.Sprintf("1.0.%d", i) || m.WorkspaceID != "0" {
				t.Errorf("model %d: %+v", i, m.ModelSummary)
			}
		}
		// Another project does not see them.
		if _, err := e.cb.GetModel(ctx, ids[0]); modelreg.ErrorAPICode(err) != modelreg.CodeModelNotFound {
			t.Errorf("project B sees project A's model: %v", err)
		}
	})

	t.Run("ErrConflictCreatesNothing", func(t *testing.T) {
		e := MustServe(t)
		ctx := context.Background()
		if _, err := e.c.CreateModels(ctx, bulkModels(1, "bulk")); err != nil {
			t.Fatal(err)
		}
		_, err := e.c.CreateModels(ctx, bulkModels(2, "bulk"))
		if modelreg.ErrorAPICode(err) != modelreg.CodeModelExists {
			t.Fatalf("err = %v, want ModelArts.3002", err)
		}
		list, err := e.c.ListModels(ctx, modelreg.ModelFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if list.TotalCount != 1 {
			t.Errorf("%d models after a refused bulk call, want 1", list.TotalCount)
		}
	})

	for _, c := range []struct {
		name, body, code, msg string
	}{
		{"Empty", `{"models":[]}`, modelreg.CodeParamRequired, "(models)"},
		{"NoName", `{"models":[{"model_version":"1.0.0","model_type":"Custom"}]}`, modelreg.CodeParamRequired, "models[0]: "},
		{"BadSecond", `{"models":[{"model_name":"a","model_version":"1.0.0","model_type":"Custom"},{"model_name":"a","model_version":"1.0","model_type":"Custom"}]}`,
			modelreg.CodeParamInvalid, "models[1]: Parameter (model_version"},
		{"NegativeSize", `{"models":[{"model_name":"a","model_version":"1.0.0","model_type":"Custom","model_size":-1}]}`, modelreg.CodeParamInvalid, "model_size"},
		{"SizeNotInteger", `{"models":[{"model_name":"a","model_version":"1.0.0","model_type":"Custom","model_size":"1"}]}`, modelreg.CodeParamInvalid, "model_size"},
	} {
		t.Run("Err"+c.name, func(t *testing.T) {
			e := MustServe(t)
			resp := e.raw(t, http.MethodPost, "/modelreg/v1/"+projectA+"/models:bulk", strings.NewReader(c.body), nil)
			if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, c.code) || !strings.Contains(resp.body, c.msg) {
				t.Errorf("%d %s, want 400 %s mentioning %q", resp.status, resp.body, c.code, c.msg)
			}
		})
	}

	t.Run("ErrTooMany", func(t *testing.T) {
		e := MustServe(t)
		body := `{"models":[` + strings.Repeat(`{},`, modelreg.MaxBulkModels) + `{}]}`
		resp := e.raw(t, http.MethodPost, "/modelreg/v1/"+projectA+"/models:bulk", strings.NewReader(body), nil)
		if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, "more than") {
			t.Errorf("%d %s", resp.status, resp.body)
		}
	})

	t.Run("ErrBadProject", func(t *testing.T) {
		e := MustServe(t)
		resp := e.raw(t, http.MethodPost, "/modelreg/v1/nope/models:bulk", strings.NewReader(`{"models":[]}`), nil)
		if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, "project_id") {
			t.Errorf("%d %s", resp.status, resp.body)
		}
	})
}

func TestPing(t *testing.T) { eachStore(t, testPing) }

func testPing(t *testing.T) {
	e := MustServe(t)
	if err := e.c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp := e.raw(t, http.MethodGet, "/modelreg/v1/ping", nil, nil)
	if resp.status != http.StatusOK || strings.TrimSpace(resp.body) != `{"status":"ok"}` || resp.header.Get("X-Request-Id") == "" {
		t.Errorf("%d %v %s", resp.status, resp.header, resp.body)
	}
	if !strings.Contains(e.logs.String(), `"route":"/modelreg/v1/ping"`) {
		t.Errorf("ping is not logged like the API:\n%s", e.logs.String())
	}
}

func TestModelListMarker(t *testing.T) { eachStore(t, testModelListMarker) }

func testModelListMarker(t *testing.T) {
	e := MustServe(t)
	ctx := context.Background()
	if _, err := e.c.CreateModels(ctx, bulkModels(7, "paged")); err != nil {
		t.Fatal(err)
	}
	all, err := e.c.ListModels(ctx, modelreg.ModelFilter{Page: modelreg.Page{SortBy: modelreg.ModelSortSize, Order: "asc"}})
	if err != nil {
		t.Fatal(err)
	}
	if all.NextMarker != "" {
		t.Errorf("a page that is not full has next_marker %q", all.NextMarker)
	}
	var got []string
	f := modelreg.ModelFilter{Page: modelreg.Page{SortBy: modelreg.ModelSortSize, Order: "asc", Limit: 3}}
	for range 5 {
		page, err := e.c.ListModels(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != 7 {
			t.Errorf("total_count %d, want 7", page.TotalCount)
		}
		for _, m := range page.Models {
			got = append(got, m.ID)
		}
		if page.NextMarker == "" {
			break
		}
		f.Marker = page.NextMarker
	}
	var want []string
	for _, m := range all.Models {
		want = append(want, m.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("marker paging (-want +got):\n%s", diff)
	}

	for _, q := range []string{"marker=nope", "marker=" + f.Marker + "&offset=1", "marker=" + f.Marker + "&order=desc", "marker=" + f.Marker + "&marker=x"} {
		resp := e.raw(t, http.MethodGet, "/v1/"+projectA+"/models?sort_by=model_size&order=asc&"+q, nil, nil)
		if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, modelreg.CodeInvalidArgument) {
			t.Errorf("%s: %d %s", q, resp.status, resp.body)
		}
	}
}
