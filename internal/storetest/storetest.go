// Package storetest is the conformance suite of modelreg.Store. Every
// backend runs it unchanged:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) modelreg.Store {
//			return MustOpenDB(t, now)
//		})
//	}
//
// Each subtest opens a fresh store. The suite drives the store's clock and
// never looks at wall time. Beyond the interface comments of store.go, it
// pins down these decisions, which every backend must share:
//
//   - Name and description filters are substring matches in which % _ and \
//     are literal, ignoring the case of ASCII letters only (a KELVIN SIGN
//     does not match k, whatever an index folds); ExactMatch compares the
//     name exactly (case included).
//   - A keyset page (ModelFilter.After) holds the models that follow the
//     cursor in the sort order; walking a list by markers gives what
//     walking it by offsets gives. total_count always counts every match.
//   - List methods return an empty, non-nil slice when nothing matches.
//   - A lease is live up to and including its end: a job or digest leased
//     until T can be claimed again only after T.
//   - CompleteBlobDeletion and RetryBlobDeletion return ENOTFOUND when the
//     digest is not queued or not leased to the caller, and change nothing.
//   - FinishImport rejects a result status other than published or failed.
//   - UpdateService with a status other than running or stopped is EINVALID
//     ModelArts.3037; a config naming a model twice is EINVALID
//     ModelArts.3516 in CreateService and UpdateService.
//   - A config model that exists but failed (or is in any status other than
//     published or publishing) is ESTATE ModelArts.3078.
//   - Times are milliseconds since the epoch of the store's clock, taken once
//     per call: everything one call writes carries the same time.
//   - ClaimImportJob takes the job of the oldest model first (ties by id);
//     a claim counts as an attempt.
//   - A config entry's status is "ready" while its service is running and
//     "notReady" otherwise; model name and version are filled on every read.
//   - UpdateService: a new config keeps the service's status and sets
//     update_time; status and description changes do not touch update_time;
//     a status change sets transition_at; each change records one event, and
//     a call that changes nothing records none.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// Opener returns a fresh, empty store whose clock is now. It arranges for
// the store to be closed when t ends (t.Cleanup).
type Opener func(t *testing.T, now func() time.Time) modelreg.Store

