package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/httpapi"
)

// testCatalog is the default catalog plus three pools: pool-1 and pool-2
// for every project, pool-b for projectB only.
func testCatalog() *modelreg.Catalog {
	c := modelreg.DefaultCatalog()
	c.Clusters = []modelreg.Cluster{
		{ID: "pool-1", Name: "alpha", CreatedAt: 1000, Status: "running",
			Nodes: modelreg.ClusterNodes{Specification: "modelarts.vm.cpu.8ud", Count: 2, AvailableCount: 1}, AllocatableCPUCores: 5.5, AllocatableMemory: 4096},
		{ID: "pool-2", Name: "beta", CreatedAt: 2000, Status: "abnormal"},
		{ID: "pool-b", Name: "alpha-b", CreatedAt: 3000, Projects: []string{projectB}},
	}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

func TestRuntimeList(t *testing.T) { eachStore(t, testRuntimeList) }

func testRuntimeList(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	var all modelreg.EngineRuntimeList
	if err := e.c.Do(ctx, http.MethodGet, "models/ai-engine-runtimes", nil, nil, &all); err != nil {
		t.Fatal(err)
	}
	def := modelreg.DefaultCatalog()
	if all.TotalCount != len(def.Engines) || all.Count != all.TotalCount {
		t.Fatalf("count %d, total %d, want %d", all.Count, all.TotalCount, len(def.Engines))
	}
	for _, want := range []string{"TensorFlow", "PyTorch", "MindSpore", "XGBoost", "Scikit_Learn", "Spark_MLlib"} {
		i := slices.IndexFunc(all.EngineRuntimes, func(e modelreg.EngineRuntimes) bool { return e.AIEngine == want })
		if i < 0 {
			t.Errorf("engine %s missing", want)
			continue
		}
		er := all.EngineRuntimes[i]
		n := len(er.Runtimes)
		if n == 0 || len(er.RequestMode) != n || len(er.Accelerators) != n || len(er.Arch) != n || len(er.StatusList) != n || len(er.ImageSource) != n {
			t.Errorf("%s: arrays not parallel: %+v", want, er)
		}
	}
	var tf modelreg.EngineRuntimes
	for _, er := range all.EngineRuntimes {
		if er.AIEngine == "TensorFlow" {
			tf = er
		}
	}
	i := slices.Index(tf.Runtimes, "tf1.13-python3.7-gpu-async")
	if i < 0 || tf.RequestMode[i] != "async" || tf.Accelerators[i].Type != "gpu" || tf.StatusList[i] != "normal" {
		t.Errorf("TensorFlow async runtime: %+v", tf)
	}

	// Paging: offset is a page index.
	var p modelreg.EngineRuntimeList
	if err := e.c.Do(ctx, http.MethodGet, "models/ai-engine-runtimes", url.Values{"limit": {"2"}, "offset": {"1"}}, nil, &p); err != nil {
		t.Fatal(err)
	}
	if p.Count != 2 || p.TotalCount != all.TotalCount || p.EngineRuntimes[0].AIEngine != all.EngineRuntimes[2].AIEngine {
		t.Errorf("page 1 of 2: %+v", p)
	}
}

func TestImportRuntime(t *testing.T) { eachStore(t, testImportRuntime) }

func testImportRuntime(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	ok := []struct{ typ, runtime string }{
		{"TensorFlow", "python2.7"},
		{"TensorFlow", "tf1.13-python3.6-gpu"},
		{"PyTorch", "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64"},
		{"Image", "python3.6"}, // no Image engine: a runtime of any engine
		{"PyTorch", ""},
	}
	for i, c := range ok {
		in := newImport("rt", "1.0."+string(rune('1'+i)))
		in.Type, in.Runtime = c.typ, c.runtime
		if _, err := e.c.ImportModel(ctx, in); err != nil {
			t.Errorf("%s %s: %v", c.typ, c.runtime, err)
		}
	}
	bad := []struct{ typ, runtime string }{
		{"TensorFlow", "python3.99"},
		{"PyTorch", "tf1.13-python3.6-gpu"}, // a TensorFlow runtime
		{"Image", "nonesuch"},
	}
	for _, c := range bad {
		in := newImport("rt_bad", "1.0.0")
		in.Type, in.Runtime = c.typ, c.runtime
		_, err := e.c.ImportModel(ctx, in)
		if modelreg.ErrorAPICode(err) != modelreg.CodeParamInvalid {
			t.Errorf("%s %s: got %v, want %s", c.typ, c.runtime, err, modelreg.CodeParamInvalid)
		}
	}

	// An operator's catalog replaces the runtimes; deleted ones are refused.
	cat := modelreg.DefaultCatalog()
	cat.Engines = []modelreg.Engine{{AIEngine: "PyTorch", Runtimes: []modelreg.Runtime{{Runtime: "torch-new"}, {Runtime: "torch-old", Status: "deleted"}}}}
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	e2 := MustServe(t, func(c *httpapi.Config) { c.Catalog = cat })
	in := newImport("own", "1.0.0")
	in.Type, in.Runtime = "PyTorch", "torch-new"
	if _, err := e2.c.ImportModel(ctx, in); err != nil {
		t.Error(err)
	}
	for _, rt := range []string{"torch-old", "python2.7"} {
		in := newImport("own", "1.0.1")
		in.Type, in.Runtime = "PyTorch", rt
		if _, err := e2.c.ImportModel(ctx, in); modelreg.ErrorAPICode(err) != modelreg.CodeParamInvalid {
			t.Errorf("runtime %s: got %v, want 3037", rt, err)
		}
	}
}

func TestFlavorList(t *testing.T) { eachStore(t, testFlavorList) }

func testFlavorList(t *testing.T) {
	ctx := context.Background()
	cat := testCatalog()
	cat.Flavors = append(cat.Flavors, modelreg.Flavor{Specification: "batch.only", InferTypes: []string{modelreg.InferBatch}})
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	e := MustServe(t, func(c *httpapi.Config) { c.Catalog = cat })
	list := func(q url.Values) modelreg.FlavorList {
		t.Helper()
		var l modelreg.FlavorList
		if err := e.c.Do(ctx, http.MethodGet, "services/specifications", q, nil, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	names := func(l modelreg.FlavorList) []string {
		var s []string
		for _, f := range l.Specifications {
			s = append(s, f.Specification)
		}
		return s
	}
	def := list(nil) // real-time, public pools
	if slices.Contains(names(def), "batch.only") || slices.Contains(names(def), "modelarts.vm.cpu.8ud") ||
		!slices.Contains(names(def), "modelarts.vm.cpu.2u") || def.Count != def.TotalCount || def.Count != len(def.Specifications) {
		t.Errorf("default list: %v (count %d, total %d)", names(def), def.Count, def.TotalCount)
	}
	f := def.Specifications[0]
	if f.Specification != "modelarts.vm.cpu.2u" || f.BillingSpec != f.Specification || f.SpecStatus != "normal" || !f.IsOpen ||
		f.CPUInfo == nil || f.CPUInfo.CPU != 2 || f.MemoryInfo == nil || f.MemoryInfo.Memory != 8 {
		t.Errorf("first flavor: %+v", f)
	}
	if b := names(list(url.Values{"infer_type": {"batch"}})); !slices.Contains(b, "batch.only") {
		t.Errorf("batch list: %v", b)
	}
	if p := names(list(url.Values{"is_personal_cluster": {"true"}})); !slices.Equal(p, []string{"modelarts.vm.cpu.8ud"}) {
		t.Errorf("personal cluster list: %v", p)
	}
	page := list(url.Values{"limit": {"2"}, "offset": {"1"}})
	if !slices.Equal(names(page), names(def)[2:4]) || page.TotalCount != def.TotalCount {
		t.Errorf("page 1 of 2: %v, want %v", names(page), names(def)[2:4])
	}
}

func TestClusterList(t *testing.T) { eachStore(t, testClusterList) }

func testClusterList(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	list := func(c interface {
		Do(context.Context, string, string, url.Values, any, any) error
	}, q url.Values) (ids []string, l modelreg.ClusterList) {
		t.Helper()
		if err := c.Do(ctx, http.MethodGet, "clusters", q, nil, &l); err != nil {
			t.Fatal(err)
		}
		for _, c := range l.Clusters {
			ids = append(ids, c.ID)
		}
		return ids, l
	}
	ids, l := list(e.c, nil)
	if !slices.Equal(ids, []string{"pool-2", "pool-1"}) || l.TotalCount != 2 || l.Count != 2 {
		t.Fatalf("project A: %v (total %d)", ids, l.TotalCount)
	}
	p1 := l.Clusters[1]
	if p1.Name != "alpha" || p1.Project != projectA || p1.Nodes.Count != 2 || p1.AllocatableCPUCores != 5.5 || p1.Status != "running" {
		t.Errorf("pool-1: %+v", p1)
	}
	if ids, _ := list(e.cb, nil); !slices.Equal(ids, []string{"pool-b", "pool-2", "pool-1"}) {
		t.Errorf("project B: %v", ids)
	}
	for q, want := range map[string][]string{
		"cluster_name=alp":                    {"pool-b", "pool-1"},
		"status=abnormal":                     {"pool-2"},
		"sort_by=cluster_name&order=asc":      {"pool-1", "pool-b", "pool-2"},
		"order=asc":                           {"pool-1", "pool-2", "pool-b"},
		"limit=1&offset=1":                    {"pool-2"},
		"limit=2&offset=1":                    {"pool-1"},
		"status=deploying":                    nil,
		"sort_by=created_at&limit=1&offset=9": nil,
	} {
		v, _ := url.ParseQuery(q)
		if got, _ := list(e.cb, v); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
}

func TestDeployChecksCatalog(t *testing.T) { eachStore(t, testDeployChecksCatalog) }

func testDeployChecksCatalog(t *testing.T) {
	ctx := context.Background()
	e := MustServe(t)
	m := MustImportPublished(t, e, e.c, "cat", "1.0.0")
	deploy := func(c interface {
		CreateService(context.Context, *modelreg.ServiceCreate) (*modelreg.ServiceCreateResult, error)
	}, name, spec, cluster, entryCluster string) error {
		s := newService(name, m)
		s.ClusterID = cluster
		s.Config[0].Specification, s.Config[0].ClusterID = spec, entryCluster
		_, err := c.CreateService(ctx, s)
		return err
	}
	for _, tc := range []struct {
		name, spec, cluster, entryCluster, code string
	}{
		{"ok-public", "modelarts.vm.gpu.pnt004", "", "", ""},
		{"ok-pool", "modelarts.vm.cpu.8ud", "pool-1", "", ""},
		{"ok-entry-pool", "modelarts.vm.cpu.2u", "", "pool-2", ""},
		{"unknown-spec", "modelarts.vm.cpu.64u", "", "", modelreg.CodeFlavorNotFound},
		{"unknown-pool", "modelarts.vm.cpu.2u", "pool-9", "", modelreg.CodeClusterNotFound},
		{"unknown-entry-pool", "modelarts.vm.cpu.2u", "", "pool-9", modelreg.CodeClusterNotFound},
		{"other-projects-pool", "modelarts.vm.cpu.2u", "pool-b", "", modelreg.CodeClusterNotFound},
	} {
		err := deploy(e.c, tc.name, tc.spec, tc.cluster, tc.entryCluster)
		if got := modelreg.ErrorAPICode(err); got != tc.code {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.code)
		}
	}
	m2 := MustImportPublished(t, e, e.cb, "cat", "1.0.0")
	s := newService("theirs", m2)
	s.ClusterID = "pool-b"
	if _, err := e.cb.CreateService(ctx, s); err != nil {
		t.Errorf("project B on pool-b: %v", err)
	}

	// Updates check the flavor too.
	svcs, total, err := e.store.FindServices(ctx, modelreg.ServiceFilter{ProjectID: projectA, Page: modelreg.Page{Limit: 100, SortBy: "publish_at", Order: "desc"}})
	if err != nil || total != 3 {
		t.Fatalf("services in A: %d, %v", total, err)
	}
	id := svcs[0].ID
	up := func(spec string) error {
		return e.c.UpdateService(ctx, id, &modelreg.ServiceUpdate{Config: []modelreg.ServiceConfig{{ModelID: m, Weight: 100, Specification: spec, InstanceCount: 1}}})
	}
	if err := up("modelarts.vm.gpu.v100"); err != nil {
		t.Errorf("update to a known flavor: %v", err)
	}
	if err := up("nonesuch"); modelreg.ErrorAPICode(err) != modelreg.CodeFlavorNotFound {
		t.Errorf("update to an unknown flavor: %v", err)
	}
	got, err := e.c.GetService(ctx, id)
	if err != nil || got.Config[0].Specification != "modelarts.vm.gpu.v100" {
		t.Errorf("after a refused update: %+v, %v", got, err)
	}
}
