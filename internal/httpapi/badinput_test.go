package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/httpapi"
	"github.com/modelreg/modelreg/internal/importer"
)

// Codes the bad-input tables expect.
const (
	c0015 = "ModelArts.0015"
	c0101 = modelreg.CodeInvalidArgument
	c0104 = modelreg.CodeRequestTooLarge
	c3001 = modelreg.CodeModelNotFound
	c3002 = modelreg.CodeModelExists
	c3017 = modelreg.CodeSourceInvalid
	c3036 = modelreg.CodeParamRequired
	c3037 = modelreg.CodeParamInvalid
	c3078 = modelreg.CodeModelAbnormal
	c3502 = modelreg.CodeServiceNotFound
	c3503 = modelreg.CodeServiceExists
	c3507 = modelreg.CodeServiceModelGone
	c3515 = modelreg.CodeModelPublishing
	c3516 = modelreg.CodeDuplicateVersion
	c3519 = modelreg.CodeServiceState
	c3547 = modelreg.CodeClusterNotFound
	c3954 = modelreg.CodeFlavorNotFound
	c0412 = modelreg.CodePreconditionFailed
)

// badFixture is the world the bad-input tables run against.
type badFixture struct {
	published, publishing, failed, theirs string // models; theirs is in projectB
	running, stuck, theirService          string // services; stuck stays deploying
	unknown                               string // a valid id nothing has
}

// stuckDeployer leaves services whose name starts with "stuck" deploying
// and runs the others at once.
type stuckDeployer struct{ next modelreg.Deployer }

func (d stuckDeployer) Deploy(ctx context.Context, s *modelreg.Service) error {
	if strings.HasPrefix(s.Name, "stuck") {
		return nil
	}
	return d.next.Deploy(ctx, s)
}

// MustBadFixture starts a server whose CheckSource refuses file:// sources
// and fills it with one resource in every state a refusal depends on.
func MustBadFixture(t *testing.T) (*testEnv, badFixture) {
	t.Helper()
	e := MustServe(t, func(cfg *httpapi.Config) {
		cfg.Deployer = stuckDeployer{next: &modelreg.InstantDeployer{Services: cfg.Store}}
		cfg.CheckSource = func(loc string) error {
			if strings.HasPrefix(loc, "file://") {
				return modelreg.Errorf(modelreg.EINVALID, modelreg.CodeSourceInvalid,
					"Parameter (source_location) is invalid: %s is outside the import roots.", loc)
			}
			return nil
		}
	})
	var f badFixture
	f.published = MustImportPublished(t, e, e.c, "base", "1.0.0")
	f.publishing = MustImport(t, e.c, newImport("importing", "1.0.0"))
	f.failed = MustImport(t, e.c, newImport("broken", "1.0.0"))
	MustFinishImport(t, e.store, f.failed, modelreg.ImportResult{Status: modelreg.ModelFailed, Reason: "bad file"})
	f.theirs = MustImportPublished(t, e, e.cb, "theirs", "1.0.0")
	f.running = MustDeploy(t, e.c, "taken", f.published)
	f.stuck = MustDeploy(t, e.c, "stuck", f.published)
	f.theirService = MustDeploy(t, e.cb, "their-service", f.theirs)
	f.unknown = modelreg.NewID()
	return e, f
}

