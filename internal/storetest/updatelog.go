package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
)

// logResults returns the results of a service's update log, newest first.
func (e *env) logResults(id string) []string {
	e.t.Helper()
	logs, err := e.s.FindServiceUpdateLogs(e.ctx, projA, id, 0)
	ok(e.t, err)
	var rs []string
	for _, l := range logs {
		rs = append(rs, l.Result)
	}
	return rs
}

func testFindServiceUpdateLogs(t *testing.T, open Opener) {
	t.Run("DeployAndUpdates", func(t *testing.T) {
		e := newEnv(t, open)
		m1 := e.publishedModel(projA, "resnet", "1.0.0", file("w", 1))
		m2 := e.publishedModel(projA, "resnet", "1.0.1", file("w", 2))
		e.clk.Advance(time.Minute)
		s := e.createService(projA, "svc", m1.ID)
		created := e.nowMs()

		logs, err := e.s.FindServiceUpdateLogs(e.ctx, projA, s.ID, 0)
		ok(t, err)
		want := []*modelreg.ServiceUpdateLog{{UpdateTime: created, Result: modelreg.UpdateRunning, ClusterID: "cluster-1", ExtendConfig: []any{},
			Config: []modelreg.ServiceConfig{{ModelID: m1.ID, ModelName: "resnet", ModelVersion: "1.0.0", Weight: 100,
				Specification: "modelarts.vm.cpu.2u", InstanceCount: 1, Envs: map[string]string{"K": "v"}}}}}
		if diff := cmp.Diff(want, logs); diff != "" {
			t.Fatalf("after deploy (-want +got):\n%s", diff)
		}

		// Running: the deploy succeeded.
		e.clk.Advance(time.Minute)
		ok(t, e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceDeploying, modelreg.ServiceRunning, modelreg.ServiceEvent{EventInfo: "up"}))
		if got := e.logResults(s.ID); !cmp.Equal(got, []string{"SUCCESS"}) {
			t.Errorf("after running: %v", got)
		}

		// A config update of a running service: one more entry, at the
		// service's new update_time, with the config then.
		e.clk.Advance(time.Minute)
		cfg := []modelreg.ServiceConfig{{ModelID: m2.ID, Weight: 100, Specification: "modelarts.vm.gpu.pnt004", InstanceCount: 3}}
		up, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Config: cfg})
		ok(t, err)
		logs, err = e.s.FindServiceUpdateLogs(e.ctx, projA, s.ID, 0)
		ok(t, err)
		if len(logs) != 2 || logs[0].UpdateTime != up.UpdateTime || logs[0].Result != "SUCCESS" ||
			logs[0].Config[0].ModelVersion != "1.0.1" || logs[0].Config[0].InstanceCount != 3 || logs[0].Config[0].Status != "" ||
			logs[1].Config[0].ModelVersion != "1.0.0" {
			t.Errorf("after a config update: %+v", logs)
		}

		// Other updates add nothing.
		e.clk.Advance(time.Minute)
		d := "new words"
		_, err = e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Description: &d})
		ok(t, err)
		if n := len(e.logResults(s.ID)); n != 2 {
			t.Errorf("a description update added an entry: %d", n)
		}

		// update_time selects one entry.
		logs, err = e.s.FindServiceUpdateLogs(e.ctx, projA, s.ID, created)
		ok(t, err)
		if len(logs) != 1 || logs[0].UpdateTime != created {
			t.Errorf("update_time=%d: %+v", created, logs)
		}
		logs, err = e.s.FindServiceUpdateLogs(e.ctx, projA, s.ID, created+1)
		ok(t, err)
		if logs == nil || len(logs) != 0 {
			t.Errorf("update_time matching nothing: %#v", logs)
		}
	})

	t.Run("Resolution", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "m", "1.0.0", file("w", 1))
		failed := e.createService(projA, "failing", m.ID)
		ok(t, e.s.TransitionService(e.ctx, projA, failed.ID, modelreg.ServiceDeploying, modelreg.ServiceFailed, modelreg.ServiceEvent{EventInfo: "no"}))
		if got := e.logResults(failed.ID); !cmp.Equal(got, []string{"FAIL"}) {
			t.Errorf("failed deploy: %v", got)
		}
		// A restart deploys the same config again: the entry stays; a
		// new config while failed is recorded as applied.
		e.clk.Advance(time.Second)
		_, err := e.s.UpdateService(e.ctx, projA, failed.ID, modelreg.ServiceUpdate{Config: []modelreg.ServiceConfig{{ModelID: m.ID, Weight: 100, Specification: "custom",
			CustomSpec: &modelreg.CustomSpec{CPU: 1, Memory: 1024}, InstanceCount: 1}}})
		ok(t, err)
		if got := e.logResults(failed.ID); !cmp.Equal(got, []string{"SUCCESS", "FAIL"}) {
			t.Errorf("config of a failed service: %v", got)
		}

		stopped := e.createService(projA, "stopped", m.ID)
		st := modelreg.ServiceStopped
		_, err = e.s.UpdateService(e.ctx, projA, stopped.ID, modelreg.ServiceUpdate{Status: &st})
		ok(t, err)
		if got := e.logResults(stopped.ID); !cmp.Equal(got, []string{"FAIL"}) {
			t.Errorf("stopped while deploying: %v", got)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "m", "1.0.0", file("w", 1))
		s := e.createService(projA, "svc", m.ID)
		_, err := e.s.FindServiceUpdateLogs(e.ctx, projB, s.ID, 0)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
		_, err = e.s.FindServiceUpdateLogs(e.ctx, projA, modelreg.NewID(), 0)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
	})

	t.Run("GoWithTheService", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "m", "1.0.0", file("w", 1))
		s := e.createService(projA, "svc", m.ID)
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{s.ID}))
		_, err := e.s.FindServiceUpdateLogs(e.ctx, projA, s.ID, 0)
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
		// The model is free again: nothing of the service holds it.
		e.wantDeleteModel(projA, m.ID, "")
	})
}
