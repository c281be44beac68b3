package modelreg

import (
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Service statuses.
const (
	ServiceDeploying  = "deploying"
	ServiceRunning    = "running"
	ServiceConcerning = "concerning"
	ServiceFailed     = "failed"
	ServiceStopped    = "stopped"
	ServiceFinished   = "finished"
)

// Config entry statuses, computed when a service is read: ready when its
// model is published, notReady otherwise.
const (
	EntryReady    = "ready"
	EntryNotReady = "notReady"
)

// ServiceStatuses lists every service status a filter may name.
var ServiceStatuses = []string{ServiceDeploying, ServiceRunning, ServiceConcerning, ServiceFailed, ServiceStopped, ServiceFinished}

// Inference types.
const (
	InferRealTime = "real-time"
	InferBatch    = "batch"
)

// Service sort keys.
const (
	ServiceSortPublishAt = "publish_at"
	ServiceSortName      = "service_name"
	// EventSortOccurTime is the one sort key of a service's events.
	EventSortOccurTime = "occur_time"
)

// Service is a deployment record: a named configuration of models. While a
// service exists (in any status) its models cannot be deleted.
type Service struct {
	ID              string          `json:"service_id"`
	Name            string          `json:"service_name"`
	Description     string          `json:"description"`
	Tenant          string          `json:"tenant"`
	ProjectID       string          `json:"project"`
	Owner           string          `json:"owner"`
	PublishAt       int64           `json:"publish_at"`
	UpdateTime      int64           `json:"update_time"`
	TransitionAt    int64           `json:"transition_at"`
	InferType       string          `json:"infer_type"`
	WorkspaceID     string          `json:"workspace_id"`
	Status          string          `json:"status"`
	Progress        int             `json:"progress"`
	InvocationTimes int64           `json:"invocation_times"`
	FailedTimes     int64           `json:"failed_times"`
	IsShared        bool            `json:"is_shared"`
	SharedCount     int             `json:"shared_count"`
	IsFree          bool            `json:"is_free"`
	Schedule        []Schedule      `json:"schedule,omitempty"`
	DueTime         int64           `json:"due_time,omitempty"`
	ClusterID       string          `json:"cluster_id,omitempty"`
	VpcID           string          `json:"vpc_id,omitempty"`
	SubnetNetworkID string          `json:"subnet_network_id,omitempty"`
	SecurityGroupID string          `json:"security_group_id,omitempty"`
	ErrorMsg        string          `json:"error_msg,omitempty"`
	AccessAddress   string          `json:"access_address,omitempty"`
	Config          []ServiceConfig `json:"config,omitempty"` // details only
}

// ServiceConfig is one model entry of a service configuration.
type ServiceConfig struct {
	ModelID       string            `json:"model_id"`
	ModelName     string            `json:"model_name,omitempty"`    // response only
	ModelVersion  string            `json:"model_version,omitempty"` // response only
	Status        string            `json:"status,omitempty"`        // response only: ready or notReady
	Weight        FlexInt           `json:"weight,omitempty"`
	Specification string            `json:"specification"`
	CustomSpec    *CustomSpec       `json:"custom_spec,omitempty"`
	InstanceCount int               `json:"instance_count"`
	Envs          map[string]string `json:"envs,omitempty"`
	ClusterID     string            `json:"cluster_id,omitempty"`
	// Batch only.
	SrcType     string            `json:"src_type,omitempty"`
	SrcPath     string            `json:"src_path,omitempty"`
	DestPath    string            `json:"dest_path,omitempty"`
	ReqURI      string            `json:"req_uri,omitempty"`
	MappingType string            `json:"mapping_type,omitempty"`
	MappingRule map[string]any    `json:"mapping_rule,omitempty"`
	Extra       map[string]string `json:"-"`
}

// CustomSpec is a custom resource flavor.
type CustomSpec struct {
	CPU        float64 `json:"cpu"`
	Memory     int     `json:"memory"`
	GPUP4      float64 `json:"gpu_p4,omitempty"`
	AscendA310 int     `json:"ascend_a310,omitempty"`
}

// Schedule stops a service after a duration.
type Schedule struct {
	Type     string `json:"type"`
	TimeUnit string `json:"time_unit"`
	Duration int    `json:"duration"`
}

// FlexInt is an integer that also decodes from a JSON string, because the
// ModelArts samples send weight as "100".
type FlexInt int

// UnmarshalJSON accepts 100 and "100".
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		// Type must be set: UnmarshalTypeError.Error dereferences it.
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[FlexInt]()}
	}
	*n = FlexInt(v)
	return nil
}

