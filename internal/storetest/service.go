package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// serviceIn creates a service of projA deploying the models and moves it to
// status.
func (e *env) serviceIn(name, status string, modelIDs ...string) *modelreg.Service {
	e.t.Helper()
	s := e.createService(projA, name, modelIDs...)
	if status != modelreg.ServiceDeploying {
		ok(e.t, e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceDeploying, status,
			modelreg.ServiceEvent{EventType: modelreg.EventNormal, EventInfo: "now " + status}))
	}
	return e.mustService(projA, s.ID)
}

// wantDeleteModel fails unless DeleteModel of id gives the code (""
// meaning success).
func (e *env) wantDeleteModel(project, id, apiCode string) {
	e.t.Helper()
	err := modelreg.DeleteModel(e.ctx, e.s, project, id)
	if apiCode == "" {
		ok(e.t, err)
		return
	}
	if got := modelreg.ErrorAPICode(err); got != apiCode {
		e.t.Fatalf("DeleteModel: err = %v, want %s", err, apiCode)
	}
}

func testCreateService(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m1 := e.publishedModel(projA, "resnet", "1.0.0", file("w", 1))
		m2 := e.publishedModel(projA, "bert", "2.0.0", file("w", 2))
		e.clk.Advance(time.Minute)
		s := newService(projA, "svc", m1.ID, m2.ID)
		ok(t, e.s.CreateService(e.ctx, s))
		if !modelreg.ValidID(s.ID) {
			t.Errorf("ID = %q, want a UUID v4", s.ID)
		}
		want := newService(projA, "svc", m1.ID, m2.ID)
		want.ID, want.Status = s.ID, modelreg.ServiceDeploying
		want.PublishAt, want.UpdateTime, want.TransitionAt = e.nowMs(), e.nowMs(), e.nowMs()
		want.Config[0].ModelName, want.Config[0].ModelVersion, want.Config[0].Status = "resnet", "1.0.0", "notReady"
		want.Config[1].ModelName, want.Config[1].ModelVersion, want.Config[1].Status = "bert", "2.0.0", "notReady"
		if diff := cmp.Diff(want, s); diff != "" {
			t.Errorf("CreateService result mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, e.mustService(projA, s.ID)); diff != "" {
			t.Errorf("FindServiceByID mismatch (-want +got):\n%s", diff)
		}
		evs := e.events(projA, s.ID)
		if len(evs) != 1 || evs[0].OccurTime != e.nowMs() || evs[0].EventType != modelreg.EventNormal ||
			!strings.Contains(evs[0].EventInfo, "start to deploy service") {
			t.Errorf("events = %+v, want one normal \"start to deploy service\" at %d", evs, e.nowMs())
		}
		// Its models are now pinned.
		e.wantDeleteModel(projA, m1.ID, modelreg.CodeModelDeployed)
		e.wantDeleteModel(projA, m2.ID, modelreg.CodeModelDeployed)
	})

	t.Run("KeepsID", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := newService(projA, "svc", m.ID)
		id := modelreg.NewID()
		s.ID = id
		ok(t, e.s.CreateService(e.ctx, s))
		if s.ID != id {
			t.Fatalf("ID = %q, want the given %q", s.ID, id)
		}
		e.mustService(projA, id)
	})

	t.Run("Batch", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := &modelreg.Service{Name: "batch", ProjectID: projA, InferType: modelreg.InferBatch, WorkspaceID: "0",
			Config: []modelreg.ServiceConfig{{
				ModelID: m.ID, Specification: "custom", InstanceCount: 2,
				CustomSpec: &modelreg.CustomSpec{CPU: 1.5, Memory: 2048, GPUP4: 0.5},
				SrcType:    "ManifestFile", SrcPath: "obs://in/", DestPath: "obs://out/", ReqURI: "/", MappingType: "csv",
				MappingRule: map[string]any{"type": "object", "properties": map[string]any{"data": map[string]any{"type": "string"}}},
				ClusterID:   "pool-1",
			}}}
		ok(t, e.s.CreateService(e.ctx, s))
		if diff := cmp.Diff(s, e.mustService(projA, s.ID)); diff != "" {
			t.Errorf("FindServiceByID mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		e := newEnv(t, open)
		m1 := e.publishedModel(projA, "resnet", "1.0.0")
		m2 := e.publishedModel(projA, "resnet", "2.0.0")
		e.createService(projA, "svc", m1.ID)
		before := e.snap(projA)
		err := e.s.CreateService(e.ctx, newService(projA, "svc", m2.ID))
		wantErr(t, err, modelreg.ECONFLICT, modelreg.CodeServiceExists)
		e.unchanged(projA, before)
		e.wantDeleteModel(projA, m2.ID, "")
		// Names are per project.
		mb := e.publishedModel(projB, "resnet", "1.0.0")
		e.createService(projB, "svc", mb.ID)
	})

	modelErr := func(t *testing.T, e *env, modelID, code, apiCode string) {
		t.Helper()
		good := e.publishedModel(projA, "good", "1.0.0")
		before := e.snap(projA)
		for _, cfg := range [][]string{{modelID}, {good.ID, modelID}} {
			err := e.s.CreateService(e.ctx, newService(projA, "svc", cfg...))
			wantErr(t, err, code, apiCode)
			if !strings.Contains(modelreg.ErrorMessage(err), modelID) && apiCode != modelreg.CodeModelAbnormal {
				t.Errorf("message %q does not name model %s", modelreg.ErrorMessage(err), modelID)
			}
			e.unchanged(projA, before)
		}
		// Nothing pins the good model.
		e.wantDeleteModel(projA, good.ID, "")
	}

	t.Run("ErrModelNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		modelErr(t, e, modelreg.NewID(), modelreg.ENOTFOUND, modelreg.CodeServiceModelGone)
	})

	t.Run("ErrModelNotFoundOtherProject", func(t *testing.T) {
		e := newEnv(t, open)
		mb := e.publishedModel(projB, "resnet", "1.0.0")
		modelErr(t, e, mb.ID, modelreg.ENOTFOUND, modelreg.CodeServiceModelGone)
		e.wantDeleteModel(projB, mb.ID, "")
	})

	t.Run("ErrModelPublishing", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.createModel(projA, "resnet", "1.0.0")
		modelErr(t, e, m.ID, modelreg.ESTATE, modelreg.CodeModelPublishing)
	})

	t.Run("ErrModelFailed", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.failedModel(projA, "resnet", "1.0.0")
		modelErr(t, e, m.ID, modelreg.ESTATE, modelreg.CodeModelAbnormal)
	})

	t.Run("ErrDuplicateModel", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		before := e.snap(projA)
		err := e.s.CreateService(e.ctx, newService(projA, "svc", m.ID, m.ID))
		wantErr(t, err, modelreg.EINVALID, modelreg.CodeDuplicateVersion)
		e.unchanged(projA, before)
	})
}

