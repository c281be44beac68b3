package compat_test

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/def"

	"github.com/modelreg/modelreg"
)

// compatCatalog is the built-in catalog with one dedicated pool.
func compatCatalog() *modelreg.Catalog {
	c := modelreg.DefaultCatalog()
	c.Clusters = []modelreg.Cluster{{ID: "ff808081673fbb3d01673fbb824d0000", Name: "my-cluster", CreatedAt: 1574923077927,
		Nodes:               modelreg.ClusterNodes{Specification: "modelarts.vm.cpu.8ud", Count: 1, AvailableCount: 1},
		AllocatableCPUCores: 5.5, AllocatableMemory: 4096, AllocatableGPUs: 0.5}}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

// ---- ShowModelEngineAndRuntime (latest): limit and offset typed String ----

type runtimesRequest struct {
	Limit  *string `json:"limit,omitempty"`
	Offset *string `json:"offset,omitempty"`
}

type accelerator struct {
	Type                 string `json:"type"`
	Name                 string `json:"name,omitempty"`
	CudaVersion          string `json:"cuda_version,omitempty"`
	DriverVersionSection string `json:"driver_version_section,omitempty"`
}

type engineRuntime struct {
	AiEngine     string        `json:"ai_engine"`
	Runtimes     []string      `json:"runtimes"`
	RequestMode  []string      `json:"request_mode"`
	Accelerators []accelerator `json:"accelerators"`
	Arch         []string      `json:"arch"`
	StatusList   []string      `json:"status_list"`
	ImageSource  []string      `json:"image_source"`
}

type runtimesResponse struct {
	Count          int32           `json:"count"`
	TotalCount     int32           `json:"total_count"`
	EngineRuntimes []engineRuntime `json:"engine_runtimes"`
	HttpStatusCode int             `json:"-"`
}

func (r *runtimesResponse) status() int { return r.HttpStatusCode }

func genRuntimes() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/models/ai-engine-runtimes", new(runtimesResponse),
		field("Limit", "limit", def.Query), field("Offset", "offset", def.Query))
}

// ---- ShowServiceSpecifications ----

type specsRequest struct {
	IsPersonalCluster *bool   `json:"is_personal_cluster,omitempty"`
	InferType         *string `json:"infer_type,omitempty"`
	Limit             *string `json:"limit,omitempty"`
	Offset            *string `json:"offset,omitempty"`
}

type specification struct {
	Specification string `json:"specification"`
	BillingSpec   string `json:"billing_spec"`
	Category      string `json:"category"`
	CPUInfo       *struct {
		Arch string  `json:"arch"`
		CPU  float64 `json:"cpu"`
	} `json:"cpu_info"`
	DisplayEn    string `json:"display_en"`
	IsOpen       bool   `json:"is_open"`
	SpecStatus   string `json:"spec_status"`
	IsFree       bool   `json:"is_free"`
	OverQuota    bool   `json:"over_quota"`
	ExtendParams int32  `json:"extend_params"`
}

type specsResponse struct {
	TotalCount     int32           `json:"total_count"`
	Count          int32           `json:"count"`
	Specifications []specification `json:"specifications"`
	HttpStatusCode int             `json:"-"`
}

func (r *specsResponse) status() int { return r.HttpStatusCode }

func genSpecs() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/services/specifications", new(specsResponse),
		field("IsPersonalCluster", "is_personal_cluster", def.Query), field("InferType", "infer_type", def.Query),
		field("Limit", "limit", def.Query), field("Offset", "offset", def.Query))
}

// ---- Querying Dedicated Resource Pools (v2024-03) ----

type clustersRequest struct {
	ClusterName *string `json:"cluster_name,omitempty"`
	Status      *string `json:"status,omitempty"`
	Offset      *int32  `json:"offset,omitempty"`
	Limit       *int32  `json:"limit,omitempty"`
	SortBy      *string `json:"sort_by,omitempty"`
	Order       *string `json:"order,omitempty"`
}

type cluster struct {
	ClusterID   string `json:"cluster_id"`
	ClusterName string `json:"cluster_name"`
	Project     string `json:"project"`
	CreatedAt   int64  `json:"created_at"`
	Status      string `json:"status"`
	Nodes       struct {
		Specification  string `json:"specification"`
		Count          int32  `json:"count"`
		AvailableCount int32  `json:"available_count"`
	} `json:"nodes"`
	AllocatableCPUCores float32 `json:"allocatable_cpu_cores"`
	AllocatableMemory   int64   `json:"allocatable_memory"`
	AllocatableGpus     float32 `json:"allocatable_gpus"`
}

type clustersResponse struct {
	TotalCount     int32     `json:"total_count"`
	Count          int32     `json:"count"`
	Clusters       []cluster `json:"clusters"`
	HttpStatusCode int       `json:"-"`
}

