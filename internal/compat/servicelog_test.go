package compat_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/def"

	"github.com/modelreg/modelreg"
)

// ---- ShowServiceUpdateLogs ----

type updateLogsRequest struct {
	ServiceID  string  `json:"service_id"`
	UpdateTime *string `json:"update_time,omitempty"`
}

type updateLog struct {
	Config       []serviceConfig `json:"config"`
	ExtendConfig []any           `json:"extend_config"`
	UpdateTime   int64           `json:"update_time"`
	Result       string          `json:"result"`
	ClusterID    string          `json:"cluster_id"`
}

type updateLogsResponse struct {
	ServiceID      string      `json:"service_id"`
	ServiceName    string      `json:"service_name"`
	Logs           []updateLog `json:"logs"`
	HttpStatusCode int         `json:"-"`
}

func (r *updateLogsResponse) status() int { return r.HttpStatusCode }

func genUpdateLogs() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/services/{service_id}/logs", new(updateLogsResponse),
		field("ServiceID", "service_id", def.Path), field("UpdateTime", "update_time", def.Query))
}

// TestServiceUpdateLogs reads a service's update log through the SDK.
func TestServiceUpdateLogs(t *testing.T) {
	e := mustServe(t)
	hc := e.sdkClient(e.ak, e.sk, projectA)
	a := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("a", "1.0.0")}, genCreateModel(), 200).ModelID
	b := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("a", "1.0.1")}, genCreateModel(), 200).ModelID
	e.publish(a)
	e.publish(b)
	id := mustCall[createServiceResponse](e, hc, &createServiceRequest{Body: &createServiceBody{ServiceName: "logged", InferType: "real-time",
		Config: []serviceConfig{{ModelID: a, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}}}}, genCreateService(), 200).ServiceID
	mustCall[emptyResponse](e, hc, &updateServiceRequest{ServiceID: id, Body: &updateServiceBody{
		Config: []serviceConfig{{ModelID: b, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 2}}}}, genUpdateService(), 200)

	logs := mustCall[updateLogsResponse](e, hc, &updateLogsRequest{ServiceID: id}, genUpdateLogs(), 200)
	if logs.ServiceID != id || logs.ServiceName != "logged" || len(logs.Logs) != 2 || logs.Logs[0].Result != "SUCCESS" ||
		logs.Logs[0].Config[0].ModelVersion != "1.0.1" || logs.Logs[0].Config[0].InstanceCount != 2 || logs.Logs[1].Config[0].ModelID != a {
		t.Fatalf("logs: %+v", logs)
	}
	first := logs.Logs[1].UpdateTime
	one := mustCall[updateLogsResponse](e, hc, &updateLogsRequest{ServiceID: id, UpdateTime: ptr(itoa(first))}, genUpdateLogs(), 200)
	if len(one.Logs) != 1 || one.Logs[0].UpdateTime != first {
		t.Errorf("update_time=%d: %+v", first, one)
	}

	_, rid, err := call[updateLogsResponse](e, hc, &updateLogsRequest{ServiceID: modelreg.NewID()}, genUpdateLogs())
	wantSDKError(t, err, rid, 404, modelreg.CodeServiceNotFound)
	_, rid, err = call[updateLogsResponse](e, hc, &updateLogsRequest{ServiceID: id, UpdateTime: ptr("soon")}, genUpdateLogs())
	wantSDKError(t, err, rid, 400, modelreg.CodeInvalidArgument)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
