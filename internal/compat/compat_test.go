package compat_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	sdkauth "github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/def"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/exchange"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/auth"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/sqlite"
)

// The projects and the region name the SDK looks the first one up by.
const (
	projectA   = "0123456789abcdef0123456789abcdef"
	projectB   = "fedcba9876543210fedcba9876543210"
	regionName = "compat-region-1"
	alicePass  = "alice-password-1"
)

// env is a real modelreg server (httpapi over SQLite, with authentication,
// its clock the wall clock, as the SDK signs with it) and alice, a member
// of projectA with an access key and a password.
type env struct {
	t       *testing.T
	url     string
	store   *sqlite.DB
	alice   *modelreg.User
	ak, sk  string
	logs    *syncBuffer
	seq     int
	seqLock sync.Mutex
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustServe(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key := make([]byte, auth.MasterKeySize)
	keys, err := auth.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Store: store, Keyring: keys, PasswordIterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Config{Store: store, Auth: a, Catalog: compatCatalog(),
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}))
	t.Cleanup(srv.Close)

	e := &env{t: t, url: srv.URL, store: store, logs: logs}
	for _, p := range []*modelreg.Project{{ID: projectA, Name: regionName}, {ID: projectB, Name: "other"}} {
		if err := store.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := a.HashPassword(alicePass)
	if err != nil {
		t.Fatal(err)
	}
	e.alice = &modelreg.User{Name: "alice", PasswordHash: hash, ProjectIDs: []string{projectA}}
	if err := store.CreateUser(ctx, e.alice); err != nil {
		t.Fatal(err)
	}
	c, sk, err := a.NewCredential(ctx, e.alice.ID, "sdk", "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.ak, e.sk = c.AccessKey, sk
	return e
}

// sdkClient returns the SDK's HTTP client for the server, signing with
// ak/sk for project (an empty project makes the SDK look it up by region,
// through GET /v3/projects on the server as its IAM endpoint).
func (e *env) sdkClient(ak, sk, project string) *core.HcHttpClient {
	e.t.Helper()
	cb := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithIamEndpointOverride(e.url)
	if project != "" {
		cb = cb.WithProjectId(project)
	}
	cred, err := cb.SafeBuild()
	if err != nil {
		e.t.Fatal(err)
	}
	b := core.NewHcHttpClientBuilder().WithCredential(cred)
	if project == "" {
		b = b.WithRegion(region.NewRegion(regionName, e.url))
	} else {
		b = b.WithEndpoints([]string{e.url})
	}
	hc, err := b.SafeBuild()
	if err != nil {
		e.t.Fatalf("building the SDK client: %v", err)
	}
	return hc
}

// tokenCredential is an sdkauth.ICredential that sends X-Auth-Token (or
// nothing, for the token request itself) and fills {project_id}. The SDK
// core has no token credential; this is all one takes.
type tokenCredential struct {
	token, projectID string
}

func (c *tokenCredential) ProcessAuthParams(*impl.DefaultHttpClient, string) (sdkauth.ICredential, error) {
	return c, nil
}

func (c *tokenCredential) ProcessAuthRequest(_ *impl.DefaultHttpClient, r *request.DefaultHttpRequest) (*request.DefaultHttpRequest, error) {
	b := r.Builder()
	if c.projectID != "" {
		b.AddAutoFilledPathParam("project_id", c.projectID)
	}
	if c.token != "" {
		b.AddHeaderParam("X-Auth-Token", c.token)
	}
	return b.Build(), nil
}

// tokenClient returns an SDK client authenticating with a token.
func (e *env) tokenClient(token, project string) *core.HcHttpClient {
	e.t.Helper()
	hc, err := core.NewHcHttpClientBuilder().WithCredentialsType("compat_test.tokenCredential").
		WithCredential(&tokenCredential{token: token, projectID: project}).WithEndpoints([]string{e.url}).SafeBuild()
	if err != nil {
		e.t.Fatal(err)
	}
	return hc
}

// call invokes one operation through the SDK with a fresh X-Request-Id,
// which it returns with the response.
func call[T any](e *env, hc *core.HcHttpClient, req any, d *def.HttpRequestDef) (*T, string, error) {
	e.seqLock.Lock()
	e.seq++
	id := fmt.Sprintf("compat-%d-%d", time.Now().UnixNano(), e.seq)
	e.seqLock.Unlock()
	exg := &exchange.SdkExchange{ApiReference: &exchange.ApiReference{}, Attributes: map[string]any{}}
	resp, err := hc.SyncInvokeWithExtraHeaders(req, d, exg, map[string]string{"X-Request-Id": id})
	if err != nil {
		return nil, id, err
	}
	return resp.(*T), id, nil
}

// mustCall is call for an operation that must succeed with status.
func mustCall[T any](e *env, hc *core.HcHttpClient, req any, d *def.HttpRequestDef, status int) *T {
	e.t.Helper()
	resp, _, err := call[T](e, hc, req, d)
	if err != nil {
		e.t.Fatalf("%s %s: %v", d.Method, d.Path, err)
	}
	if got := statusOf(resp); got != status {
		e.t.Fatalf("%s %s: status %d, want %d", d.Method, d.Path, got, status)
	}
	return resp
}

// statusOf returns the HttpStatusCode the SDK sets on a response.
func statusOf(resp any) int {
	switch r := resp.(type) {
	case *createModelResponse:
		return r.HttpStatusCode
	case *listModelsResponse:
		return r.HttpStatusCode
	case *showModelResponse:
		return r.HttpStatusCode
	case *deleteModelResponse:
		return r.HttpStatusCode
	case *createServiceResponse:
		return r.HttpStatusCode
	case *listServicesResponse:
		return r.HttpStatusCode
	case *showServiceResponse:
		return r.HttpStatusCode
	case *emptyResponse:
		return r.HttpStatusCode
	case *eventsResponse:
		return r.HttpStatusCode
	case *createTokenResponse:
		return r.HttpStatusCode
	case *listProjectsResponse:
		return r.HttpStatusCode
	case *createCredentialResponse:
		return r.HttpStatusCode
	case *listCredentialsResponse:
		return r.HttpStatusCode
	}
	if r, ok := resp.(interface{ status() int }); ok {
		return r.status()
	}
	panic(fmt.Sprintf("statusOf(%T)", resp))
}

// wantSDKError checks that err is the SDK's ServiceResponseError with the
// status, the ModelArts code, a message parsed out of the body (not the raw
// body, which is what the SDK falls back to when it cannot parse one) and
// the request id the call sent.
func wantSDKError(t *testing.T, err error, requestID string, status int, code string) {
	t.Helper()
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v, want *sdkerr.ServiceResponseError", err, err)
	}
	if se.StatusCode != status || se.ErrorCode != code {
		t.Errorf("got %d %s (%s), want %d %s", se.StatusCode, se.ErrorCode, se.ErrorMessage, status, code)
	}
	if se.ErrorMessage == "" || strings.HasPrefix(se.ErrorMessage, "{") {
		t.Errorf("ErrorMessage %q: not parsed from error_msg", se.ErrorMessage)
	}
	if se.RequestId != requestID {
		t.Errorf("RequestId %q, want %q", se.RequestId, requestID)
	}
}