// Run runs the whole suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	t.Run("CreateModel", func(t *testing.T) { testCreateModel(t, open) })
	t.Run("FindModelByID", func(t *testing.T) { testFindModelByID(t, open) })
	t.Run("FindModels", func(t *testing.T) { testFindModels(t, open) })
	t.Run("CreateModels", func(t *testing.T) { testCreateModels(t, open) })
	t.Run("CreateModelsConcurrently", func(t *testing.T) { testCreateModelsConcurrently(t, open) })
	t.Run("ModelCounts", func(t *testing.T) { testModelCounts(t, open) })
	t.Run("KeysetPaging", func(t *testing.T) { testKeysetPaging(t, open) })
	t.Run("SubstringFilters", func(t *testing.T) { testSubstringFilters(t, open) })
	t.Run("DeleteModelBatch", func(t *testing.T) { testDeleteModelBatch(t, open) })
	t.Run("FindCascadeSet", func(t *testing.T) { testFindCascadeSet(t, open) })
	t.Run("FindModelNames", func(t *testing.T) { testFindModelNames(t, open) })
	t.Run("DeleteModel", func(t *testing.T) { testDeleteModel(t, open) })
	t.Run("FindModelFiles", func(t *testing.T) { testFindModelFiles(t, open) })
	t.Run("ClaimImportJob", func(t *testing.T) { testClaimImportJob(t, open) })
	t.Run("RenewImportJob", func(t *testing.T) { testRenewImportJob(t, open) })
	t.Run("AttachModelFile", func(t *testing.T) { testAttachModelFile(t, open) })
	t.Run("FinishImport", func(t *testing.T) { testFinishImport(t, open) })
	t.Run("RetryImport", func(t *testing.T) { testRetryImport(t, open) })
	t.Run("CreateUploadModel", func(t *testing.T) { testCreateUploadModel(t, open) })
	t.Run("ClaimBlobDeletions", func(t *testing.T) { testClaimBlobDeletions(t, open) })
	t.Run("CompleteBlobDeletion", func(t *testing.T) { testCompleteBlobDeletion(t, open) })
	t.Run("RetryBlobDeletion", func(t *testing.T) { testRetryBlobDeletion(t, open) })
	t.Run("TrackBlob", func(t *testing.T) { testTrackBlob(t, open) })
	t.Run("PendingBlobDeletions", func(t *testing.T) { testPendingBlobDeletions(t, open) })
	t.Run("PendingImportJobs", func(t *testing.T) { testPendingImportJobs(t, open) })
	t.Run("CreateService", func(t *testing.T) { testCreateService(t, open) })
	t.Run("FindServiceByID", func(t *testing.T) { testFindServiceByID(t, open) })
	t.Run("FindServices", func(t *testing.T) { testFindServices(t, open) })
	t.Run("UpdateService", func(t *testing.T) { testUpdateService(t, open) })
	t.Run("TransitionService", func(t *testing.T) { testTransitionService(t, open) })
	t.Run("ServiceSchedule", func(t *testing.T) { testServiceSchedule(t, open) })
	t.Run("DeleteServices", func(t *testing.T) { testDeleteServices(t, open) })
	t.Run("FindServiceEvents", func(t *testing.T) { testFindServiceEvents(t, open) })
	t.Run("FindServiceUpdateLogs", func(t *testing.T) { testFindServiceUpdateLogs(t, open) })
	t.Run("DeployOutbox", func(t *testing.T) { testDeployOutbox(t, open) })
	t.Run("Ping", func(t *testing.T) { testPing(t, open) })
	t.Run("Auth", func(t *testing.T) { testAuthStore(t, open) })
	t.Run("DryRun", func(t *testing.T) { testDryRun(t, open) })
	t.Run("Protection", func(t *testing.T) { testProtection(t, open) })
	t.Run("IfMatch", func(t *testing.T) { testIfMatch(t, open) })
	t.Run("Trash", func(t *testing.T) { testTrash(t, open) })
	t.Run("Race", func(t *testing.T) { testRace(t, open) })
	t.Run("TrashRace", func(t *testing.T) { testTrashRace(t, open) })
	t.Run("AuditTrail", func(t *testing.T) { testAuditTrail(t, open) })
	t.Run("AuditDryRun", func(t *testing.T) { testAuditDryRun(t, open) })
	t.Run("AuditFilters", func(t *testing.T) { testAuditFilters(t, open) })
	t.Run("AuditRetention", func(t *testing.T) { testAuditRetention(t, open) })
	t.Run("Webhooks", func(t *testing.T) { testWebhooks(t, open) })
	t.Run("WebhookClaims", func(t *testing.T) { testWebhookClaims(t, open) })
	t.Run("CleanupPolicies", func(t *testing.T) { testCleanupPolicies(t, open) })
}

// Projects used by the tests.
const (
	projA = "0123456789abcdef0123456789abcdef"
	projB = "fedcba9876543210fedcba9876543210"
)

// Owners of leases.
const (
	importer  = "importer-1"
	importer2 = "importer-2"
	collector = "collector-1"
	other     = "collector-2"
)

// epoch is the suite clock's starting time.
var epoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a manual clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one subtest's store and clock.
type env struct {
	t   *testing.T
	ctx context.Context
	s   modelreg.Store
	clk *clock
}

// newEnv opens a fresh store with a clock at epoch.
func newEnv(t *testing.T, open Opener) *env {
	t.Helper()
	clk := &clock{t: epoch}
	s := open(t, clk.Now)
	if s == nil {
		t.Fatal("opener returned a nil store")
	}
	return &env{t: t, ctx: context.Background(), s: s, clk: clk}
}

// nowMs returns the clock's time in ms.
func (e *env) nowMs() int64 { return modelreg.Millis(e.clk.Now()) }

// wantErr fails unless err has the internal code and, when apiCode is not
// empty, the ModelArts code.
func wantErr(t *testing.T, err error, code, apiCode string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s %s", code, apiCode)
	}
	if got := modelreg.ErrorCode(err); got != code {
		t.Fatalf("ErrorCode = %q, want %q (err: %v)", got, code, err)
	}
	if apiCode != "" {
		if got := modelreg.ErrorAPICode(err); got != apiCode {
			t.Fatalf("ErrorAPICode = %q, want %q (err: %v)", got, apiCode, err)
		}
	}
	if modelreg.ErrorMessage(err) == "" {
		t.Fatalf("error %v has no message", err)
	}
}

