package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
)

func writeCatalog(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCatalog(t *testing.T) {
	t.Run("YAML", func(t *testing.T) {
		p := writeCatalog(t, "catalog.yaml", `
specifications:
  - specification: gpu.a100
    category: GPU
    gpu_info: {unit: GB, gpu: 1, memory: 40}
clusters:
  - cluster_id: pool-1
    cluster_name: lab
    nodes: {specification: gpu.a100, count: 4, available_count: 4}
    projects: [0123456789abcdef0123456789abcdef]
`)
		c, err := LoadCatalog(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Flavors) != 1 || c.Flavors[0].BillingSpec != "gpu.a100" || c.Flavors[0].SpecStatus != "normal" || len(c.Flavors[0].InferTypes) != 2 {
			t.Errorf("flavors %+v", c.Flavors)
		}
		if len(c.Clusters) != 1 || c.Clusters[0].Status != "running" || c.Clusters[0].Nodes.Count != 4 {
			t.Errorf("clusters %+v", c.Clusters)
		}
		// engines left out: the built-in ones.
		if len(c.Engines) != len(modelreg.DefaultCatalog().Engines) {
			t.Errorf("engines %d", len(c.Engines))
		}
	})
	t.Run("JSON", func(t *testing.T) {
		p := writeCatalog(t, "catalog.json", `{"engines":[{"ai_engine":"PyTorch","runtimes":[{"runtime":"torch2","accelerator":{"type":"gpu"}}]}]}`)
		c, err := LoadCatalog(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Engines) != 1 || c.Engines[0].Runtimes[0].Arch != "x86_64" || c.CheckRuntime("PyTorch", "torch2") != nil {
			t.Errorf("engines %+v", c.Engines)
		}
		if len(c.Flavors) != len(modelreg.DefaultCatalog().Flavors) {
			t.Errorf("flavors %d", len(c.Flavors))
		}
	})
	for _, tc := range []struct{ name, file, body, want string }{
		{"UnknownField", "c.yaml", "specifications:\n  - specification: a\n    cpus: 2\n", `unknown field "cpus"`},
		{"DuplicateFlavor", "c.yaml", "specifications: [{specification: a}, {specification: a}]\n", `specifications[1].specification: duplicate "a"`},
		{"CustomFlavor", "c.json", `{"specifications":[{"specification":"custom"}]}`, `specifications[0].specification`},
		{"BadRuntimeStatus", "c.yaml", "engines: [{ai_engine: X, runtimes: [{runtime: r, status: gone}]}]\n", `engines[0].runtimes[0].status: "gone"`},
		{"BadClusterStatus", "c.yaml", "clusters: [{cluster_id: p, cluster_name: n, status: up}]\n", `clusters[0].status: "up"`},
		{"ClusterNoName", "c.yaml", "clusters: [{cluster_id: p}]\n", `clusters[0].cluster_name: required`},
		{"ClusterUnknownFlavor", "c.yaml", "clusters: [{cluster_id: p, cluster_name: n, nodes: {specification: zz, count: 1}}]\n", `clusters[0].nodes.specification: "zz"`},
		{"ClusterBadProject", "c.yaml", "clusters: [{cluster_id: p, cluster_name: n, projects: [abc]}]\n", `clusters[0].projects: "abc"`},
		{"BadYAML", "c.yaml", "engines: [\n", "c.yaml"},
		{"BadJSON", "c.json", "{", "c.json"},
		{"NotAnObject", "c.json", "[]", "want an object"},
		{"Trailing", "c.json", "{} {}", "after top-level value"},
		{"WrongType", "c.json", `{"clusters":[{"cluster_id":1}]}`, "cluster_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadCatalog(writeCatalog(t, tc.file, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := LoadCatalog(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file loads")
	}
}

// TestServeChecksCatalogAndDeployer: serve stops at start, with the
// option named, on a bad catalog file or a deployer without its secret,
// before it creates anything.
func TestServeChecksCatalogAndDeployer(t *testing.T) {
	dir := t.TempDir()
	bad := writeCatalog(t, "bad.yaml", "specifications: [{specification: a}, {specification: a}]\n")
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--catalog", bad}, nil, `--catalog: ` + bad + `: specifications[1].specification: duplicate "a"`},
		{[]string{"--catalog", filepath.Join(dir, "missing.json")}, nil, "--catalog: open"},
		{[]string{"--deployer", "http://127.0.0.1:1/"}, nil, "MODELREG_DEPLOYER_SECRET"},
		{nil, map[string]string{"MODELREG_DEPLOYER": "not a url", "MODELREG_DEPLOYER_SECRET": "sixteen bytes ok"}, "--deployer"},
	} {
		data := filepath.Join(dir, "data")
		args := append([]string{"modelreg", "serve", "--auth", "none", "--addr", "127.0.0.1:0", "--data-dir", data}, tc.args...)
		var out, errb strings.Builder
		err := Run(t.Context(), args, func(k string) string { return tc.env[k] }, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
		if _, err := os.Stat(data); err == nil {
			t.Errorf("%v: the data dir was created", tc.args)
		}
	}
}
