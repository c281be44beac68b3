package modelreg

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Model statuses, lower case on the wire.
const (
	ModelPublishing     = "publishing"
	ModelPublished      = "published"
	ModelFailed         = "failed"
	ModelBuilding       = "building"
	ModelBuildingFailed = "building_failed"
)

// ModelStatuses lists every model status a filter may name.
var ModelStatuses = []string{ModelPublishing, ModelPublished, ModelFailed, ModelBuilding, ModelBuildingFailed}

// ModelTypes lists the accepted model_type values in their canonical
// spelling. Input is matched case-insensitively and stored canonically.
var ModelTypes = []string{"TensorFlow", "MXNet", "Caffe", "Spark_MLlib", "Scikit_Learn", "XGBoost", "Image", "PyTorch", "Template", "MindSpore", "Custom"}

// InstallTypes lists the accepted install_type values.
var InstallTypes = []string{"real-time", "batch"}

// Sort keys of the model list.
const (
	ModelSortCreateAt = "create_at"
	ModelSortVersion  = "model_version"
	ModelSortSize     = "model_size"
)

// List limits.
const (
	DefaultModelLimit   = 100
	DefaultServiceLimit = 1000
	MaxListLimit        = 1000
)

// ModelSummary is a model as the list API returns it.
type ModelSummary struct {
	ID              string        `json:"model_id"`
	Name            string        `json:"model_name"`
	Version         string        `json:"model_version"`
	Status          string        `json:"model_status"`
	Type            string        `json:"model_type"`
	Size            int64         `json:"model_size"`
	Tenant          string        `json:"tenant"`
	ProjectID       string        `json:"project"`
	Owner           string        `json:"owner"`
	CreateAt        int64         `json:"create_at"` // ms since the epoch
	Description     string        `json:"description"`
	SourceType      string        `json:"source_type"`
	WorkspaceID     string        `json:"workspace_id"`
	ModelSource     string        `json:"model_source"`
	Tunable         bool          `json:"tunable"`
	MarketFlag      bool          `json:"market_flag"`
	PublishableFlag bool          `json:"publishable_flag"`
	InstallType     []string      `json:"install_type"`
	Specification   Specification `json:"specification"`
	// FailureReason says why a failed import failed (modelreg extension).
	FailureReason string `json:"failure_reason,omitempty"`
}

// Model is a model with every detail the show API returns.
type Model struct {
	ModelSummary
	SourceLocation   string       `json:"source_location"`
	SourceJobID      string       `json:"source_job_id"`
	SourceJobVersion string       `json:"source_job_version"`
	Runtime          string       `json:"runtime"`
	ExecutionCode    string       `json:"execution_code"`
	SchemaDoc        string       `json:"schema_doc"`
	ImageAddress     string       `json:"image_address"`
	InputParams      []Param      `json:"input_params"`
	OutputParams     []Param      `json:"output_params"`
	Dependencies     []Dependency `json:"dependencies"`
	ModelMetrics     string       `json:"model_metrics"`
	APIs             string       `json:"apis"` // a JSON document, as the details page types it
	ModelDocs        []ModelDoc   `json:"model_docs"`
	ModelAlgorithm   string       `json:"model_algorithm"`
	ModelLabels      []string     `json:"model_labels"`
	LabelsMap        LabelsMap    `json:"labels_map"`
	Config           string       `json:"config"` // the model's config.json, when it has one
	Template         *Template    `json:"template,omitempty"`
	UpdateAt         int64        `json:"update_at"` // modelreg extension
	// Protected says the model may not be deleted (modelreg extension,
	// ModelProtection).
	Protected bool `json:"protected"`
}

// Specification is the minimum resources a model needs.
type Specification struct {
	MinCPU    string `json:"min_cpu,omitempty"`
	MinGPU    string `json:"min_gpu,omitempty"`
	MinMemory string `json:"min_memory,omitempty"`
	MinAscend string `json:"min_ascend,omitempty"`
}

// LabelsMap is the labels_map object of the details page.
type LabelsMap struct {
	Labels []string `json:"labels"`
}