// ServiceCreate is the body of POST /v1/{project_id}/services.
type ServiceCreate struct {
	Name            string          `json:"service_name"`
	Description     string          `json:"description,omitempty"`
	InferType       string          `json:"infer_type"`
	WorkspaceID     string          `json:"workspace_id,omitempty"`
	VpcID           string          `json:"vpc_id,omitempty"`
	SubnetNetworkID string          `json:"subnet_network_id,omitempty"`
	SecurityGroupID string          `json:"security_group_id,omitempty"`
	ClusterID       string          `json:"cluster_id,omitempty"`
	Config          []ServiceConfig `json:"config"`
	Schedule        []Schedule      `json:"schedule,omitempty"`
}

// ServiceCreateResult is the response of a deploy.
type ServiceCreateResult struct {
	ServiceID   string   `json:"service_id"`
	ResourceIDs []string `json:"resource_ids"`
}

var reServiceName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks a deploy request. Missing fields are ModelArts.3036, bad
// ones 3037, the same model twice in config 3516.
func (c *ServiceCreate) Validate() error {
	switch {
	case c.Name == "":
		return ParamRequired("service_name")
	case !reServiceName.MatchString(c.Name):
		return ParamInvalid("service_name", c.Name)
	case c.InferType == "":
		return ParamRequired("infer_type")
	case c.InferType != InferRealTime && c.InferType != InferBatch:
		return ParamInvalid("infer_type", c.InferType)
	}
	if why := ValidDescription(c.Description); why != "" {
		return ParamInvalid("description", why)
	}
	if c.WorkspaceID != "" && !reWorkspace.MatchString(c.WorkspaceID) {
		return ParamInvalid("workspace_id", c.WorkspaceID)
	}
	if c.VpcID != "" && (c.SubnetNetworkID == "" || c.SecurityGroupID == "") {
		if c.SubnetNetworkID == "" {
			return ParamRequired("subnet_network_id")
		}
		return ParamRequired("security_group_id")
	}
	if err := validateSchedule(c.InferType, c.Schedule); err != nil {
		return err
	}
	return validateConfig(c.InferType, c.Config)
}

func validateSchedule(inferType string, ss []Schedule) error {
	for i, s := range ss {
		f := indexed("schedule", i)
		if inferType != InferRealTime {
			return ParamInvalid("schedule", "only real-time services have a schedule")
		}
		if s.Type != "stop" {
			return ParamInvalid(f+".type", s.Type)
		}
		if _, ok := oneOf(s.TimeUnit, []string{"DAYS", "HOURS", "MINUTES"}, false); !ok {
			return ParamInvalid(f+".time_unit", s.TimeUnit)
		}
		if s.Duration <= 0 {
			return ParamInvalid(f+".duration", strconv.Itoa(s.Duration))
		}
	}
	return nil
}

// validateConfig checks a service configuration for an inference type.
func validateConfig(inferType string, cfg []ServiceConfig) error {
	if len(cfg) == 0 {
		return ParamRequired("config")
	}
	if inferType == InferBatch && len(cfg) != 1 {
		return ParamInvalid("config", "a batch service has exactly one entry")
	}
	seen := map[string]bool{}
	weights := 0
	for i, e := range cfg {
		f := indexed("config", i)
		switch {
		case e.ModelID == "":
			return ParamRequired(f + ".model_id")
		case !ValidID(e.ModelID):
			return ParamInvalid(f+".model_id", e.ModelID)
		case e.Specification == "":
			return ParamRequired(f + ".specification")
		case e.InstanceCount < 1 || e.InstanceCount > 128:
			return ParamInvalid(f+".instance_count", strconv.Itoa(e.InstanceCount))
		}
		if err := checkText(f+".specification", e.Specification, 64); err != nil {
			return err
		}
		if e.Specification == "custom" {
			if e.CustomSpec == nil {
				return ParamRequired(f + ".custom_spec")
			}
			if e.CustomSpec.CPU < 0.01 || e.CustomSpec.Memory < 1 || e.CustomSpec.GPUP4 < 0 {
				return ParamInvalid(f+".custom_spec", "cpu must be at least 0.01, memory at least 1 MB")
			}
		}
		if seen[e.ModelID] {
			return Errorf(EINVALID, CodeDuplicateVersion, "Failed to deploy services because the version of the model that is used for deploying services is the same.")
		}
		seen[e.ModelID] = true
		if inferType == InferRealTime {
			if e.Weight < 0 || e.Weight > 100 {
				return ParamInvalid(f+".weight", strconv.Itoa(int(e.Weight)))
			}
			weights += int(e.Weight)
		} else {
			for _, v := range []namedValue{{".src_path", e.SrcPath}, {".dest_path", e.DestPath}, {".req_uri", e.ReqURI}, {".mapping_type", e.MappingType}} {
				if v.value == "" {
					return ParamRequired(f + v.name)
				}
			}
			if e.MappingType != "file" && e.MappingType != "csv" {
				return ParamInvalid(f+".mapping_type", e.MappingType)
			}
		}
	}
	if inferType == InferRealTime && weights != 100 {
		return ParamInvalid("config.weight", "weights must add up to 100")
	}
	return nil
}