func testFindServiceByID(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := e.createService(projA, "svc", m.ID)
		e.clk.Advance(time.Second)
		ok(t, e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceDeploying, modelreg.ServiceRunning, modelreg.ServiceEvent{EventInfo: "up"}))
		got := e.mustService(projA, s.ID)
		want := *s
		want.Config = slices.Clone(s.Config)
		want.Status, want.TransitionAt = modelreg.ServiceRunning, e.nowMs()
		want.DueTime = e.nowMs() + 2*3600*1000 // its schedule: stop 2 hours after it runs
		want.Config[0].Status = "ready"
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		_, err := e.s.FindServiceByID(e.ctx, projA, modelreg.NewID())
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
	})

	t.Run("ErrNotFoundOtherProject", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projB, "resnet", "1.0.0")
		s := e.createService(projB, "svc", m.ID)
		_, err := e.s.FindServiceByID(e.ctx, projA, s.ID)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
	})
}

func sortServices(ss []*modelreg.Service, sortBy, order string) {
	slices.SortFunc(ss, func(a, b *modelreg.Service) int {
		var c int
		if sortBy == modelreg.ServiceSortName {
			c = strings.Compare(a.Name, b.Name)
		} else {
			switch {
			case a.PublishAt < b.PublishAt:
				c = -1
			case a.PublishAt > b.PublishAt:
				c = 1
			}
		}
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if order == "desc" {
			c = -c
		}
		return c
	})
}