// with returns a copy of base with the given fields set (a nil value
// deletes the field).
func with(base map[string]any, kv ...any) map[string]any {
	m := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

// Bad path parameters, shared by the tables.
const (
	badProjectUpper = "/v1/0123456789ABCDEF0123456789ABCDEF/"
	badProjectShort = "/v1/0123456789abcdef0123456789abcde/"
	badProjectHex   = "/v1/0123456789abcdefg123456789abcdef/"
)

// oversize returns a JSON body just over 1 MiB.
func oversize() []byte {
	return []byte(`{"model_name":"` + strings.Repeat("a", 1<<20) + `"}`)
}

// chunked hides the length of a body, so the server finds out by reading.
type chunked struct{ r *bytes.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestBadInputModelCreate(t *testing.T) { eachStore(t, testBadInputModelCreate) }

func testBadInputModelCreate(t *testing.T) {
	e, f := MustBadFixture(t)
	base := map[string]any{"model_name": "fresh", "model_version": "1.0.0", "model_type": "TensorFlow",
		"source_location": "obs://bucket/fresh"}
	param := func(kv ...any) map[string]any {
		p := map[string]any{"url": "/", "method": "post", "protocol": "http", "param_name": "x", "param_type": "string"}
		return with(p, kv...)
	}
	pip := func(pkgs ...any) []any { return []any{map[string]any{"installer": "pip", "packages": pkgs}} }
	doc := map[string]any{"doc_name": "readme", "doc_url": "https://example.com/r"}
	post := func(name string, body any, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodPost, path: "models", body: body, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		{name: "BadProjectUpper", method: http.MethodPost, path: badProjectUpper + "models", body: base, status: 400, code: c0101, msg: "project_id"},
		{name: "BadProjectShort", method: http.MethodPost, path: badProjectShort + "models", body: base, status: 400, code: c0101, msg: "project_id"},
		{name: "BadProjectBeforeBody", method: http.MethodPost, path: badProjectHex + "models", body: []byte("{"), status: 400, code: c0101, msg: "project_id"},

		post("NameMissing", with(base, "model_name", nil), 400, c3036, "model_name"),
		post("NameEmpty", with(base, "model_name", ""), 400, c3036, "model_name"),
		post("NameBadChars", with(base, "model_name", "bad name!"), 400, c3037, "model_name"),
		post("NameTooLong", with(base, "model_name", strings.Repeat("n", 65)), 400, c3037, "model_name"),
		post("VersionMissing", with(base, "model_version", nil), 400, c3036, "model_version"),
		post("VersionLeadingZero", with(base, "model_version", "01.0.0"), 400, c3037, "model_version"),
		post("VersionTwoParts", with(base, "model_version", "1.0"), 400, c3037, "model_version"),
		post("VersionTooBig", with(base, "model_version", "100.0.0"), 400, c3037, "model_version"),
		post("TypeMissing", with(base, "model_type", nil), 400, c3036, "model_type"),
		post("TypeUnknown", with(base, "model_type", "Keras"), 400, c3037, "model_type"),
		post("RuntimeUnknown", with(base, "runtime", "python3.99"), 400, c3037, "runtime"),
		post("RuntimeOfAnotherEngine", with(base, "runtime", "pytorch1.4-python3.7"), 400, c3037, "runtime"),
		post("SourceMissing", with(base, "source_location", nil), 400, c3036, "source_location"),
		post("SourceControlChar", with(base, "source_location", "obs://b/\x01"), 400, c3037, "source_location"),
		post("SourceOutsideRoots", with(base, "source_location", "file:///etc/passwd"), 400, c3017, "source_location"),
		post("SourceType", with(base, "source_type", "manual"), 400, c3037, "source_type"),
		post("DescriptionForbiddenChar", with(base, "description", "<b>bold</b>"), 400, c3037, "description"),
		post("DescriptionTooLong", with(base, "description", strings.Repeat("d", 101)), 400, c3037, "description"),
		post("Algorithm", with(base, "model_algorithm", "1abc"), 400, c3037, "model_algorithm"),
		post("Workspace", with(base, "workspace_id", "bad ws"), 400, c3037, "workspace_id"),
		post("RuntimeTooLong", with(base, "runtime", strings.Repeat("r", 1025)), 400, c3037, "runtime"),
		post("InputParamURLMissing", with(base, "input_params", []any{param("url", nil)}), 400, c3036, "input_params[0].url"),
		post("InputParamMethodMissing", with(base, "input_params", []any{param("method", nil)}), 400, c3036, "input_params[0].method"),
		post("InputParamMethod", with(base, "input_params", []any{param(), param("method", "put")}), 400, c3037, "input_params[1].method"),
		post("InputParamType", with(base, "input_params", []any{param("param_type", "blob")}), 400, c3037, "param_type"),
		post("OutputParamMinOnString", with(base, "output_params", []any{param("min", 1)}), 400, c3037, "output_params[0].min"),
		post("OutputParamMinOverMax", with(base, "output_params", []any{param("param_type", "int", "min", 5, "max", 1)}), 400, c3037, "min"),
		post("DependencyInstallerMissing", with(base, "dependencies", []any{map[string]any{"packages": []any{map[string]any{"package_name": "numpy"}}}}), 400, c3036, "installer"),
		post("DependencyInstaller", with(base, "dependencies", []any{map[string]any{"installer": "conda", "packages": []any{map[string]any{"package_name": "numpy"}}}}), 400, c3037, "installer"),
		post("DependencyPackagesMissing", with(base, "dependencies", pip()), 400, c3036, "packages"),
		post("DependencyPackageName", with(base, "dependencies", pip(map[string]any{"package_version": "1.0"})), 400, c3036, "package_name"),
		post("DependencyRestraintMissing", with(base, "dependencies", pip(map[string]any{"package_name": "numpy", "package_version": "1.0"})), 400, c3036, "restraint"),
		post("DependencyRestraint", with(base, "dependencies", pip(map[string]any{"package_name": "numpy", "package_version": "1.0", "restraint": "ABOUT"})), 400, c3037, "restraint"),
		post("MetricsNotJSON", with(base, "model_metrics", "accuracy=1"), 400, c3037, "model_metrics"),
		post("InitialConfigNotObject", with(base, "initial_config", "[1]"), 400, c3037, "initial_config"),
		post("APIsNotObject", with(base, "apis", []any{1}), 400, c3037, "apis[0]"),
		post("APIsMethod", with(base, "apis", []any{map[string]any{"method": "PUT"}}), 400, c3037, "apis[0].method"),
		post("DocsTooMany", with(base, "model_docs", []any{doc, doc, doc, doc}), 400, c3037, "model_docs"),
		post("DocNameMissing", with(base, "model_docs", []any{with(doc, "doc_name", nil)}), 400, c3036, "doc_name"),
		post("DocName", with(base, "model_docs", []any{with(doc, "doc_name", "1st")}), 400, c3037, "doc_name"),
		post("DocURL", with(base, "model_docs", []any{with(doc, "doc_url", "ftp://example.com/r")}), 400, c3037, "doc_url"),
		post("InstallType", with(base, "install_type", []any{"edge"}), 400, c3037, "install_type"),
		post("InstallTypeTwice", with(base, "install_type", []any{"batch", "batch"}), 400, c3037, "install_type"),
		post("TemplateMissing", with(base, "model_type", "Template", "source_location", nil), 400, c3036, "template"),
		post("TemplateIDMissing", with(base, "template", map[string]any{"template_inputs": []any{map[string]any{"input_id": "a", "input": "obs://b/a"}}}), 400, c3036, "template_id"),
		post("TemplateInputsMissing", with(base, "template", map[string]any{"template_id": "t"}), 400, c3036, "template_inputs"),
		post("TemplateInputDuplicate", with(base, "template", map[string]any{"template_id": "t", "template_inputs": []any{
			map[string]any{"input_id": "a", "input": "obs://b/a"}, map[string]any{"input_id": "a", "input": "obs://b/b"}}}), 400, c3037, "input_id"),
		post("DuplicateNameVersion", with(base, "model_name", "base"), 409, c3002, "base"),
		post("SameNameVersionAsPublishing", with(base, "model_name", "importing"), 409, c3002, "importing"),

		post("MalformedTruncated", []byte(`{"model_name":`), 400, c3037, "body"),
		post("MalformedNotJSON", []byte(`model_name=x`), 400, c3037, "body"),
		post("MalformedSyntax", []byte(`{"model_name" "x"}`), 400, c3037, "malformed JSON"),
		post("BodyArray", []byte(`[]`), 400, c3037, "JSON object"),
		post("BodyNull", []byte(`null`), 400, c3037, "JSON object"),
		post("BodyString", []byte(`"hello"`), 400, c3037, "JSON object"),
		post("BodyEmpty", []byte{}, 400, c3037, "JSON object"),
		post("BodyWhitespace", []byte(" \n "), 400, c3037, "JSON object"),
		post("TrailingObject", []byte(`{"model_name":"x"} {"model_name":"y"}`), 400, c3037, "after the JSON object"),
		post("TrailingGarbage", []byte(`{"model_name":"x"}garbage`), 400, c3037, "after the JSON object"),
		post("TypeName", with(base, "model_name", 5), 400, c3037, "model_name:must be a string"),
		post("TypeInputParams", with(base, "input_params", "x"), 400, c3037, "input_params:must be an array"),
		post("TypeNestedMin", with(base, "input_params", []any{param("param_type", "int", "min", "low")}), 400, c3037, "input_params.min:must be a number"),
		post("TypeInstallType", with(base, "install_type", "batch"), 400, c3037, "install_type"),
		post("TypeTemplate", with(base, "template", []any{}), 400, c3037, "template:must be an object"),
		post("TypeDescriptionNull", []byte(`{"model_name":"fresh","model_version":"1.0.0","model_type":"TensorFlow","source_location":"obs://b/f","description":{}}`), 400, c3037, "description"),
		post("OversizeContentLength", oversize(), 413, c0104, "larger than"),
		post("OversizeChunked", chunked{bytes.NewReader(oversize())}, 413, c0104, "larger than"),
	})
	_ = f
}

func TestBadInputModelList(t *testing.T) { eachStore(t, testBadInputModelList) }

func testBadInputModelList(t *testing.T) {
	e, _ := MustBadFixture(t)
	list := func(name, query string, msg string) badCase {
		return badCase{name: name, method: http.MethodGet, path: "models", query: query, status: 400, code: c0101, msg: msg}
	}
	runBadCases(t, e, []badCase{
		{name: "BadProject", method: http.MethodGet, path: badProjectUpper + "models", status: 400, code: c0101, msg: "project_id"},
		list("LimitZero", "limit=0", "limit"),
		list("LimitNegative", "limit=-1", "limit"),
		list("LimitTooBig", "limit=1001", "limit"),
		list("LimitNotInteger", "limit=abc", "limit"),
		list("LimitFloat", "limit=1.5", "limit"),
		list("LimitEmpty", "limit=", "limit"),
		list("LimitRepeated", "limit=1&limit=2", "limit"),
		list("OffsetNegative", "offset=-1", "offset"),
		list("OffsetNotInteger", "offset=abc", "offset"),
		list("OffsetOverflow", "offset=99999999999999999999", "offset"),
		list("OffsetTooLarge", "offset=2147483647&limit=1000", "offset"),
		list("TypeAndNotType", "model_type=PyTorch&not_model_type=Image", "model_type"),
		list("TypeUnknown", "model_type=Keras", "model_type"),
		list("NotTypeUnknown", "not_model_type=Keras", "not_model_type"),
		list("Status", "model_status=deleted", "model_status"),
		list("SortBy", "sort_by=name", "sort_by"),
		list("Order", "order=up", "order"),
		list("ExactMatchYes", "exact_match=yes", "exact_match"),
		list("ExactMatchOne", "exact_match=1", "exact_match"),
		list("ExactMatchEmpty", "exact_match=", "exact_match"),
		list("NameRepeated", "model_name=a&model_name=b", "model_name"),
		list("NameControlChar", "model_name=a%01b", "model_name"),
		list("NameInvalidUTF8", "model_name=%ff", "model_name"),
	})
}

func TestBadInputModelGet(t *testing.T) { eachStore(t, testBadInputModelGet) }

func testBadInputModelGet(t *testing.T) {
	e, f := MustBadFixture(t)
	get := func(name, path string, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodGet, path: path, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		get("BadProjectUpper", badProjectUpper+"models/"+f.published, 400, c0101, "project_id"),
		get("BadProjectShort", badProjectShort+"models/"+f.published, 400, c0101, "project_id"),
		get("BadProjectHex", badProjectHex+"models/"+f.published, 400, c0101, "project_id"),
		get("BadProjectAndBadID", badProjectHex+"models/x", 400, c0101, "project_id"),
		get("BadIDShort", "models/abc", 400, c0101, "model_id"),
		get("BadIDUpper", "models/"+strings.ToUpper(f.published), 400, c0101, "model_id"),
		get("BadIDVersion1", "models/6ba7b810-9dad-11d1-80b4-00c04fd430c8", 400, c0101, "model_id"),
		get("BadIDBraces", "models/{"+f.published+"}", 400, c0101, "model_id"),
		get("Unknown", "models/"+f.unknown, 404, c3001, f.unknown),
		get("OtherProject", "models/"+f.theirs, 404, c3001, f.theirs),
		get("SubresourceUnknown", "models/"+f.published+"/files", 404, c0015, ""),
	})
}

