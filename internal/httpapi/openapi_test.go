package httpapi

// The contract test: api/openapi.yaml is hand-written, so these tests keep
// it honest against the code. They check that its operations are exactly
// the routes of routes.go, that every object schema named after a Go type
// has exactly the JSON fields of that type (nested types included), that
// every operation has a 2xx answer and declares its path parameters, and
// that every $ref resolves. They are in package httpapi (not httpapi_test)
// to reach the unexported body types of the IAM routes and errorBody. The
// real responses of the HTTP tests are checked against the document by
// contract_test.go.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/modelreg/modelreg"
)

const openAPIPath = "../../api/openapi.yaml"

// openAPIGoTypes maps the object schemas of components/schemas to the Go
// types they describe. Every object schema must be here or in
// openAPINoGoType.
var openAPIGoTypes = map[string]any{
	// Shared bodies (errors.go, server.go).
	"Error":  errorBody{},
	"Status": status{},
	"Empty":  struct{}{}, // the {} of updates and deletions

	// Models.
	"ModelImport":       modelreg.ModelImport{},
	"ModelImportResult": modelreg.ModelImportResult{},
	"ModelSummary":      modelreg.ModelSummary{},
	"Model":             modelreg.Model{},
	"Specification":     modelreg.Specification{},
	"LabelsMap":         modelreg.LabelsMap{},
	"Param":             modelreg.Param{},
	"Dependency":        modelreg.Dependency{},
	"Package":           modelreg.Package{},
	"ModelDoc":          modelreg.ModelDoc{},
	"Template":          modelreg.Template{},
	"TemplateInput":     modelreg.TemplateInput{},
	"ModelList":         modelreg.ModelList{},
	"ModelName":         modelreg.ModelName{},
	"ModelNameList":     modelreg.ModelNameList{},
	"DeleteResult":      modelreg.DeleteResult{},
	"DeleteFailure":     modelreg.DeleteFailure{},
	"ModelProtection":   modelreg.ModelProtection{},
	"ProtectionUpdate":  modelreg.ProtectionUpdate{},
	"TrashedModel":      modelreg.TrashedModel{},
	"TrashList":         modelreg.TrashList{},
	"PurgeResult":       modelreg.PurgeResult{},

	// The audit trail, webhooks, cleanup policies (audit.go).
	"AuditActor":          modelreg.AuditActor{},
	"AuditEvent":          modelreg.AuditEvent{},
	"AuditList":           modelreg.AuditList{},
	"WebhookCreate":       modelreg.WebhookCreate{},
	"WebhookCreated":      webhookCreated{},
	"Webhook":             modelreg.Webhook{},
	"WebhookList":         webhookList{},
	"WebhookDelivery":     modelreg.WebhookDelivery{},
	"WebhookDeliveryList": modelreg.WebhookDeliveryList{},
	"CleanupPolicyBody":   modelreg.CleanupPolicyBody{},
	"CleanupPolicy":       modelreg.CleanupPolicy{},
	"PolicyCreated":       policyCreated{},
	"PolicyList":          policyList{},
	"CleanupDelete":       modelreg.CleanupDelete{},
	"CleanupKept":         modelreg.CleanupKept{},
	"CleanupPreview":      modelreg.CleanupPreview{},

	// Services.
	"ServiceCreate":        modelreg.ServiceCreate{},
	"ServiceCreateResult":  modelreg.ServiceCreateResult{},
	"ServiceUpdate":        modelreg.ServiceUpdate{},
	"ServiceConfig":        modelreg.ServiceConfig{},
	"CustomSpec":           modelreg.CustomSpec{},
	"Schedule":             modelreg.Schedule{},
	"Service":              modelreg.Service{},
	"ServiceList":          modelreg.ServiceList{},
	"ServiceEvent":         modelreg.ServiceEvent{},
	"ServiceEventList":     modelreg.ServiceEventList{},
	"ServiceUpdateLogList": modelreg.ServiceUpdateLogList{},
	"ServiceUpdateLog":     modelreg.ServiceUpdateLog{},
	"ServiceMonitorList":   modelreg.ServiceMonitorList{},
	"ModelMonitor":         modelreg.ModelMonitor{},
	"DeployReport":         modelreg.DeployReport{},

	// The catalog (catalog.go).
	"EngineRuntimeList": modelreg.EngineRuntimeList{},
	"EngineRuntimes":    modelreg.EngineRuntimes{},
	"Accelerator":       modelreg.Accelerator{},
	"FlavorList":        modelreg.FlavorList{},
	"Flavor":            modelreg.Flavor{},
	"CPUInfo":           modelreg.CPUInfo{},
	"MemInfo":           modelreg.MemInfo{},
	"AccInfo":           modelreg.AccInfo{},
	"ClusterList":       modelreg.ClusterList{},
	"Cluster":           modelreg.Cluster{},
	"ClusterNodes":      modelreg.ClusterNodes{},

	// Files and bulk creation.
	"Upload":          modelreg.Upload{},
	"UploadCommit":    modelreg.UploadCommit{},
	"FileInfo":        modelreg.FileInfo{},
	"ModelFileList":   modelreg.ModelFileList{},
	"ModelBulk":       modelreg.ModelBulk{},
	"BulkModel":       modelreg.BulkModel{},
	"ModelBulkResult": modelreg.ModelBulkResult{},

	// IAM (iam.go).
	"DomainRef":      domainRef{},
	"NameRef":        nameRef{},
	"TokenRequest":   tokenRequest{},
	"TokenBody":      tokenBody{},
	"TokenUser":      tokenUser{},
	"TokenProject":   tokenProject{},
	"RoleRef":        roleRef{},
	"Project":        modelreg.Project{},
	"ProjectBody":    projectBody{},
	"ListLinks":      listLinks{},
	"UserRequest":    userRequest{},
	"UserBody":       userBody{},
	"CredentialBody": credentialBody{},
}