func serviceIDs(ss []*modelreg.Service) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func testFindServices(t *testing.T, open Opener) {
	e := newEnv(t, open)
	mA := e.publishedModel(projA, "a", "1.0.0")
	mB := e.publishedModel(projA, "b", "1.0.0")
	mC := e.publishedModel(projA, "c", "1.0.0")
	type spec struct {
		name, infer, cluster, ws, status string
		models                           []string
		advance                          time.Duration
	}
	specs := []spec{
		{"alpha", modelreg.InferRealTime, "c1", "0", modelreg.ServiceRunning, []string{mA.ID}, 0},
		{"beta", modelreg.InferRealTime, "c2", "ws1", modelreg.ServiceStopped, []string{mA.ID, mB.ID}, 0},
		{"alp_ha", modelreg.InferBatch, "c1", "0", modelreg.ServiceDeploying, []string{mC.ID}, time.Second},
		{"gamma", modelreg.InferRealTime, "c1", "ws1", modelreg.ServiceFailed, []string{mB.ID}, time.Second},
		{"delta", modelreg.InferBatch, "c2", "0", modelreg.ServiceDeploying, []string{mC.ID}, 0},
	}
	var all []*modelreg.Service
	for _, sp := range specs {
		e.clk.Advance(sp.advance)
		s := newService(projA, sp.name, sp.models...)
		s.InferType, s.ClusterID, s.WorkspaceID = sp.infer, sp.cluster, sp.ws
		ok(t, e.s.CreateService(e.ctx, s))
		if sp.status != modelreg.ServiceDeploying {
			ok(t, e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceDeploying, sp.status, modelreg.ServiceEvent{EventInfo: sp.status}))
		}
		got := e.mustService(projA, s.ID)
		got.Config = nil
		all = append(all, got)
	}
	byName := map[string]*modelreg.Service{}
	for _, s := range all {
		byName[s.Name] = s
	}
	mx := e.publishedModel(projB, "x", "1.0.0")
	e.createService(projB, "alpha", mx.ID)
	before := e.snap(projA)

	cases := []struct {
		name string
		f    modelreg.ServiceFilter
		want []string
	}{
		{"All", modelreg.ServiceFilter{}, []string{"alpha", "beta", "alp_ha", "gamma", "delta"}},
		{"ServiceID", modelreg.ServiceFilter{ServiceID: byName["alp_ha"].ID}, []string{"alp_ha"}},
		{"Name", modelreg.ServiceFilter{Name: "alp"}, []string{"alpha", "alp_ha"}},
		{"NameIgnoresCase", modelreg.ServiceFilter{Name: "ALP"}, []string{"alpha", "alp_ha"}},
		{"NameUnderscoreIsLiteral", modelreg.ServiceFilter{Name: "p_h"}, []string{"alp_ha"}},
		{"ModelID", modelreg.ServiceFilter{ModelID: mA.ID}, []string{"alpha", "beta"}},
		{"ModelIDOther", modelreg.ServiceFilter{ModelID: mC.ID}, []string{"alp_ha", "delta"}},
		{"ModelIDOtherProject", modelreg.ServiceFilter{ModelID: mx.ID}, nil},
		{"ClusterID", modelreg.ServiceFilter{ClusterID: "c1"}, []string{"alpha", "alp_ha", "gamma"}},
		{"WorkspaceID", modelreg.ServiceFilter{WorkspaceID: "ws1"}, []string{"beta", "gamma"}},
		{"InferType", modelreg.ServiceFilter{InferType: modelreg.InferBatch}, []string{"alp_ha", "delta"}},
		{"Status", modelreg.ServiceFilter{Status: modelreg.ServiceDeploying}, []string{"alp_ha", "delta"}},
		{"StatusRunning", modelreg.ServiceFilter{Status: modelreg.ServiceRunning}, []string{"alpha"}},
		{"Combined", modelreg.ServiceFilter{ClusterID: "c1", InferType: modelreg.InferRealTime, ModelID: mB.ID}, []string{"gamma"}},
		{"NoMatch", modelreg.ServiceFilter{Name: "zzz"}, nil},
	}
	for _, c := range cases {
		t.Run("Filter"+c.name, func(t *testing.T) {
			want := []*modelreg.Service{}
			for _, n := range c.want {
				want = append(want, byName[n])
			}
			sortServices(want, modelreg.ServiceSortPublishAt, "desc")
			f := c.f
			f.ProjectID = projA
			ok(t, f.Validate())
			got, total, err := e.s.FindServices(e.ctx, f)
			ok(t, err)
			if got == nil {
				t.Fatal("FindServices returned a nil slice")
			}
			if total != len(want) {
				t.Errorf("total = %d, want %d", total, len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}

	for _, sortBy := range []string{modelreg.ServiceSortPublishAt, modelreg.ServiceSortName} {
		for _, order := range []string{"asc", "desc"} {
			t.Run("Sort_"+sortBy+"_"+order, func(t *testing.T) {
				want := slices.Clone(all)
				sortServices(want, sortBy, order)
				var paged []*modelreg.Service
				for offset := 0; ; offset++ {
					p, total, err := e.s.FindServices(e.ctx, modelreg.ServiceFilter{ProjectID: projA, Page: modelreg.Page{SortBy: sortBy, Order: order, Limit: 2, Offset: offset}})
					ok(t, err)
					if total != len(want) {
						t.Fatalf("total = %d, want %d", total, len(want))
					}
					if len(p) == 0 {
						break
					}
					paged = append(paged, p...)
				}
				if diff := cmp.Diff(serviceIDs(want), serviceIDs(paged)); diff != "" {
					t.Errorf("order mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}

	t.Run("OtherProject", func(t *testing.T) {
		got, total, err := e.s.FindServices(e.ctx, modelreg.ServiceFilter{ProjectID: projB, Page: modelreg.Page{Limit: 10}})
		ok(t, err)
		if total != 1 || len(got) != 1 || got[0].ProjectID != projB {
			t.Errorf("project B lists %+v (total %d)", got, total)
		}
	})

	e.unchanged(projA, before)
}

func testUpdateService(t *testing.T, open Opener) {
	stopped, running := modelreg.ServiceStopped, modelreg.ServiceRunning

	t.Run("Stop", func(t *testing.T) {
		for _, from := range []string{modelreg.ServiceRunning, modelreg.ServiceDeploying, modelreg.ServiceConcerning, modelreg.ServiceFailed} {
			t.Run(from, func(t *testing.T) {
				e := newEnv(t, open)
				m := e.publishedModel(projA, "resnet", "1.0.0")
				s := e.serviceIn("svc", from, m.ID)
				nev := len(e.events(projA, s.ID))
				e.clk.Advance(time.Second)
				got, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &stopped})
				ok(t, err)
				want := *s
				want.Config = slices.Clone(s.Config)
				want.Status, want.TransitionAt, want.DueTime = stopped, e.nowMs(), 0
				want.Config[0].Status = "notReady"
				if diff := cmp.Diff(&want, got); diff != "" {
					t.Errorf("result mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(&want, e.mustService(projA, s.ID)); diff != "" {
					t.Errorf("stored mismatch (-want +got):\n%s", diff)
				}
				evs := e.events(projA, s.ID)
				if len(evs) != nev+1 || evs[nev].OccurTime != e.nowMs() {
					t.Errorf("events = %+v, want one more at %d", evs, e.nowMs())
				}
				// A stopped service still pins its model.
				e.wantDeleteModel(projA, m.ID, modelreg.CodeModelDeployed)
			})
		}
	})

	t.Run("Start", func(t *testing.T) {
		for _, from := range []string{modelreg.ServiceStopped, modelreg.ServiceFailed} {
			t.Run(from, func(t *testing.T) {
				e := newEnv(t, open)
				m := e.publishedModel(projA, "resnet", "1.0.0")
				s := e.serviceIn("svc", from, m.ID)
				nev := len(e.events(projA, s.ID))
				e.clk.Advance(time.Second)
				got, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &running})
				ok(t, err)
				if got.Status != modelreg.ServiceDeploying || got.TransitionAt != e.nowMs() {
					t.Errorf("status %s at %d, want deploying at %d", got.Status, got.TransitionAt, e.nowMs())
				}
				if got.UpdateTime != s.UpdateTime {
					t.Errorf("update_time changed without a config change")
				}
				if n := len(e.events(projA, s.ID)); n != nev+1 {
					t.Errorf("%d events, want %d", n, nev+1)
				}
				if st := e.mustService(projA, s.ID).Status; st != modelreg.ServiceDeploying {
					t.Errorf("stored status %s, want deploying", st)
				}
			})
		}
	})

	t.Run("SameStatus", func(t *testing.T) {
		for _, st := range []string{modelreg.ServiceRunning, modelreg.ServiceStopped} {
			t.Run(st, func(t *testing.T) {
				e := newEnv(t, open)
				m := e.publishedModel(projA, "resnet", "1.0.0")
				s := e.serviceIn("svc", st, m.ID)
				before := e.snap(projA)
				e.clk.Advance(time.Second)
				got, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &st})
				ok(t, err)
				if diff := cmp.Diff(s, got); diff != "" {
					t.Errorf("result mismatch (-want +got):\n%s", diff)
				}
				e.unchanged(projA, before)
			})
		}
	})

	t.Run("ErrState", func(t *testing.T) {
		for _, c := range []struct{ from, to string }{
			{modelreg.ServiceDeploying, running},
			{modelreg.ServiceConcerning, running},
			{modelreg.ServiceFinished, running},
			{modelreg.ServiceFinished, stopped},
		} {
			t.Run(c.from+"To"+c.to, func(t *testing.T) {
				e := newEnv(t, open)
				m := e.publishedModel(projA, "resnet", "1.0.0")
				s := e.serviceIn("svc", c.from, m.ID)
				before := e.snap(projA)
				desc := "changed"
				_, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &c.to, Description: &desc})
				wantErr(t, err, modelreg.ESTATE, modelreg.CodeServiceState)
				e.unchanged(projA, before)
			})
		}
	})

	t.Run("ErrInvalidStatus", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := e.serviceIn("svc", modelreg.ServiceRunning, m.ID)
		before := e.snap(projA)
		for _, st := range []string{modelreg.ServiceDeploying, modelreg.ServiceFailed, "bogus"} {
			_, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &st})
			wantErr(t, err, modelreg.EINVALID, modelreg.CodeParamInvalid)
		}
		e.unchanged(projA, before)
	})

	t.Run("Description", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := e.serviceIn("svc", modelreg.ServiceDeploying, m.ID)
		nev := len(e.events(projA, s.ID))
		e.clk.Advance(time.Second)
		desc := "new description"
		got, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Description: &desc})
		ok(t, err)
		want := *s
		want.Description = desc
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("result mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(&want, e.mustService(projA, s.ID)); diff != "" {
			t.Errorf("stored mismatch (-want +got):\n%s", diff)
		}
		if n := len(e.events(projA, s.ID)); n != nev+1 {
			t.Errorf("%d events, want %d", n, nev+1)
		}
	})

	t.Run("Schedule", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := e.serviceIn("svc", modelreg.ServiceRunning, m.ID)
		sched := []modelreg.Schedule{{Type: "stop", TimeUnit: "MINUTES", Duration: 30}}
		got, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Schedule: sched})
		ok(t, err)
		if diff := cmp.Diff(sched, got.Schedule); diff != "" {
			t.Errorf("schedule mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(sched, e.mustService(projA, s.ID).Schedule); diff != "" {
			t.Errorf("stored schedule mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("NoChange", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := e.serviceIn("svc", modelreg.ServiceRunning, m.ID)
		before := e.snap(projA)
		got, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{})
		ok(t, err)
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("result mismatch (-want +got):\n%s", diff)
		}
		same := s.Description
		_, err = e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Description: &same})
		ok(t, err)
		e.unchanged(projA, before)
	})

	t.Run("Config", func(t *testing.T) {
		for _, st := range []string{modelreg.ServiceRunning, modelreg.ServiceStopped, modelreg.ServiceFailed, modelreg.ServiceConcerning} {
			t.Run(st, func(t *testing.T) {
				e := newEnv(t, open)
				m1 := e.publishedModel(projA, "resnet", "1.0.0")
				m2 := e.publishedModel(projA, "resnet", "2.0.0")
				s := e.serviceIn("svc", st, m1.ID)
				nev := len(e.events(projA, s.ID))
				e.clk.Advance(time.Second)
				cfg := newService(projA, "x", m2.ID).Config
				cfg[0].InstanceCount = 3
				got, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Config: cfg})
				ok(t, err)
				want := *s
				want.UpdateTime = e.nowMs()
				want.Config = slices.Clone(cfg)
				want.Config[0].ModelName, want.Config[0].ModelVersion = "resnet", "2.0.0"
				want.Config[0].Status = "notReady"
				if st == modelreg.ServiceRunning {
					want.Config[0].Status = "ready"
				}
				if diff := cmp.Diff(&want, got); diff != "" {
					t.Errorf("result mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(&want, e.mustService(projA, s.ID)); diff != "" {
					t.Errorf("stored mismatch (-want +got):\n%s", diff)
				}
				if n := len(e.events(projA, s.ID)); n != nev+1 {
					t.Errorf("%d events, want %d", n, nev+1)
				}
				// The old model is free, the new one pinned.
				e.wantDeleteModel(projA, m2.ID, modelreg.CodeModelDeployed)
				e.wantDeleteModel(projA, m1.ID, "")
			})
		}
	})

	t.Run("ConfigErrState", func(t *testing.T) {
		for _, st := range []string{modelreg.ServiceDeploying, modelreg.ServiceFinished} {
			t.Run(st, func(t *testing.T) {
				e := newEnv(t, open)
				m1 := e.publishedModel(projA, "resnet", "1.0.0")
				m2 := e.publishedModel(projA, "resnet", "2.0.0")
				s := e.serviceIn("svc", st, m1.ID)
				before := e.snap(projA)
				_, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Config: newService(projA, "x", m2.ID).Config})
				wantErr(t, err, modelreg.ESTATE, modelreg.CodeServiceState)
				e.unchanged(projA, before)
			})
		}
	})

	t.Run("ConfigErrModel", func(t *testing.T) {
		e := newEnv(t, open)
		m1 := e.publishedModel(projA, "resnet", "1.0.0")
		m2 := e.publishedModel(projA, "resnet", "2.0.0")
		publishing := e.createModel(projA, "resnet", "3.0.0")
		failed := e.failedModel(projA, "resnet", "4.0.0")
		mb := e.publishedModel(projB, "resnet", "1.0.0")
		s := e.serviceIn("svc", modelreg.ServiceRunning, m1.ID)
		before := e.snap(projA)
		for _, c := range []struct {
			ids           []string
			code, apiCode string
		}{
			{[]string{m2.ID, modelreg.NewID()}, modelreg.ENOTFOUND, modelreg.CodeServiceModelGone},
			{[]string{mb.ID}, modelreg.ENOTFOUND, modelreg.CodeServiceModelGone},
			{[]string{m2.ID, publishing.ID}, modelreg.ESTATE, modelreg.CodeModelPublishing},
			{[]string{failed.ID}, modelreg.ESTATE, modelreg.CodeModelAbnormal},
			{[]string{m2.ID, m2.ID}, modelreg.EINVALID, modelreg.CodeDuplicateVersion},
		} {
			_, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Config: newService(projA, "x", c.ids...).Config})
			wantErr(t, err, c.code, c.apiCode)
			e.unchanged(projA, before)
		}
		e.wantDeleteModel(projA, m1.ID, modelreg.CodeModelDeployed)
		e.wantDeleteModel(projA, m2.ID, "")
	})

	t.Run("StatusWinsOverConfig", func(t *testing.T) {
		e := newEnv(t, open)
		m1 := e.publishedModel(projA, "resnet", "1.0.0")
		m2 := e.publishedModel(projA, "resnet", "2.0.0")
		s := e.serviceIn("svc", modelreg.ServiceRunning, m1.ID)
		got, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &stopped, Config: newService(projA, "x", m2.ID).Config})
		ok(t, err)
		if got.Status != stopped || len(got.Config) != 1 || got.Config[0].ModelID != m1.ID {
			t.Errorf("got status %s, config %+v; want stopped with the old config", got.Status, got.Config)
		}
		e.wantDeleteModel(projA, m2.ID, "")
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		_, err := e.s.UpdateService(e.ctx, projA, modelreg.NewID(), modelreg.ServiceUpdate{Status: &stopped})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
	})

	t.Run("ErrNotFoundOtherProject", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projB, "resnet", "1.0.0")
		s := e.createService(projB, "svc", m.ID)
		ok(t, e.s.TransitionService(e.ctx, projB, s.ID, modelreg.ServiceDeploying, running, modelreg.ServiceEvent{EventInfo: "up"}))
		before := e.snap(projB)
		desc := "x"
		_, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &stopped, Description: &desc})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
		e.unchanged(projB, before)
	})
}

