package deployer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/client"
	"github.com/modelreg/modelreg/internal/deployer"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/pgtest"
	"github.com/modelreg/modelreg/internal/postgres"
	"github.com/modelreg/modelreg/internal/sqlite"
)

const (
	project = "0123456789abcdef0123456789abcdef"
	secret  = "a shared secret of the test"
)

// orchestrator is a test orchestrator that follows docs/deployer.md: it
// checks each call's signature, answers 202, and reports back to modelreg
// (signed) what became of the service: running (or failed, when fail is
// set), with an event and monitor figures; nothing for a stop or a delete.
// down makes it answer 503, slow makes it answer after the deployer's
// call timeout, refuse makes it answer 400; hold blocks every call until
// closed.
type orchestrator struct {
	t   *testing.T
	srv *httptest.Server

	down, slow atomic.Int32 // calls left to fail this way
	refuse     atomic.Bool
	fail       atomic.Bool
	holding    atomic.Bool   // calls wait for hold to close
	hold       chan struct{} // made by newOrchestrator

	reports sync.WaitGroup // reports in flight

	mu       sync.Mutex
	modelreg string     // modelreg's base URL, for the reports
	calls    []orchCall // accepted calls
	tries    int        // every call, accepted or not
}

type orchCall struct {
	Method, ServiceID, Action, Status string
	Service                           *modelreg.Service
}

func newOrchestrator(t *testing.T) *orchestrator {
	o := &orchestrator{t: t, hold: make(chan struct{})}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *orchestrator) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o.mu.Lock()
	o.tries++
	o.mu.Unlock()
	if err := deployer.Verify(r, []byte(secret), body, time.Now()); err != nil {
		o.t.Errorf("orchestrator: %s %s: %v", r.Method, r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if o.holding.Load() {
		<-o.hold
	}
	if o.down.Add(-1) >= 0 {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if o.slow.Add(-1) >= 0 {
		time.Sleep(300 * time.Millisecond) // the deployer gives up after 100 ms
		http.Error(w, "too late", http.StatusGatewayTimeout)
		return
	}
	if o.refuse.Load() {
		http.Error(w, "no such flavor here", http.StatusBadRequest)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/orch/services/")
	c := orchCall{Method: r.Method, ServiceID: id}
	if r.Method == http.MethodPut {
		var call deployer.Call
		if err := json.Unmarshal(body, &call); err != nil {
			o.t.Errorf("orchestrator: %v", err)
		}
		c.Action, c.Service, c.Status = call.Action, call.Service, call.Service.Status
	} else if r.URL.Query().Get("project_id") != project {
		o.t.Errorf("orchestrator: DELETE without project_id: %s", r.URL)
	}
	o.mu.Lock()
	o.calls = append(o.calls, c)
	o.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	if c.Status == modelreg.ServiceDeploying {
		o.reports.Go(func() { o.report(c.Service) })
	}
}

// report tells modelreg what became of s, as a real orchestrator would
// once its pods are up.
func (o *orchestrator) report(s *modelreg.Service) {
	rep := modelreg.DeployReport{ProjectID: s.ProjectID, ServiceID: s.ID, Status: modelreg.ServiceRunning,
		Events: []modelreg.ServiceEvent{{EventInfo: "[" + s.Name + "] pulled the image"}}}
	if o.fail.Load() {
		rep.Status, rep.ErrorMsg = modelreg.ServiceFailed, "image pull back-off"
	} else {
		for _, e := range s.Config {
			rep.Monitors = append(rep.Monitors, modelreg.ModelMonitor{ModelID: e.ModelID, InvocationTimes: 42, CPUCoreUsage: 0.5,
				ModelRunningInstanceCount: e.InstanceCount, ModelInstanceCount: e.InstanceCount})
		}
	}
	o.mu.Lock()
	base := o.modelreg
	o.mu.Unlock()
	if status := postReport(o.t, base, []byte(secret), rep); status != http.StatusOK {
		o.t.Errorf("report of %s: HTTP %d", s.ID, status)
	}
}

// postReport sends a signed report and returns the status of the answer.
func postReport(t *testing.T, base string, key []byte, rep any) int {
	body, err := json.Marshal(rep)
	if err != nil {
		t.Error(err)
		return 0
	}
	req, err := http.NewRequest(http.MethodPost, base+"/modelreg/v1/deployer/reports", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	if key != nil {
		deployer.Sign(req, key, body, time.Now())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (o *orchestrator) accepted() []orchCall {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]orchCall(nil), o.calls...)
}

func (o *orchestrator) attempts() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.tries
}

// env is a modelreg (httpapi over a store, with the HTTP deployer and its
// worker) in front of an orchestrator.
type env struct {
	store modelreg.Store
	c     *client.Client
	orch  *orchestrator
	url   string
	stop  func() // stops the worker and the server
}

// openStore opens the database at path: a SQLite file or a PostgreSQL
// DSN.
func openStore(t *testing.T, path string) modelreg.Store {
	t.Helper()
	var store modelreg.Store
	var err error
	if strings.HasPrefix(path, "postgres") {
		store, err = postgres.Open(context.Background(), path, postgres.Options{MaxConns: 4})
	} else {
		store, err = sqlite.Open(context.Background(), path, sqlite.Options{Synchronous: "NORMAL"})
	}
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// start runs modelreg over the database at path in front of o; with
// worker false the outbox worker does not run (a server that dies before
// it makes its calls).
func start(t *testing.T, path string, o *orchestrator, worker bool) *env {
	t.Helper()
	store := openStore(t, path)
	if err := store.SetDeployOutbox(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	d, err := deployer.New(deployer.Config{Store: store, URL: o.srv.URL + "/orch/", Secret: []byte(secret),
		CallTimeout: 100 * time.Millisecond, Lease: time.Second, PollInterval: 20 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Config{Store: store, Deployer: d, DeployerSecret: []byte(secret)}))
	o.mu.Lock()
	o.modelreg = srv.URL
	o.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if worker {
			d.Run(ctx)
		}
	}()
	c, err := client.New(srv.URL, project)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	e := &env{store: store, c: c, orch: o, url: srv.URL}
	e.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			o.reports.Wait()
			srv.Close()
			store.Close()
		})
	}
	t.Cleanup(e.stop)
	return e
}

// dbPath returns where a test's database lives: a SQLite file, or a new
// PostgreSQL schema with MODELREG_TEST_POSTGRES_DSN.
func dbPath(t *testing.T, kind string) string {
	if kind == "postgres" {
		return pgtest.MustSchema(t)
	}
	return filepath.Join(t.TempDir(), "db.sqlite")
}

// eachStore runs test on SQLite and, when the test database is set, on
// PostgreSQL.
func eachStore(t *testing.T, test func(t *testing.T, kind string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, "sqlite") })
	t.Run("postgres", func(t *testing.T) { test(t, "postgres") }) // pgtest skips without a server
}