// ok fails the test on a non-nil error.
func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// digest returns a fake sha256 digest made from n.
func digest(n int) string { return fmt.Sprintf("%064x", n) }

// newModel returns a model ready for CreateModel in project with every
// field a client can send filled.
func newModel(project, name, version string) *modelreg.Model {
	lo, hi := 1.0, 9.5
	return &modelreg.Model{
		ModelSummary: modelreg.ModelSummary{
			Name:            name,
			Version:         version,
			Type:            "TensorFlow",
			Tenant:          "tenant-a",
			ProjectID:       project,
			Owner:           "owner-a",
			Description:     "model " + name + " " + version,
			SourceType:      "auto",
			WorkspaceID:     "0",
			ModelSource:     "custom",
			Tunable:         true,
			MarketFlag:      false,
			PublishableFlag: true,
			InstallType:     []string{"real-time", "batch"},
			Specification:   modelreg.Specification{MinCPU: "1", MinMemory: "2Gi"},
		},
		SourceLocation:   "obs://bucket/" + name + "/" + version + "/",
		SourceJobID:      "job-1",
		SourceJobVersion: "V001",
		Runtime:          "python3.6",
		ExecutionCode:    "obs://bucket/code/",
		SchemaDoc:        "obs://bucket/schema",
		ImageAddress:     "swr.example/img:1",
		InputParams: []modelreg.Param{{URL: "/", Method: "post", Protocol: "http", ParamName: "x",
			ParamType: "int", Min: &lo, Max: &hi, ParamDesc: "input"}},
		OutputParams: []modelreg.Param{{URL: "/", Method: "post", Protocol: "http", ParamName: "y", ParamType: "string"}},
		Dependencies: []modelreg.Dependency{{Installer: "pip", Packages: []modelreg.Package{
			{Name: "numpy", Version: "1.26.0", Restraint: "EXACT"}}}},
		ModelMetrics:   `{"f1":0.9}`,
		APIs:           `[{"url":"/","method":"post"}]`,
		ModelDocs:      []modelreg.ModelDoc{{Name: "readme", URL: "https://example.com/readme"}},
		ModelAlgorithm: "image_classification",
		ModelLabels:    []string{"vision"},
		LabelsMap:      modelreg.LabelsMap{Labels: []string{"vision"}},
		Template: &modelreg.Template{TemplateID: "tpl", InferFormat: "fmt",
			Inputs: []modelreg.TemplateInput{{InputID: "in", Input: "obs://bucket/in"}}},
	}
}

// createModel creates a publishing model.
func (e *env) createModel(project, name, version string) *modelreg.Model {
	e.t.Helper()
	m := newModel(project, name, version)
	ok(e.t, e.s.CreateModel(e.ctx, m))
	return m
}

// claim claims the job of model id for owner. Jobs of other models claimed
// on the way are released (with one more attempt each).
func (e *env) claim(id, owner string) *modelreg.ImportJob {
	e.t.Helper()
	var others []string
	defer func() {
		for _, o := range others {
			ok(e.t, e.s.RetryImport(e.ctx, o, owner, "", e.clk.Now()))
		}
	}()
	for {
		job, err := e.s.ClaimImportJob(e.ctx, owner, time.Minute, 0)
		if err != nil {
			e.t.Fatalf("claiming the job of %s: %v", id, err)
		}
		if job.ModelID == id {
			return job
		}
		others = append(others, job.ModelID)
	}
}

// publish imports m with the given files: claims its job, attaches the
// files and finishes the import as published.
func (e *env) publish(m *modelreg.Model, files ...modelreg.ModelFile) {
	e.t.Helper()
	e.claim(m.ID, importer)
	var size int64
	for _, f := range files {
		ok(e.t, e.s.AttachModelFile(e.ctx, m.ID, importer, f))
		size += f.Size
	}
	ok(e.t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{
		Status: modelreg.ModelPublished, Size: size, Config: `{"model_type":"TensorFlow"}`}))
}