func testTransitionService(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := e.createService(projA, "svc", m.ID)
		e.clk.Advance(time.Second)
		ok(t, e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceDeploying, modelreg.ServiceRunning,
			modelreg.ServiceEvent{EventType: modelreg.EventNormal, EventInfo: "[svc] service is running"}))
		got := e.mustService(projA, s.ID)
		if got.Status != modelreg.ServiceRunning || got.TransitionAt != e.nowMs() || got.UpdateTime != s.UpdateTime {
			t.Errorf("got status %s transition_at %d update_time %d", got.Status, got.TransitionAt, got.UpdateTime)
		}
		e.clk.Advance(time.Second)
		ok(t, e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceRunning, modelreg.ServiceConcerning,
			modelreg.ServiceEvent{EventType: modelreg.EventAbnormal, EventInfo: "an instance is down"}))
		evs := e.events(projA, s.ID)
		want := []*modelreg.ServiceEvent{
			evs[0],
			{OccurTime: e.nowMs() - 1000, EventType: modelreg.EventNormal, EventInfo: "[svc] service is running"},
			{OccurTime: e.nowMs(), EventType: modelreg.EventAbnormal, EventInfo: "an instance is down"},
		}
		if diff := cmp.Diff(want, evs); diff != "" {
			t.Errorf("events mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrState", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := e.createService(projA, "svc", m.ID)
		before := e.snap(projA)
		err := e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceRunning, modelreg.ServiceStopped, modelreg.ServiceEvent{EventInfo: "x"})
		wantErr(t, err, modelreg.ESTATE, modelreg.CodeServiceState)
		e.unchanged(projA, before)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		err := e.s.TransitionService(e.ctx, projA, modelreg.NewID(), modelreg.ServiceDeploying, modelreg.ServiceRunning, modelreg.ServiceEvent{})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
	})

	t.Run("ErrNotFoundOtherProject", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projB, "resnet", "1.0.0")
		s := e.createService(projB, "svc", m.ID)
		before := e.snap(projB)
		err := e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceDeploying, modelreg.ServiceRunning, modelreg.ServiceEvent{})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
		e.unchanged(projB, before)
	})
}