func TestBadInputModelDelete(t *testing.T) { eachStore(t, testBadInputModelDelete) }

func testBadInputModelDelete(t *testing.T) {
	e, f := MustBadFixture(t)
	del := func(name, path, query string, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodDelete, path: path, query: query, status: status, code: code, msg: msg}
	}
	m := "models/" + f.published
	runBadCases(t, e, []badCase{
		del("BadProject", badProjectUpper+m, "", 400, c0101, "project_id"),
		del("BadID", "models/not-a-uuid", "", 400, c0101, "model_id"),
		del("BadIDBeforeCascade", "models/not-a-uuid", "cascade=maybe", 400, c0101, "model_id"),
		del("CascadeYes", m, "cascade=yes", 400, c0101, "cascade"),
		del("CascadeOne", m, "cascade=1", 400, c0101, "cascade"),
		del("CascadeEmpty", m, "cascade=", 400, c0101, "cascade"),
		del("CascadeRepeated", m, "cascade=true&cascade=true", 400, c0101, "cascade"),
		del("CascadeSpace", m, "cascade=true%20", 400, c0101, "cascade"),
		del("Unknown", "models/"+f.unknown, "", 404, c3001, f.unknown),
		del("UnknownCascade", "models/"+f.unknown, "cascade=true", 404, c3001, f.unknown),
		del("OtherProject", "models/"+f.theirs, "", 404, c3001, f.theirs),
		del("OtherProjectCascade", "models/"+f.theirs, "cascade=true", 404, c3001, f.theirs),
		del("DryRunYes", m, "dry_run=yes", 400, c0101, "dry_run"),
		del("DryRunEmpty", m, "dry_run=", 400, c0101, "dry_run"),
		del("DryRunOne", m, "cascade=true&dry_run=1", 400, c0101, "dry_run"),
		del("DryRunRepeated", m, "dry_run=true&dry_run=false", 400, c0101, "dry_run"),
		del("DryRunUnknown", "models/"+f.unknown, "dry_run=true", 404, c3001, f.unknown),
		del("DryRunOtherProject", "models/"+f.theirs, "dry_run=TRUE&cascade=true", 404, c3001, f.theirs),
	})
	ifm := func(name, header, query string, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodDelete, path: m, query: query, ifMatch: header, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		ifm("IfMatchUnquoted", "abc", "", 400, c0101, "If-Match"),
		ifm("IfMatchOpenQuote", `"abc`, "", 400, c0101, "If-Match"),
		ifm("IfMatchStarInList", `*, "abc"`, "", 400, c0101, "If-Match"),
		ifm("IfMatchEmptyElement", `"abc",,"def"`, "", 400, c0101, "If-Match"),
		ifm("IfMatchInnerQuote", `"a"b"`, "", 400, c0101, "If-Match"),
		ifm("IfMatchStale", `"0123456789abcdef0123456789abcdef"`, "", 412, c0412, "If-Match"),
		ifm("IfMatchWeak", `W/"0123456789abcdef0123456789abcdef"`, "cascade=true", 412, c0412, "If-Match"),
		ifm("IfMatchStaleDryRun", `"x"`, "dry_run=true", 412, c0412, "If-Match"),
	})
}

func TestBadInputServiceCreate(t *testing.T) { eachStore(t, testBadInputServiceCreate) }