// publish creates published models in the store.
func (e *env) publish(t *testing.T, names ...string) []string {
	t.Helper()
	var ms []*modelreg.Model
	for _, n := range names {
		ms = append(ms, &modelreg.Model{ModelSummary: modelreg.ModelSummary{Name: n, Version: "1.0.0", Type: "TensorFlow", ProjectID: project}})
	}
	if err := e.store.CreateModels(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func (e *env) deploy(t *testing.T, name, model string) string {
	t.Helper()
	res, err := e.c.CreateService(context.Background(), &modelreg.ServiceCreate{Name: name, InferType: modelreg.InferRealTime,
		Config: []modelreg.ServiceConfig{{ModelID: model, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.ServiceID
}

// waitStatus waits (10 s at most) for service id to reach status.
func (e *env) waitStatus(t *testing.T, id, status string) *modelreg.Service {
	t.Helper()
	var s *modelreg.Service
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		if s, err = e.c.GetService(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if s.Status == status {
			return s
		}
	}
	t.Fatalf("service %s is %s, want %s", id, s.Status, status)
	return nil
}

// waitCalls waits (10 s at most) until the orchestrator accepted n calls.
func (o *orchestrator) waitCalls(t *testing.T, n int) []orchCall {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c := o.accepted(); len(c) >= n {
			return c
		}
	}
	t.Fatalf("the orchestrator accepted %d calls, want %d: %+v", len(o.accepted()), n, o.accepted())
	return nil
}

// waitDistinctCalls is waitCalls with repeated deliveries of one call
// folded: a call is made at least once, and a lease that expires on a
// loaded machine sends it again (the same action and status), which the
// protocol allows.
func (o *orchestrator) waitDistinctCalls(t *testing.T, n int) []orchCall {
	t.Helper()
	var calls []orchCall
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		calls = calls[:0]
		for _, c := range o.accepted() {
			if k := len(calls); k > 0 && calls[k-1].Method == c.Method && calls[k-1].Action == c.Action && calls[k-1].Status == c.Status {
				continue
			}
			calls = append(calls, c)
		}
		if len(calls) >= n {
			return calls
		}
	}
	t.Fatalf("the orchestrator accepted %d distinct calls, want %d: %+v", len(calls), n, o.accepted())
	return nil
}

func (e *env) events(t *testing.T, id string) string {
	t.Helper()
	l, err := e.c.ListServiceEvents(context.Background(), id, modelreg.EventFilter{Page: modelreg.Page{Order: "asc"}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ev := range l.Events {
		b.WriteString(ev.EventType + ": " + ev.EventInfo + "\n")
	}
	return b.String()
}

func TestLifecycle(t *testing.T) { eachStore(t, testLifecycle) }

func testLifecycle(t *testing.T, kind string) {
	ctx := context.Background()
	o := newOrchestrator(t)
	e := start(t, dbPath(t, kind), o, true)
	models := e.publish(t, "a", "b")

	// The API call does not wait for the orchestrator, which holds every
	// call until released.
	o.holding.Store(true)
	id := e.deploy(t, "web", models[0])
	if s, err := e.c.GetService(ctx, id); err != nil || s.Status != modelreg.ServiceDeploying {
		t.Fatalf("before the orchestrator answers: %+v %v", s, err)
	}
	close(o.hold)
	e.waitStatus(t, id, modelreg.ServiceRunning)
	calls := o.waitDistinctCalls(t, 1)
	if c := calls[0]; c.Method != http.MethodPut || c.ServiceID != id || c.Action != "create" || c.Service.Config[0].ModelID != models[0] ||
		c.Service.Config[0].InstanceCount != 2 {
		t.Errorf("create call: %+v", c)
	}
	if ev := e.events(t, id); !strings.Contains(ev, "normal: [web] pulled the image\n") || !strings.Contains(ev, "normal: [web] service is running\n") {
		t.Errorf("events:\n%s", ev)
	}
	var mon modelreg.ServiceMonitorList
	if err := e.c.Do(ctx, http.MethodGet, "services/"+id+"/monitor", nil, nil, &mon); err != nil {
		t.Fatal(err)
	}
	if len(mon.Monitors) != 1 || mon.Monitors[0].InvocationTimes != 42 || mon.Monitors[0].CPUCoreUsage != 0.5 || mon.Monitors[0].ModelName != "a" {
		t.Errorf("monitor: %+v", mon)
	}

	// A new config, a stop, a start, a delete: each reaches the
	// orchestrator with the service as it is then.
	if err := e.c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Config: []modelreg.ServiceConfig{{ModelID: models[1], Weight: 100,
		Specification: "modelarts.vm.cpu.2u", InstanceCount: 3}}}); err != nil {
		t.Fatal(err)
	}
	calls = o.waitDistinctCalls(t, 2)
	if c := calls[1]; c.Action != "update" || c.Service.Config[0].ModelID != models[1] || c.Status != modelreg.ServiceRunning {
		t.Errorf("update call: %+v", c)
	}
	stop, run := modelreg.ServiceStopped, modelreg.ServiceRunning
	if err := e.c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Status: &stop}); err != nil {
		t.Fatal(err)
	}
	if c := o.waitDistinctCalls(t, 3)[2]; c.Action != "stop" || c.Status != modelreg.ServiceStopped {
		t.Errorf("stop call: %+v", c)
	}
	if err := e.c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Status: &run}); err != nil {
		t.Fatal(err)
	}
	if c := o.waitDistinctCalls(t, 4)[3]; c.Action != "start" || c.Status != modelreg.ServiceDeploying {
		t.Errorf("start call: %+v", c)
	}
	e.waitStatus(t, id, modelreg.ServiceRunning)

	// The models stay pinned while the service exists, whatever runs.
	res, err := e.c.DeleteModel(ctx, models[1], false)
	if err != nil || len(res.Failed) != 1 || res.Failed[0].ErrorCode != modelreg.CodeModelDeployed {
		t.Errorf("delete a deployed model: %+v %v", res, err)
	}
	if err := e.c.DeleteServices(ctx, id); err != nil {
		t.Fatal(err)
	}
	if c := o.waitDistinctCalls(t, 5)[4]; c.Method != http.MethodDelete || c.ServiceID != id {
		t.Errorf("delete call: %+v", c)
	}
	waitPending(t, e.store, 0)
	if res, err := e.c.DeleteModel(ctx, models[1], false); err != nil || len(res.Success) != 1 {
		t.Errorf("delete the model after its service: %+v %v", res, err)
	}
}