// ServiceUpdate is the body of PUT /v1/{project_id}/services/{service_id}.
// A nil field is left unchanged. Status and Config are exclusive: when both
// are set, only Status is applied (as the ModelArts page says).
type ServiceUpdate struct {
	Description *string         `json:"description,omitempty"`
	Status      *string         `json:"status,omitempty"`
	Config      []ServiceConfig `json:"config,omitempty"`
	Schedule    []Schedule      `json:"schedule,omitempty"`
	// IfMatch, when not nil, is the If-Match list the service must match
	// when the update runs (EPRECONDITION ModelReg.0412 otherwise).
	IfMatch []string `json:"-"`
}

// Validate checks an update against the service's inference type.
func (u *ServiceUpdate) Validate(inferType string) error {
	if u.Description != nil {
		if why := ValidDescription(*u.Description); why != "" {
			return ParamInvalid("description", why)
		}
	}
	if u.Status != nil {
		if *u.Status != ServiceRunning && *u.Status != ServiceStopped {
			return ParamInvalid("status", *u.Status)
		}
		u.Config = nil
	}
	if u.Config != nil {
		if err := validateConfig(inferType, u.Config); err != nil {
			return err
		}
	}
	return validateSchedule(inferType, u.Schedule)
}

// DueTime returns when a service that entered status at now (ms since the
// epoch) stops by itself: when status is running and schedule has a stop
// entry, now plus its duration (the first stop entry; a due time past the
// year 292,277,026,596 is that year); otherwise 0, no automatic stop.
func DueTime(status string, schedule []Schedule, now int64) int64 {
	if status != ServiceRunning {
		return 0
	}
	for _, e := range schedule {
		if e.Type != "stop" || e.Duration <= 0 {
			continue
		}
		var unit int64
		switch strings.ToUpper(e.TimeUnit) {
		case "DAYS":
			unit = 24 * 60 * 60 * 1000
		case "HOURS":
			unit = 60 * 60 * 1000
		case "MINUTES":
			unit = 60 * 1000
		default:
			continue
		}
		if d := int64(e.Duration); d > (math.MaxInt64-now)/unit {
			return math.MaxInt64
		}
		return now + int64(e.Duration)*unit
	}
	return 0
}

// ServiceChange is what Service.Apply did to a service.
type ServiceChange struct {
	Events []string // the event infos to record, in order: one a change
	// Config is the configuration that replaces the service's stored one
	// (nil: keep it). The store checks its models as CreateService does
	// before it writes anything.
	Config []ServiceConfig
}

// Apply changes s as u asks, at now (ms since the epoch): the service state
// machine of PUT /v1/{project_id}/services/{service_id}, the same for every
// store. A status of stopped stops a running, deploying, concerning or
// failed service; running restarts a stopped or failed one, which then is
// deploying; asking for the current status changes nothing. A service that
// is not running has no due time; a new schedule of a running one sets it
// from now (DueTime). When Status is set, Config is ignored. A new config is accepted when the service is
// running, stopped, failed or concerning. Returns EINVALID ModelArts.3037
// for another status and ESTATE ModelArts.3519 when the state forbids the
// change; s is then unchanged.
func (s *Service) Apply(u ServiceUpdate, now int64) (ServiceChange, error) {
	var c ServiceChange
	next := *s
	if u.Status != nil {
		to := *u.Status
		switch {
		case to != ServiceRunning && to != ServiceStopped:
			return ServiceChange{}, ParamInvalid("status", to)
		case to == s.Status:
			// Asking for the current status changes nothing.
		case to == ServiceStopped:
			switch s.Status {
			case ServiceRunning, ServiceDeploying, ServiceConcerning, ServiceFailed:
				next.Status, next.TransitionAt, next.DueTime = ServiceStopped, now, 0
				c.Events = append(c.Events, "["+s.Name+"] service stopped")
			default:
				return ServiceChange{}, s.stateForbids("stopped")
			}
		default: // running
			switch s.Status {
			case ServiceStopped, ServiceFailed:
				next.Status, next.TransitionAt, next.DueTime = ServiceDeploying, now, 0
				c.Events = append(c.Events, "["+s.Name+"] start to deploy service")
			default:
				return ServiceChange{}, s.stateForbids("started")
			}
		}
	} else if u.Config != nil {
		switch s.Status {
		case ServiceRunning, ServiceStopped, ServiceFailed, ServiceConcerning:
		default:
			return ServiceChange{}, s.stateForbids("updated")
		}
		c.Config = slices.Clone(u.Config)
		next.UpdateTime = now
		c.Events = append(c.Events, "["+s.Name+"] service configuration updated")
	}
	if u.Description != nil && *u.Description != s.Description {
		next.Description = *u.Description
		c.Events = append(c.Events, "["+s.Name+"] service description updated")
	}
	if u.Schedule != nil {
		next.Schedule = slices.Clone(u.Schedule)
		c.Events = append(c.Events, "["+s.Name+"] service schedule updated")
		if next.Status == ServiceRunning {
			// A running service's countdown starts again from now.
			next.DueTime = DueTime(next.Status, next.Schedule, now)
		}
	}
	*s = next
	return c, nil
}