func ptr[T any](v T) *T { return &v }

// publish plays the importer for a model: it claims the model's import job,
// attaches one file and finishes the job as published.
func (e *env) publish(modelID string) {
	e.t.Helper()
	ctx := context.Background()
	job, err := e.store.ClaimImportJob(ctx, "compat", time.Hour, 0)
	if err != nil || job.ModelID != modelID {
		e.t.Fatalf("claim the import job of %s: %+v %v", modelID, job, err)
	}
	sum := sha256.Sum256([]byte(modelID))
	f := modelreg.ModelFile{Path: "model/weights.bin", Digest: hex.EncodeToString(sum[:]), Size: 4096}
	if err := e.store.AttachModelFile(ctx, modelID, "compat", f); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.FinishImport(ctx, modelID, "compat", modelreg.ImportResult{Status: modelreg.ModelPublished, Size: 4096}); err != nil {
		e.t.Fatal(err)
	}
}

func newModelBody(name, version string) *createModelBody {
	return &createModelBody{ModelName: name, ModelVersion: version, ModelType: "TensorFlow",
		SourceLocation: "obs://bucket/" + name + "/" + version + "/", Description: "from the SDK",
		Runtime: "python3.6", InstallType: []string{"real-time"},
		InputParams:         []modelParam{{URL: "/", Method: "post", Protocol: "http", ParamName: "x", ParamType: "int"}},
		ModelAlgorithmExtra: "ignored"}
}

