package compat_test

import (
	"net/http"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/def"
)

// Request and response definitions of the ModelArts v1 model and service
// operations and of the IAM routes, written as the SDK's generated service
// packages write theirs (services/*/model and *_meta.go): a request struct
// whose fields the definition places in the path, the query, the headers or
// the body, and a response struct the SDK decodes the body into. Each gen*
// function returns a new definition, since the SDK decodes into its
// Response.

// field returns a field definition.
func field(name, tag string, loc def.LocationType) *def.FieldDef {
	return def.NewFieldDef().WithName(name).WithJsonTag(tag).WithLocationType(loc)
}

// reqDef starts a definition with a JSON content type.
func reqDef(method, path string, response any, fields ...*def.FieldDef) *def.HttpRequestDef {
	b := def.NewHttpRequestDefBuilder().WithMethod(method).WithPath(path).WithResponse(response).
		WithContentType("application/json;charset=UTF-8")
	for _, f := range fields {
		b.WithRequestField(f)
	}
	return b.Build()
}

// body is the field definition of a request's Body.
var body = def.NewFieldDef().WithName("Body").WithLocationType(def.Body)

// ---- Models ----

type modelParam struct {
	URL       string `json:"url"`
	Method    string `json:"method"`
	Protocol  string `json:"protocol"`
	ParamName string `json:"param_name"`
	ParamType string `json:"param_type"`
}

type createModelBody struct {
	ModelName      string       `json:"model_name"`
	ModelVersion   string       `json:"model_version"`
	ModelType      string       `json:"model_type"`
	SourceLocation string       `json:"source_location"`
	Description    string       `json:"description,omitempty"`
	Runtime        string       `json:"runtime,omitempty"`
	InputParams    []modelParam `json:"input_params,omitempty"`
	InstallType    []string     `json:"install_type,omitempty"`
	// A field modelreg does not model: ignored, as clients expect.
	ModelAlgorithmExtra string `json:"model_algorithm_extra,omitempty"`
}

type createModelRequest struct {
	Body *createModelBody `json:"body,omitempty"`
}

type createModelResponse struct {
	ModelID        string `json:"model_id"`
	HttpStatusCode int    `json:"-"`
}

func genCreateModel() *def.HttpRequestDef {
	return reqDef(http.MethodPost, "/v1/{project_id}/models", new(createModelResponse), body)
}

type listModelsRequest struct {
	ModelName   *string `json:"model_name,omitempty"`
	ExactMatch  *string `json:"exact_match,omitempty"`
	ModelStatus *string `json:"model_status,omitempty"`
	Description *string `json:"description,omitempty"`
	Offset      *int32  `json:"offset,omitempty"`
	Limit       *int32  `json:"limit,omitempty"`
	SortBy      *string `json:"sort_by,omitempty"`
	Order       *string `json:"order,omitempty"`
}

type modelItem struct {
	ModelID      string   `json:"model_id"`
	ModelName    string   `json:"model_name"`
	ModelVersion string   `json:"model_version"`
	ModelStatus  string   `json:"model_status"`
	ModelType    string   `json:"model_type"`
	ModelSize    int64    `json:"model_size"`
	Project      string   `json:"project"`
	Owner        string   `json:"owner"`
	CreateAt     int64    `json:"create_at"`
	Description  string   `json:"description"`
	InstallType  []string `json:"install_type"`
}

type listModelsResponse struct {
	TotalCount     int32       `json:"total_count"`
	Count          int32       `json:"count"`
	Models         []modelItem `json:"models"`
	HttpStatusCode int         `json:"-"`
}

func genListModels() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/models", new(listModelsResponse),
		field("ModelName", "model_name", def.Query), field("ExactMatch", "exact_match", def.Query),
		field("ModelStatus", "model_status", def.Query), field("Description", "description", def.Query),
		field("Offset", "offset", def.Query), field("Limit", "limit", def.Query),
		field("SortBy", "sort_by", def.Query), field("Order", "order", def.Query))
}

type modelIDRequest struct {
	ModelID string  `json:"model_id"`
	Cascade *string `json:"cascade,omitempty"`
}

type showModelResponse struct {
	modelItem
	SourceLocation string       `json:"source_location"`
	Runtime        string       `json:"runtime"`
	InputParams    []modelParam `json:"input_params"`
	HttpStatusCode int          `json:"-"`
}

func genShowModel() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/models/{model_id}", new(showModelResponse),
		field("ModelID", "model_id", def.Path))
}

