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

// ---- ShowServiceMonitorInfo ----

type monitorRequest struct {
	ServiceID string  `json:"service_id"`
	NodeID    *string `json:"node_id,omitempty"`
}

type monitor struct {
	ModelID                   string  `json:"model_id"`
	ModelName                 string  `json:"model_name"`
	ModelVersion              string  `json:"model_version"`
	InvocationTimes           int64   `json:"invocation_times"`
	FailedTimes               int64   `json:"failed_times"`
	CPUCoreUsage              float32 `json:"cpu_core_usage"`
	CPUCoreTotal              float32 `json:"cpu_core_total"`
	CPUMemoryUsage            int32   `json:"cpu_memory_usage"`
	CPUMemoryTotal            int32   `json:"cpu_memory_total"`
	GPUUsage                  float32 `json:"gpu_usage"`
	GPUTotal                  float32 `json:"gpu_total"`
	ModelRunningInstanceCount int32   `json:"model_running_instance_count"`
	ModelInstanceCount        int32   `json:"model_instance_count"`
}

type monitorResponse struct {
	ServiceID                   string    `json:"service_id"`
	ServiceName                 string    `json:"service_name"`
	ServiceRunningInstanceCount int32     `json:"service_running_instance_count"`
	ServiceInstanceCount        int32     `json:"service_instance_count"`
	ReqCountPerMin              int64     `json:"req_count_per_min"`
	Monitors                    []monitor `json:"monitors"`
	HttpStatusCode              int       `json:"-"`
}

func (r *monitorResponse) status() int { return r.HttpStatusCode }

func genMonitor() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/services/{service_id}/monitor", new(monitorResponse),
		field("ServiceID", "service_id", def.Path), field("NodeID", "node_id", def.Query))
}

// TestServiceMonitor reads a service's monitoring through the SDK.
func TestServiceMonitor(t *testing.T) {
	e := mustServe(t)
	hc := e.sdkClient(e.ak, e.sk, projectA)
	a := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("a", "1.0.0")}, genCreateModel(), 200).ModelID
	e.publish(a)
	id := mustCall[createServiceResponse](e, hc, &createServiceRequest{Body: &createServiceBody{ServiceName: "watched", InferType: "real-time",
		Config: []serviceConfig{{ModelID: a, Weight: 100, Specification: "modelarts.vm.gpu.pnt004", InstanceCount: 2}}}}, genCreateService(), 200).ServiceID

	m := mustCall[monitorResponse](e, hc, &monitorRequest{ServiceID: id}, genMonitor(), 200)
	if m.ServiceID != id || m.ServiceName != "watched" || len(m.Monitors) != 1 || m.ServiceInstanceCount != 2 || m.ServiceRunningInstanceCount != 2 {
		t.Fatalf("monitor: %+v", m)
	}
	// pnt004: 8 vCPUs, 32 GB, one GPU, per instance.
	if got := m.Monitors[0]; got.ModelID != a || got.ModelName != "a" || got.CPUCoreTotal != 16 || got.CPUMemoryTotal != 65536 || got.GPUTotal != 2 {
		t.Errorf("model: %+v", got)
	}
	n := mustCall[monitorResponse](e, hc, &monitorRequest{ServiceID: id, NodeID: ptr("edge-1")}, genMonitor(), 200)
	if n.Monitors == nil || len(n.Monitors) != 0 {
		t.Errorf("node_id: %+v", n)
	}
	_, rid, err := call[monitorResponse](e, hc, &monitorRequest{ServiceID: modelreg.NewID()}, genMonitor())
	wantSDKError(t, err, rid, 404, modelreg.CodeServiceNotFound)
	_, rid, err = call[monitorResponse](e, hc, &monitorRequest{ServiceID: id, NodeID: ptr("no spaces")}, genMonitor())
	wantSDKError(t, err, rid, 400, modelreg.CodeInvalidArgument)
}