// publishedModel creates and publishes a model with one file of blob d.
func (e *env) publishedModel(project, name, version string, files ...modelreg.ModelFile) *modelreg.Model {
	e.t.Helper()
	m := e.createModel(project, name, version)
	e.publish(m, files...)
	got, err := e.s.FindModelByID(e.ctx, project, m.ID)
	ok(e.t, err)
	return got
}

// failedModel creates a model whose import failed.
func (e *env) failedModel(project, name, version string) *modelreg.Model {
	e.t.Helper()
	m := e.createModel(project, name, version)
	e.claim(m.ID, importer)
	ok(e.t, e.s.FinishImport(e.ctx, m.ID, importer, modelreg.ImportResult{Status: modelreg.ModelFailed, Reason: "bad source"}))
	return m
}

// file returns a model file of blob digest(n).
func file(path string, n int) modelreg.ModelFile {
	return modelreg.ModelFile{Path: path, Digest: digest(n), Size: int64(100 + n)}
}

// mustModel returns the model, failing when it is not found.
func (e *env) mustModel(project, id string) *modelreg.Model {
	e.t.Helper()
	m, err := e.s.FindModelByID(e.ctx, project, id)
	ok(e.t, err)
	return m
}

// wantModelGone fails unless model id is unknown in project.
func (e *env) wantModelGone(project, id string) {
	e.t.Helper()
	_, err := e.s.FindModelByID(e.ctx, project, id)
	wantErr(e.t, err, modelreg.ENOTFOUND, modelreg.CodeModelNotFound)
}

// files returns the files of a model.
func (e *env) files(project, id string) []modelreg.ModelFile {
	e.t.Helper()
	fs, err := e.s.FindModelFiles(e.ctx, project, id)
	ok(e.t, err)
	return fs
}

// pending returns the length of the blob queue.
func (e *env) pending() int {
	e.t.Helper()
	n, err := e.s.PendingBlobDeletions(e.ctx)
	ok(e.t, err)
	return n
}

// wantPending fails unless the blob queue has n digests.
func (e *env) wantPending(n int) {
	e.t.Helper()
	if got := e.pending(); got != n {
		e.t.Fatalf("PendingBlobDeletions = %d, want %d", got, n)
	}
}

// claimBlobs claims up to 100 due digests for owner with a one-minute lease.
func (e *env) claimBlobs(owner string) []string {
	e.t.Helper()
	ds, err := e.s.ClaimBlobDeletions(e.ctx, owner, time.Minute, 100)
	ok(e.t, err)
	if ds == nil {
		e.t.Fatal("ClaimBlobDeletions returned nil, want a non-nil slice")
	}
	return ds
}

// wantClaimBlobs fails unless owner claims exactly digests (in any order).
func (e *env) wantClaimBlobs(owner string, digests ...string) {
	e.t.Helper()
	got := e.claimBlobs(owner)
	if diff := cmp.Diff(asSet(digests), asSet(got)); diff != "" {
		e.t.Fatalf("ClaimBlobDeletions mismatch (-want +got):\n%s", diff)
	}
}

