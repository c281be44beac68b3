package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/modelreg/modelreg"
)

func TestServiceUpdateLogs(t *testing.T) { eachStore(t, testServiceUpdateLogs) }

func testServiceUpdateLogs(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	m1 := MustImportPublished(t, e, e.c, "logged", "1.0.0")
	m2 := MustImportPublished(t, e, e.c, "logged", "1.0.1")
	id := MustDeploy(t, e.c, "web", m1)
	logs := func(q url.Values) modelreg.ServiceUpdateLogList {
		t.Helper()
		var l modelreg.ServiceUpdateLogList
		if err := e.c.Do(ctx, http.MethodGet, "services/"+id+"/logs", q, nil, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := logs(nil)
	if l.ServiceID != id || l.ServiceName != "web" || len(l.Logs) != 1 || l.Logs[0].Result != "SUCCESS" ||
		l.Logs[0].Config[0].ModelID != m1 || l.Logs[0].Config[0].ModelVersion != "1.0.0" || l.Logs[0].ExtendConfig == nil {
		t.Fatalf("after deploy: %+v", l)
	}
	deployed := l.Logs[0].UpdateTime

	u := &modelreg.ServiceUpdate{Config: []modelreg.ServiceConfig{{ModelID: m2, Weight: 100, Specification: "modelarts.vm.gpu.pnt004", InstanceCount: 2}}}
	if err := e.c.UpdateService(ctx, id, u); err != nil {
		t.Fatal(err)
	}
	desc := "only words"
	if err := e.c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	svc, err := e.c.GetService(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	l = logs(nil)
	if len(l.Logs) != 2 || l.Logs[0].UpdateTime != svc.UpdateTime || l.Logs[0].Config[0].ModelVersion != "1.0.1" ||
		l.Logs[0].Config[0].Specification != "modelarts.vm.gpu.pnt004" || l.Logs[1].UpdateTime != deployed {
		t.Errorf("after a config update: %+v", l)
	}
	if l := logs(url.Values{"update_time": {strconv.FormatInt(deployed, 10)}}); len(l.Logs) != 1 || l.Logs[0].Config[0].ModelID != m1 {
		t.Errorf("update_time=%d: %+v", deployed, l)
	}
	if l := logs(url.Values{"update_time": {"1"}}); l.Logs == nil || len(l.Logs) != 0 {
		t.Errorf("update_time matching nothing: %#v", l)
	}

	// Deleting the service takes its log along.
	if err := e.c.DeleteServices(ctx, id); err != nil {
		t.Fatal(err)
	}
	err = e.c.Do(ctx, http.MethodGet, "services/"+id+"/logs", nil, nil, nil)
	if modelreg.ErrorAPICode(err) != modelreg.CodeServiceNotFound {
		t.Errorf("logs of a deleted service: %v", err)
	}
}
