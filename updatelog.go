package modelreg

import (
	"encoding/json"
	"slices"
)

// Results of an update log entry.
const (
	UpdateRunning = "RUNNING" // the service is (re)deploying with this config
	UpdateSuccess = "SUCCESS"
	UpdateFail    = "FAIL"
)

// MaxUpdateLogs is the most update log entries the logs API returns (the
// newest).
const MaxUpdateLogs = 1000

// ServiceUpdateLog is one entry of GET
// /v1/{project_id}/services/{service_id}/logs: a configuration the service
// was given (at deploy time or by an update), when, and how applying it
// went.
type ServiceUpdateLog struct {
	UpdateTime   int64           `json:"update_time"`
	Result       string          `json:"result"`
	Config       []ServiceConfig `json:"config"`
	ClusterID    string          `json:"cluster_id,omitempty"`
	ExtendConfig []any           `json:"extend_config"`
}

// ServiceUpdateLogList is the response of the update logs API.
type ServiceUpdateLogList struct {
	ServiceID   string              `json:"service_id"`
	ServiceName string              `json:"service_name"`
	Logs        []*ServiceUpdateLog `json:"logs"`
}

// UpdateLogResult is the result of a new update log entry of a service
// that is in status after the change: RUNNING while it deploys, else
// SUCCESS (the configuration is in place).
func UpdateLogResult(status string) string {
	if status == ServiceDeploying {
		return UpdateRunning
	}
	return UpdateSuccess
}

// ResolvedUpdateResult is what the RUNNING entries of a service that has
// just moved to status become: SUCCESS when it runs, FAIL when it failed or
// was stopped before it ran, "" (unchanged) while it still deploys.
func ResolvedUpdateResult(status string) string {
	switch status {
	case ServiceDeploying:
		return ""
	case ServiceFailed, ServiceStopped:
		return UpdateFail
	}
	return UpdateSuccess
}

// EncodeUpdateConfig returns the JSON a store keeps for the config of an
// update log entry: the entries as the API shows them (with model name and
// version), without the live entry status.
func EncodeUpdateConfig(cfg []ServiceConfig) (string, error) {
	c := slices.Clone(cfg)
	if c == nil {
		c = []ServiceConfig{}
	}
	for i := range c {
		c[i].Status = ""
	}
	b, err := json.Marshal(c)
	return string(b), err
}