// TestModels drives every model operation through the SDK, signed with
// AK/SK and the project id given.
func TestModels(t *testing.T) {
	e := mustServe(t)
	hc := e.sdkClient(e.ak, e.sk, projectA)

	created := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("digits", "1.0.0")}, genCreateModel(), 200)
	if !modelreg.ValidID(created.ModelID) {
		t.Fatalf("model_id %q", created.ModelID)
	}
	v1 := created.ModelID
	e.publish(v1)
	v2 := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("digits", "1.0.1")}, genCreateModel(), 200).ModelID
	e.publish(v2)
	other := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("other", "2.0.0")}, genCreateModel(), 200).ModelID

	list := mustCall[listModelsResponse](e, hc, &listModelsRequest{ModelName: ptr("digits"), ExactMatch: ptr("true"),
		SortBy: ptr("model_version"), Order: ptr("asc"), Limit: ptr(int32(10)), Offset: ptr(int32(0))}, genListModels(), 200)
	if list.TotalCount != 2 || list.Count != 2 || list.Models[0].ModelID != v1 || list.Models[1].ModelID != v2 {
		t.Fatalf("list: %+v", list)
	}
	m := list.Models[0]
	if m.ModelName != "digits" || m.ModelVersion != "1.0.0" || m.ModelStatus != "published" || m.ModelType != "TensorFlow" ||
		m.ModelSize != 4096 || m.Project != projectA || m.Owner != e.alice.ID || m.CreateAt == 0 {
		t.Errorf("list item %+v", m)
	}
	// Query values with spaces and reserved characters are signed and
	// read back as sent.
	list = mustCall[listModelsResponse](e, hc, &listModelsRequest{Description: ptr("from the SDK"), ModelStatus: ptr("Publishing")}, genListModels(), 200)
	if list.TotalCount != 1 || list.Models[0].ModelID != other {
		t.Errorf("filtered list: %+v", list)
	}
	list = mustCall[listModelsResponse](e, hc, &listModelsRequest{ModelName: ptr("a&b=c+d/é")}, genListModels(), 200)
	if list.TotalCount != 0 || list.Models == nil {
		t.Errorf("list with reserved characters: %+v", list)
	}

	show := mustCall[showModelResponse](e, hc, &modelIDRequest{ModelID: v1}, genShowModel(), 200)
	if show.ModelID != v1 || show.SourceLocation != "obs://bucket/digits/1.0.0/" || show.Runtime != "python3.6" ||
		len(show.InputParams) != 1 || show.InputParams[0].ParamName != "x" || show.Owner != e.alice.ID {
		t.Errorf("show: %+v", show)
	}

	// A service pins v1: a cascade from v2 deletes v2 and reports v1.
	svc := mustCall[createServiceResponse](e, hc, &createServiceRequest{Body: &createServiceBody{ServiceName: "pin", InferType: "real-time",
		Config: []serviceConfig{{ModelID: v1, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}}}}, genCreateService(), 200)
	del := mustCall[deleteModelResponse](e, hc, &modelIDRequest{ModelID: v2, Cascade: ptr("true")}, genDeleteModel(), 200)
	if len(del.DeleteSuccessList) != 1 || del.DeleteSuccessList[0] != v2 || len(del.DeleteFailedList) != 1 {
		t.Fatalf("cascade delete: %+v", del)
	}
	f := del.DeleteFailedList[0]
	if f.ModelID != v1 || f.ErrorCode != modelreg.CodeModelDeployed || f.ErrorMsg != f.ErrorMessage ||
		f.ErrorMsg != "Failed to delete model, model ("+v1+") already deploy service." {
		t.Errorf("failure item %+v", f)
	}
	mustCall[emptyResponse](e, hc, &serviceIDRequest{ServiceID: svc.ServiceID}, genDeleteService(), 200)
	del = mustCall[deleteModelResponse](e, hc, &modelIDRequest{ModelID: v1}, genDeleteModel(), 200)
	if len(del.DeleteSuccessList) != 1 || del.DeleteFailedList == nil || len(del.DeleteFailedList) != 0 {
		t.Errorf("delete: %+v", del)
	}

	// Errors reach the SDK's ServiceResponseError.
	t.Run("Errors", func(t *testing.T) {
		_, id, err := call[showModelResponse](e, hc, &modelIDRequest{ModelID: v1}, genShowModel())
		wantSDKError(t, err, id, 404, modelreg.CodeModelNotFound)
		_, id, err = call[showModelResponse](e, hc, &modelIDRequest{ModelID: "not-a-uuid"}, genShowModel())
		wantSDKError(t, err, id, 400, modelreg.CodeInvalidArgument)
		_, id, err = call[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("other", "2.0.0")}, genCreateModel())
		wantSDKError(t, err, id, 409, modelreg.CodeModelExists)
		b := newModelBody("", "1.0.0")
		_, id, err = call[createModelResponse](e, hc, &createModelRequest{Body: b}, genCreateModel())
		wantSDKError(t, err, id, 400, modelreg.CodeParamRequired)
		_, id, err = call[listModelsResponse](e, hc, &listModelsRequest{SortBy: ptr("size")}, genListModels())
		wantSDKError(t, err, id, 400, modelreg.CodeInvalidArgument)
		_, id, err = call[deleteModelResponse](e, hc, &modelIDRequest{ModelID: other, Cascade: ptr("maybe")}, genDeleteModel())
		wantSDKError(t, err, id, 400, modelreg.CodeInvalidArgument)
	})
}

