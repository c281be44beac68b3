package modelreg

import "context"

// ModelMonitor is the monitoring of one configured model of a service
// (GET /v1/{project_id}/services/{service_id}/monitor). Usages and totals
// are numbers (the ModelArts sample sends strings; its field tables say
// Float and Integer). Memory is in MB.
type ModelMonitor struct {
	ModelID                   string  `json:"model_id"`
	ModelName                 string  `json:"model_name"`
	ModelVersion              string  `json:"model_version"`
	NodeID                    string  `json:"node_id,omitempty"`
	NodeName                  string  `json:"node_name,omitempty"`
	InvocationTimes           int64   `json:"invocation_times"`
	FailedTimes               int64   `json:"failed_times"`
	CPUCoreUsage              float64 `json:"cpu_core_usage"`
	CPUCoreTotal              float64 `json:"cpu_core_total"`
	CPUMemoryUsage            int64   `json:"cpu_memory_usage"`
	CPUMemoryTotal            int64   `json:"cpu_memory_total"`
	GPUUsage                  float64 `json:"gpu_usage"`
	GPUTotal                  float64 `json:"gpu_total"`
	GPUMemoryUsage            int64   `json:"gpu_memory_usage"`
	GPUMemoryTotal            int64   `json:"gpu_memory_total"`
	NPUUsage                  float64 `json:"npu_usage"`
	NPUTotal                  float64 `json:"npu_total"`
	NPUMemoryUsage            int64   `json:"npu_memory_usage"`
	NPUMemoryTotal            int64   `json:"npu_memory_total"`
	ModelRunningInstanceCount int     `json:"model_running_instance_count"`
	ModelInstanceCount        int     `json:"model_instance_count"`
}

// ServiceMonitorList is the response of the monitoring API.
type ServiceMonitorList struct {
	ServiceID                   string         `json:"service_id"`
	ServiceName                 string         `json:"service_name"`
	ServiceRunningInstanceCount int            `json:"service_running_instance_count"`
	ServiceInstanceCount        int            `json:"service_instance_count"`
	ReqCountPerMin              int64          `json:"req_count_per_min"`
	Monitors                    []ModelMonitor `json:"monitors"`
}

// Monitor is implemented by a Deployer that reports what runs: the
// figures of the models of a service, each for the whole service (NodeID
// empty) or for one node.
type Monitor interface {
	// MonitorService returns the reported figures of s's models. Models
	// with no report are left out.
	MonitorService(ctx context.Context, s *Service) ([]ModelMonitor, error)
}

// BaseMonitors returns what is known of s without a report, one entry per
// configured model: its instance count, the totals its flavor gives
// (catalog flavor or custom_spec, times the instances), and all of its
// instances running when the service is running (none otherwise); no
// usage, no invocation.
func (c *Catalog) BaseMonitors(s *Service) []ModelMonitor {
	ms := make([]ModelMonitor, 0, len(s.Config))
	for _, e := range s.Config {
		m := ModelMonitor{ModelID: e.ModelID, ModelName: e.ModelName, ModelVersion: e.ModelVersion, ModelInstanceCount: e.InstanceCount}
		if s.Status == ServiceRunning {
			m.ModelRunningInstanceCount = e.InstanceCount
		}
		n := float64(e.InstanceCount)
		if e.Specification == "custom" && e.CustomSpec != nil {
			m.CPUCoreTotal = e.CustomSpec.CPU * n
			m.CPUMemoryTotal = int64(e.CustomSpec.Memory) * int64(e.InstanceCount)
			m.GPUTotal = e.CustomSpec.GPUP4 * n
			m.NPUTotal = float64(e.CustomSpec.AscendA310) * n
		}
		for _, f := range c.Flavors {
			if f.Specification != e.Specification {
				continue
			}
			if f.CPUInfo != nil {
				m.CPUCoreTotal = f.CPUInfo.CPU * n
			}
			if f.MemoryInfo != nil {
				m.CPUMemoryTotal = toMB(f.MemoryInfo.Unit, f.MemoryInfo.Memory) * int64(e.InstanceCount)
			}
			if f.GPUInfo != nil {
				m.GPUTotal = f.GPUInfo.GPU * n
				m.GPUMemoryTotal = toMB(f.GPUInfo.Unit, f.GPUInfo.Memory) * int64(e.InstanceCount)
			}
			if f.NPUInfo != nil {
				m.NPUTotal = f.NPUInfo.NPU * n
				m.NPUMemoryTotal = toMB(f.NPUInfo.Unit, f.NPUInfo.Memory) * int64(e.InstanceCount)
			}
		}
		ms = append(ms, m)
	}
	return ms
}

// toMB converts an amount of memory in unit (GB or MB) to MB.
func toMB(unit string, n int) int64 {
	if unit == "GB" {
		return int64(n) * 1024
	}
	return int64(n)
}

// MonitorView builds the monitoring response of s from the base figures
// and the deployer's reports. Without nodeID, each configured model shows
// its report for the whole service (NodeID empty), else its base figures;
// with nodeID, only the models with a report of that node are shown.
func MonitorView(s *Service, base, reports []ModelMonitor, nodeID string) ServiceMonitorList {
	v := ServiceMonitorList{ServiceID: s.ID, ServiceName: s.Name, Monitors: []ModelMonitor{}}
	for _, b := range base {
		m, found := b, false
		for _, r := range reports {
			if r.ModelID == b.ModelID && r.NodeID == nodeID {
				m, found = r, true
				m.ModelName, m.ModelVersion = b.ModelName, b.ModelVersion
				if m.ModelInstanceCount == 0 {
					m.ModelInstanceCount = b.ModelInstanceCount
				}
				break
			}
		}
		if nodeID != "" && !found {
			continue
		}
		v.ServiceInstanceCount += m.ModelInstanceCount
		v.ServiceRunningInstanceCount += m.ModelRunningInstanceCount
		v.Monitors = append(v.Monitors, m)
	}
	return v
}

// ValidNodeID reports whether id may name a node: 1–64 letters, digits,
// '.', '_' or '-'.
func ValidNodeID(id string) bool {
	return len(id) <= 64 && reCatalogName.MatchString(id)
}