type deleteFailure struct {
	ModelID      string `json:"model_id"`
	ErrorCode    string `json:"error_code"`
	ErrorMsg     string `json:"error_msg"`
	ErrorMessage string `json:"error_message"`
}

type deleteModelResponse struct {
	DeleteSuccessList []string        `json:"delete_success_list"`
	DeleteFailedList  []deleteFailure `json:"delete_failed_list"`
	HttpStatusCode    int             `json:"-"`
}

func genDeleteModel() *def.HttpRequestDef {
	return reqDef(http.MethodDelete, "/v1/{project_id}/models/{model_id}", new(deleteModelResponse),
		field("ModelID", "model_id", def.Path), field("Cascade", "cascade", def.Query))
}

// ---- Services ----

type serviceConfig struct {
	ModelID       string `json:"model_id"`
	Weight        int32  `json:"weight"`
	Specification string `json:"specification"`
	InstanceCount int32  `json:"instance_count"`
	// Filled by the server in responses.
	ModelName    string `json:"model_name,omitempty"`
	ModelVersion string `json:"model_version,omitempty"`
	Status       string `json:"status,omitempty"`
}

type createServiceBody struct {
	ServiceName string          `json:"service_name"`
	Description string          `json:"description,omitempty"`
	InferType   string          `json:"infer_type"`
	ClusterID   string          `json:"cluster_id,omitempty"`
	Config      []serviceConfig `json:"config"`
}

type createServiceRequest struct {
	Body *createServiceBody `json:"body,omitempty"`
}

type createServiceResponse struct {
	ServiceID      string   `json:"service_id"`
	ResourceIDs    []string `json:"resource_ids"`
	HttpStatusCode int      `json:"-"`
}

func genCreateService() *def.HttpRequestDef {
	return reqDef(http.MethodPost, "/v1/{project_id}/services", new(createServiceResponse), body)
}

type listServicesRequest struct {
	ServiceName *string `json:"service_name,omitempty"`
	ModelID     *string `json:"model_id,omitempty"`
	Status      *string `json:"status,omitempty"`
	Limit       *int32  `json:"limit,omitempty"`
}

type serviceItem struct {
	ServiceID   string          `json:"service_id"`
	ServiceName string          `json:"service_name"`
	Description string          `json:"description"`
	Status      string          `json:"status"`
	InferType   string          `json:"infer_type"`
	Project     string          `json:"project"`
	Owner       string          `json:"owner"`
	PublishAt   int64           `json:"publish_at"`
	Config      []serviceConfig `json:"config"`
}

type listServicesResponse struct {
	TotalCount     int32         `json:"total_count"`
	Count          int32         `json:"count"`
	Services       []serviceItem `json:"services"`
	HttpStatusCode int           `json:"-"`
}

func genListServices() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/services", new(listServicesResponse),
		field("ServiceName", "service_name", def.Query), field("ModelID", "model_id", def.Query),
		field("Status", "status", def.Query), field("Limit", "limit", def.Query))
}

type serviceIDRequest struct {
	ServiceID string `json:"service_id"`
}

type showServiceResponse struct {
	serviceItem
	HttpStatusCode int `json:"-"`
}

func genShowService() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/services/{service_id}", new(showServiceResponse),
		field("ServiceID", "service_id", def.Path))
}

type updateServiceBody struct {
	Status      string          `json:"status,omitempty"`
	Description string          `json:"description,omitempty"`
	Config      []serviceConfig `json:"config,omitempty"`
}

type updateServiceRequest struct {
	ServiceID string             `json:"service_id"`
	Body      *updateServiceBody `json:"body,omitempty"`
}

type emptyResponse struct {
	HttpStatusCode int `json:"-"`
}

func genUpdateService() *def.HttpRequestDef {
	return reqDef(http.MethodPut, "/v1/{project_id}/services/{service_id}", new(emptyResponse),
		field("ServiceID", "service_id", def.Path), body)
}

func genDeleteService() *def.HttpRequestDef {
	return reqDef(http.MethodDelete, "/v1/{project_id}/services/{service_id}", new(emptyResponse),
		field("ServiceID", "service_id", def.Path))
}

type eventsRequest struct {
	ServiceID string  `json:"service_id"`
	EventType *string `json:"event_type,omitempty"`
	Order     *string `json:"order,omitempty"`
	Limit     *int32  `json:"limit,omitempty"`
}

