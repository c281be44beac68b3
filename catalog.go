package modelreg

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Catalog is what an operator offers: the AI engines and their runtimes
// that models may name, the deployment flavors (specifications) services
// may use, and the dedicated resource pools (clusters) they may run in. It
// comes from the --catalog file, else DefaultCatalog. A Catalog is read-only
// once validated.
type Catalog struct {
	Engines  []Engine  `json:"engines"`
	Flavors  []Flavor  `json:"specifications"`
	Clusters []Cluster `json:"clusters"`
}

// Engine is an AI engine and the runtimes it offers.
type Engine struct {
	AIEngine string    `json:"ai_engine"`
	Runtimes []Runtime `json:"runtimes"`
}

// Runtime is one runtime of an engine. The API lists each of these fields
// as an array parallel to runtimes (EngineRuntimes).
type Runtime struct {
	Runtime     string      `json:"runtime"`
	RequestMode string      `json:"request_mode,omitempty"` // sync (default) or async
	Accelerator Accelerator `json:"accelerator"`
	Arch        string      `json:"arch,omitempty"`         // x86_64 (default) or aarch64
	Status      string      `json:"status,omitempty"`       // normal (default), deleted or deleting
	ImageSource string      `json:"image_source,omitempty"` // base_image (default) or uniform_image
}

// Accelerator is the accelerator a runtime needs.
type Accelerator struct {
	Type                 string `json:"type"` // none (default), gpu or npu
	Name                 string `json:"name,omitempty"`
	CUDAVersion          string `json:"cuda_version,omitempty"`
	DriverVersionSection string `json:"driver_version_section,omitempty"`
}

// EngineRuntimes is an engine as GET /v1/{project_id}/models/ai-engine-runtimes
// returns it: every runtime field is an array parallel to Runtimes.
type EngineRuntimes struct {
	AIEngine     string        `json:"ai_engine"`
	Runtimes     []string      `json:"runtimes"`
	RequestMode  []string      `json:"request_mode"`
	Accelerators []Accelerator `json:"accelerators"`
	Arch         []string      `json:"arch"`
	StatusList   []string      `json:"status_list"`
	ImageSource  []string      `json:"image_source"`
}

// EngineRuntimeList is the response of the runtime API.
type EngineRuntimeList struct {
	Count          int              `json:"count"`
	TotalCount     int              `json:"total_count"`
	EngineRuntimes []EngineRuntimes `json:"engine_runtimes"`
}

// Flavor is a deployment flavor: the value of a service config entry's
// specification. The fields are those of GET
// /v1/{project_id}/services/specifications; InferTypes and
// IsPersonalCluster say which queries list it.
type Flavor struct {
	Specification string   `json:"specification"`
	BillingSpec   string   `json:"billing_spec"`
	Category      string   `json:"category,omitempty"` // CPU, GPU, NPU
	CPUInfo       *CPUInfo `json:"cpu_info,omitempty"`
	MemoryInfo    *MemInfo `json:"memory_info,omitempty"`
	GPUInfo       *AccInfo `json:"gpu_info,omitempty"`
	NPUInfo       *AccInfo `json:"npu_info,omitempty"`
	DisplayEN     string   `json:"display_en,omitempty"`
	DisplayCN     string   `json:"display_cn,omitempty"`
	IsOpen        bool     `json:"is_open"`
	SpecStatus    string   `json:"spec_status"` // normal or sellout
	SourceType    string   `json:"source_type,omitempty"`
	IsFree        bool     `json:"is_free"`
	OverQuota     bool     `json:"over_quota"`
	ExtendParams  int      `json:"extend_params"`
	// InferTypes lists the inference types the flavor serves (modelreg;
	// empty in the file means both).
	InferTypes []string `json:"infer_types,omitempty"`
	// IsPersonalCluster marks a flavor of dedicated resource pools
	// (listed with is_personal_cluster=true).
	IsPersonalCluster bool `json:"is_personal_cluster"`
}

