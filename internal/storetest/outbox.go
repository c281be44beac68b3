package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
)

// actions claims every due call of the outbox (one round per service at a
// time), completes them, and returns their service id and action in order.
func (e *env) actions() [][2]string {
	e.t.Helper()
	var got [][2]string
	for {
		calls, err := e.s.ClaimDeployCalls(e.ctx, "w", time.Minute, 100)
		ok(e.t, err)
		if len(calls) == 0 {
			return got
		}
		for _, c := range calls {
			got = append(got, [2]string{c.ServiceID, c.Action})
			ok(e.t, e.s.CompleteDeployCall(e.ctx, c.ID, "w"))
		}
	}
}

func testDeployOutbox(t *testing.T, open Opener) {
	t.Run("Off", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "m", "1.0.0", file("w", 1))
		s := e.createService(projA, "svc", m.ID)
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{s.ID}))
		if n, err := e.s.PendingDeployCalls(e.ctx); err != nil || n != 0 {
			t.Errorf("outbox off: %d calls, %v", n, err)
		}
	})

	t.Run("Actions", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.SetDeployOutbox(e.ctx, true))
		m := e.publishedModel(projA, "m", "1.0.0", file("w", 1))
		s := e.createService(projA, "svc", m.ID)
		ev := modelreg.ServiceEvent{EventInfo: "reported"}
		// What the orchestrator reports writes no call.
		ok(t, e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceDeploying, modelreg.ServiceRunning, ev))
		ok(t, e.s.TransitionService(e.ctx, projA, s.ID, modelreg.ServiceRunning, modelreg.ServiceConcerning, ev))
		e.clk.Advance(time.Second)
		_, err := e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Config: []modelreg.ServiceConfig{{ModelID: m.ID, Weight: 100, Specification: "x", InstanceCount: 2}}})
		ok(t, err)
		d := "words only"
		_, err = e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Description: &d})
		ok(t, err)
		stop, start := modelreg.ServiceStopped, modelreg.ServiceRunning
		_, err = e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &stop})
		ok(t, err)
		_, err = e.s.UpdateService(e.ctx, projA, s.ID, modelreg.ServiceUpdate{Status: &start})
		ok(t, err)
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{s.ID}))
		want := [][2]string{{s.ID, "create"}, {s.ID, "update"}, {s.ID, "stop"}, {s.ID, "start"}, {s.ID, "delete"}}
		if diff := cmp.Diff(want, e.actions()); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})

	t.Run("ScheduledStop", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.SetDeployOutbox(e.ctx, true))
		m := e.publishedModel(projA, "m", "1.0.0", file("w", 1))
		s := e.serviceIn("svc", modelreg.ServiceRunning, m.ID) // a 2 hour stop schedule
		e.actions()
		e.clk.Advance(3 * time.Hour)
		n, err := e.s.StopDueServices(e.ctx)
		ok(t, err)
		if n != 1 {
			t.Fatalf("stopped %d", n)
		}
		if diff := cmp.Diff([][2]string{{s.ID, "stop"}}, e.actions()); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})

	t.Run("LeaseAndRetry", func(t *testing.T) {
		e := newEnv(t, open)
		ok(t, e.s.SetDeployOutbox(e.ctx, true))
		m := e.publishedModel(projA, "m", "1.0.0", file("w", 1))
		a := e.createService(projA, "a", m.ID)
		b := e.createService(projA, "b", m.ID)
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{a.ID}))

		calls, err := e.s.ClaimDeployCalls(e.ctx, "w1", time.Minute, 10)
		ok(t, err)
		// One call per service: a's delete waits for its create.
		if len(calls) != 2 || calls[0].ServiceID != a.ID || calls[0].Action != "create" || calls[1].ServiceID != b.ID ||
			calls[0].Attempts != 1 || calls[0].ProjectID != projA {
			t.Fatalf("claimed %+v", calls)
		}
		if more, err := e.s.ClaimDeployCalls(e.ctx, "w2", time.Minute, 10); err != nil || len(more) != 0 {
			t.Errorf("claimed again while leased: %+v %v", more, err)
		}
		wantErr(t, e.s.CompleteDeployCall(e.ctx, calls[0].ID, "w2"), modelreg.ENOTFOUND, "")
		ok(t, e.s.RetryDeployCall(e.ctx, calls[0].ID, "w1", e.clk.Now().Add(time.Minute)))
		ok(t, e.s.CompleteDeployCall(e.ctx, calls[1].ID, "w1"))
		if more, err := e.s.ClaimDeployCalls(e.ctx, "w2", time.Minute, 10); err != nil || len(more) != 0 {
			t.Errorf("claimed before it is due: %+v %v", more, err)
		}
		// An expired lease is claimed again (its worker died).
		e.clk.Advance(2 * time.Minute)
		again, err := e.s.ClaimDeployCalls(e.ctx, "w2", time.Minute, 10)
		ok(t, err)
		if len(again) != 1 || again[0].ID != calls[0].ID || again[0].Attempts != 2 {
			t.Fatalf("after the retry time: %+v", again)
		}
		e.clk.Advance(2 * time.Minute)
		again, err = e.s.ClaimDeployCalls(e.ctx, "w3", time.Minute, 10)
		ok(t, err)
		if len(again) != 1 || again[0].Attempts != 3 {
			t.Fatalf("after the lease expired: %+v", again)
		}
		wantErr(t, e.s.CompleteDeployCall(e.ctx, again[0].ID, "w2"), modelreg.ENOTFOUND, "")
		ok(t, e.s.CompleteDeployCall(e.ctx, again[0].ID, "w3"))
		if diff := cmp.Diff([][2]string{{a.ID, "delete"}}, e.actions()); diff != "" {
			t.Errorf("then (-want +got):\n%s", diff)
		}
		// Off drops what is pending.
		e.createService(projA, "c", m.ID)
		ok(t, e.s.SetDeployOutbox(e.ctx, false))
		if n, err := e.s.PendingDeployCalls(e.ctx); err != nil || n != 0 {
			t.Errorf("after off: %d, %v", n, err)
		}
	})

	t.Run("Reports", func(t *testing.T) {
		e := newEnv(t, open)
		m := e.publishedModel(projA, "m", "1.0.0", file("w", 1))
		s := e.createService(projA, "svc", m.ID)
		got, err := e.s.FindServiceMonitors(e.ctx, projA, s.ID)
		ok(t, err)
		if got == nil || len(got) != 0 {
			t.Errorf("nothing reported: %#v", got)
		}
		ms := []modelreg.ModelMonitor{{ModelID: m.ID, InvocationTimes: 5, CPUCoreUsage: 0.5}, {ModelID: m.ID, NodeID: "n1", FailedTimes: 1}}
		ok(t, e.s.SetServiceMonitors(e.ctx, projA, s.ID, ms))
		ok(t, e.s.SetServiceMonitors(e.ctx, projA, s.ID, ms[:1]))
		got, err = e.s.FindServiceMonitors(e.ctx, projA, s.ID)
		ok(t, err)
		if diff := cmp.Diff(ms[:1], got); diff != "" {
			t.Errorf("monitors (-want +got):\n%s", diff)
		}
		ok(t, e.s.AddServiceEvent(e.ctx, projA, s.ID, modelreg.ServiceEvent{EventType: modelreg.EventAbnormal, EventInfo: "pod restarted"}))
		events, _, err := e.s.FindServiceEvents(e.ctx, modelreg.EventFilter{ProjectID: projA, ServiceID: s.ID, Page: modelreg.Page{Limit: 10, Order: "desc"}})
		ok(t, err)
		if events[0].EventInfo != "pod restarted" || events[0].EventType != modelreg.EventAbnormal || events[0].OccurTime == 0 {
			t.Errorf("events %+v", events[0])
		}
		for _, err := range []error{
			e.s.SetServiceMonitors(e.ctx, projB, s.ID, ms),
			e.s.AddServiceEvent(e.ctx, projB, s.ID, modelreg.ServiceEvent{EventInfo: "x"}),
		} {
			wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
		}
		_, err = e.s.FindServiceMonitors(e.ctx, projA, modelreg.NewID())
		wantErr(t, err, modelreg.ENOTFOUND, modelreg.CodeServiceNotFound)
		// The figures go with the service.
		ok(t, e.s.DeleteServices(e.ctx, projA, []string{s.ID}))
		e.wantDeleteModel(projA, m.ID, "")
	})
}
