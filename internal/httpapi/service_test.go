package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/httpapi"
)

func TestServiceLifecycle(t *testing.T) { eachStore(t, testServiceLifecycle) }

func testServiceLifecycle(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	m1 := MustImportPublished(t, e, e.c, "svc_model", "1.0.0")
	m2 := MustImportPublished(t, e, e.c, "svc_model", "1.0.1")
	m3 := MustImportPublished(t, e, e.c, "other_model", "1.0.0")

	// Create, with weights sent as strings as the ModelArts samples do.
	body := `{"service_name":"web","description":"two versions","infer_type":"real-time","config":[
		{"model_id":"` + m1 + `","weight":"70","specification":"modelarts.vm.cpu.2u","instance_count":1,"envs":{"A":"1"}},
		{"model_id":"` + m2 + `","weight":30,"specification":"custom","custom_spec":{"cpu":1.5,"memory":2048},"instance_count":2}],
		"schedule":[{"type":"stop","time_unit":"HOURS","duration":2}], "unknown_field": true}`
	var created modelreg.ServiceCreateResult
	if err := e.c.Do(ctx, http.MethodPost, "services", nil, []byte(body), &created); err != nil {
		t.Fatal(err)
	}
	if !modelreg.ValidID(created.ServiceID) || created.ResourceIDs == nil || len(created.ResourceIDs) != 0 {
		t.Fatalf("create result %+v", created)
	}
	web := created.ServiceID
	batch, err := e.c.CreateService(ctx, &modelreg.ServiceCreate{Name: "nightly", InferType: modelreg.InferBatch,
		WorkspaceID: "ws1", ClusterID: "pool-1",
		Config: []modelreg.ServiceConfig{{ModelID: m3, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1,
			SrcPath: "obs://b/in", DestPath: "obs://b/out", ReqURI: "/", MappingType: "file"}}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Show", func(t *testing.T) {
		s, err := e.c.GetService(ctx, web)
		if err != nil {
			t.Fatal(err)
		}
		if s.ID != web || s.Name != "web" || s.Description != "two versions" || s.ProjectID != projectA ||
			s.Status != modelreg.ServiceRunning || s.InferType != modelreg.InferRealTime || s.WorkspaceID != "0" ||
			s.PublishAt == 0 || len(s.Schedule) != 1 {
			t.Errorf("service %+v", s)
		}
		// Running with a stop schedule of 2 hours: it stops by itself then.
		if s.DueTime != s.TransitionAt+2*3600*1000 {
			t.Errorf("due_time %d, want transition_at %d + 2 hours", s.DueTime, s.TransitionAt)
		}
		if len(s.Config) != 2 || s.Config[0].ModelID != m1 || s.Config[0].ModelName != "svc_model" ||
			s.Config[0].ModelVersion != "1.0.0" || s.Config[0].Weight != 70 || s.Config[0].Envs["A"] != "1" ||
			s.Config[1].ModelVersion != "1.0.1" || s.Config[1].CustomSpec == nil || s.Config[1].InstanceCount != 2 {
			t.Errorf("config %+v", s.Config)
		}
	})

	t.Run("List", func(t *testing.T) {
		tests := []struct {
			query string
			total int
			want  []string
		}{
			{"", 2, []string{batch.ServiceID, web}}, // publish_at desc
			{"order=asc", 2, []string{web, batch.ServiceID}},
			{"sort_by=service_name&order=asc", 2, []string{batch.ServiceID, web}},
			{"service_name=we", 1, []string{web}},
			{"service_id=" + web, 1, []string{web}},
			{"model_id=" + m2, 1, []string{web}},
			{"model_id=" + m3, 1, []string{batch.ServiceID}},
			{"infer_type=batch", 1, []string{batch.ServiceID}},
			{"workspace_id=ws1", 1, []string{batch.ServiceID}},
			{"cluster_id=pool-1", 1, []string{batch.ServiceID}},
			{"status=RUNNING", 2, []string{batch.ServiceID, web}},
			{"status=stopped", 0, []string{}},
			{"limit=1", 2, []string{batch.ServiceID}},
			{"limit=1&offset=1", 2, []string{web}},
			{"limit=1&offset=2", 2, []string{}},
		}
		for _, tc := range tests {
			q, _ := url.ParseQuery(tc.query)
			var got modelreg.ServiceList
			if err := e.c.Do(ctx, http.MethodGet, "services", q, nil, &got); err != nil {
				t.Fatalf("%s: %v", tc.query, err)
			}
			ids := []string{}
			for _, s := range got.Services {
				ids = append(ids, s.ID)
			}
			if !slices.Equal(ids, tc.want) || got.TotalCount != tc.total || got.Count != len(tc.want) {
				t.Errorf("%q: %v total %d count %d, want %v total %d", tc.query, ids, got.TotalCount, got.Count, tc.want, tc.total)
			}
		}
		r := e.raw(t, http.MethodGet, "/v1/"+projectA+"/services?status=failed", nil, nil)
		if !strings.Contains(r.body, `"services":[]`) {
			t.Errorf("empty list: %s", r.body)
		}
	})

	t.Run("UpdateDescriptionAndConfig", func(t *testing.T) {
		desc := "one version now"
		u := &modelreg.ServiceUpdate{Description: &desc, Config: []modelreg.ServiceConfig{
			{ModelID: m2, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}}}
		if err := e.c.UpdateService(ctx, web, u); err != nil {
			t.Fatal(err)
		}
		s, err := e.c.GetService(ctx, web)
		if err != nil {
			t.Fatal(err)
		}
		if s.Description != desc || len(s.Config) != 1 || s.Config[0].ModelID != m2 || s.Status != modelreg.ServiceRunning {
			t.Errorf("after update: %+v", s)
		}
		// m1 is no longer pinned.
		if res, err := e.c.DeleteModel(ctx, m1, false); err != nil || len(res.Success) != 1 {
			t.Errorf("delete the unpinned model: %+v %v", res, err)
		}
		r := e.raw(t, http.MethodPut, "/v1/"+projectA+"/services/"+web, strings.NewReader(`{"description":"x"}`), nil)
		if r.status != http.StatusOK || strings.TrimSpace(r.body) != "{}" {
			t.Errorf("update response %d %q", r.status, r.body)
		}
	})

	t.Run("StopStart", func(t *testing.T) {
		if err := e.c.StopService(ctx, web); err != nil {
			t.Fatal(err)
		}
		if s, _ := e.c.GetService(ctx, web); s.Status != modelreg.ServiceStopped {
			t.Errorf("after stop: %s", s.Status)
		}
		// A stopped service still pins its model.
		res, err := e.c.DeleteModel(ctx, m2, false)
		if err != nil || len(res.Failed) != 1 || res.Failed[0].ErrorCode != modelreg.CodeModelDeployed {
			t.Errorf("delete a model of a stopped service: %+v %v", res, err)
		}
		if err := e.c.StopService(ctx, web); err != nil {
			t.Errorf("stop a stopped service: %v", err)
		}
		if err := e.c.StartService(ctx, web); err != nil {
			t.Fatal(err)
		}
		if s, _ := e.c.GetService(ctx, web); s.Status != modelreg.ServiceRunning {
			t.Errorf("after start: %s (the built-in deployer runs it at once)", s.Status)
		}
	})

	t.Run("Events", func(t *testing.T) {
		all, err := e.c.ListServiceEvents(ctx, web, modelreg.EventFilter{Page: modelreg.Page{Order: "asc"}})
		if err != nil {
			t.Fatal(err)
		}
		if all.ServiceID != web || all.ServiceName != "web" || all.TotalCount != all.Count || all.Count < 6 {
			t.Fatalf("events %+v", all)
		}
		var infos []string
		for _, ev := range all.Events {
			infos = append(infos, ev.EventInfo)
		}
		for _, want := range []string{"[web] start to deploy service", "[web] service is running", "[web] service stopped"} {
			if !slices.Contains(infos, want) {
				t.Errorf("no event %q in %q", want, infos)
			}
		}
		if !slices.IsSortedFunc(all.Events, func(a, b *modelreg.ServiceEvent) int { return int(a.OccurTime - b.OccurTime) }) {
			t.Errorf("events not in ascending order")
		}
		desc, err := e.c.ListServiceEvents(ctx, web, modelreg.EventFilter{})
		if err != nil || desc.Events[0].OccurTime != all.Events[len(all.Events)-1].OccurTime {
			t.Errorf("default order is not desc: %v", err)
		}
		page, err := e.c.ListServiceEvents(ctx, web, modelreg.EventFilter{Page: modelreg.Page{Order: "asc", Limit: 2, Offset: 1}})
		if err != nil || page.TotalCount != all.TotalCount || page.Count != 2 || page.Events[0].OccurTime != all.Events[2].OccurTime {
			t.Errorf("page: %+v %v", page, err)
		}
		from, to := all.Events[1].OccurTime, all.Events[2].OccurTime
		inWindow := 0
		for _, ev := range all.Events {
			if ev.OccurTime >= from && ev.OccurTime <= to {
				inWindow++
			}
		}
		window, err := e.c.ListServiceEvents(ctx, web, modelreg.EventFilter{StartTime: from, EndTime: to, Page: modelreg.Page{Order: "asc"}})
		if err != nil || window.TotalCount != inWindow || inWindow >= all.TotalCount {
			t.Errorf("window [%d, %d]: %+v %v, want %d events", from, to, window, err, inWindow)
		}
		abnormal, err := e.c.ListServiceEvents(ctx, web, modelreg.EventFilter{EventType: modelreg.EventAbnormal})
		if err != nil || abnormal.TotalCount != 0 || abnormal.Events == nil {
			t.Errorf("abnormal: %+v %v", abnormal, err)
		}
		var sorted modelreg.ServiceEventList
		if err := e.c.Do(ctx, http.MethodGet, "services/"+web+"/events", url.Values{"sort_by": {"occur_time"}}, nil, &sorted); err != nil {
			t.Errorf("sort_by=occur_time: %v", err)
		}
	})

	t.Run("DeleteCommaList", func(t *testing.T) {
		third := MustDeploy(t, e.c, "third", m3)
		var out map[string]any
		path := "services/" + web + "," + batch.ServiceID + "," + web
		if err := e.c.Do(ctx, http.MethodDelete, path, nil, nil, &out); err != nil {
			t.Fatal(err)
		}
		if len(out) != 0 {
			t.Errorf("delete response %v, want {}", out)
		}
		got, err := e.c.ListServices(ctx, modelreg.ServiceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if got.TotalCount != 1 || got.Services[0].ID != third {
			t.Errorf("left %+v", got.Services)
		}
		if err := e.c.DeleteServices(ctx, third); err != nil {
			t.Fatal(err)
		}
		// Every model is free now.
		for _, id := range []string{m2, m3} {
			if res, err := e.c.DeleteModel(ctx, id, false); err != nil || len(res.Success) != 1 {
				t.Errorf("delete %s: %+v %v", id, res, err)
			}
		}
	})
}

// failingDeployer refuses every deploy.
type failingDeployer struct{}

func (failingDeployer) Deploy(context.Context, *modelreg.Service) error {
	return errors.New("orchestrator unreachable: 10.0.0.7:6443")
}

func TestServiceDeployFailure(t *testing.T) { eachStore(t, testServiceDeployFailure) }

func testServiceDeployFailure(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t, func(cfg *httpapi.Config) { cfg.Deployer = failingDeployer{} })
	m := MustImportPublished(t, e, e.c, "m", "1.0.0")
	res, err := e.c.CreateService(ctx, newService("doomed", m))
	if err != nil {
		t.Fatalf("a deploy failure after the record exists must not fail the call: %v", err)
	}
	s, err := e.c.GetService(ctx, res.ServiceID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != modelreg.ServiceFailed {
		t.Errorf("status %s, want failed", s.Status)
	}
	ev, err := e.c.ListServiceEvents(ctx, res.ServiceID, modelreg.EventFilter{EventType: modelreg.EventAbnormal})
	if err != nil || ev.TotalCount != 1 || strings.Contains(ev.Events[0].EventInfo, "10.0.0.7") {
		t.Errorf("abnormal events %+v %v (the cause stays in the log)", ev, err)
	}
	if !strings.Contains(e.logs.String(), "orchestrator unreachable") {
		t.Errorf("the deploy failure was not logged")
	}
	// A failed service can be started again (and fails again here).
	if err := e.c.StartService(ctx, res.ServiceID); err != nil {
		t.Errorf("restart a failed service: %v", err)
	}
	// And it still pins its model.
	del, err := e.c.DeleteModel(ctx, m, false)
	if err != nil || len(del.Failed) != 1 {
		t.Errorf("delete a model of a failed service: %+v %v", del, err)
	}
	if diff := cmp.Diff([]string{}, del.Success); diff != "" {
		t.Error(diff)
	}
}