func testBadInputServiceCreate(t *testing.T) {
	e, f := MustBadFixture(t)
	entry := func(kv ...any) map[string]any {
		c := map[string]any{"model_id": f.published, "weight": 100, "specification": "modelarts.vm.cpu.2u", "instance_count": 1}
		return with(c, kv...)
	}
	batchEntry := func(kv ...any) map[string]any {
		c := map[string]any{"model_id": f.published, "specification": "modelarts.vm.cpu.2u", "instance_count": 1,
			"src_path": "obs://b/in", "dest_path": "obs://b/out", "req_uri": "/", "mapping_type": "file"}
		return with(c, kv...)
	}
	base := map[string]any{"service_name": "fresh", "infer_type": "real-time", "config": []any{entry()}}
	batch := with(base, "infer_type", "batch", "config", []any{batchEntry()})
	post := func(name string, body any, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodPost, path: "services", body: body, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		{name: "BadProject", method: http.MethodPost, path: badProjectShort + "services", body: base, status: 400, code: c0101, msg: "project_id"},
		post("NameMissing", with(base, "service_name", nil), 400, c3036, "service_name"),
		post("NameBad", with(base, "service_name", "a b"), 400, c3037, "service_name"),
		post("InferTypeMissing", with(base, "infer_type", nil), 400, c3036, "infer_type"),
		post("InferTypeEdge", with(base, "infer_type", "edge"), 400, c3037, "infer_type"),
		post("DescriptionBad", with(base, "description", "a&b"), 400, c3037, "description"),
		post("WorkspaceBad", with(base, "workspace_id", "a b"), 400, c3037, "workspace_id"),
		post("VpcWithoutSubnet", with(base, "vpc_id", "vpc-1"), 400, c3036, "subnet_network_id"),
		post("VpcWithoutSecurityGroup", with(base, "vpc_id", "vpc-1", "subnet_network_id", "s"), 400, c3036, "security_group_id"),
		post("ConfigMissing", with(base, "config", nil), 400, c3036, "config"),
		post("ConfigEmpty", with(base, "config", []any{}), 400, c3036, "config"),
		post("ModelIDMissing", with(base, "config", []any{entry("model_id", nil)}), 400, c3036, "config[0].model_id"),
		post("ModelIDBad", with(base, "config", []any{entry("model_id", "m1")}), 400, c3037, "config[0].model_id"),
		post("SpecificationMissing", with(base, "config", []any{entry("specification", nil)}), 400, c3036, "specification"),
		post("CustomSpecMissing", with(base, "config", []any{entry("specification", "custom")}), 400, c3036, "custom_spec"),
		post("CustomSpecTooSmall", with(base, "config", []any{entry("specification", "custom", "custom_spec", map[string]any{"cpu": 0, "memory": 1})}), 400, c3037, "custom_spec"),
		post("InstanceCountZero", with(base, "config", []any{entry("instance_count", 0)}), 400, c3037, "instance_count"),
		post("InstanceCountTooMany", with(base, "config", []any{entry("instance_count", 129)}), 400, c3037, "instance_count"),
		post("WeightsNot100", with(base, "config", []any{entry("weight", 50)}), 400, c3037, "weight"),
		post("WeightsOver100", with(base, "config", []any{entry("weight", 101)}), 400, c3037, "weight"),
		post("WeightNotNumber", with(base, "config", []any{entry("weight", "heavy")}), 400, c3037, "config.weight:must be an integer"),
		post("InstanceCountString", with(base, "config", []any{entry("instance_count", "1")}), 400, c3037, "config.instance_count:must be an integer"),
		post("ConfigObject", with(base, "config", map[string]any{}), 400, c3037, "config:must be an array"),
		post("ScheduleOnBatch", with(batch, "schedule", []any{map[string]any{"type": "stop", "time_unit": "HOURS", "duration": 1}}), 400, c3037, "schedule"),
		post("ScheduleUnit", with(base, "schedule", []any{map[string]any{"type": "stop", "time_unit": "WEEKS", "duration": 1}}), 400, c3037, "time_unit"),
		post("ScheduleDuration", with(base, "schedule", []any{map[string]any{"type": "stop", "time_unit": "HOURS", "duration": 0}}), 400, c3037, "duration"),
		post("BatchTwoEntries", with(batch, "config", []any{batchEntry(), batchEntry("model_id", f.publishing)}), 400, c3037, "config"),
		post("BatchSrcPathMissing", with(batch, "config", []any{batchEntry("src_path", nil)}), 400, c3036, "src_path"),
		post("BatchMappingType", with(batch, "config", []any{batchEntry("mapping_type", "json")}), 400, c3037, "mapping_type"),
		post("DuplicateModel", with(base, "config", []any{entry("weight", 50), entry("weight", 50)}), 400, c3516, ""),
		post("UnknownModel", with(base, "config", []any{entry("model_id", f.unknown)}), 404, c3507, f.unknown),
		post("OtherProjectModel", with(base, "config", []any{entry("model_id", f.theirs)}), 404, c3507, f.theirs),
		post("PublishingModel", with(base, "config", []any{entry("model_id", f.publishing)}), 400, c3515, f.publishing),
		post("FailedModel", with(base, "config", []any{entry("model_id", f.failed)}), 400, c3078, f.failed),
		post("NameTaken", with(base, "service_name", "taken"), 409, c3503, "taken"),
		post("SpecUnknown", with(base, "config", []any{entry("specification", "modelarts.vm.cpu.64u")}), 400, c3954, "modelarts.vm.cpu.64u"),
		post("ClusterUnknown", with(base, "cluster_id", "pool-9"), 400, c3547, "pool-9"),
		post("ClusterOfAnotherProject", with(base, "cluster_id", "pool-b"), 400, c3547, "pool-b"),
		post("EntryClusterUnknown", with(base, "config", []any{entry("cluster_id", "pool-9")}), 400, c3547, "pool-9"),
		post("Malformed", []byte(`{"service_name":"x",}`), 400, c3037, "malformed JSON"),
		post("Trailing", []byte(`{"service_name":"x"}]`), 400, c3037, "after the JSON object"),
		post("Oversize", oversize(), 413, c0104, ""),
	})
}

func TestBadInputServiceList(t *testing.T) { eachStore(t, testBadInputServiceList) }

func testBadInputServiceList(t *testing.T) {
	e, _ := MustBadFixture(t)
	list := func(name, query, msg string) badCase {
		return badCase{name: name, method: http.MethodGet, path: "services", query: query, status: 400, code: c0101, msg: msg}
	}
	runBadCases(t, e, []badCase{
		{name: "BadProject", method: http.MethodGet, path: badProjectHex + "services", status: 400, code: c0101, msg: "project_id"},
		list("LimitZero", "limit=0", "limit"),
		list("LimitTooBig", "limit=1001", "limit"),
		list("LimitNotInteger", "limit=ten", "limit"),
		list("OffsetNegative", "offset=-1", "offset"),
		list("Status", "status=sleeping", "status"),
		list("StatusRepeated", "status=running&status=stopped", "status"),
		list("InferType", "infer_type=edge", "infer_type"),
		list("ServiceID", "service_id=abc", "service_id"),
		list("ModelID", "model_id=abc", "model_id"),
		list("SortBy", "sort_by=status", "sort_by"),
		list("Order", "order=random", "order"),
	})
}

func TestBadInputServiceGet(t *testing.T) { eachStore(t, testBadInputServiceGet) }

func testBadInputServiceGet(t *testing.T) {
	e, f := MustBadFixture(t)
	get := func(name, path string, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodGet, path: path, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		get("BadProject", badProjectUpper+"services/"+f.running, 400, c0101, "project_id"),
		get("BadID", "services/abc", 400, c0101, "service_id"),
		get("CommaListNotAllowed", "services/"+f.running+","+f.stuck, 400, c0101, "service_id"),
		get("Unknown", "services/"+f.unknown, 404, c3502, f.unknown),
		get("OtherProject", "services/"+f.theirService, 404, c3502, f.theirService),
	})
}

func TestBadInputServiceUpdate(t *testing.T) { eachStore(t, testBadInputServiceUpdate) }