// CPUInfo describes a flavor's CPUs.
type CPUInfo struct {
	Arch string  `json:"arch"`
	CPU  float64 `json:"cpu"`
}

// MemInfo describes a flavor's memory.
type MemInfo struct {
	Unit   string `json:"unit"`
	Memory int    `json:"memory"`
}

// AccInfo describes a flavor's GPUs or NPUs.
type AccInfo struct {
	Unit    string  `json:"unit"`
	Brand   string  `json:"brand,omitempty"`
	Version string  `json:"version,omitempty"`
	GPU     float64 `json:"gpu,omitempty"`
	NPU     float64 `json:"npu,omitempty"`
	Memory  int     `json:"memory"`
}

// FlavorList is the response of the specification API.
type FlavorList struct {
	TotalCount     int      `json:"total_count"`
	Count          int      `json:"count"`
	Specifications []Flavor `json:"specifications"`
}

// Cluster is a dedicated resource pool (the v2024-03 cluster API).
type Cluster struct {
	ID                  string       `json:"cluster_id"`
	Name                string       `json:"cluster_name"`
	Description         string       `json:"description"`
	Tenant              string       `json:"tenant"`
	Project             string       `json:"project"`
	Owner               string       `json:"owner"`
	CreatedAt           int64        `json:"created_at"`
	Status              string       `json:"status"` // deploying, running, concerning, abnormal
	Nodes               ClusterNodes `json:"nodes"`
	AllocatableCPUCores float64      `json:"allocatable_cpu_cores"`
	AllocatableMemory   int64        `json:"allocatable_memory"`
	AllocatableGPUs     float64      `json:"allocatable_gpus"`
	ProductID           string       `json:"product_id,omitempty"`
	OrderID             string       `json:"order_id,omitempty"`
	PeriodType          int          `json:"period_type,omitempty"`
	PeriodNum           int          `json:"period_num,omitempty"`
	// Projects lists the projects that may see and use the pool (modelreg;
	// empty means every project). The API never shows it.
	Projects []string `json:"projects,omitempty"`
}

// ClusterNodes describes the nodes of a pool.
type ClusterNodes struct {
	Specification  string `json:"specification"`
	Count          int    `json:"count"`
	AvailableCount int    `json:"available_count"`
}

// ClusterList is the response of the cluster API.
type ClusterList struct {
	TotalCount int       `json:"total_count"`
	Count      int       `json:"count"`
	Clusters   []Cluster `json:"clusters"`
}

// Cluster statuses.
var ClusterStatuses = []string{"deploying", "running", "concerning", "abnormal"}

// Runtime statuses.
const (
	RuntimeNormal   = "normal"
	RuntimeDeleted  = "deleted"
	RuntimeDeleting = "deleting"
)