// TestServices drives every service operation through the SDK, with the
// project found by region (GET /v3/projects?name=<region>).
func TestServices(t *testing.T) {
	e := mustServe(t)
	hc := e.sdkClient(e.ak, e.sk, "")
	a := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("a", "1.0.0")}, genCreateModel(), 200).ModelID
	b := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("b", "1.0.0")}, genCreateModel(), 200).ModelID
	e.publish(a)
	e.publish(b)

	created := mustCall[createServiceResponse](e, hc, &createServiceRequest{Body: &createServiceBody{ServiceName: "svc-1",
		Description: "two models", InferType: "real-time", Config: []serviceConfig{
			{ModelID: a, Weight: 70, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1},
			{ModelID: b, Weight: 30, Specification: "modelarts.vm.cpu.2u", InstanceCount: 2},
		}}}, genCreateService(), 200)
	if !modelreg.ValidID(created.ServiceID) || created.ResourceIDs == nil {
		t.Fatalf("create: %+v", created)
	}
	id := created.ServiceID

	list := mustCall[listServicesResponse](e, hc, &listServicesRequest{ServiceName: ptr("svc"), ModelID: ptr(b), Limit: ptr(int32(5))}, genListServices(), 200)
	if list.TotalCount != 1 || list.Services[0].ServiceID != id || list.Services[0].Status != "running" ||
		list.Services[0].Project != projectA || list.Services[0].Owner != e.alice.ID {
		t.Fatalf("list: %+v", list)
	}
	show := mustCall[showServiceResponse](e, hc, &serviceIDRequest{ServiceID: id}, genShowService(), 200)
	if show.ServiceName != "svc-1" || show.Description != "two models" || len(show.Config) != 2 ||
		show.Config[0].ModelName != "a" || show.Config[1].InstanceCount != 2 || show.Config[0].Status != "ready" {
		t.Fatalf("show: %+v", show)
	}

	mustCall[emptyResponse](e, hc, &updateServiceRequest{ServiceID: id, Body: &updateServiceBody{Status: "stopped"}}, genUpdateService(), 200)
	mustCall[emptyResponse](e, hc, &updateServiceRequest{ServiceID: id, Body: &updateServiceBody{Description: "renamed"}}, genUpdateService(), 200)
	show = mustCall[showServiceResponse](e, hc, &serviceIDRequest{ServiceID: id}, genShowService(), 200)
	if show.Status != "stopped" || show.Description != "renamed" {
		t.Errorf("after updates: %+v", show)
	}
	mustCall[emptyResponse](e, hc, &updateServiceRequest{ServiceID: id, Body: &updateServiceBody{Status: "running"}}, genUpdateService(), 200)

	events := mustCall[eventsResponse](e, hc, &eventsRequest{ServiceID: id, Order: ptr("asc"), Limit: ptr(int32(100))}, genServiceEvents(), 200)
	if events.ServiceID != id || events.ServiceName != "svc-1" || events.TotalCount < 4 || int(events.Count) != len(events.Events) ||
		events.Events[0].OccurTime == 0 || events.Events[0].EventInfo == "" {
		t.Errorf("events: %+v", events)
	}

	t.Run("Errors", func(t *testing.T) {
		_, rid, err := call[createServiceResponse](e, hc, &createServiceRequest{Body: &createServiceBody{ServiceName: "svc-1",
			InferType: "real-time", Config: []serviceConfig{{ModelID: a, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}}}}, genCreateService())
		wantSDKError(t, err, rid, 409, modelreg.CodeServiceExists)
		_, rid, err = call[createServiceResponse](e, hc, &createServiceRequest{Body: &createServiceBody{ServiceName: "svc-2",
			InferType: "real-time", Config: []serviceConfig{{ModelID: modelreg.NewID(), Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}}}}, genCreateService())
		wantSDKError(t, err, rid, 404, modelreg.CodeServiceModelGone)
		_, rid, err = call[showServiceResponse](e, hc, &serviceIDRequest{ServiceID: modelreg.NewID()}, genShowService())
		wantSDKError(t, err, rid, 404, modelreg.CodeServiceNotFound)
		_, rid, err = call[emptyResponse](e, hc, &updateServiceRequest{ServiceID: id, Body: &updateServiceBody{Status: "paused"}}, genUpdateService())
		wantSDKError(t, err, rid, 400, modelreg.CodeParamInvalid)
		_, rid, err = call[eventsResponse](e, hc, &eventsRequest{ServiceID: id, EventType: ptr("weird")}, genServiceEvents())
		wantSDKError(t, err, rid, 400, modelreg.CodeInvalidArgument)
		_, rid, err = call[emptyResponse](e, hc, &serviceIDRequest{ServiceID: id + "," + modelreg.NewID()}, genDeleteService())
		wantSDKError(t, err, rid, 404, modelreg.CodeServiceNotFound)
	})

	mustCall[emptyResponse](e, hc, &serviceIDRequest{ServiceID: id}, genDeleteService(), 200)
	list = mustCall[listServicesResponse](e, hc, &listServicesRequest{}, genListServices(), 200)
	if list.TotalCount != 0 || list.Services == nil {
		t.Errorf("after delete: %+v", list)
	}
}