func testBadInputServiceUpdate(t *testing.T) {
	e, f := MustBadFixture(t)
	entry := func(model string) []any {
		return []any{map[string]any{"model_id": model, "weight": 100, "specification": "modelarts.vm.cpu.2u", "instance_count": 1}}
	}
	put := func(name, id string, body any, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodPut, path: "services/" + id, body: body, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		{name: "BadProject", method: http.MethodPut, path: badProjectUpper + "services/" + f.running, body: map[string]any{}, status: 400, code: c0101, msg: "project_id"},
		put("BadID", "abc", map[string]any{"status": "stopped"}, 400, c0101, "service_id"),
		put("Unknown", f.unknown, map[string]any{"status": "stopped"}, 404, c3502, f.unknown),
		put("OtherProject", f.theirService, map[string]any{"status": "stopped"}, 404, c3502, f.theirService),
		put("StatusPaused", f.running, map[string]any{"status": "paused"}, 400, c3037, "status"),
		put("StatusDeploying", f.running, map[string]any{"status": "deploying"}, 400, c3037, "status"),
		put("StatusWrongCase", f.running, map[string]any{"status": "STOPPED"}, 400, c3037, "status"),
		put("StatusNumber", f.running, map[string]any{"status": 1}, 400, c3037, "status:must be a string"),
		put("DescriptionBad", f.running, map[string]any{"description": "<script>"}, 400, c3037, "description"),
		put("ConfigWeights", f.running, map[string]any{"config": []any{map[string]any{"model_id": f.published, "weight": 10, "specification": "s", "instance_count": 1}}}, 400, c3037, "weight"),
		put("ConfigSpecUnknown", f.running, map[string]any{"config": []any{map[string]any{"model_id": f.published, "weight": 100, "specification": "s", "instance_count": 1}}}, 400, c3954, "s"),
		put("ConfigClusterUnknown", f.running, map[string]any{"config": []any{map[string]any{"model_id": f.published, "weight": 100, "specification": "modelarts.vm.cpu.2u", "instance_count": 1, "cluster_id": "pool-9"}}}, 400, c3547, "pool-9"),
		put("ConfigUnknownModel", f.running, map[string]any{"config": entry(f.unknown)}, 404, c3507, f.unknown),
		put("ConfigOtherProjectModel", f.running, map[string]any{"config": entry(f.theirs)}, 404, c3507, f.theirs),
		put("ConfigPublishingModel", f.running, map[string]any{"config": entry(f.publishing)}, 400, c3515, f.publishing),
		put("StartDeploying", f.stuck, map[string]any{"status": "running"}, 400, c3519, f.stuck),
		put("ConfigWhileDeploying", f.stuck, map[string]any{"config": entry(f.published)}, 400, c3519, f.stuck),
		put("ScheduleBad", f.running, map[string]any{"schedule": []any{map[string]any{"type": "start", "time_unit": "HOURS", "duration": 1}}}, 400, c3037, "schedule[0].type"),
		put("Malformed", f.running, []byte(`{"status":`), 400, c3037, "body"),
		put("BodyArray", f.running, []byte(`[{"status":"stopped"}]`), 400, c3037, "JSON object"),
		put("BodyEmpty", f.running, []byte(``), 400, c3037, "JSON object"),
		put("Oversize", f.running, oversize(), 413, c0104, ""),
		{name: "IfMatchMalformed", method: http.MethodPut, path: "services/" + f.running, body: map[string]any{"status": "stopped"},
			ifMatch: "stale", status: 400, code: c0101, msg: "If-Match"},
		{name: "IfMatchStale", method: http.MethodPut, path: "services/" + f.running, body: map[string]any{"status": "stopped"},
			ifMatch: `"stale"`, status: 412, code: c0412, msg: "If-Match"},
	})
}

func TestBadInputServiceDelete(t *testing.T) { eachStore(t, testBadInputServiceDelete) }

func testBadInputServiceDelete(t *testing.T) {
	e, f := MustBadFixture(t)
	del := func(name, ids string, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodDelete, path: "services/" + ids, status: status, code: code, msg: msg}
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = modelreg.NewID()
	}
	runBadCases(t, e, []badCase{
		{name: "BadProject", method: http.MethodDelete, path: badProjectUpper + "services/" + f.running, status: 400, code: c0101, msg: "project_id"},
		del("BadID", "abc", 400, c0101, "service_id"),
		del("OneUnknown", f.running+","+f.unknown, 404, c3502, f.unknown),
		del("UnknownFirst", f.unknown+","+f.running, 404, c3502, f.unknown),
		del("OneOtherProject", f.running+","+f.theirService, 404, c3502, f.theirService),
		del("OneBadID", f.running+",abc", 400, c0101, "service_id"),
		del("EmptyElement", f.running+",,"+f.stuck, 400, c0101, "service_id"),
		del("TrailingComma", f.running+",", 400, c0101, "service_id"),
		del("SpaceAfterComma", f.running+",%20"+f.stuck, 400, c0101, "service_id"),
		del("TooMany", strings.Join(many, ","), 400, c0101, "100"),
		{name: "IfMatchMalformed", method: http.MethodDelete, path: "services/" + f.running, ifMatch: `"a", *`, status: 400, code: c0101, msg: "If-Match"},
		{name: "IfMatchStale", method: http.MethodDelete, path: "services/" + f.running + "," + f.stuck, ifMatch: `"stale"`, status: 412, code: c0412, msg: "If-Match"},
	})
}

func TestBadInputProtection(t *testing.T) { eachStore(t, testBadInputProtection) }

func testBadInputProtection(t *testing.T) {
	e, f := MustBadFixture(t)
	path := func(id string) string { return "/modelreg/v1/" + projectA + "/models/" + id + "/protection" }
	put := func(name, id string, body any, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodPut, path: path(id), body: body, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		put("ProtectedMissing", f.published, map[string]any{"reason": "x"}, 400, c3036, "protected"),
		put("ProtectedNull", f.published, []byte(`{"protected":null}`), 400, c3036, "protected"),
		put("ProtectedString", f.published, map[string]any{"protected": "true"}, 400, c3037, "protected"),
		put("ReasonNumber", f.published, map[string]any{"protected": true, "reason": 5}, 400, c3037, "reason"),
		put("ReasonTooLong", f.published, map[string]any{"protected": true, "reason": strings.Repeat("é", 257)}, 400, c3037, "reason"),
		put("ReasonControlChar", f.published, map[string]any{"protected": true, "reason": "a\nb"}, 400, c3037, "reason"),
		put("Malformed", f.published, []byte(`{"protected":`), 400, c3037, "body"),
		put("BodyArray", f.published, []byte(`[true]`), 400, c3037, "JSON object"),
		put("BadID", "abc", map[string]any{"protected": true}, 400, c0101, "model_id"),
		put("Unknown", f.unknown, map[string]any{"protected": true}, 404, c3001, f.unknown),
		put("OtherProject", f.theirs, map[string]any{"protected": true}, 404, c3001, f.theirs),
		put("Oversize", f.published, oversize(), 413, c0104, ""),
		{name: "BadProject", method: http.MethodPut, path: "/modelreg/v1/0123456789ABCDEF0123456789ABCDEF/models/" + f.published + "/protection",
			body: map[string]any{"protected": true}, status: 400, code: c0101, msg: "project_id"},
		{name: "GetUnknown", method: http.MethodGet, path: path(f.unknown), status: 404, code: c3001, msg: f.unknown},
		{name: "GetBadID", method: http.MethodGet, path: path("abc"), status: 400, code: c0101, msg: "model_id"},
	})
}

func TestBadInputTrash(t *testing.T) { eachStore(t, testBadInputTrash) }

func testBadInputTrash(t *testing.T) {
	e, f := MustBadFixture(t)
	trash := "/modelreg/v1/" + projectA + "/trash"
	runBadCases(t, e, []badCase{
		{name: "ListLimitZero", method: http.MethodGet, path: trash, query: "limit=0", status: 400, code: c0101, msg: "limit"},
		{name: "ListLimitHigh", method: http.MethodGet, path: trash, query: "limit=1001", status: 400, code: c0101, msg: "limit"},
		{name: "ListOffsetNegative", method: http.MethodGet, path: trash, query: "offset=-1", status: 400, code: c0101, msg: "offset"},
		{name: "ListOffsetText", method: http.MethodGet, path: trash, query: "offset=one", status: 400, code: c0101, msg: "offset"},
		{name: "ListNameTooLong", method: http.MethodGet, path: trash, query: "model_name=" + strings.Repeat("n", 65), status: 400, code: c0101, msg: "model_name"},
		{name: "ListBadProject", method: http.MethodGet, path: "/modelreg/v1/0123456789ABCDEF0123456789ABCDEF/trash", status: 400, code: c0101, msg: "project_id"},
		{name: "RestoreNeverDeleted", method: http.MethodPost, path: trash + "/" + f.published + "/restore", status: 404, code: c3001, msg: f.published},
		{name: "RestoreUnknown", method: http.MethodPost, path: trash + "/" + f.unknown + "/restore", status: 404, code: c3001, msg: f.unknown},
		{name: "RestoreOtherProject", method: http.MethodPost, path: trash + "/" + f.theirs + "/restore", status: 404, code: c3001, msg: f.theirs},
		{name: "RestoreBadID", method: http.MethodPost, path: trash + "/abc/restore", status: 400, code: c0101, msg: "model_id"},
		{name: "PurgeNeverDeleted", method: http.MethodDelete, path: trash + "/" + f.published, status: 404, code: c3001, msg: f.published},
		{name: "PurgeBadID", method: http.MethodDelete, path: trash + "/abc", status: 400, code: c0101, msg: "model_id"},
	})
}