// waitPending waits (10 s at most) for the outbox to hold n calls.
func waitPending(t *testing.T, s modelreg.Store, n int) {
	t.Helper()
	var got int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		if got, err = s.PendingDeployCalls(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
	}
	t.Fatalf("%d calls pending, want %d", got, n)
}

func TestOrchestratorDown(t *testing.T) { eachStore(t, testOrchestratorDown) }

func testOrchestratorDown(t *testing.T, kind string) {
	o := newOrchestrator(t)
	o.down.Store(1 << 30)
	e := start(t, dbPath(t, kind), o, true)
	m := e.publish(t, "a")
	id := e.deploy(t, "web", m[0]) // answers at once, orchestrator down or not
	for deadline := time.Now().Add(10 * time.Second); o.attempts() < 3 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if s, err := e.c.GetService(context.Background(), id); err != nil || s.Status != modelreg.ServiceDeploying {
		t.Errorf("while the orchestrator is down: %+v %v", s, err)
	}
	// The outbox holds the call; the metric shows it.
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "\nmodelreg_deploy_calls_pending 1\n") {
		t.Errorf("metrics lack modelreg_deploy_calls_pending 1")
	}
	o.down.Store(0) // back
	e.waitStatus(t, id, modelreg.ServiceRunning)
	if n := o.attempts(); n < 4 {
		t.Errorf("%d attempts, want 3 refused and 1 accepted", n)
	}
	if c := o.accepted(); len(c) != 1 || c[0].Action != "create" {
		t.Errorf("accepted: %+v", c)
	}
}