var reCatalogName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Validate checks the catalog and fills defaults. Its errors name the entry
// and field, for an operator fixing the file: "specifications[2].specification:
// duplicate "modelarts.vm.cpu.2u"".
func (c *Catalog) Validate() error {
	engines := map[string]bool{}
	for i := range c.Engines {
		e := &c.Engines[i]
		at := fmt.Sprintf("engines[%d]", i)
		if !reCatalogName.MatchString(e.AIEngine) {
			return fmt.Errorf("%s.ai_engine: %q is not a name (letters, digits, . _ -)", at, e.AIEngine)
		}
		if engines[strings.ToLower(e.AIEngine)] {
			return fmt.Errorf("%s.ai_engine: duplicate %q", at, e.AIEngine)
		}
		engines[strings.ToLower(e.AIEngine)] = true
		seen := map[string]bool{}
		for j := range e.Runtimes {
			r := &e.Runtimes[j]
			at := fmt.Sprintf("%s.runtimes[%d]", at, j)
			if !reCatalogName.MatchString(r.Runtime) {
				return fmt.Errorf("%s.runtime: %q is not a name (letters, digits, . _ -)", at, r.Runtime)
			}
			if seen[r.Runtime] {
				return fmt.Errorf("%s.runtime: duplicate %q", at, r.Runtime)
			}
			seen[r.Runtime] = true
			for _, f := range []struct {
				name string
				v    *string
				set  []string
			}{
				{"request_mode", &r.RequestMode, []string{"sync", "async"}},
				{"arch", &r.Arch, []string{"x86_64", "aarch64"}},
				{"status", &r.Status, []string{RuntimeNormal, RuntimeDeleted, RuntimeDeleting}},
				{"image_source", &r.ImageSource, []string{"base_image", "uniform_image"}},
				{"accelerator.type", &r.Accelerator.Type, []string{"none", "gpu", "npu"}},
			} {
				if *f.v == "" {
					*f.v = f.set[0]
				}
				if !slices.Contains(f.set, *f.v) {
					return fmt.Errorf("%s.%s: %q is not one of %s", at, f.name, *f.v, strings.Join(f.set, ", "))
				}
			}
		}
	}
	flavors := map[string]bool{}
	for i := range c.Flavors {
		f := &c.Flavors[i]
		at := fmt.Sprintf("specifications[%d]", i)
		if !reCatalogName.MatchString(f.Specification) || f.Specification == "custom" {
			return fmt.Errorf("%s.specification: %q is not a name (letters, digits, . _ -; not \"custom\")", at, f.Specification)
		}
		if flavors[f.Specification] {
			return fmt.Errorf("%s.specification: duplicate %q", at, f.Specification)
		}
		flavors[f.Specification] = true
		if f.BillingSpec == "" {
			f.BillingSpec = f.Specification
		}
		if f.SpecStatus == "" {
			f.SpecStatus = "normal"
		}
		if f.SpecStatus != "normal" && f.SpecStatus != "sellout" {
			return fmt.Errorf("%s.spec_status: %q is not normal or sellout", at, f.SpecStatus)
		}
		if len(f.InferTypes) == 0 {
			f.InferTypes = []string{InferRealTime, InferBatch}
		}
		for _, t := range f.InferTypes {
			if t != InferRealTime && t != InferBatch {
				return fmt.Errorf("%s.infer_types: %q is not real-time or batch", at, t)
			}
		}
	}
	clusters := map[string]bool{}
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		at := fmt.Sprintf("clusters[%d]", i)
		if !reCatalogName.MatchString(cl.ID) || len(cl.ID) > 64 {
			return fmt.Errorf("%s.cluster_id: %q is not an id (letters, digits, . _ -; at most 64)", at, cl.ID)
		}
		if clusters[cl.ID] {
			return fmt.Errorf("%s.cluster_id: duplicate %q", at, cl.ID)
		}
		clusters[cl.ID] = true
		if cl.Name == "" {
			return fmt.Errorf("%s.cluster_name: required", at)
		}
		if cl.Status == "" {
			cl.Status = "running"
		}
		if !slices.Contains(ClusterStatuses, cl.Status) {
			return fmt.Errorf("%s.status: %q is not one of %s", at, cl.Status, strings.Join(ClusterStatuses, ", "))
		}
		if cl.Nodes.Count < 0 || cl.Nodes.AvailableCount < 0 || cl.Nodes.AvailableCount > cl.Nodes.Count {
			return fmt.Errorf("%s.nodes: counts must be 0 or more, available_count at most count", at)
		}
		if cl.Nodes.Specification != "" && !flavors[cl.Nodes.Specification] {
			return fmt.Errorf("%s.nodes.specification: %q is not in specifications", at, cl.Nodes.Specification)
		}
		for _, p := range cl.Projects {
			if !ValidProjectID(p) {
				return fmt.Errorf("%s.projects: %q is not a project id", at, p)
			}
		}
	}
	return nil
}

