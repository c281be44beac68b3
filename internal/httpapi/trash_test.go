package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/httpapi"
)

// The deletion extensions of ARCHITECTURE §4a through the API.

func TestDeletePreview(t *testing.T) { eachStore(t, testDeletePreview) }

func testDeletePreview(t *testing.T) {
	for _, retention := range []time.Duration{0, time.Hour} {
		t.Run("trash"+retention.String(), func(t *testing.T) {
			ctx := context.Background()
			e := MustServe(t, func(cfg *httpapi.Config) { cfg.TrashRetention = retention; cfg.CascadeLimit = 3 })
			v1 := MustImportPublished(t, e, e.c, "m", "1.0.0")
			v2 := MustImportPublished(t, e, e.c, "m", "1.0.1")
			v3 := MustImportPublished(t, e, e.c, "m", "1.0.2")
			v4 := MustImportPublished(t, e, e.c, "m", "1.0.3")
			MustDeploy(t, e.c, "svc", v2)
			if _, err := e.c.SetProtection(ctx, v3, true, "prod"); err != nil {
				t.Fatal(err)
			}
			for _, cascade := range []bool{false, true} {
				before := snapshot(t, e)
				preview, err := e.c.PreviewDeleteModel(ctx, v4, cascade)
				if err != nil {
					t.Fatal(err)
				}
				if !preview.DryRun {
					t.Fatal("preview without dry_run: true")
				}
				if diff := cmp.Diff(before, snapshot(t, e)); diff != "" {
					t.Fatalf("a preview changed the state:\n%s", diff)
				}
				// The raw body says "dry_run": true; any case of true works.
				r := e.raw(t, http.MethodDelete, "/v1/"+projectA+"/models/"+v4+"?dry_run=TrUe", nil, nil)
				if r.status != 200 || !strings.Contains(r.body, `"dry_run":true`) {
					t.Fatalf("%d %s", r.status, r.body)
				}
				if !cascade {
					continue
				}
				real, err := e.c.DeleteModel(ctx, v4, cascade)
				if err != nil {
					t.Fatal(err)
				}
				if real.DryRun {
					t.Fatal("real delete says dry_run")
				}
				preview.DryRun = false
				if diff := cmp.Diff(real, preview); diff != "" {
					t.Fatalf("preview differs from the real call (-real +preview):\n%s", diff)
				}
				want := &modelreg.DeleteResult{Success: []string{v4, v1}, RemainingCount: 1, Failed: []modelreg.DeleteFailure{{
					ModelID: v2, ErrorCode: modelreg.CodeModelDeployed,
					ErrorMessage: "Failed to delete model, model (" + v2 + ") already deploy service.",
					ErrorMsg:     "Failed to delete model, model (" + v2 + ") already deploy service."}}}
				if diff := cmp.Diff(want, real); diff != "" {
					t.Fatalf("result (-want +got):\n%s", diff)
				}
			}
			// A plain delete's answer has no dry_run field.
			r := e.raw(t, http.MethodDelete, "/v1/"+projectA+"/models/"+v3, nil, nil)
			if r.status != 200 || strings.Contains(r.body, "dry_run") || !strings.Contains(r.body, modelreg.CodeModelProtected) {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
}

func TestProtection(t *testing.T) { eachStore(t, testProtection) }

func testProtection(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	a := MustImportPublished(t, e, e.c, "p", "1.0.0")
	b := MustImportPublished(t, e, e.c, "p", "1.0.1")
	p, err := e.c.GetProtection(ctx, a)
	if err != nil || p.Protected || p.ModelID != a {
		t.Fatalf("%+v %v", p, err)
	}
	r := e.raw(t, http.MethodPut, "/modelreg/v1/"+projectA+"/models/"+a+"/protection", strings.NewReader(`{"protected":true,"reason":"serves prod"}`), nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for _, field := range []string{`"model_id":"` + a + `"`, `"protected":true`, `"reason":"serves prod"`, `"updated_at":`, `"updated_by":""`} {
		if !strings.Contains(r.body, field) {
			t.Errorf("PUT body %s lacks %s", r.body, field)
		}
	}
	m, err := e.c.GetModel(ctx, a)
	if err != nil || !m.Protected {
		t.Fatalf("details: protected %v, %v", m.Protected, err)
	}
	res, err := e.c.DeleteModel(ctx, a, true)
	if err != nil {
		t.Fatal(err)
	}
	msg := "Model (" + a + ") is protected against deletion: serves prod."
	want := &modelreg.DeleteResult{Success: []string{b}, Failed: []modelreg.DeleteFailure{{ModelID: a, ErrorCode: "ModelReg.3101", ErrorMessage: msg, ErrorMsg: msg}}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("cascade of a protected model (-want +got):\n%s", diff)
	}
	if _, err := e.c.SetProtection(ctx, a, false, ""); err != nil {
		t.Fatal(err)
	}
	if res, err := e.c.DeleteModel(ctx, a, false); err != nil || len(res.Success) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestIfMatch(t *testing.T) { eachStore(t, testIfMatch) }

func testIfMatch(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	a := MustImportPublished(t, e, e.c, "p", "1.0.0")
	_, tag, err := e.c.GetModelETag(ctx, a)
	if err != nil || !strings.HasPrefix(tag, `"`) {
		t.Fatalf("ETag %q, %v", tag, err)
	}
	if _, again, _ := e.c.GetModelETag(ctx, a); again != tag {
		t.Fatalf("ETag changed without a change: %s, %s", tag, again)
	}
	if _, err := e.c.SetProtection(ctx, a, true, "x"); err != nil {
		t.Fatal(err)
	}
	_, protectedTag, _ := e.c.GetModelETag(ctx, a)
	if protectedTag == tag {
		t.Fatal("ETag did not change with the protection")
	}
	if _, err := e.c.SetProtection(ctx, a, false, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.DeleteModel(client.WithIfMatch(ctx, protectedTag), a, true)
	if client.StatusCode(err) != 412 || modelreg.ErrorAPICode(err) != modelreg.CodePreconditionFailed || modelreg.ErrorCode(err) != modelreg.EPRECONDITION {
		t.Fatalf("stale If-Match: %v", err)
	}
	if res, err := e.c.DeleteModel(client.WithIfMatch(ctx, `"other"`, tag), a, false); err != nil || len(res.Success) != 1 {
		t.Fatalf("matching If-Match: %+v %v", res, err)
	}

	svc := MustDeploy(t, e.c, "svc", MustImportPublished(t, e, e.c, "q", "1.0.0"))
	_, stag, err := e.c.GetServiceETag(ctx, svc)
	if err != nil || stag == "" {
		t.Fatalf("service ETag %q, %v", stag, err)
	}
	if err := e.c.StopService(client.WithIfMatch(ctx, stag), svc); err != nil {
		t.Fatal(err)
	}
	_, stopped, _ := e.c.GetServiceETag(ctx, svc)
	if stopped == stag {
		t.Fatal("service ETag did not change with its status")
	}
	err = e.c.DeleteServices(client.WithIfMatch(ctx, stag), svc)
	if client.StatusCode(err) != 412 {
		t.Fatalf("stale If-Match on service delete: %v", err)
	}
	if err := e.c.DeleteServices(client.WithIfMatch(ctx, "*"), svc); err != nil {
		t.Fatal(err)
	}
}

func TestTrash(t *testing.T) { eachStore(t, testTrash) }

func testTrash(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t, func(cfg *httpapi.Config) { cfg.TrashRetention = 24 * time.Hour })
	a := MustImportPublished(t, e, e.c, "t", "1.0.0")
	b := MustImportPublished(t, e, e.c, "t", "1.0.1")
	before, err := e.c.GetModel(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.c.DeleteModel(ctx, a, true); err != nil || len(res.Success) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := e.c.GetModel(ctx, a); client.StatusCode(err) != 404 {
		t.Fatalf("trashed model: %v", err)
	}
	list, err := e.c.ListModels(ctx, modelreg.ModelFilter{})
	if err != nil || list.TotalCount != 0 || len(list.Models) != 0 {
		t.Fatalf("list: %+v %v", list, err)
	}
	tr, err := e.c.ListTrash(ctx, "t", 1, 0)
	if err != nil || tr.TotalCount != 2 || len(tr.Models) != 1 {
		t.Fatalf("trash: %+v %v", tr, err)
	}
	m := tr.Models[0]
	if m.PurgeAt-m.DeletedAt != (24*time.Hour).Milliseconds() || m.Name != "t" {
		t.Fatalf("trash item %+v", m)
	}
	r := e.raw(t, http.MethodGet, "/modelreg/v1/"+projectA+"/trash", nil, nil)
	for _, field := range []string{`"total_count":2`, `"model_id":`, `"model_name":"t"`, `"model_version":`, `"model_size":`, `"deleted_at":`, `"deleted_by":""`, `"purge_at":`} {
		if !strings.Contains(r.body, field) {
			t.Errorf("trash body %s lacks %s", r.body, field)
		}
	}
	if other, err := e.cb.ListTrash(ctx, "", 0, 0); err != nil || other.TotalCount != 0 {
		t.Fatalf("projectB's trash: %+v %v", other, err)
	}
	// The name and version are free; restoring a then is a 409.
	again := MustImportPublished(t, e, e.c, "t", "1.0.0")
	if err := e.c.RestoreModel(ctx, a); client.StatusCode(err) != 409 || modelreg.ErrorAPICode(err) != modelreg.CodeModelExists {
		t.Fatalf("restore over a reused name: %v", err)
	}
	if _, err := e.c.DeleteModel(ctx, again, false); err != nil {
		t.Fatal(err)
	}
	r = e.raw(t, http.MethodPost, "/modelreg/v1/"+projectA+"/trash/"+a+"/restore", nil, nil)
	if r.status != 200 || strings.TrimSpace(r.body) != `{"model_id":"`+a+`"}` {
		t.Fatalf("restore: %d %s", r.status, r.body)
	}
	after, err := e.c.GetModel(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Fatalf("restored model differs (-before +after):\n%s", diff)
	}
	// Purge one, protect the last trashed one, purge the rest.
	if err := e.c.PurgeModel(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := e.c.RestoreModel(ctx, b); client.StatusCode(err) != 404 {
		t.Fatalf("restore of a purged model: %v", err)
	}
	if _, err := e.c.SetProtection(ctx, again, true, "keep"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.PurgeModel(ctx, again); client.StatusCode(err) != 409 || modelreg.ErrorAPICode(err) != modelreg.CodeModelProtected {
		t.Fatalf("purge of a protected model: %v", err)
	}
	res, err := e.c.PurgeTrash(ctx)
	if err != nil || len(res.Success) != 0 || len(res.Failed) != 1 || res.Failed[0].ModelID != again {
		t.Fatalf("purge all: %+v %v", res, err)
	}
	if _, err := e.c.SetProtection(ctx, again, false, ""); err != nil {
		t.Fatal(err)
	}
	if res, err = e.c.PurgeTrash(ctx); err != nil || len(res.Success) != 1 || len(res.Failed) != 0 {
		t.Fatalf("purge all: %+v %v", res, err)
	}
}
