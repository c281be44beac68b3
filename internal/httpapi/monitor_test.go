package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/httpapi"
)

// reportingDeployer runs services at once and reports fixed figures.
type reportingDeployer struct {
	modelreg.InstantDeployer
	reports []modelreg.ModelMonitor
	err     error
}

func (d *reportingDeployer) MonitorService(ctx context.Context, s *modelreg.Service) ([]modelreg.ModelMonitor, error) {
	return d.reports, d.err
}

func TestServiceMonitor(t *testing.T) { eachStore(t, testServiceMonitor) }

func testServiceMonitor(t *testing.T) {
	ctx := context.Background()
	monitor := func(t *testing.T, e *testEnv, id string, q url.Values) modelreg.ServiceMonitorList {
		t.Helper()
		var l modelreg.ServiceMonitorList
		if err := e.c.Do(ctx, http.MethodGet, "services/"+id+"/monitor", q, nil, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	t.Run("RecordsOnly", func(t *testing.T) {
		e := MustServe(t)
		m1 := MustImportPublished(t, e, e.c, "mon", "1.0.0")
		m2 := MustImportPublished(t, e, e.c, "mon", "1.0.1")
		s := newService("web", m1, m2)
		s.Config[0].Weight, s.Config[0].InstanceCount = 60, 2
		s.Config[1].Weight = 40
		s.Config[1].Specification, s.Config[1].CustomSpec = "custom", &modelreg.CustomSpec{CPU: 1.5, Memory: 2048, GPUP4: 1}
		res, err := e.c.CreateService(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		l := monitor(t, e, res.ServiceID, nil)
		if l.ServiceID != res.ServiceID || l.ServiceName != "web" || len(l.Monitors) != 2 ||
			l.ServiceInstanceCount != 3 || l.ServiceRunningInstanceCount != 3 {
			t.Fatalf("monitor: %+v", l)
		}
		a, b := l.Monitors[0], l.Monitors[1]
		// modelarts.vm.cpu.2u is 2 vCPUs and 8 GB, times 2 instances.
		if a.ModelID != m1 || a.ModelName != "mon" || a.ModelVersion != "1.0.0" || a.CPUCoreTotal != 4 || a.CPUMemoryTotal != 16384 ||
			a.ModelInstanceCount != 2 || a.ModelRunningInstanceCount != 2 || a.InvocationTimes != 0 || a.CPUCoreUsage != 0 {
			t.Errorf("first model: %+v", a)
		}
		if b.ModelID != m2 || b.CPUCoreTotal != 1.5 || b.CPUMemoryTotal != 2048 || b.GPUTotal != 1 || b.ModelInstanceCount != 1 {
			t.Errorf("custom model: %+v", b)
		}
		// Stopped: nothing runs.
		st := modelreg.ServiceStopped
		if err := e.c.UpdateService(ctx, res.ServiceID, &modelreg.ServiceUpdate{Status: &st}); err != nil {
			t.Fatal(err)
		}
		if l := monitor(t, e, res.ServiceID, nil); l.ServiceRunningInstanceCount != 0 || l.Monitors[0].ModelRunningInstanceCount != 0 {
			t.Errorf("stopped: %+v", l)
		}
		// No deployer report of any node.
		if l := monitor(t, e, res.ServiceID, url.Values{"node_id": {"edge-1"}}); l.Monitors == nil || len(l.Monitors) != 0 {
			t.Errorf("node_id: %+v", l)
		}
	})
	t.Run("Reported", func(t *testing.T) {
		d := &reportingDeployer{}
		e := MustServe(t, func(c *httpapi.Config) { d.Services = c.Store; c.Deployer = d })
		m1 := MustImportPublished(t, e, e.c, "mon", "1.0.0")
		m2 := MustImportPublished(t, e, e.c, "mon", "1.0.1")
		id := MustDeploy(t, e.c, "web", m1, m2)
		d.reports = []modelreg.ModelMonitor{
			{ModelID: m1, InvocationTimes: 50, FailedTimes: 1, CPUCoreUsage: 2.4, CPUCoreTotal: 4, ModelRunningInstanceCount: 1, ModelInstanceCount: 1},
			{ModelID: m1, NodeID: "edge-1", NodeName: "edge one", InvocationTimes: 7, ModelRunningInstanceCount: 1},
			{ModelID: modelreg.NewID(), InvocationTimes: 99}, // not configured: not shown
		}
		l := monitor(t, e, id, nil)
		if len(l.Monitors) != 2 || l.Monitors[0].InvocationTimes != 50 || l.Monitors[0].CPUCoreUsage != 2.4 ||
			l.Monitors[0].ModelName != "mon" || l.Monitors[1].InvocationTimes != 0 || l.Monitors[1].ModelID != m2 {
			t.Errorf("reported: %+v", l)
		}
		l = monitor(t, e, id, url.Values{"node_id": {"edge-1"}})
		if len(l.Monitors) != 1 || l.Monitors[0].NodeID != "edge-1" || l.Monitors[0].NodeName != "edge one" ||
			l.Monitors[0].InvocationTimes != 7 || l.Monitors[0].ModelInstanceCount != 1 || l.Monitors[0].ModelVersion != "1.0.0" {
			t.Errorf("node edge-1: %+v", l)
		}
		d.err = errors.New("orchestrator said no")
		err := e.c.Do(ctx, http.MethodGet, "services/"+id+"/monitor", nil, nil, nil)
		if modelreg.ErrorAPICode(err) != modelreg.CodeMonitorFailed || client.StatusCode(err) != http.StatusServiceUnavailable {
			t.Errorf("failing deployer: %v", err)
		}
	})
}