// CheckRuntime checks the runtime of a model of type modelType: it must be
// a runtime of that engine that is not deleted (or being deleted); when the
// catalog has no engine of that name, a runtime of any engine. An empty
// runtime is fine. Returns EINVALID ModelArts.3037 naming runtime.
func (c *Catalog) CheckRuntime(modelType, runtime string) error {
	if runtime == "" {
		return nil
	}
	var any, inEngine bool
	for _, e := range c.Engines {
		own := strings.EqualFold(e.AIEngine, modelType)
		inEngine = inEngine || own
		for _, r := range e.Runtimes {
			if r.Runtime == runtime && r.Status == RuntimeNormal {
				if own {
					return nil
				}
				any = true
			}
		}
	}
	if any && !inEngine {
		return nil
	}
	return ParamInvalid("runtime", fmt.Sprintf("%s is not a runtime of %s (see GET /v1/{project_id}/models/ai-engine-runtimes)", runtime, modelType))
}

// EngineRuntimes returns page offset (of limit records; validate both with
// ValidPage) of the engines in the API's shape, and how many there are.
func (c *Catalog) EngineRuntimes(offset, limit int) ([]EngineRuntimes, int) {
	out := []EngineRuntimes{}
	for _, e := range page(c.Engines, offset, limit) {
		w := EngineRuntimes{AIEngine: e.AIEngine, Runtimes: []string{}, RequestMode: []string{},
			Accelerators: []Accelerator{}, Arch: []string{}, StatusList: []string{}, ImageSource: []string{}}
		for _, r := range e.Runtimes {
			w.Runtimes = append(w.Runtimes, r.Runtime)
			w.RequestMode = append(w.RequestMode, r.RequestMode)
			w.Accelerators = append(w.Accelerators, r.Accelerator)
			w.Arch = append(w.Arch, r.Arch)
			w.StatusList = append(w.StatusList, r.Status)
			w.ImageSource = append(w.ImageSource, r.ImageSource)
		}
		out = append(out, w)
	}
	return out, len(c.Engines)
}

// FlavorFilter selects flavors.
type FlavorFilter struct {
	InferType         string // default real-time
	IsPersonalCluster bool
	Offset, Limit     int
}

// Validate checks the filter and fills defaults (ModelArts.0101).
func (f *FlavorFilter) Validate() error {
	if f.InferType == "" {
		f.InferType = InferRealTime
	}
	if f.InferType != InferRealTime && f.InferType != InferBatch {
		return Invalid("Invalid parameter infer_type: %q.", f.InferType)
	}
	return ValidPage(&f.Offset, &f.Limit)
}

// FindFlavors returns one page of the flavors matching f (validated) and
// the number of all matches, in catalog order.
func (c *Catalog) FindFlavors(f FlavorFilter) ([]Flavor, int) {
	var all []Flavor
	for _, fl := range c.Flavors {
		if fl.IsPersonalCluster == f.IsPersonalCluster && slices.Contains(fl.InferTypes, f.InferType) {
			all = append(all, fl)
		}
	}
	return append([]Flavor{}, page(all, f.Offset, f.Limit)...), len(all)
}

// CheckConfig checks the specifications and cluster ids of a service
// configuration of inferType in projectID, and the service's own cluster
// id (may be empty): every specification is custom or a flavor of the
// catalog for inferType (EINVALID ModelArts.3954), every cluster id names a
// pool the project may use (EINVALID ModelArts.3547).
func (c *Catalog) CheckConfig(projectID, inferType, clusterID string, cfg []ServiceConfig) error {
	if clusterID != "" {
		if _, ok := c.FindCluster(projectID, clusterID); !ok {
			return ClusterNotFound(clusterID)
		}
	}
	for _, e := range cfg {
		if e.Specification != "custom" {
			i := slices.IndexFunc(c.Flavors, func(f Flavor) bool { return f.Specification == e.Specification })
			if i < 0 || !slices.Contains(c.Flavors[i].InferTypes, inferType) {
				return Errorf(EINVALID, CodeFlavorNotFound, "AI resource specification %s does not exist.", e.Specification)
			}
		}
		if e.ClusterID != "" {
			if _, ok := c.FindCluster(projectID, e.ClusterID); !ok {
				return ClusterNotFound(e.ClusterID)
			}
		}
	}
	return nil
}