// TestAuthErrors checks that the SDK surfaces authentication and isolation
// failures with the ModelArts codes modelreg chose.
func TestAuthErrors(t *testing.T) {
	e := mustServe(t)
	list := func(hc *core.HcHttpClient) (string, error) {
		_, id, err := call[listModelsResponse](e, hc, &listModelsRequest{}, genListModels())
		return id, err
	}
	id, err := list(e.sdkClient(e.ak, "wrong-secret-key-0123456789", projectA))
	wantSDKError(t, err, id, 401, modelreg.CodeAuthCheckFailed)
	id, err = list(e.sdkClient("UNKNOWNAK00000000000", e.sk, projectA))
	wantSDKError(t, err, id, 401, modelreg.CodeAKSKInvalid)
	id, err = list(e.sdkClient(e.ak, e.sk, projectB))
	wantSDKError(t, err, id, 403, modelreg.CodeProjectMismatch)

	// A region with no project of that name: the SDK's own lookup fails.
	cred, err := basic.NewCredentialsBuilder().WithAk(e.ak).WithSk(e.sk).WithIamEndpointOverride(e.url).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	_, err = core.NewHcHttpClientBuilder().WithCredential(cred).WithRegion(region.NewRegion("no-such-region", e.url)).SafeBuild()
	if err == nil || !strings.Contains(err.Error(), "failed to get project id of region 'no-such-region'") {
		t.Errorf("lookup of an unknown region: %v", err)
	}
	if strings.Contains(e.logs.String(), e.sk) {
		t.Error("the secret key is in the logs")
	}
}