func testDeleteServices(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, open)
		m1 := e.publishedModel(projA, "resnet", "1.0.0")
		m2 := e.publishedModel(projA, "resnet", "2.0.0")
		s1 := e.serviceIn("one", modelreg.ServiceRunning, m1.ID)
		s2 := e.serviceIn("two", modelreg.ServiceStopped, m1.ID, m2.ID)
		s3 := e.serviceIn("three", modelreg.ServiceRunning, m2.ID)
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{s1.ID, s2.ID}))
		for _, s := range []*modelreg.Service{s1, s2} {
			_, err := e.s.FindServiceByID(e.ctx, projA, s.ID)
			wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
			_, _, err = e.s.FindServiceEvents(e.ctx, modelreg.EventFilter{ProjectID: projA, ServiceID: s.ID})
			wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
		}
		if diff := cmp.Diff(s3, e.mustService(projA, s3.ID)); diff != "" {
			t.Errorf("the third service changed (-before +after):\n%s", diff)
		}
		e.wantDeleteModel(projA, m1.ID, "")
		e.wantDeleteModel(projA, m2.ID, modelreg.CodeModelDeployed)
		// The name is free again.
		e.createService(projA, "one", m2.ID)
	})

	t.Run("DuplicateAndEmpty", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s := e.createService(projA, "svc", m.ID)
		ok(t, e.s.DeleteServices(e.ctx, projA, nil))
		e.mustService(projA, s.ID)
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{s.ID, s.ID}))
		e.wantDeleteModel(projA, m.ID, "")
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "resnet", "1.0.0")
		s1 := e.createService(projA, "one", m.ID)
		s2 := e.createService(projA, "two", m.ID)
		before := e.snap(projA)
		unknown := modelreg.NewID()
		for _, ids := range [][]string{{unknown}, {s1.ID, unknown, s2.ID}, {s1.ID, s2.ID, unknown}} {
			err := e.s.DeleteServices(e.ctx, projA, ids)
			wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
			if !strings.Contains(modelreg.ErrorMessage(err), unknown) {
				t.Errorf("message %q does not name %s", modelreg.ErrorMessage(err), unknown)
			}
			e.unchanged(projA, before)
		}
	})

	t.Run("ErrNotFoundOtherProject", func(t *testing.T) {
		e := newEnv(t, open)
		ma := e.publishedModel(projA, "resnet", "1.0.0")
		mb := e.publishedModel(projB, "resnet", "1.0.0")
		sa := e.createService(projA, "svc", ma.ID)
		sb := e.createService(projB, "svc", mb.ID)
		beforeA, beforeB := e.snap(projA), e.snap(projB)
		err := e.s.DeleteServices(e.ctx, projA, []string{sa.ID, sb.ID})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
		if !strings.Contains(modelreg.ErrorMessage(err), sb.ID) {
			t.Errorf("message %q does not name %s", modelreg.ErrorMessage(err), sb.ID)
		}
		e.unchanged(projA, beforeA)
		e.unchanged(projB, beforeB)
	})
}