func TestOrchestratorSlow(t *testing.T) { eachStore(t, testOrchestratorSlow) }

func testOrchestratorSlow(t *testing.T, kind string) {
	o := newOrchestrator(t)
	o.slow.Store(2)
	e := start(t, dbPath(t, kind), o, true)
	m := e.publish(t, "a")
	id := e.deploy(t, "web", m[0])
	e.waitStatus(t, id, modelreg.ServiceRunning)
	if n := o.attempts(); n < 3 {
		t.Errorf("%d attempts, want 2 timed out and 1 in time", n)
	}
}

func TestDeploymentFails(t *testing.T) { eachStore(t, testDeploymentFails) }

func testDeploymentFails(t *testing.T, kind string) {
	ctx := context.Background()
	o := newOrchestrator(t)
	o.fail.Store(true)
	e := start(t, dbPath(t, kind), o, true)
	m := e.publish(t, "a")
	id := e.deploy(t, "web", m[0])
	e.waitStatus(t, id, modelreg.ServiceFailed)
	if ev := e.events(t, id); !strings.Contains(ev, "abnormal: [web] service is failed: image pull back-off\n") {
		t.Errorf("events:\n%s", ev)
	}
	var logs modelreg.ServiceUpdateLogList
	if err := e.c.Do(ctx, http.MethodGet, "services/"+id+"/logs", nil, nil, &logs); err != nil || len(logs.Logs) != 1 || logs.Logs[0].Result != modelreg.UpdateFail {
		t.Errorf("update logs: %+v %v", logs, err)
	}
	// A failed service still pins its model.
	res, err := e.c.DeleteModel(ctx, m[0], false)
	if err != nil || len(res.Failed) != 1 || res.Failed[0].ErrorCode != modelreg.CodeModelDeployed {
		t.Errorf("delete the model of a failed service: %+v %v", res, err)
	}
	// Started again, it deploys again.
	o.fail.Store(false)
	run := modelreg.ServiceRunning
	if err := e.c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Status: &run}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, id, modelreg.ServiceRunning)
}

func TestOrchestratorRefuses(t *testing.T) { eachStore(t, testOrchestratorRefuses) }

func testOrchestratorRefuses(t *testing.T, kind string) {
	o := newOrchestrator(t)
	o.refuse.Store(true)
	e := start(t, dbPath(t, kind), o, true)
	m := e.publish(t, "a")
	id := e.deploy(t, "web", m[0])
	e.waitStatus(t, id, modelreg.ServiceFailed)
	if ev := e.events(t, id); !strings.Contains(ev, "abnormal: [web] the orchestrator refused the create (HTTP 400): no such flavor here\n") {
		t.Errorf("events:\n%s", ev)
	}
	waitPending(t, e.store, 0) // refused for good: not retried
}

// TestCrash: modelreg dies after the outbox write (with the service) and
// before the call; the next start makes the call. Then it dies after
// claiming a call and before completing it; the call is made once the
// lease runs out.
func TestCrash(t *testing.T) { eachStore(t, testCrash) }