// ClusterNotFound returns the ModelArts.3547 error of an unknown pool.
func ClusterNotFound(id string) *Error {
	return Errorf(EINVALID, CodeClusterNotFound, "Cluster %s does not exist.", id)
}

// FindCluster returns the pool id when projectID may use it.
func (c *Catalog) FindCluster(projectID, id string) (Cluster, bool) {
	for _, cl := range c.Clusters {
		if cl.ID == id && (len(cl.Projects) == 0 || slices.Contains(cl.Projects, projectID)) {
			return cl, true
		}
	}
	return Cluster{}, false
}

// Cluster sort keys.
const (
	ClusterSortCreatedAt = "created_at"
	ClusterSortName      = "cluster_name"
)

// ClusterFilter selects pools.
type ClusterFilter struct {
	ProjectID     string
	Name          string // substring
	Status        string
	Offset, Limit int
	SortBy        string // created_at (default) or cluster_name
	Order         string // desc (default) or asc
}

// Validate checks the filter and fills defaults (ModelArts.0101).
func (f *ClusterFilter) Validate() error {
	if f.Status != "" && !slices.Contains(ClusterStatuses, f.Status) {
		return Invalid("Invalid parameter status: %q.", f.Status)
	}
	if f.SortBy == "" {
		f.SortBy = ClusterSortCreatedAt
	}
	if f.SortBy != ClusterSortCreatedAt && f.SortBy != ClusterSortName {
		return Invalid("Invalid parameter sort_by: %q.", f.SortBy)
	}
	if f.Order == "" {
		f.Order = "desc"
	}
	o, ok := oneOf(strings.ToLower(f.Order), []string{"asc", "desc"}, false)
	if !ok {
		return Invalid("Invalid parameter order: %q.", f.Order)
	}
	f.Order = o
	return ValidPage(&f.Offset, &f.Limit)
}

// FindClusters returns one page of the pools matching f (validated) that
// f.ProjectID may use, and the number of all matches. Each is shown as the
// project's: project is f.ProjectID.
func (c *Catalog) FindClusters(f ClusterFilter) ([]Cluster, int) {
	var all []Cluster
	for _, cl := range c.Clusters {
		if _, ok := c.FindCluster(f.ProjectID, cl.ID); !ok {
			continue
		}
		if f.Status != "" && cl.Status != f.Status || !strings.Contains(cl.Name, f.Name) {
			continue
		}
		cl.Project, cl.Projects = f.ProjectID, nil
		all = append(all, cl)
	}
	slices.SortStableFunc(all, func(a, b Cluster) int {
		var n int
		if f.SortBy == ClusterSortName {
			n = strings.Compare(a.Name, b.Name)
		} else {
			n = cmp.Compare(a.CreatedAt, b.CreatedAt)
		}
		if n == 0 {
			n = strings.Compare(a.ID, b.ID)
		}
		if f.Order == "desc" {
			n = -n
		}
		return n
	})
	return append([]Cluster{}, page(all, f.Offset, f.Limit)...), len(all)
}

// ValidPage checks the paging of a catalog list: offset is a page index,
// as in the model and service lists; limit defaults to 1000.
func ValidPage(offset, limit *int) error {
	if *offset < 0 {
		return Invalid("Invalid parameter offset: must be 0 or more.")
	}
	if *limit == 0 {
		*limit = DefaultServiceLimit
	}
	if *limit < 1 || *limit > MaxListLimit {
		return Invalid("Invalid parameter limit: must be between 1 and %d.", MaxListLimit)
	}
	if *offset > (1<<31) / *limit {
		return Invalid("Invalid parameter offset: too large.")
	}
	return nil
}

// page returns page number offset (of limit records) of s, clipped.
func page[T any](s []T, offset, limit int) []T {
	start := offset * limit
	if start >= len(s) {
		return nil
	}
	return s[start:min(len(s), start+limit)]
}