type event struct {
	OccurTime int64  `json:"occur_time"`
	EventType string `json:"event_type"`
	EventInfo string `json:"event_info"`
}

type eventsResponse struct {
	ServiceID      string  `json:"service_id"`
	ServiceName    string  `json:"service_name"`
	TotalCount     int32   `json:"total_count"`
	Count          int32   `json:"count"`
	Events         []event `json:"events"`
	HttpStatusCode int     `json:"-"`
}

func genServiceEvents() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v1/{project_id}/services/{service_id}/events", new(eventsResponse),
		field("ServiceID", "service_id", def.Path), field("EventType", "event_type", def.Query),
		field("Order", "order", def.Query), field("Limit", "limit", def.Query))
}

// ---- IAM ----

type named struct {
	ID     string            `json:"id,omitempty"`
	Name   string            `json:"name,omitempty"`
	Domain map[string]string `json:"domain,omitempty"`
}

type passwordUser struct {
	named
	Password string `json:"password"`
}

type tokenBody struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User passwordUser `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope struct {
			Project named `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

type createTokenRequest struct {
	Body *tokenBody `json:"body,omitempty"`
}

type createTokenResponse struct {
	// A pointer: the SDK sets response headers through pointers, as its
	// generated models declare them.
	XSubjectToken *string `json:"X-Subject-Token"`
	Token         struct {
		Methods   []string `json:"methods"`
		ExpiresAt string   `json:"expires_at"`
		IssuedAt  string   `json:"issued_at"`
		User      named    `json:"user"`
		Project   named    `json:"project"`
		Catalog   []any    `json:"catalog"`
	} `json:"token"`
	HttpStatusCode int `json:"-"`
}

func genCreateToken() *def.HttpRequestDef {
	d := def.NewHttpRequestDefBuilder().WithMethod(http.MethodPost).WithPath("/v3/auth/tokens").
		WithResponse(new(createTokenResponse)).WithContentType("application/json;charset=UTF-8").
		WithRequestField(body).
		WithResponseField(field("XSubjectToken", "X-Subject-Token", def.Header))
	return d.Build()
}

type revokeTokenRequest struct {
	XSubjectToken string `json:"X-Subject-Token"`
}

func genRevokeToken() *def.HttpRequestDef {
	return reqDef(http.MethodDelete, "/v3/auth/tokens", new(emptyResponse),
		field("XSubjectToken", "X-Subject-Token", def.Header))
}

type listProjectsRequest struct {
	Name *string `json:"name,omitempty"`
}

type project struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	DomainID string `json:"domain_id"`
	Enabled  bool   `json:"enabled"`
}

type listProjectsResponse struct {
	Projects       []project `json:"projects"`
	HttpStatusCode int       `json:"-"`
}

func genListProjects() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v3/projects", new(listProjectsResponse), field("Name", "name", def.Query))
}

type credentialBody struct {
	Credential struct {
		UserID      string `json:"user_id,omitempty"`
		Description string `json:"description,omitempty"`
	} `json:"credential"`
}

type createCredentialRequest struct {
	Body *credentialBody `json:"body,omitempty"`
}

type credential struct {
	Access      string `json:"access"`
	Secret      string `json:"secret"`
	Status      string `json:"status"`
	UserID      string `json:"user_id"`
	Description string `json:"description"`
	CreateTime  string `json:"create_time"`
}

type createCredentialResponse struct {
	Credential     credential `json:"credential"`
	HttpStatusCode int        `json:"-"`
}

func genCreateCredential() *def.HttpRequestDef {
	return reqDef(http.MethodPost, "/v3.0/OS-CREDENTIAL/credentials", new(createCredentialResponse), body)
}

type listCredentialsRequest struct {
	UserID *string `json:"user_id,omitempty"`
}

type listCredentialsResponse struct {
	Credentials    []credential `json:"credentials"`
	HttpStatusCode int          `json:"-"`
}

func genListCredentials() *def.HttpRequestDef {
	return reqDef(http.MethodGet, "/v3.0/OS-CREDENTIAL/credentials", new(listCredentialsResponse),
		field("UserID", "user_id", def.Query))
}

type accessKeyRequest struct {
	AccessKey string `json:"access_key"`
}

func genDeleteCredential() *def.HttpRequestDef {
	return reqDef(http.MethodDelete, "/v3.0/OS-CREDENTIAL/credentials/{access_key}", new(emptyResponse),
		field("AccessKey", "access_key", def.Path))
}