func TestBadInputModelNames(t *testing.T) { eachStore(t, testBadInputModelNames) }

func testBadInputModelNames(t *testing.T) {
	e, _ := MustBadFixture(t)
	names := "/modelreg/v1/" + projectA + "/model-names"
	many := make([]string, modelreg.MaxModelNames+1)
	for i := range many {
		many[i] = fmt.Sprintf("model_name=n%d", i)
	}
	runBadCases(t, e, []badCase{
		{name: "NoName", method: http.MethodGet, path: names, status: 400, code: c0101, msg: "model_name"},
		{name: "EmptyName", method: http.MethodGet, path: names, query: "model_name=", status: 400, code: c0101, msg: "model_name"},
		{name: "NameTwice", method: http.MethodGet, path: names, query: "model_name=base&model_name=base", status: 400, code: c0101, msg: "model_name"},
		{name: "TooManyNames", method: http.MethodGet, path: names, query: strings.Join(many, "&"), status: 400, code: c0101, msg: "model_name"},
		{name: "NameControlChar", method: http.MethodGet, path: names, query: "model_name=a%0Ab", status: 400, code: c0101, msg: "model_name"},
		{name: "BadStatus", method: http.MethodGet, path: names, query: "model_name=base&model_status=gone", status: 400, code: c0101, msg: "model_status"},
		{name: "BadType", method: http.MethodGet, path: names, query: "model_name=base&model_type=Cobol", status: 400, code: c0101, msg: "model_type"},
		{name: "TypeRepeated", method: http.MethodGet, path: names, query: "model_name=base&model_type=Custom&model_type=Custom", status: 400, code: c0101, msg: "model_type"},
		{name: "BadProject", method: http.MethodGet, path: "/modelreg/v1/0123456789ABCDEF0123456789ABCDEF/model-names", query: "model_name=base", status: 400, code: c0101, msg: "project_id"},
	})
}

func TestBadInputServiceEvents(t *testing.T) { eachStore(t, testBadInputServiceEvents) }

func testBadInputServiceEvents(t *testing.T) {
	e, f := MustBadFixture(t)
	ev := func(name, id, query string, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodGet, path: "services/" + id + "/events", query: query, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		{name: "BadProject", method: http.MethodGet, path: badProjectUpper + "services/" + f.running + "/events", status: 400, code: c0101, msg: "project_id"},
		ev("BadID", "abc", "", 400, c0101, "service_id"),
		ev("Unknown", f.unknown, "", 404, c3502, f.unknown),
		ev("OtherProject", f.theirService, "", 404, c3502, f.theirService),
		ev("EventType", f.running, "event_type=warning", 400, c0101, "event_type"),
		ev("StartTimeNotInteger", f.running, "start_time=yesterday", 400, c0101, "start_time"),
		ev("EndTimeNegative", f.running, "end_time=-1", 400, c0101, "end_time"),
		ev("EndBeforeStart", f.running, "start_time=2000&end_time=1000", 400, c0101, "end_time"),
		ev("SortBy", f.running, "sort_by=event_type", 400, c0101, "sort_by"),
		ev("Order", f.running, "order=sideways", 400, c0101, "order"),
		ev("LimitZero", f.running, "limit=0", 400, c0101, "limit"),
		ev("LimitTooBig", f.running, "limit=1001", 400, c0101, "limit"),
		ev("OffsetNegative", f.running, "offset=-3", 400, c0101, "offset"),
		ev("OffsetRepeated", f.running, "offset=1&offset=1", 400, c0101, "offset"),
		ev("BadQueryBeforeUnknown", f.unknown, "limit=0", 400, c0101, "limit"),
	})
}

// TestBadInputUncleanPaths sends requests whose path has an empty, "." or
// ".." segment, or whose query string does not parse: each is 400
// ModelArts.0101 with a JSON body and X-Request-Id, never a redirect
// (which a client would follow, with its method, to the clean path), and
// changes nothing.
func TestBadInputUncleanPaths(t *testing.T) { eachStore(t, testBadInputUncleanPaths) }