func testFindServiceEvents(t *testing.T, open Opener) {
	e := newEnv(t, open)
	m := e.publishedModel(projA, "resnet", "1.0.0")
	s := e.createService(projA, "svc", m.ID) // e1 at t0
	t0 := e.nowMs()
	tr := func(from, to, typ, info string) {
		t.Helper()
		ok(t, e.s.TransitionService(e.ctx, projA, s.ID, from, to, modelreg.ServiceEvent{EventType: typ, EventInfo: info}))
	}
	tr(modelreg.ServiceDeploying, modelreg.ServiceRunning, modelreg.EventNormal, "e2") // t0, ties with e1
	e.clk.Advance(time.Second)
	tr(modelreg.ServiceRunning, modelreg.ServiceConcerning, modelreg.EventAbnormal, "e3") // t0+1s
	e.clk.Advance(time.Second)
	tr(modelreg.ServiceConcerning, modelreg.ServiceRunning, modelreg.EventNormal, "e4") // t0+2s
	e.clk.Advance(time.Second)
	stopped := modelreg.ServiceStopped
	_, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &stopped}) // e5 at t0+3s
	ok(t, err)
	other := e.createService(projA, "other", m.ID)
	mb := e.publishedModel(projB, "resnet", "1.0.0")
	sb := e.createService(projB, "svc", mb.ID)

	asc := e.events(projA, s.ID)
	if len(asc) != 5 {
		t.Fatalf("%d events, want 5: %+v", len(asc), asc)
	}
	if asc[1].EventInfo != "e2" || asc[2].EventInfo != "e3" || asc[3].EventInfo != "e4" {
		t.Fatalf("events out of order: %+v", asc)
	}
	wantTimes := []int64{t0, t0, t0 + 1000, t0 + 2000, t0 + 3000}
	for i, ev := range asc {
		if ev.OccurTime != wantTimes[i] {
			t.Errorf("event %d at %d, want %d", i, ev.OccurTime, wantTimes[i])
		}
	}
	desc := slices.Clone(asc)
	slices.Reverse(desc)

	cases := []struct {
		name  string
		f     modelreg.EventFilter
		want  []*modelreg.ServiceEvent
		total int
	}{
		{"Desc", modelreg.EventFilter{}, desc, 5},
		{"Asc", modelreg.EventFilter{Page: modelreg.Page{Order: "asc"}}, asc, 5},
		{"Abnormal", modelreg.EventFilter{EventType: modelreg.EventAbnormal}, []*modelreg.ServiceEvent{asc[2]}, 1},
		{"Normal", modelreg.EventFilter{EventType: modelreg.EventNormal, Page: modelreg.Page{Order: "asc"}}, []*modelreg.ServiceEvent{asc[0], asc[1], asc[3], asc[4]}, 4},
		{"StartTime", modelreg.EventFilter{StartTime: t0 + 1000, Page: modelreg.Page{Order: "asc"}}, asc[2:], 3},
		{"EndTime", modelreg.EventFilter{EndTime: t0 + 1000, Page: modelreg.Page{Order: "asc"}}, asc[:3], 3},
		{"Window", modelreg.EventFilter{StartTime: t0 + 1000, EndTime: t0 + 2000, Page: modelreg.Page{Order: "asc"}}, asc[2:4], 2},
		{"Page", modelreg.EventFilter{Page: modelreg.Page{Limit: 2, Offset: 1, Order: "asc"}}, asc[2:4], 5},
		{"LastPage", modelreg.EventFilter{Page: modelreg.Page{Limit: 2, Offset: 2, Order: "asc"}}, asc[4:], 5},
		{"PageDesc", modelreg.EventFilter{Page: modelreg.Page{Limit: 2, Offset: 1}}, desc[2:4], 5},
		{"BeyondEnd", modelreg.EventFilter{Page: modelreg.Page{Limit: 2, Offset: 3}}, []*modelreg.ServiceEvent{}, 5},
		{"NoMatch", modelreg.EventFilter{StartTime: t0 + 10000}, []*modelreg.ServiceEvent{}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			f.ProjectID, f.ServiceID = projA, s.ID
			ok(t, f.Validate())
			got, total, err := e.s.FindServiceEvents(e.ctx, f)
			ok(t, err)
			if got == nil {
				t.Fatal("FindServiceEvents returned a nil slice")
			}
			if total != c.total {
				t.Errorf("total = %d, want %d", total, c.total)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("OnlyItsOwn", func(t *testing.T) {
		if evs := e.events(projA, other.ID); len(evs) != 1 {
			t.Errorf("other service has %d events, want 1", len(evs))
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, _, err := e.s.FindServiceEvents(e.ctx, modelreg.EventFilter{ProjectID: projA, ServiceID: modelreg.NewID()})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
	})

	t.Run("ErrNotFoundOtherProject", func(t *testing.T) {
		_, _, err := e.s.FindServiceEvents(e.ctx, modelreg.EventFilter{ProjectID: projA, ServiceID: sb.ID})
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
	})
}

func testPing(t *testing.T, open Opener) {
	e := newEnv(t, open)
	ok(t, e.s.Ping(e.ctx))
}

// testServiceSchedule checks the automatic stop of a running service with
// a stop schedule: its due time, set when it starts running and restarted
// by a new schedule, cleared when it stops; StopDueServices stopping it (in
// any project) once the time has come, and never before.
func testServiceSchedule(t *testing.T, open Opener) {
	e := newEnv(t, open)
	m := e.publishedModel(projA, "resnet", "1.0.0")
	s := e.createService(projA, "svc", m.ID) // stops 2 hours after it runs
	plain := newService(projA, "plain", m.ID)
	plain.Schedule = nil
	ok(t, e.s.CreateService(e.ctx, plain))
	run := func(project, id string) {
		t.Helper()
		ok(t, e.s.TransitionService(e.ctx, project, id, modelreg.ServiceDeploying, modelreg.ServiceRunning,
			modelreg.ServiceEvent{EventInfo: "running"}))
	}
	due := func(project, id string, want int64) {
		t.Helper()
		if got := e.mustService(project, id).DueTime; got != want {
			t.Fatalf("due_time %d, want %d", got, want)
		}
	}
	stops := func(want int) {
		t.Helper()
		n, err := e.s.StopDueServices(e.ctx)
		ok(t, err)
		if n != want {
			t.Fatalf("StopDueServices stopped %d, want %d", n, want)
		}
	}
	due(projA, s.ID, 0) // deploying: no countdown
	e.clk.Advance(time.Minute)
	run(projA, s.ID)
	run(projA, plain.ID)
	due(projA, s.ID, e.nowMs()+2*3600*1000)
	due(projA, plain.ID, 0)

	e.clk.Advance(2*time.Hour - time.Millisecond)
	stops(0)
	// A new schedule of a running service counts from now.
	got, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Schedule: []modelreg.Schedule{{Type: "stop", TimeUnit: "MINUTES", Duration: 30}}})
	ok(t, err)
	if got.DueTime != e.nowMs()+30*60*1000 {
		t.Fatalf("due_time after a new schedule %d, want %d", got.DueTime, e.nowMs()+30*60*1000)
	}
	e.clk.Advance(30 * time.Minute)
	stops(1)
	got = e.mustService(projA, s.ID)
	if got.Status != modelreg.ServiceStopped || got.DueTime != 0 || got.TransitionAt != e.nowMs() {
		t.Fatalf("after its due time: status %s due_time %d transition_at %d", got.Status, got.DueTime, got.TransitionAt)
	}
	evs := e.events(projA, s.ID)
	if last := evs[len(evs)-1]; last.EventInfo != "[svc] service stopped by its schedule" || last.OccurTime != e.nowMs() {
		t.Errorf("last event %+v", last)
	}
	if e.mustService(projA, plain.ID).Status != modelreg.ServiceRunning {
		t.Error("a service without a schedule was stopped")
	}
	stops(0)

	// Restarted, it counts again once running; stopped by hand, it has no
	// due time left to reach.
	running := modelreg.ServiceRunning
	_, err = e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &running})
	ok(t, err)
	due(projA, s.ID, 0)
	run(projA, s.ID)
	due(projA, s.ID, e.nowMs()+30*60*1000)
	stopped := modelreg.ServiceStopped
	_, err = e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &stopped})
	ok(t, err)
	due(projA, s.ID, 0)
	e.clk.Advance(time.Hour)
	stops(0)

	// Every project's services.
	b := e.publishedModel(projB, "bert", "1.0.0")
	sb := e.createService(projB, "svc-b", b.ID)
	run(projB, sb.ID)
	e.clk.Advance(2 * time.Hour)
	stops(1)
	if st := e.mustService(projB, sb.ID).Status; st != modelreg.ServiceStopped {
		t.Errorf("the other project's service is %s", st)
	}
}