func (r *clustersResponse) status() int { return r.HttpStatusCode }

func genClusters() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/clusters", new(clustersResponse),
		field("ClusterName", "cluster_name", def.Query), field("Status", "status", def.Query),
		field("Offset", "offset", def.Query), field("Limit", "limit", def.Query),
		field("SortBy", "sort_by", def.Query), field("Order", "order", def.Query))
}

// TestCatalog drives the runtime, flavor and pool lists through the SDK,
// and the checks imports and deploys make against them.
func TestCatalog(t *testing.T) {
	e := mustServe(t)
	hc := e.sdkClient(e.ak, e.sk, projectA)

	rt := mustCall[runtimesResponse](e, hc, &runtimesRequest{Limit: ptr("2"), Offset: ptr("0")}, genRuntimes(), 200)
	if rt.Count != 2 || rt.TotalCount < 6 || rt.EngineRuntimes[0].AiEngine != "TensorFlow" ||
		len(rt.EngineRuntimes[0].Arch) != len(rt.EngineRuntimes[0].Runtimes) || rt.EngineRuntimes[0].Accelerators[0].Type == "" {
		t.Errorf("runtimes: %+v", rt)
	}
	specs := mustCall[specsResponse](e, hc, &specsRequest{InferType: ptr("real-time"), IsPersonalCluster: ptr(false)}, genSpecs(), 200)
	if specs.Count == 0 || int(specs.Count) != len(specs.Specifications) || specs.Specifications[0].Specification != "modelarts.vm.cpu.2u" ||
		specs.Specifications[0].CPUInfo == nil || specs.Specifications[0].SpecStatus != "normal" {
		t.Errorf("specifications: %+v", specs)
	}
	pools := mustCall[clustersResponse](e, hc, &clustersRequest{ClusterName: ptr("my"), Status: ptr("running"), Limit: ptr(int32(10))}, genClusters(), 200)
	if pools.TotalCount != 1 || pools.Clusters[0].ClusterID != "ff808081673fbb3d01673fbb824d0000" || pools.Clusters[0].Project != projectA ||
		pools.Clusters[0].Nodes.Count != 1 || pools.Clusters[0].AllocatableCPUCores != 5.5 {
		t.Errorf("clusters: %+v", pools)
	}

	t.Run("Errors", func(t *testing.T) {
		_, rid, err := call[runtimesResponse](e, hc, &runtimesRequest{Limit: ptr("0")}, genRuntimes())
		wantSDKError(t, err, rid, 400, modelreg.CodeInvalidArgument)
		_, rid, err = call[specsResponse](e, hc, &specsRequest{InferType: ptr("edge")}, genSpecs())
		wantSDKError(t, err, rid, 400, modelreg.CodeInvalidArgument)
		_, rid, err = call[clustersResponse](e, hc, &clustersRequest{SortBy: ptr("status")}, genClusters())
		wantSDKError(t, err, rid, 400, modelreg.CodeInvalidArgument)

		bad := newModelBody("rt", "1.0.0")
		bad.Runtime = "python9"
		_, rid, err = call[createModelResponse](e, hc, &createModelRequest{Body: bad}, genCreateModel())
		wantSDKError(t, err, rid, 400, modelreg.CodeParamInvalid)

		m := mustCall[createModelResponse](e, hc, &createModelRequest{Body: newModelBody("cat", "1.0.0")}, genCreateModel(), 200).ModelID
		e.publish(m)
		_, rid, err = call[createServiceResponse](e, hc, &createServiceRequest{Body: &createServiceBody{ServiceName: "s1",
			InferType: "real-time", Config: []serviceConfig{{ModelID: m, Weight: 100, Specification: "modelarts.vm.cpu.64u", InstanceCount: 1}}}}, genCreateService())
		wantSDKError(t, err, rid, 400, modelreg.CodeFlavorNotFound)
		_, rid, err = call[createServiceResponse](e, hc, &createServiceRequest{Body: &createServiceBody{ServiceName: "s1", ClusterID: "nope",
			InferType: "real-time", Config: []serviceConfig{{ModelID: m, Weight: 100, Specification: "modelarts.vm.cpu.2u", InstanceCount: 1}}}}, genCreateService())
		wantSDKError(t, err, rid, 400, modelreg.CodeClusterNotFound)
		mustCall[createServiceResponse](e, hc, &createServiceRequest{Body: &createServiceBody{ServiceName: "s1", ClusterID: "ff808081673fbb3d01673fbb824d0000",
			InferType: "real-time", Config: []serviceConfig{{ModelID: m, Weight: 100, Specification: "modelarts.vm.cpu.8ud", InstanceCount: 1}}}}, genCreateService(), 200)
	})
}