func asSet(ss []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// noJob fails unless no import job is due.
func (e *env) noJob() {
	e.t.Helper()
	job, err := e.s.ClaimImportJob(e.ctx, "probe", time.Minute, 0)
	if err == nil {
		e.t.Fatalf("ClaimImportJob claimed %+v, want no due job", job)
	}
	wantErr(e.t, err, modelreg.ENOTFOUND, "")
}

// newService returns a real-time service for CreateService with every
// field a client can send filled, deploying the given models.
func newService(project, name string, modelIDs ...string) *modelreg.Service {
	s := &modelreg.Service{
		Name:            name,
		Description:     "service " + name,
		Tenant:          "tenant-a",
		ProjectID:       project,
		Owner:           "owner-a",
		InferType:       modelreg.InferRealTime,
		WorkspaceID:     "0",
		ClusterID:       "cluster-1",
		VpcID:           "vpc-1",
		SubnetNetworkID: "subnet-1",
		SecurityGroupID: "sg-1",
		Schedule:        []modelreg.Schedule{{Type: "stop", TimeUnit: "HOURS", Duration: 2}},
	}
	for i, id := range modelIDs {
		w := 100 / len(modelIDs)
		if i == 0 {
			w += 100 % len(modelIDs)
		}
		s.Config = append(s.Config, modelreg.ServiceConfig{
			ModelID:       id,
			Weight:        modelreg.FlexInt(w),
			Specification: "modelarts.vm.cpu.2u",
			InstanceCount: 1,
			Envs:          map[string]string{"K": "v"},
		})
	}
	return s
}

// createService creates a service deploying the models.
func (e *env) createService(project, name string, modelIDs ...string) *modelreg.Service {
	e.t.Helper()
	s := newService(project, name, modelIDs...)
	ok(e.t, e.s.CreateService(e.ctx, s))
	return s
}

// mustService returns the service, failing when it is not found.
func (e *env) mustService(project, id string) *modelreg.Service {
	e.t.Helper()
	s, err := e.s.FindServiceByID(e.ctx, project, id)
	ok(e.t, err)
	return s
}

// events returns every event of a service, oldest first.
func (e *env) events(project, id string) []*modelreg.ServiceEvent {
	e.t.Helper()
	evs, n, err := e.s.FindServiceEvents(e.ctx, modelreg.EventFilter{ProjectID: project, ServiceID: id, Page: modelreg.Page{Order: "asc", Limit: modelreg.MaxListLimit}})
	ok(e.t, err)
	if n != len(evs) {
		e.t.Fatalf("FindServiceEvents total = %d, len = %d", n, len(evs))
	}
	return evs
}

// snapshot is the observable state of a store for one project: what a
// failing call must leave unchanged.
type snapshot struct {
	Models   []*modelreg.ModelSummary
	Files    map[string][]modelreg.ModelFile
	Services []*modelreg.Service
	Configs  map[string][]modelreg.ServiceConfig
	Events   map[string][]*modelreg.ServiceEvent
	Pending  int
	Trash    []*modelreg.TrashedModel
	// Changes are the project's audit events of changes (outcome
	// success): a failing call adds none (a refusal may add its own
	// failure event).
	Changes []*modelreg.AuditEvent
}

// snap takes a snapshot of project.
func (e *env) snap(project string) snapshot {
	e.t.Helper()
	ms, _, err := e.s.FindModels(e.ctx, modelreg.ModelFilter{ProjectID: project, Page: modelreg.Page{Limit: modelreg.MaxListLimit, SortBy: modelreg.ModelSortCreateAt, Order: "asc"}})
	ok(e.t, err)
	sn := snapshot{Models: ms, Files: map[string][]modelreg.ModelFile{}, Configs: map[string][]modelreg.ServiceConfig{},
		Events: map[string][]*modelreg.ServiceEvent{}, Pending: e.pending()}
	for _, m := range ms {
		sn.Files[m.ID] = e.files(project, m.ID)
	}
	ss, _, err := e.s.FindServices(e.ctx, modelreg.ServiceFilter{ProjectID: project, Page: modelreg.Page{Limit: modelreg.MaxListLimit, SortBy: modelreg.ServiceSortPublishAt, Order: "asc"}})
	ok(e.t, err)
	sn.Services = ss
	if sn.Trash, _, err = e.s.FindTrash(e.ctx, modelreg.TrashFilter{ProjectID: project, Page: modelreg.Page{Limit: modelreg.MaxListLimit}}); err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range e.audit(modelreg.AuditFilter{ProjectID: project}) {
		if ev.Outcome == modelreg.OutcomeSuccess {
			sn.Changes = append(sn.Changes, ev)
		}
	}
	for _, s := range ss {
		sn.Configs[s.ID] = e.mustService(project, s.ID).Config
		sn.Events[s.ID] = e.events(project, s.ID)
	}
	return sn
}

// unchanged fails when project's state differs from before.
func (e *env) unchanged(project string, before snapshot) {
	e.t.Helper()
	if diff := cmp.Diff(before, e.snap(project)); diff != "" {
		e.t.Fatalf("a failed call changed the store (-before +after):\n%s", diff)
	}
}