// Changed reports whether the service has anything to store.
func (c ServiceChange) Changed() bool { return len(c.Events) > 0 }

// stateForbids is the ESTATE ModelArts.3519 error of a change the
// service's status forbids.
func (s *Service) stateForbids(change string) *Error {
	return Errorf(ESTATE, CodeServiceState, "Service %s is %s: it cannot be %s.", s.ID, s.Status, change)
}

// ServiceFilter selects services for FindServices.
type ServiceFilter struct {
	ProjectID   string
	ServiceID   string
	Name        string // substring
	ModelID     string
	ClusterID   string
	WorkspaceID string
	InferType   string
	Status      string
	Page        // SortBy: publish_at (default), service_name
}

// Validate checks and normalises the filter (ModelArts.0101 naming the parameter).
func (f *ServiceFilter) Validate() error {
	if f.Status != "" {
		s, ok := oneOf(strings.ToLower(f.Status), ServiceStatuses, false)
		if !ok {
			return Invalid("Invalid parameter status: %q.", f.Status)
		}
		f.Status = s
	}
	if f.InferType != "" && f.InferType != InferRealTime && f.InferType != InferBatch {
		return Invalid("Invalid parameter infer_type: %q.", f.InferType)
	}
	if f.ServiceID != "" && !ValidID(f.ServiceID) {
		return Invalid("Invalid parameter service_id: %q.", f.ServiceID)
	}
	if f.ModelID != "" && !ValidID(f.ModelID) {
		return Invalid("Invalid parameter model_id: %q.", f.ModelID)
	}
	return f.Page.validate(DefaultServiceLimit, ServiceSortPublishAt, ServiceSortName)
}

// ServiceList is the response of the service list.
type ServiceList struct {
	TotalCount int        `json:"total_count"`
	Count      int        `json:"count"`
	Services   []*Service `json:"services"`
}

// Event types.
const (
	EventNormal   = "normal"
	EventAbnormal = "abnormal"
)

// ServiceEvent is one event in a service's life.
type ServiceEvent struct {
	OccurTime int64  `json:"occur_time"`
	EventType string `json:"event_type"`
	EventInfo string `json:"event_info"`
}

// EventFilter selects the events of one service.
type EventFilter struct {
	ProjectID string
	ServiceID string
	EventType string
	StartTime int64 // ms, 0 = unbounded
	EndTime   int64
	Page      // SortBy: occur_time, the only one
}

// Validate checks and normalises the filter.
func (f *EventFilter) Validate() error {
	if f.EventType != "" && f.EventType != EventNormal && f.EventType != EventAbnormal {
		return Invalid("Invalid parameter event_type: %q.", f.EventType)
	}
	if f.StartTime < 0 || f.EndTime < 0 || (f.EndTime != 0 && f.EndTime < f.StartTime) {
		return Invalid("Invalid parameters start_time and end_time.")
	}
	return f.Page.validate(DefaultServiceLimit, EventSortOccurTime)
}

// ServiceEventList is the response of the events API.
type ServiceEventList struct {
	ServiceID   string          `json:"service_id"`
	ServiceName string          `json:"service_name"`
	TotalCount  int             `json:"total_count"`
	Count       int             `json:"count"`
	Events      []*ServiceEvent `json:"events"`
}