func testCrash(t *testing.T, kind string) {
	ctx := context.Background()
	path := dbPath(t, kind)
	o := newOrchestrator(t)

	first := start(t, path, o, false) // no worker: it dies before any call
	m := first.publish(t, "a")
	id := first.deploy(t, "web", m[0])
	waitPending(t, first.store, 1)
	first.stop()
	if n := o.attempts(); n != 0 {
		t.Fatalf("the orchestrator heard of the service before the restart: %d calls", n)
	}

	second := start(t, path, o, true)
	second.waitStatus(t, id, modelreg.ServiceRunning)
	if c := o.accepted(); len(c) != 1 || c[0].Action != "create" || c[0].ServiceID != id {
		t.Errorf("after the restart: %+v", c)
	}
	second.stop()

	// A server claims the stop call and dies before making it.
	third := start(t, path, o, false)
	stop := modelreg.ServiceStopped
	if err := third.c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Status: &stop}); err != nil {
		t.Fatal(err)
	}
	calls, err := third.store.ClaimDeployCalls(ctx, "dies", 200*time.Millisecond, 10)
	if err != nil || len(calls) != 1 || calls[0].Action != "stop" {
		t.Fatalf("claim: %+v %v", calls, err)
	}
	third.stop()

	fourth := start(t, path, o, true)
	if c := o.waitCalls(t, 2)[1]; c.Action != "stop" || c.Status != modelreg.ServiceStopped {
		t.Errorf("after the lease ran out: %+v", c)
	}
	waitPending(t, fourth.store, 0)
}

func TestReports(t *testing.T) { eachStore(t, testReports) }

func testReports(t *testing.T, kind string) {
	ctx := context.Background()
	o := newOrchestrator(t)
	e := start(t, dbPath(t, kind), o, true)
	m := e.publish(t, "a")
	id := e.deploy(t, "web", m[0])
	e.waitStatus(t, id, modelreg.ServiceRunning)

	ok := modelreg.DeployReport{ProjectID: project, ServiceID: id, Status: modelreg.ServiceConcerning,
		Events: []modelreg.ServiceEvent{{EventType: modelreg.EventAbnormal, EventInfo: "one pod restarted"}}}
	for _, tc := range []struct {
		name   string
		key    []byte
		body   any
		status int
	}{
		{"Unsigned", nil, ok, http.StatusUnauthorized},
		{"WrongSecret", []byte("another secret, long enough"), ok, http.StatusUnauthorized},
		{"BadStatus", []byte(secret), modelreg.DeployReport{ProjectID: project, ServiceID: id, Status: modelreg.ServiceStopped}, http.StatusBadRequest},
		{"BadProject", []byte(secret), modelreg.DeployReport{ProjectID: "x", ServiceID: id}, http.StatusBadRequest},
		{"UnknownService", []byte(secret), modelreg.DeployReport{ProjectID: project, ServiceID: modelreg.NewID(), Status: modelreg.ServiceRunning}, http.StatusNotFound},
		{"EmptyEvent", []byte(secret), modelreg.DeployReport{ProjectID: project, ServiceID: id, Events: []modelreg.ServiceEvent{{}}}, http.StatusBadRequest},
		{"NotJSON", []byte(secret), "not an object", http.StatusBadRequest},
		{"OK", []byte(secret), ok, http.StatusOK},
	} {
		if got := postReport(t, e.url, tc.key, tc.body); got != tc.status {
			t.Errorf("%s: HTTP %d, want %d", tc.name, got, tc.status)
		}
	}
	s := e.waitStatus(t, id, modelreg.ServiceConcerning)
	if ev := e.events(t, id); !strings.Contains(ev, "abnormal: one pod restarted\n") || strings.Count(ev, "one pod restarted") != 1 {
		t.Errorf("events:\n%s", ev)
	}

	// A stale timestamp is refused.
	body, _ := json.Marshal(ok)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/modelreg/v1/deployer/reports", bytes.NewReader(body))
	deployer.Sign(req, []byte(secret), body, time.Now().Add(-time.Hour))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stale report: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// A stopped service stays stopped whatever is reported.
	stop := modelreg.ServiceStopped
	if err := e.c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Status: &stop}); err != nil {
		t.Fatal(err)
	}
	if got := postReport(t, e.url, []byte(secret), modelreg.DeployReport{ProjectID: project, ServiceID: id, Status: modelreg.ServiceRunning}); got != http.StatusConflict {
		t.Errorf("running reported of a stopped service: HTTP %d", got)
	}
	if s2, _ := e.c.GetService(ctx, id); s2.Status != modelreg.ServiceStopped || s2.TransitionAt < s.TransitionAt {
		t.Errorf("after a late report: %+v", s2)
	}
}