// openAPINoGoType lists the object schemas that no named Go type backs,
// and why. Their nested schemas are checked through openAPIGoTypes.
var openAPINoGoType = map[string]string{
	"ProjectCreateRequest":    "anonymous struct in handleProjectCreate",
	"ProjectResponse":         "map[string]projectBody in handleProjectCreate",
	"ProjectList":             "anonymous struct in handleProjectList",
	"UserResponse":            "map[string]userBody in handleUserCreate",
	"UserList":                "anonymous struct in handleUserList",
	"CredentialCreateRequest": "anonymous struct in handleCredentialCreate",
	"UserUpdateRequest":       "map[string]json.RawMessage in handleUserUpdate, to refuse fields other than enabled",
	"CredentialResponse":      "map[string]credentialBody in handleCredentialCreate",
	"CredentialList":          "anonymous struct in handleCredentialList",
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadOpenAPI parses api/openapi.yaml.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	if v, _ := doc["openapi"].(string); v != "3.0.3" {
		t.Fatalf("%s: openapi is %q, want 3.0.3", openAPIPath, v)
	}
	return doc
}

// obj returns v as a YAML mapping with string keys, or nil.
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// resolve follows $ref (local JSON pointers only) until node is not a
// reference; it returns nil for a reference that does not resolve.
func resolve(doc, node map[string]any) map[string]any {
	for range 10 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		node = obj(pointer(doc, ref))
		if node == nil {
			return nil
		}
	}
	return nil
}

// pointer returns what the local JSON pointer ref (#/a/b) names in doc, or nil.
func pointer(doc map[string]any, ref string) any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m := obj(cur)
		if m == nil {
			return nil
		}
		if cur, ok = m[tok]; !ok {
			return nil
		}
	}
	return cur
}

// routeOperations returns the routes of routes.go as "METHOD /path", with
// Go's {name...} wildcards written {name} as in the spec.
func routeOperations(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`s\.handle\("([A-Z]+) (/[^"]*)"`)
	matches := re.FindAllStringSubmatch(string(src), -1)
	if n := strings.Count(string(src), "s.handle("); n != len(matches) || n < 10 {
		t.Fatalf("routes.go: %d s.handle( calls, %d of them read as \"METHOD /path\": fix the pattern or this test", n, len(matches))
	}
	ops := map[string]bool{}
	for _, m := range matches {
		ops[m[1]+" "+strings.ReplaceAll(m[2], "...}", "}")] = true
	}
	return ops
}