// TestTokens obtains a token through POST /v3/auth/tokens with the SDK,
// uses it, revokes it with DELETE /v3/auth/tokens and replays it.
func TestTokens(t *testing.T) {
	e := mustServe(t)
	anon := e.tokenClient("", "")
	var body tokenBody
	body.Auth.Identity.Methods = []string{"password"}
	body.Auth.Identity.Password.User = passwordUser{named: named{Name: "alice", Domain: map[string]string{"name": "any"}}, Password: alicePass}
	body.Auth.Scope.Project = named{Name: regionName}
	tok := mustCall[createTokenResponse](e, anon, &createTokenRequest{Body: &body}, genCreateToken(), 201)
	if tok.XSubjectToken == nil {
		t.Fatal("no X-Subject-Token")
	}
	token := *tok.XSubjectToken
	if !strings.HasPrefix(token, "mrt_") || tok.Token.Project.ID != projectA || tok.Token.User.ID != e.alice.ID ||
		tok.Token.ExpiresAt == "" || tok.Token.Catalog == nil {
		t.Fatalf("token: %+v", tok)
	}
	exp, err := time.Parse("2006-01-02T15:04:05.000000Z", tok.Token.ExpiresAt)
	iss, err2 := time.Parse("2006-01-02T15:04:05.000000Z", tok.Token.IssuedAt)
	if err != nil || err2 != nil || exp.Sub(iss) != 24*time.Hour {
		t.Errorf("issued %s, expires %s", tok.Token.IssuedAt, tok.Token.ExpiresAt)
	}

	hc := e.tokenClient(token, projectA)
	created := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("by-token", "1.0.0")}, genCreateModel(), 200)
	list := mustCall[listModelsResponse](e, hc, &listModelsRequest{}, genListModels(), 200)
	if list.TotalCount != 1 || list.Models[0].ModelID != created.ModelID {
		t.Errorf("list with a token: %+v", list)
	}
	projects := mustCall[listProjectsResponse](e, hc, &listProjectsRequest{Name: ptr(regionName)}, genListProjects(), 200)
	if len(projects.Projects) != 1 || projects.Projects[0].ID != projectA || !projects.Projects[0].Enabled {
		t.Errorf("projects: %+v", projects)
	}
	_, id, err := call[listModelsResponse](e, e.tokenClient(token, projectB), &listModelsRequest{}, genListModels())
	wantSDKError(t, err, id, 403, modelreg.CodeProjectMismatch)

	body.Auth.Identity.Password.User.Password = "wrong-password"
	_, id, err = call[createTokenResponse](e, anon, &createTokenRequest{Body: &body}, genCreateToken())
	wantSDKError(t, err, id, 401, modelreg.CodeAuthCheckFailed)

	mustCall[emptyResponse](e, hc, &revokeTokenRequest{XSubjectToken: token}, genRevokeToken(), 204)
	_, id, err = call[listModelsResponse](e, hc, &listModelsRequest{}, genListModels())
	wantSDKError(t, err, id, 401, modelreg.CodeTokenInvalid)
	_, id, err = call[listModelsResponse](e, anon, &listModelsRequest{}, genListModels())
	wantSDKError(t, err, id, 401, modelreg.CodeTokenMissing)
}

// TestCredentials creates, lists and revokes an access key through the
// SDK, and uses the new key with the SDK's signer.
func TestCredentials(t *testing.T) {
	e := mustServe(t)
	hc := e.sdkClient(e.ak, e.sk, projectA)
	var b credentialBody
	b.Credential.Description = "second key"
	created := mustCall[createCredentialResponse](e, hc, &createCredentialRequest{Body: &b}, genCreateCredential(), 201)
	c := created.Credential
	if c.UserID != e.alice.ID || c.Status != "active" || len(c.Secret) != 40 || c.CreateTime == "" {
		t.Fatalf("created %+v", c)
	}
	second := e.sdkClient(c.Access, c.Secret, projectA)
	mustCall[listModelsResponse](e, second, &listModelsRequest{}, genListModels(), 200)

	list := mustCall[listCredentialsResponse](e, hc, &listCredentialsRequest{}, genListCredentials(), 200)
	// Listed oldest first; two keys made in the same millisecond tie, so
	// the new one is found by its access key, not its position.
	listed := 0
	for _, l := range list.Credentials {
		if l.Secret != "" {
			t.Fatalf("a listed key shows its secret: %+v", list)
		}
		if l.Access == c.Access {
			listed++
		}
	}
	if len(list.Credentials) != 2 || listed != 1 {
		t.Fatalf("list %+v", list)
	}
	mustCall[emptyResponse](e, hc, &accessKeyRequest{AccessKey: c.Access}, genDeleteCredential(), 204)
	_, id, err := call[listModelsResponse](e, second, &listModelsRequest{}, genListModels())
	wantSDKError(t, err, id, 401, modelreg.CodeAKSKInvalid)
	_, id, err = call[emptyResponse](e, hc, &accessKeyRequest{AccessKey: "NOSUCHKEY0000000000"}, genDeleteCredential())
	wantSDKError(t, err, id, 404, modelreg.CodeResourceNotFound)
	if strings.Contains(e.logs.String(), c.Secret) {
		t.Error("the new secret key is in the logs")
	}
}