// Param is an input or output parameter of a model API.
type Param struct {
	URL       string   `json:"url"`
	Method    string   `json:"method"`
	Protocol  string   `json:"protocol"`
	ParamName string   `json:"param_name"`
	ParamType string   `json:"param_type"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	ParamDesc string   `json:"param_desc,omitempty"`
}

// Dependency is a set of packages installed by one installer.
type Dependency struct {
	Installer string    `json:"installer"`
	Packages  []Package `json:"packages"`
}

// Package is one dependency package.
type Package struct {
	Name      string `json:"package_name"`
	Version   string `json:"package_version,omitempty"`
	Restraint string `json:"restraint,omitempty"`
}

// ModelDoc is a link to a document about the model.
type ModelDoc struct {
	Name string `json:"doc_name"`
	URL  string `json:"doc_url"`
}

// Template configures a model built from a template.
type Template struct {
	TemplateID  string          `json:"template_id"`
	InferFormat string          `json:"infer_format,omitempty"`
	Inputs      []TemplateInput `json:"template_inputs"`
}

// TemplateInput is one input of a template.
type TemplateInput struct {
	InputID string `json:"input_id"`
	Input   string `json:"input"`
}

// ModelImport is the body of POST /v1/{project_id}/models.
type ModelImport struct {
	Name             string            `json:"model_name"`
	Version          string            `json:"model_version"`
	SourceLocation   string            `json:"source_location"`
	SourceJobID      string            `json:"source_job_id,omitempty"`
	SourceJobVersion string            `json:"source_job_version,omitempty"`
	SourceType       string            `json:"source_type,omitempty"`
	Type             string            `json:"model_type"`
	Runtime          string            `json:"runtime,omitempty"`
	Description      string            `json:"description,omitempty"`
	ModelAlgorithm   string            `json:"model_algorithm,omitempty"`
	ExecutionCode    string            `json:"execution_code,omitempty"`
	InputParams      []Param           `json:"input_params,omitempty"`
	OutputParams     []Param           `json:"output_params,omitempty"`
	Dependencies     []Dependency      `json:"dependencies,omitempty"`
	ModelMetrics     string            `json:"model_metrics,omitempty"`
	APIs             []json.RawMessage `json:"apis,omitempty"`
	InitialConfig    string            `json:"initial_config,omitempty"`
	WorkspaceID      string            `json:"workspace_id,omitempty"`
	ModelDocs        []ModelDoc        `json:"model_docs,omitempty"`
	InstallType      []string          `json:"install_type,omitempty"`
	Template         *Template         `json:"template,omitempty"`
}

// ModelImportResult is the response of an import.
type ModelImportResult struct {
	ModelID string `json:"model_id"`
}

var (
	reModelName  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	reVersion    = regexp.MustCompile(`^(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)$`)
	reDocName    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,47}$`)
	reAlgorithm  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,35}$`)
	reWorkspace  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	descForbid   = "&!'\"<>="
	paramTypes   = []string{"int", "string", "float", "timestamp", "date", "file"}
	restraints   = []string{"EXACT", "ATLEAST", "ATMOST"}
	maxTextField = 1024
)

// ValidProjectID reports whether id is a project id (32 lower-case hex).
// It and ValidID run on every request, so they check bytes rather than
// match a regular expression (three of them were 2.4 % of a show's CPU).
func ValidProjectID(id string) bool { return isHex32(id) }

// isHex32 reports whether s is 32 lower-case hex digits: a project or a
// user id.
func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// ValidID reports whether id is a model or service id: a lower-case UUID
// v4, xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx.
func ValidID(id string) bool {
	if len(id) != 36 || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
		return false
	}
	for i := range len(id) {
		switch i {
		case 8, 13, 18, 23:
			if id[i] != '-' {
				return false
			}
		default:
			if !isLowerHex(id[i]) {
				return false
			}
		}
	}
	return true
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// ValidModelName reports whether name is a valid model name.
func ValidModelName(name string) bool { return reModelName.MatchString(name) }

// ValidVersion reports whether v is N.N.N with parts 0–99 and no leading zeros.
func ValidVersion(v string) bool { return reVersion.MatchString(v) }

// VersionKey returns a sortable integer for a valid version (major*10000 +
// minor*100 + patch), or -1 for an invalid one.
func VersionKey(v string) int {
	m := reVersion.FindStringSubmatch(v)
	if m == nil {
		return -1
	}
	key := 0
	for _, p := range m[1:] {
		n := 0
		for _, c := range p {
			n = n*10 + int(c-'0')
		}
		key = key*100 + n
	}
	return key
}

// CanonicalModelType returns the canonical spelling of a model type and
// whether it is known.
func CanonicalModelType(t string) (string, bool) {
	for _, known := range ModelTypes {
		if strings.EqualFold(t, known) {
			return known, true
		}
	}
	return "", false
}

// ValidDescription reports why a description is invalid, or "" when it is fine.
func ValidDescription(s string) string {
	if utf8.RuneCountInString(s) > 100 {
		return "longer than 100 characters"
	}
	if strings.ContainsAny(s, descForbid) {
		return "contains one of " + descForbid
	}
	if strings.ContainsFunc(s, isControl) {
		return "contains a control character"
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// namedValue is a parameter and its value. Validation goes through a
// slice of them, not a map, so that of several bad parameters it always
// names the same one: the first in the slice's order, which is the order
// of the documentation.
type namedValue struct{ name, value string }

func oneOf(s string, set []string, fold bool) (string, bool) {
	for _, v := range set {
		if s == v || fold && strings.EqualFold(s, v) {
			return v, true
		}
	}
	return "", false
}

// Normalize fills defaults and canonical spellings. Call it after Validate.
func (m *ModelImport) Normalize() {
	m.Type, _ = CanonicalModelType(m.Type)
	if m.WorkspaceID == "" {
		m.WorkspaceID = "0"
	}
	if len(m.InstallType) == 0 {
		m.InstallType = append([]string(nil), InstallTypes...)
	}
	for i := range m.InputParams {
		m.InputParams[i].Method = strings.ToLower(m.InputParams[i].Method)
	}
	for i := range m.OutputParams {
		m.OutputParams[i].Method = strings.ToLower(m.OutputParams[i].Method)
	}
}

// Validate checks every field of an import request. It returns an EINVALID
// *Error with code ModelArts.3036 for a missing field and ModelArts.3037 for a
// bad one, naming the field.
func (m *ModelImport) Validate() error { return m.validate(true) }

// validate is Validate; requireSource says whether source_location is
// required (for every type but Template).
func (m *ModelImport) validate(requireSource bool) error {
	switch {
	case m.Name == "":
		return ParamRequired("model_name")
	case !ValidModelName(m.Name):
		return ParamInvalid("model_name", m.Name)
	case m.Version == "":
		return ParamRequired("model_version")
	case !ValidVersion(m.Version):
		return ParamInvalid("model_version", m.Version)
	case m.Type == "":
		return ParamRequired("model_type")
	}
	typ, ok := CanonicalModelType(m.Type)
	if !ok {
		return ParamInvalid("model_type", m.Type)
	}
	if requireSource && m.SourceLocation == "" && typ != "Template" {
		return ParamRequired("source_location")
	}
	if err := checkText("source_location", m.SourceLocation, maxTextField); err != nil {
		return err
	}
	for _, f := range []namedValue{{"source_job_id", m.SourceJobID}, {"source_job_version", m.SourceJobVersion}, {"runtime", m.Runtime}, {"execution_code", m.ExecutionCode}} {
		if err := checkText(f.name, f.value, maxTextField); err != nil {
			return err
		}
	}
	if m.SourceType != "" && m.SourceType != "auto" {
		return ParamInvalid("source_type", m.SourceType)
	}
	if why := ValidDescription(m.Description); why != "" {
		return ParamInvalid("description", why)
	}
	if m.ModelAlgorithm != "" && !reAlgorithm.MatchString(m.ModelAlgorithm) {
		return ParamInvalid("model_algorithm", m.ModelAlgorithm)
	}
	if m.WorkspaceID != "" && !reWorkspace.MatchString(m.WorkspaceID) {
		return ParamInvalid("workspace_id", m.WorkspaceID)
	}
	if err := validateParams("input_params", m.InputParams); err != nil {
		return err
	}
	if err := validateParams("output_params", m.OutputParams); err != nil {
		return err
	}
	if err := validateDependencies(m.Dependencies); err != nil {
		return err
	}
	if m.ModelMetrics != "" && !isJSONObject(m.ModelMetrics) {
		return ParamInvalid("model_metrics", "not a JSON object")
	}
	if m.InitialConfig != "" && !isJSONObject(m.InitialConfig) {
		return ParamInvalid("initial_config", "not a JSON object")
	}
	for i, api := range m.APIs {
		var a struct {
			Method string `json:"method"`
		}
		if json.Unmarshal(api, &a) != nil || !isJSONObject(string(api)) {
			return ParamInvalid(indexed("apis", i), "not an object")
		}
		if _, ok := oneOf(a.Method, []string{"", "POST", "GET"}, true); !ok {
			return ParamInvalid(indexed("apis", i)+".method", a.Method)
		}
	}
	if len(m.ModelDocs) > 3 {
		return ParamInvalid("model_docs", "more than 3 documents")
	}
	for i, d := range m.ModelDocs {
		if d.Name == "" {
			return ParamRequired(indexed("model_docs", i) + ".doc_name")
		}
		if !reDocName.MatchString(d.Name) {
			return ParamInvalid(indexed("model_docs", i)+".doc_name", d.Name)
		}
		if d.URL == "" {
			return ParamRequired(indexed("model_docs", i) + ".doc_url")
		}
		if u, err := url.Parse(d.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return ParamInvalid(indexed("model_docs", i)+".doc_url", "not an http(s) URL")
		}
	}
	seen := map[string]bool{}
	for _, t := range m.InstallType {
		if _, ok := oneOf(t, InstallTypes, false); !ok || seen[t] {
			return ParamInvalid("install_type", t)
		}
		seen[t] = true
	}
	if typ == "Template" || m.Template != nil {
		if m.Template == nil {
			return ParamRequired("template")
		}
		if m.Template.TemplateID == "" {
			return ParamRequired("template.template_id")
		}
		if len(m.Template.Inputs) == 0 {
			return ParamRequired("template.template_inputs")
		}
		ids := map[string]bool{}
		for i, in := range m.Template.Inputs {
			f := indexed("template.template_inputs", i)
			if in.InputID == "" {
				return ParamRequired(f + ".input_id")
			}
			if in.Input == "" {
				return ParamRequired(f + ".input")
			}
			if ids[in.InputID] {
				return ParamInvalid(f+".input_id", "duplicate")
			}
			ids[in.InputID] = true
		}
	}
	return nil
}

func validateParams(field string, ps []Param) error {
	for i, p := range ps {
		f := indexed(field, i)
		switch {
		case p.URL == "":
			return ParamRequired(f + ".url")
		case p.Method == "":
			return ParamRequired(f + ".method")
		case p.Protocol == "":
			return ParamRequired(f + ".protocol")
		case p.ParamName == "":
			return ParamRequired(f + ".param_name")
		case p.ParamType == "":
			return ParamRequired(f + ".param_type")
		}
		if _, ok := oneOf(p.Method, []string{"post", "get"}, true); !ok {
			return ParamInvalid(f+".method", p.Method)
		}
		if _, ok := oneOf(p.ParamType, paramTypes, false); !ok {
			return ParamInvalid(f+".param_type", p.ParamType)
		}
		if utf8.RuneCountInString(p.ParamName) > 64 {
			return ParamInvalid(f+".param_name", "longer than 64 characters")
		}
		if utf8.RuneCountInString(p.ParamDesc) > 100 {
			return ParamInvalid(f+".param_desc", "longer than 100 characters")
		}
		numeric := p.ParamType == "int" || p.ParamType == "float"
		if !numeric && (p.Min != nil || p.Max != nil) {
			return ParamInvalid(f+".min", "min and max apply to int and float only")
		}
		if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
			return ParamInvalid(f+".min", "greater than max")
		}
		for _, v := range []namedValue{{".url", p.URL}, {".protocol", p.Protocol}} {
			if err := checkText(f+v.name, v.value, maxTextField); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateDependencies(deps []Dependency) error {
	for i, d := range deps {
		f := indexed("dependencies", i)
		if d.Installer == "" {
			return ParamRequired(f + ".installer")
		}
		if d.Installer != "pip" {
			return ParamInvalid(f+".installer", d.Installer)
		}
		if len(d.Packages) == 0 {
			return ParamRequired(f + ".packages")
		}
		for j, p := range d.Packages {
			pf := indexed(f+".packages", j)
			if p.Name == "" {
				return ParamRequired(pf + ".package_name")
			}
			if err := checkText(pf+".package_name", p.Name, 128); err != nil {
				return err
			}
			if err := checkText(pf+".package_version", p.Version, 64); err != nil {
				return err
			}
			if p.Version != "" && p.Restraint == "" {
				return ParamRequired(pf + ".restraint")
			}
			if _, ok := oneOf(p.Restraint, restraints, false); p.Restraint != "" && !ok {
				return ParamInvalid(pf+".restraint", p.Restraint)
			}
		}
	}
	return nil
}

func checkText(field, v string, max int) error {
	if len(v) > max {
		return ParamInvalid(field, "too long")
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, isControl) {
		return ParamInvalid(field, "contains a control character or invalid UTF-8")
	}
	return nil
}

func indexed(field string, i int) string {
	return field + "[" + itoa(i) + "]"
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}

func isJSONObject(s string) bool {
	var v map[string]any
	return json.Unmarshal([]byte(s), &v) == nil && v != nil
}

// ModelFilter selects models for FindModels. Empty strings mean "no filter".
type ModelFilter struct {
	ProjectID   string
	Name        string // substring, or exact when ExactMatch
	ExactMatch  bool
	Version     string // exact
	Description string // substring
	Status      string // lower case
	Type        string // canonical spelling
	NotType     string // canonical spelling
	WorkspaceID string
	Page        // SortBy: create_at (default), model_version, model_size
	// Marker is the opaque keyset continuation of a previous page
	// (modelreg extension): the page starts right after the model it
	// names. Validate decodes it into After; it excludes Offset.
	Marker string
	// After is the decoded Marker: nil for offset paging.
	After *ModelCursor
}

// Validate checks and normalises the filter: defaults, enums, case. It
// returns EINVALID ModelArts.0101 naming the parameter.
func (f *ModelFilter) Validate() error {
	if f.Type != "" && f.NotType != "" {
		return Invalid("Parameters model_type and not_model_type cannot be used together.")
	}
	if f.Status != "" {
		s, ok := oneOf(strings.ToLower(f.Status), ModelStatuses, false)
		if !ok {
			return Invalid("Invalid parameter model_status: %q.", f.Status)
		}
		f.Status = s
	}
	for _, t := range []*string{&f.Type, &f.NotType} {
		if *t == "" {
			continue
		}
		c, ok := CanonicalModelType(*t)
		if !ok {
			name := "model_type"
			if t == &f.NotType {
				name = "not_model_type"
			}
			return Invalid("Invalid parameter %s: %q.", name, *t)
		}
		*t = c
	}
	if err := f.Page.validate(DefaultModelLimit, ModelSortCreateAt, ModelSortVersion, ModelSortSize); err != nil {
		return err
	}
	f.After = nil
	if f.Marker != "" {
		if f.Offset != 0 {
			return Invalid("Parameters marker and offset cannot be used together.")
		}
		c, err := DecodeModelCursor(f.Marker)
		if err != nil {
			return err
		}
		if c.SortBy != f.SortBy || c.Order != f.Order {
			return Invalid("Invalid parameter marker: it continues a list sorted by %s %s, not by %s %s.",
				c.SortBy, c.Order, f.SortBy, f.Order)
		}
		f.After = &c
	}
	return nil
}

// SortKey returns the value m is sorted by under sortBy (create_at,
// model_version or model_size).
func SortKey(m *ModelSummary, sortBy string) int64 {
	switch sortBy {
	case ModelSortVersion:
		return int64(VersionKey(m.Version))
	case ModelSortSize:
		return m.Size
	}
	return m.CreateAt
}

// NextMarker returns the marker of the page after page, a page of f: ""
// when page is not full, so that no further page can exist.
func (f *ModelFilter) NextMarker(page []*ModelSummary) string {
	if len(page) == 0 || len(page) < f.Limit {
		return ""
	}
	last := page[len(page)-1]
	return ModelCursor{SortBy: f.SortBy, Order: f.Order, Key: SortKey(last, f.SortBy), ID: last.ID}.Encode()
}

// ModelList is the response of the model list.
type ModelList struct {
	TotalCount int             `json:"total_count"`
	Count      int             `json:"count"`
	Models     []*ModelSummary `json:"models"`
	// NextMarker continues the list after this page (modelreg
	// extension): pass it as marker. Absent when the page is not full.
	NextMarker string `json:"next_marker,omitempty"`
}

// ModelFile is one file of a model's artifact: its path inside the model
// folder and the content-addressed blob holding it.
type ModelFile struct {
	Path   string `json:"path"`
	Digest string `json:"digest"` // hex sha256
	Size   int64  `json:"size"`
}

// ApplyConfig records a model's configuration document (its config.json,
// or the initial_config of the import request) and fills the details the
// request left empty from it: runtime, model_algorithm, model_metrics
// (from "metrics"), apis and dependencies. Fields the request set win.
// A config that is not a JSON object is kept as text and fills nothing.
func (m *Model) ApplyConfig(config string) {
	if config == "" {
		return
	}
	m.Config = config
	var c struct {
		Runtime        string          `json:"runtime"`
		ModelAlgorithm string          `json:"model_algorithm"`
		Metrics        json.RawMessage `json:"metrics"`
		APIs           json.RawMessage `json:"apis"`
		Dependencies   []Dependency    `json:"dependencies"`
	}
	if json.Unmarshal([]byte(config), &c) != nil {
		// Fields of unexpected types: take what decodes one field at a time.
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(config), &fields) != nil {
			return
		}
		_ = json.Unmarshal(fields["runtime"], &c.Runtime)
		_ = json.Unmarshal(fields["model_algorithm"], &c.ModelAlgorithm)
		c.Metrics, c.APIs = fields["metrics"], fields["apis"]
		_ = json.Unmarshal(fields["dependencies"], &c.Dependencies)
	}
	if m.Runtime == "" {
		m.Runtime = c.Runtime
	}
	if m.ModelAlgorithm == "" {
		m.ModelAlgorithm = c.ModelAlgorithm
	}
	if m.ModelMetrics == "" && isJSONObject(string(c.Metrics)) {
		m.ModelMetrics = string(c.Metrics)
	}
	if m.APIs == "" && len(c.APIs) > 0 && c.APIs[0] == '[' {
		m.APIs = string(c.APIs)
	}
	if len(m.Dependencies) == 0 && len(c.Dependencies) > 0 {
		m.Dependencies = c.Dependencies
	}
}

// MaxModelNames is the most names one FindModelNames call (GET
// /modelreg/v1/{project_id}/model-names) asks about: a page of the
// console's models page holds fewer.
const MaxModelNames = 100

// ModelNameFilter asks for the aggregates of some names of a project
// (modelreg extension): of each name, the versions matching the other
// fields, as ModelFilter matches them.
type ModelNameFilter struct {
	ProjectID   string
	Names       []string // exact names, 1..MaxModelNames, no repeats
	Description string   // substring
	Status      string   // lower case
	Type        string   // canonical spelling
}

// Validate checks and normalises the filter (ModelArts.0101 naming the
// parameter).
func (f *ModelNameFilter) Validate() error {
	if len(f.Names) == 0 {
		return Invalid("Parameter model_name is required: the names to aggregate.")
	}
	if len(f.Names) > MaxModelNames {
		return Invalid("Invalid parameter model_name: at most %d names.", MaxModelNames)
	}
	seen := make(map[string]bool, len(f.Names))
	for _, n := range f.Names {
		if n == "" {
			return Invalid("Invalid parameter model_name: empty.")
		}
		if seen[n] {
			return Invalid("Invalid parameter model_name: %q is given twice.", n)
		}
		seen[n] = true
	}
	mf := ModelFilter{Status: f.Status, Type: f.Type}
	if err := mf.Validate(); err != nil {
		return err
	}
	f.Status, f.Type = mf.Status, mf.Type
	return nil
}

// ModelName is what the versions of one name matching a ModelNameFilter
// have in common: how many there are, the newest of them (greatest
// create_at, ties by greatest id), and whether any of them is used by a
// service or protected.
type ModelName struct {
	Name         string        `json:"model_name"`
	VersionCount int           `json:"version_count"`
	Newest       *ModelSummary `json:"newest"`
	Deployed     bool          `json:"deployed"`
	Protected    bool          `json:"protected"`
}

// ModelNameList is the answer of GET /modelreg/v1/{project_id}/model-names:
// the aggregates of the names asked that have a matching version, in the
// order asked.
type ModelNameList struct {
	Count int          `json:"count"`
	Names []*ModelName `json:"model_names"`
}