// specOperations returns the operations of the spec as "METHOD /path"
// mapped to their operation objects.
func specOperations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths := obj(doc["paths"])
	if paths == nil {
		t.Fatal("the spec has no paths")
	}
	ops := map[string]map[string]any{}
	for p, item := range paths {
		for _, method := range httpMethods {
			if op := obj(obj(item)[method]); op != nil {
				ops[strings.ToUpper(method)+" "+p] = op
			}
		}
	}
	return ops
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestOpenAPIRoutes checks that the spec's operations are the routes of
// routes.go, one for one. A HEAD operation is allowed where routes.go has
// the GET, since the mux serves HEAD with every GET route.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	routes := routeOperations(t)
	spec := specOperations(t, doc)
	var missing, extra []string
	for _, r := range sortedKeys(routes) {
		if spec[r] == nil {
			missing = append(missing, r)
		}
	}
	for _, op := range sortedKeys(spec) {
		if routes[op] {
			continue
		}
		if p, ok := strings.CutPrefix(op, "HEAD "); ok && routes["GET "+p] {
			continue
		}
		extra = append(extra, op)
	}
	if len(missing) > 0 {
		t.Errorf("routes of routes.go missing from %s:\n\t%s", openAPIPath, strings.Join(missing, "\n\t"))
	}
	if len(extra) > 0 {
		t.Errorf("operations of %s that routes.go does not register:\n\t%s", openAPIPath, strings.Join(extra, "\n\t"))
	}
}

// TestOpenAPIOperations checks every operation: at least one 2xx answer;
// every {name} of its path declared as a required path parameter and no
// other path parameter; every error answer describing its ModelArts codes
// and, but for HEAD, carrying the Error body.
func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	paths := obj(doc["paths"])
	errorRef := "#/components/schemas/Error"
	reTemplate := regexp.MustCompile(`\{([^}]+)\}`)
	for name, op := range specOperations(t, doc) {
		method, p, _ := strings.Cut(name, " ")
		if op["operationId"] == nil {
			t.Errorf("%s: no operationId", name)
		}

		responses := obj(op["responses"])
		ok2xx := false
		for code, r := range responses {
			if len(code) == 3 && code[0] == '2' {
				ok2xx = true
			}
			if len(code) == 3 && code >= "400" {
				r := resolve(doc, obj(r))
				desc, _ := r["description"].(string)
				if !strings.Contains(desc, "ModelArts.") && !strings.Contains(desc, "ModelReg.") {
					t.Errorf("%s: answer %s does not name its ModelArts or ModelReg codes: %q", name, code, desc)
				}
				if method == "HEAD" {
					continue
				}
				schema := obj(obj(obj(r["content"])["application/json"])["schema"])
				if schema["$ref"] != errorRef {
					t.Errorf("%s: answer %s has no application/json %s body", name, code, errorRef)
				}
			}
		}
		if !ok2xx {
			t.Errorf("%s: no 2xx answer", name)
		}

		declared := map[string]bool{}
		params, _ := obj(paths[p])["parameters"].([]any)
		opParams, _ := op["parameters"].([]any)
		for _, prm := range append(slices.Clone(params), opParams...) {
			prm := resolve(doc, obj(prm))
			if prm == nil {
				t.Errorf("%s: a parameter does not resolve", name)
				continue
			}
			if prm["in"] != "path" {
				continue
			}
			pn, _ := prm["name"].(string)
			declared[pn] = true
			if prm["required"] != true {
				t.Errorf("%s: path parameter %s is not required: true", name, pn)
			}
		}
		used := map[string]bool{}
		for _, m := range reTemplate.FindAllStringSubmatch(p, -1) {
			used[m[1]] = true
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", name, m[1])
			}
		}
		for pn := range declared {
			if !used[pn] {
				t.Errorf("%s: declares path parameter %s, which its path does not have", name, pn)
			}
		}
	}
}