func testBadInputUncleanPaths(t *testing.T) {
	e, f := MustBadFixture(t)
	v1 := "/v1/" + projectA + "/"
	for _, tc := range []struct{ method, path, msg string }{
		{http.MethodDelete, v1 + "models/x/../" + f.published, "path"},
		{http.MethodDelete, v1 + "models/./" + f.published, "path"},
		{http.MethodDelete, v1 + "models//" + f.published, "path"},
		{http.MethodDelete, "/v1/" + projectB + "/../" + projectA + "/services/" + f.running, "path"},
		{http.MethodPut, v1 + "services/" + f.running + "/.", "path"},
		{http.MethodPost, "/v1/../v1/" + projectA + "/models", "path"},
		{http.MethodGet, "/v1/%2e%2e/" + projectA + "/models", "path"},
		{http.MethodDelete, v1 + "models/" + f.published + "?cascade=%zz", "query"},
		{http.MethodDelete, v1 + "services/" + f.running + "?a=1;b=2", "query"},
		{http.MethodGet, v1 + "models?model_name=%", "query"},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			before := snapshot(t, e)
			var body io.Reader
			if tc.method != http.MethodGet && tc.method != http.MethodDelete {
				body = strings.NewReader(`{"description":"changed"}`)
			}
			r := e.raw(t, tc.method, tc.path, body, nil)
			code, msg := decodeErrorBody(t, r.body)
			if r.status != 400 || code != c0101 || !strings.Contains(msg, tc.msg) {
				t.Errorf("%d %s %q, want 400 %s naming the %s", r.status, code, msg, c0101, tc.msg)
			}
			if r.header.Get("X-Request-Id") == "" || r.header.Get("Location") != "" {
				t.Errorf("X-Request-Id %q, Location %q", r.header.Get("X-Request-Id"), r.header.Get("Location"))
			}
			if diff := cmp.Diff(before, snapshot(t, e)); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestBadInputModelCreateSources: issue 10. With the server's real source
// checks (importer.Sources, as serve builds them), a source_location that
// reaches the server's own data, or names an object-store endpoint other
// than the configured host and port, is 400 3017 and creates nothing.
func TestBadInputModelCreateSources(t *testing.T) { eachStore(t, testBadInputModelCreateSources) }

func testBadInputModelCreateSources(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "modelreg-data")
	for _, f := range []string{"credentials", "master.key", "modelreg.db", "blobs/sha256/ab/abcd"} {
		p := filepath.Join(data, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(data, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	src, err := importer.NewSourcesFromConfig(importer.SourcesConfig{
		ImportRoots: []string{root},
		Protected:   []string{data, filepath.Join(data, "blobs"), filepath.Join(data, "modelreg.db"), filepath.Join(data, "modelreg.db-wal")},
		Object:      importer.ObjectSourceConfig{Endpoint: "obs.cn-north-4.example.com", Region: "cn-north-4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := MustServe(t, func(cfg *httpapi.Config) { cfg.CheckSource = src.Check })
	base := map[string]any{"model_name": "fresh", "model_version": "1.0.0", "model_type": "TensorFlow"}
	post := func(name, loc string) badCase {
		return badCase{name: name, method: http.MethodPost, path: "models", body: with(base, "source_location", loc),
			status: 400, code: c3017, msg: ""}
	}
	never := func(name, loc string) badCase {
		c := post(name, loc)
		c.msg = "never imported"
		return c
	}
	other := func(name, loc string) badCase {
		c := post(name, loc)
		c.msg = "does not import from"
		return c
	}
	runBadCases(t, e, []badCase{
		never("DataDir", "file://"+data),
		never("DataDirTrailingSlash", "file://"+data+"/"),
		never("MasterKey", "file://"+data+"/master.key"),
		never("Credentials", "file://"+data+"/credentials"),
		never("Database", "file://"+data+"/modelreg.db"),
		never("BlobDir", "file://"+data+"/blobs"),
		never("Blob", "file://"+data+"/blobs/sha256/ab/abcd"),
		never("ParentOfDataDir", "file://"+root),
		never("SymlinkToDataDir", "file://"+root+"/link"),
		never("ThroughSymlink", "file://"+root+"/link/master.key"),
		post("DotDotIntoDataDir", "file://"+root+"/link/../modelreg-data"),
		other("HTTPSOtherRegion", "https://b.obs.ap-southeast-1.example.com/m"),
		other("HTTPSOtherPort", "https://b.obs.cn-north-4.example.com:8443/m"),
		other("HTTPSPortZero", "https://b.obs.cn-north-4.example.com:0/m"),
		other("HTTPSPlainPort", "https://b.obs.cn-north-4.example.com:80/m"),
		other("HTTPSOtherDomain", "https://b.obs.cn-north-4.example.org/m"),
		other("HTTPSDeeperRegion", "https://b.obs.x.cn-north-4.example.com/m"),
	})
}

func TestBadInputCatalogLists(t *testing.T) { eachStore(t, testBadInputCatalogLists) }

func testBadInputCatalogLists(t *testing.T) {
	e, _ := MustBadFixture(t)
	get := func(name, path, query, msg string) badCase {
		return badCase{name: name, method: http.MethodGet, path: path, query: query, status: 400, code: c0101, msg: msg}
	}
	var cases []badCase
	for _, p := range []string{"models/ai-engine-runtimes", "services/specifications", "clusters"} {
		cases = append(cases,
			badCase{name: p + "/BadProject", method: http.MethodGet, path: badProjectUpper + p, status: 400, code: c0101, msg: "project_id"},
			get(p+"/LimitZero", p, "limit=0", "limit"),
			get(p+"/LimitTooBig", p, "limit=1001", "limit"),
			get(p+"/LimitNotInteger", p, "limit=ten", "limit"),
			get(p+"/OffsetNegative", p, "offset=-1", "offset"),
			get(p+"/OffsetTooBig", p, "offset=2147483647&limit=1000", "offset"),
			get(p+"/OffsetRepeated", p, "offset=1&offset=2", "offset"),
		)
	}
	cases = append(cases,
		get("specifications/InferType", "services/specifications", "infer_type=edge", "infer_type"),
		get("specifications/PersonalNotBool", "services/specifications", "is_personal_cluster=yes", "is_personal_cluster"),
		get("specifications/PersonalEmpty", "services/specifications", "is_personal_cluster=", "is_personal_cluster"),
		get("clusters/Status", "clusters", "status=sleeping", "status"),
		get("clusters/SortBy", "clusters", "sort_by=status", "sort_by"),
		get("clusters/Order", "clusters", "order=up", "order"),
		get("clusters/NameControl", "clusters", "cluster_name=a%00b", "cluster_name"),
	)
	runBadCases(t, e, cases)
}

func TestBadInputServiceUpdateLogs(t *testing.T) { eachStore(t, testBadInputServiceUpdateLogs) }

func testBadInputServiceUpdateLogs(t *testing.T) {
	e, f := MustBadFixture(t)
	logs := func(name, id, query string, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodGet, path: "services/" + id + "/logs", query: query, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		{name: "BadProject", method: http.MethodGet, path: badProjectUpper + "services/" + f.running + "/logs", status: 400, code: c0101, msg: "project_id"},
		logs("BadID", "abc", "", 400, c0101, "service_id"),
		logs("Unknown", f.unknown, "", 404, c3502, f.unknown),
		logs("OtherProject", f.theirService, "", 404, c3502, f.theirService),
		logs("UpdateTimeNotInteger", f.running, "update_time=yesterday", 400, c0101, "update_time"),
		logs("UpdateTimeNegative", f.running, "update_time=-1", 400, c0101, "update_time"),
		logs("UpdateTimeRepeated", f.running, "update_time=1&update_time=2", 400, c0101, "update_time"),
		logs("BadQueryBeforeUnknown", f.unknown, "update_time=x", 400, c0101, "update_time"),
	})
}

func TestBadInputServiceMonitor(t *testing.T) { eachStore(t, testBadInputServiceMonitor) }

func testBadInputServiceMonitor(t *testing.T) {
	e, f := MustBadFixture(t)
	mon := func(name, id, query string, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodGet, path: "services/" + id + "/monitor", query: query, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		{name: "BadProject", method: http.MethodGet, path: badProjectUpper + "services/" + f.running + "/monitor", status: 400, code: c0101, msg: "project_id"},
		mon("BadID", "abc", "", 400, c0101, "service_id"),
		mon("Unknown", f.unknown, "", 404, c3502, f.unknown),
		mon("OtherProject", f.theirService, "", 404, c3502, f.theirService),
		mon("NodeEmpty", f.running, "node_id=", 400, c0101, "node_id"),
		mon("NodeBadChars", f.running, "node_id=a%20b", 400, c0101, "node_id"),
		mon("NodeTooLong", f.running, "node_id="+strings.Repeat("n", 65), 400, c0101, "node_id"),
		mon("NodeRepeated", f.running, "node_id=a&node_id=b", 400, c0101, "node_id"),
		mon("NodeControl", f.running, "node_id=a%01", 400, c0101, "node_id"),
	})
}

func TestBadInputAuditEvents(t *testing.T) { eachStore(t, testBadInputAuditEvents) }

func testBadInputAuditEvents(t *testing.T) {
	e, _ := MustBadFixture(t)
	events := "/modelreg/v1/" + projectA + "/events"
	get := func(name, query, msg string) badCase {
		return badCase{name: name, method: http.MethodGet, path: events, query: query, status: 400, code: c0101, msg: msg}
	}
	runBadCases(t, e, []badCase{
		get("UnknownAction", "action=model.explode", "action"),
		get("SinceText", "since=yesterday", "since"),
		get("SinceNegative", "since=-1", "since"),
		get("UntilBeforeSince", "since=2000&until=1000", "until"),
		get("LimitZero", "limit=0", "limit"),
		get("LimitHigh", "limit=1001", "limit"),
		get("LimitText", "limit=ten", "limit"),
		get("MarkerNotAnID", "marker=abc", "marker"),
		get("MarkerUnknown", "marker="+modelreg.NewID(), "marker"),
		get("ActorTooLong", "actor="+strings.Repeat("a", 129), "actor"),
		get("Twice", "action=model.delete&action=model.import", "action"),
		{name: "BadProject", method: http.MethodGet, path: "/modelreg/v1/0123456789ABCDEF0123456789ABCDEF/events", status: 400, code: c0101, msg: "project_id"},
		{name: "Delete", method: http.MethodDelete, path: events, status: 405, code: c0101},
	})
}

func TestBadInputWebhooks(t *testing.T) { eachStore(t, testBadInputWebhooks) }

func testBadInputWebhooks(t *testing.T) {
	e, f := MustBadFixture(t)
	hooks := "/modelreg/v1/" + projectA + "/webhooks"
	good := func() map[string]any {
		return map[string]any{"url": "https://hooks.example.com/x", "secret": "0123456789abcdef", "events": []string{"*"}}
	}
	with := func(k string, v any) map[string]any {
		b := good()
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	post := func(name string, body any, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodPost, path: hooks, body: body, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		post("URLMissing", with("url", nil), 400, c3036, "url"),
		post("URLNotHTTP", with("url", "ftp://example.com/x"), 400, c3037, "url"),
		post("URLNoHost", with("url", "https:///x"), 400, c3037, "url"),
		post("URLUserInfo", with("url", "https://u:p@example.com/"), 400, c3037, "url"),
		post("URLTooLong", with("url", "https://example.com/"+strings.Repeat("a", 2048)), 400, c3037, "url"),
		post("URLNumber", with("url", 5), 400, c3037, "url"),
		post("URLLoopback", with("url", "http://127.0.0.1:8080/"), 400, modelreg.CodeWebhookURL, "private"),
		post("URLMetadata", with("url", "http://169.254.169.254/latest/meta-data"), 400, modelreg.CodeWebhookURL, "private"),
		post("URLPrivate", with("url", "http://10.0.0.1/"), 400, modelreg.CodeWebhookURL, "private"),
		post("URLLocalhost", with("url", "http://localhost/"), 400, modelreg.CodeWebhookURL, "private"),
		post("URLMappedLoopback", with("url", "http://[::ffff:127.0.0.1]/"), 400, modelreg.CodeWebhookURL, "private"),
		post("SecretMissing", with("secret", nil), 400, c3036, "secret"),
		post("SecretShort", with("secret", "short"), 400, c3037, "secret"),
		post("EventsMissing", with("events", nil), 400, c3036, "events"),
		post("EventsEmpty", with("events", []string{}), 400, c3036, "events"),
		post("EventsUnknown", with("events", []string{"model.explode"}), 400, c3037, "events"),
		post("EventsString", with("events", "*"), 400, c3037, "events"),
		post("DescriptionLong", with("description", strings.Repeat("d", 257)), 400, c3037, "description"),
		post("Malformed", []byte(`{"url":`), 400, c3037, "body"),
		post("Oversize", oversize(), 413, c0104, ""),
		{name: "BadProject", method: http.MethodPost, path: "/modelreg/v1/0123456789ABCDEF0123456789ABCDEF/webhooks", body: good(), status: 400, code: c0101, msg: "project_id"},
		{name: "DeleteUnknown", method: http.MethodDelete, path: hooks + "/" + f.unknown, status: 404, code: modelreg.CodeWebhookNotFound, msg: f.unknown},
		{name: "DeleteBadID", method: http.MethodDelete, path: hooks + "/abc", status: 400, code: c0101, msg: "webhook_id"},
		{name: "DeliveriesUnknown", method: http.MethodGet, path: hooks + "/" + f.unknown + "/deliveries", status: 404, code: modelreg.CodeWebhookNotFound, msg: f.unknown},
		{name: "DeliveriesBadID", method: http.MethodGet, path: hooks + "/abc/deliveries", status: 400, code: c0101, msg: "webhook_id"},
	})
}

func TestBadInputCleanupPolicies(t *testing.T) { eachStore(t, testBadInputCleanupPolicies) }

func testBadInputCleanupPolicies(t *testing.T) {
	e, f := MustBadFixture(t)
	ctx := context.Background()
	pattern, keepLast, keepDays := "base*", 1, 0
	pid, err := e.c.CreateCleanupPolicy(ctx, modelreg.CleanupPolicyBody{NamePattern: &pattern, KeepLast: &keepLast, KeepDays: &keepDays})
	if err != nil {
		t.Fatal(err)
	}
	policies := "/modelreg/v1/" + projectA + "/cleanup-policies"
	good := func() map[string]any { return map[string]any{"name_pattern": "res*", "keep_last": 2, "keep_days": 0} }
	with := func(k string, v any) map[string]any {
		b := good()
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	post := func(name string, body any, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodPost, path: policies, body: body, status: status, code: code, msg: msg}
	}
	put := func(name string, body any, status int, code, msg string) badCase {
		return badCase{name: name, method: http.MethodPut, path: policies + "/" + pid, body: body, status: status, code: code, msg: msg}
	}
	runBadCases(t, e, []badCase{
		post("PatternMissing", with("name_pattern", nil), 400, c3036, "name_pattern"),
		post("PatternEmpty", with("name_pattern", ""), 400, c3037, "name_pattern"),
		post("PatternBad", with("name_pattern", "res["), 400, c3037, "name_pattern"),
		post("PatternLong", with("name_pattern", strings.Repeat("p", 129)), 400, c3037, "name_pattern"),
		post("KeepLastMissing", with("keep_last", nil), 400, c3036, "keep_last"),
		post("KeepLastZero", with("keep_last", 0), 400, c3037, "keep_last"),
		post("KeepLastText", with("keep_last", "2"), 400, c3037, "keep_last"),
		post("KeepDaysMissing", with("keep_days", nil), 400, c3036, "keep_days"),
		post("KeepDaysNegative", with("keep_days", -1), 400, c3037, "keep_days"),
		post("EnabledString", with("enabled", "yes"), 400, c3037, "enabled"),
		post("Malformed", []byte(`{`), 400, c3037, "body"),
		post("Oversize", oversize(), 413, c0104, ""),
		put("UpdateKeepLastZero", map[string]any{"keep_last": 0}, 400, c3037, "keep_last"),
		put("UpdatePatternBad", map[string]any{"name_pattern": "["}, 400, c3037, "name_pattern"),
		{name: "UpdateUnknown", method: http.MethodPut, path: policies + "/" + f.unknown, body: good(), status: 404, code: modelreg.CodePolicyNotFound, msg: f.unknown},
		{name: "GetBadID", method: http.MethodGet, path: policies + "/abc", status: 400, code: c0101, msg: "policy_id"},
		{name: "GetUnknown", method: http.MethodGet, path: policies + "/" + f.unknown, status: 404, code: modelreg.CodePolicyNotFound, msg: f.unknown},
		{name: "DeleteUnknown", method: http.MethodDelete, path: policies + "/" + f.unknown, status: 404, code: modelreg.CodePolicyNotFound, msg: f.unknown},
		{name: "PreviewUnknown", method: http.MethodPost, path: policies + "/" + f.unknown + "/preview", status: 404, code: modelreg.CodePolicyNotFound, msg: f.unknown},
		{name: "OtherProject", method: http.MethodGet, path: "/modelreg/v1/" + projectB + "/cleanup-policies/" + pid, status: 404, code: modelreg.CodePolicyNotFound, msg: pid},
	})
}