// TestOpenAPIRefs checks that every $ref of the spec resolves, and that
// every ModelArts code it mentions is one the server's code can return.
func TestOpenAPIRefs(t *testing.T) {
	doc := loadOpenAPI(t)
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && pointer(doc, ref) == nil {
				t.Errorf("%s: $ref %s does not resolve", where, ref)
			}
			for k, e := range v {
				walk(where+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s/%d", where, i), e)
			}
		case map[any]any:
			t.Errorf("%s: a mapping with a key that is not a string (quote status codes)", where)
		}
	}
	walk("#", doc)

	known := map[string]bool{}
	reCode := regexp.MustCompile(`"ModelArts\.(\d{4})"`)
	var files []string
	for _, dir := range []string{"../..", ".", "../auth"} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range reCode.FindAllStringSubmatch(string(b), -1) {
			known[m[1]] = true
		}
	}
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`ModelArts\.(\d{4})`).FindAllStringSubmatch(string(b), -1) {
		if !known[m[1]] {
			t.Errorf("the spec names ModelArts.%s, a code the server never returns", m[1])
			known[m[1]] = true // once
		}
	}
}

// TestOpenAPISchemas checks that every object schema named after a Go type
// has exactly the JSON field names of that type, recursively through the
// struct types of its fields, and that every object schema is accounted
// for.
func TestOpenAPISchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := obj(obj(doc["components"])["schemas"])
	if schemas == nil {
		t.Fatal("the spec has no components/schemas")
	}
	for _, name := range sortedKeys(schemas) {
		s := obj(schemas[name])
		if s["properties"] == nil && s["allOf"] == nil {
			continue // a scalar
		}
		_, typed := openAPIGoTypes[name]
		why, untyped := openAPINoGoType[name]
		switch {
		case typed && untyped:
			t.Errorf("schema %s is both in openAPIGoTypes and in openAPINoGoType (%s)", name, why)
		case !typed && !untyped:
			t.Errorf("schema %s: add its Go type to openAPIGoTypes (or say in openAPINoGoType why it has none)", name)
		}
	}
	for _, name := range sortedKeys(openAPINoGoType) {
		if schemas[name] == nil {
			t.Errorf("openAPINoGoType names %s, which is not in the spec", name)
		}
	}

	c := schemaChecker{t: t, doc: doc, done: map[string]bool{}}
	for _, name := range sortedKeys(openAPIGoTypes) {
		if schemas[name] == nil {
			t.Errorf("schema %s (%T) is missing from the spec", name, openAPIGoTypes[name])
			continue
		}
		ref := "#/components/schemas/" + name
		c.check(name, reflect.TypeOf(openAPIGoTypes[name]), map[string]any{"$ref": ref})
	}
}

// schemaChecker compares Go struct types with schemas.
type schemaChecker struct {
	t    *testing.T
	doc  map[string]any
	done map[string]bool // type and $ref pairs already checked
}

// check compares struct type typ with schema node (a reference or an
// inline object schema), then the struct types of its fields with their
// property schemas.
func (c *schemaChecker) check(where string, typ reflect.Type, node map[string]any) {
	c.t.Helper()
	if ref, ok := node["$ref"].(string); ok {
		key := typ.String() + " " + ref
		if c.done[key] {
			return
		}
		c.done[key] = true
		where = strings.TrimPrefix(ref, "#/components/schemas/")
	}
	props, ok := c.properties(node)
	if !ok {
		c.t.Errorf("%s: Go type %s is a struct, but its schema has no properties", where, typ)
		return
	}
	fields := jsonFields(typ)
	var missing, extra []string
	for _, name := range sortedKeys(fields) {
		if _, ok := props[name]; !ok {
			missing = append(missing, name)
		}
	}
	for _, name := range sortedKeys(props) {
		if _, ok := fields[name]; !ok {
			extra = append(extra, name)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		c.t.Errorf("%s (Go type %s): properties differ from the JSON fields\n\tmissing from the spec: %v\n\tnot in the Go type:    %v",
			where, typ, missing, extra)
	}
	for _, name := range sortedKeys(fields) {
		if p := obj(props[name]); p != nil {
			c.descend(where+"."+name, fields[name], p)
		}
	}
}

// descend follows a field's type through pointers and slices, and the
// schema through array items, to a struct type to check.
func (c *schemaChecker) descend(where string, typ reflect.Type, node map[string]any) {
	c.t.Helper()
	for {
		switch typ.Kind() {
		case reflect.Pointer:
			typ = typ.Elem()
			continue
		case reflect.Slice, reflect.Array:
			if typ.Elem().Kind() == reflect.Uint8 {
				return // []byte, json.RawMessage: not an array in JSON
			}
			r := c.resolve(where, node)
			items := obj(r["items"])
			if items == nil {
				c.t.Errorf("%s: Go type %s is a slice, but its schema is not an array with items", where, typ)
				return
			}
			typ, node, where = typ.Elem(), items, where+"[]"
			continue
		case reflect.Struct:
			c.check(where, typ, node)
		}
		return
	}
}

func (c *schemaChecker) resolve(where string, node map[string]any) map[string]any {
	r := resolve(c.doc, node)
	if r == nil {
		c.t.Errorf("%s: $ref %v does not resolve", where, node["$ref"])
	}
	return r
}

// properties returns the properties of an object schema, merging the
// parts of an allOf; ok is false when it has none.
func (c *schemaChecker) properties(node map[string]any) (props map[string]any, ok bool) {
	node = resolve(c.doc, node)
	if node == nil {
		return nil, false
	}
	props = map[string]any{}
	if p, isMap := node["properties"].(map[string]any); isMap {
		ok = true
		for k, v := range p {
			props[k] = v
		}
	}
	parts, _ := node["allOf"].([]any)
	for _, part := range parts {
		pp, pok := c.properties(obj(part))
		if !pok {
			return nil, false
		}
		ok = true
		for k, v := range pp {
			props[k] = v
		}
	}
	return props, ok
}

// jsonFields returns the JSON object keys encoding/json uses for struct
// type t, with the type of each field: exported fields, by their tag name
// or Go name; "-" skipped; embedded structs without a tag name flattened,
// a shallower field hiding deeper ones of the same name (and a tagged one
// breaking a tie at the same depth; other ties drop the name, as
// encoding/json does).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	type field struct {
		typ    reflect.Type
		depth  int
		tagged bool
	}
	all := map[string][]field{}
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if sf.Anonymous {
				et := sf.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if !sf.IsExported() && et.Kind() != reflect.Struct {
					continue
				}
				if name == "" && et.Kind() == reflect.Struct {
					walk(et, depth+1)
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			tagged := name != ""
			if !tagged {
				name = sf.Name
			}
			all[name] = append(all[name], field{typ: sf.Type, depth: depth, tagged: tagged})
		}
	}
	walk(t, 0)
	out := map[string]reflect.Type{}
	for name, fs := range all {
		minDepth := fs[0].depth
		for _, f := range fs {
			minDepth = min(minDepth, f.depth)
		}
		var top, topTagged []field
		for _, f := range fs {
			if f.depth == minDepth {
				top = append(top, f)
				if f.tagged {
					topTagged = append(topTagged, f)
				}
			}
		}
		switch {
		case len(top) == 1:
			out[name] = top[0].typ
		case len(topTagged) == 1:
			out[name] = topTagged[0].typ
		}
	}
	return out
}

// TestOpenAPIJSONFields checks jsonFields itself on the cases it handles.
func TestOpenAPIJSONFields(t *testing.T) {
	type Inner struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	type inner2 struct {
		C int `json:"c"`
	}
	type outer struct {
		Inner
		*inner2
		B       string `json:"b"` // hides Inner.B
		D       int    `json:"d,omitempty"`
		E       int    `json:"-"`
		NoTag   int
		private int
	}
	_ = outer{}.private
	got := sortedKeys(jsonFields(reflect.TypeFor[outer]()))
	want := []string{"NoTag", "a", "b", "c", "d"}
	if !slices.Equal(got, want) {
		t.Errorf("jsonFields = %v, want %v", got, want)
	}
	// The same keys as encoding/json writes (every field set, so that
	// omitempty drops nothing).
	b, err := json.Marshal(outer{inner2: &inner2{}, D: 1})
	if err != nil {
		t.Fatal(err)
	}
	var encoded map[string]any
	if err := json.Unmarshal(b, &encoded); err != nil {
		t.Fatal(err)
	}
	if keys := sortedKeys(encoded); !slices.Equal(keys, want) {
		t.Errorf("encoding/json writes %v, want %v", keys, want)
	}
	if typ := jsonFields(reflect.TypeFor[outer]())["b"]; typ.Kind() != reflect.String {
		t.Errorf("b is %s, want the outer string", typ)
	}
}
