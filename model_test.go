package modelreg_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

func validImport() *modelreg.ModelImport {
	return &modelreg.ModelImport{Name: "digits", Version: "1.0.0", Type: "TensorFlow", SourceLocation: "file:///m"}
}

func TestModelImportValidate(t *testing.T) {
	f1, f2 := 1.0, 2.0
	tests := []struct {
		name   string
		mutate func(m *modelreg.ModelImport)
		code   string // ModelArts code, "" = valid
		field  string // must appear in the message
	}{
		{"OK", func(m *modelreg.ModelImport) {}, "", ""},
		{"OK/Version0", func(m *modelreg.ModelImport) { m.Version = "0.0.1" }, "", ""},
		{"OK/Version99", func(m *modelreg.ModelImport) { m.Version = "99.99.99" }, "", ""},
		{"OK/TypeAnyCase", func(m *modelreg.ModelImport) { m.Type = "pytorch" }, "", ""},
		{"OK/Template", func(m *modelreg.ModelImport) {
			m.Type, m.SourceLocation = "Template", ""
			m.Template = &modelreg.Template{TemplateID: "t", Inputs: []modelreg.TemplateInput{{InputID: "a", Input: "obs://b/p"}}}
		}, "", ""},
		{"NameMissing", func(m *modelreg.ModelImport) { m.Name = "" }, modelreg.CodeParamRequired, "model_name"},
		{"NameChars", func(m *modelreg.ModelImport) { m.Name = "a b" }, modelreg.CodeParamInvalid, "model_name"},
		{"NameLong", func(m *modelreg.ModelImport) { m.Name = strings.Repeat("a", 65) }, modelreg.CodeParamInvalid, "model_name"},
		{"VersionMissing", func(m *modelreg.ModelImport) { m.Version = "" }, modelreg.CodeParamRequired, "model_version"},
		{"VersionLeadingZero", func(m *modelreg.ModelImport) { m.Version = "01.0.0" }, modelreg.CodeParamInvalid, "model_version"},
		{"Version100", func(m *modelreg.ModelImport) { m.Version = "100.0.0" }, modelreg.CodeParamInvalid, "model_version"},
		{"VersionTwoParts", func(m *modelreg.ModelImport) { m.Version = "1.0" }, modelreg.CodeParamInvalid, "model_version"},
		{"TypeMissing", func(m *modelreg.ModelImport) { m.Type = "" }, modelreg.CodeParamRequired, "model_type"},
		{"TypeUnknown", func(m *modelreg.ModelImport) { m.Type = "Keras" }, modelreg.CodeParamInvalid, "model_type"},
		{"SourceMissing", func(m *modelreg.ModelImport) { m.SourceLocation = "" }, modelreg.CodeParamRequired, "source_location"},
		{"SourceControl", func(m *modelreg.ModelImport) { m.SourceLocation = "file:///a\x00" }, modelreg.CodeParamInvalid, "source_location"},
		{"SourceType", func(m *modelreg.ModelImport) { m.SourceType = "manual" }, modelreg.CodeParamInvalid, "source_type"},
		{"DescriptionChars", func(m *modelreg.ModelImport) { m.Description = "a<b" }, modelreg.CodeParamInvalid, "description"},
		{"DescriptionLong", func(m *modelreg.ModelImport) { m.Description = strings.Repeat("é", 101) }, modelreg.CodeParamInvalid, "description"},
		{"Algorithm", func(m *modelreg.ModelImport) { m.ModelAlgorithm = "1abc" }, modelreg.CodeParamInvalid, "model_algorithm"},
		{"Workspace", func(m *modelreg.ModelImport) { m.WorkspaceID = "a/b" }, modelreg.CodeParamInvalid, "workspace_id"},
		{"ParamMissingURL", func(m *modelreg.ModelImport) {
			m.InputParams = []modelreg.Param{{Method: "post", Protocol: "http", ParamName: "x", ParamType: "int"}}
		}, modelreg.CodeParamRequired, "input_params[0].url"},
		{"ParamType", func(m *modelreg.ModelImport) {
			m.OutputParams = []modelreg.Param{{URL: "/", Method: "post", Protocol: "http", ParamName: "x", ParamType: "bool"}}
		}, modelreg.CodeParamInvalid, "output_params[0].param_type"},
		{"ParamMinMax", func(m *modelreg.ModelImport) {
			m.InputParams = []modelreg.Param{{URL: "/", Method: "GET", Protocol: "http", ParamName: "x", ParamType: "int", Min: &f2, Max: &f1}}
		}, modelreg.CodeParamInvalid, "input_params[0].min"},
		{"ParamMinOnString", func(m *modelreg.ModelImport) {
			m.InputParams = []modelreg.Param{{URL: "/", Method: "GET", Protocol: "http", ParamName: "x", ParamType: "string", Min: &f1}}
		}, modelreg.CodeParamInvalid, "input_params[0].min"},
		{"DependencyInstaller", func(m *modelreg.ModelImport) {
			m.Dependencies = []modelreg.Dependency{{Installer: "conda", Packages: []modelreg.Package{{Name: "numpy"}}}}
		}, modelreg.CodeParamInvalid, "dependencies[0].installer"},
		{"DependencyNoPackages", func(m *modelreg.ModelImport) {
			m.Dependencies = []modelreg.Dependency{{Installer: "pip"}}
		}, modelreg.CodeParamRequired, "dependencies[0].packages"},
		{"DependencyRestraintMissing", func(m *modelreg.ModelImport) {
			m.Dependencies = []modelreg.Dependency{{Installer: "pip", Packages: []modelreg.Package{{Name: "numpy", Version: "1.0"}}}}
		}, modelreg.CodeParamRequired, "restraint"},
		{"DependencyRestraint", func(m *modelreg.ModelImport) {
			m.Dependencies = []modelreg.Dependency{{Installer: "pip", Packages: []modelreg.Package{{Name: "numpy", Version: "1.0", Restraint: "ABOUT"}}}}
		}, modelreg.CodeParamInvalid, "restraint"},
		{"Metrics", func(m *modelreg.ModelImport) { m.ModelMetrics = "[1]" }, modelreg.CodeParamInvalid, "model_metrics"},
		{"InitialConfig", func(m *modelreg.ModelImport) { m.InitialConfig = "{" }, modelreg.CodeParamInvalid, "initial_config"},
		{"APIsNotObject", func(m *modelreg.ModelImport) { m.APIs = []json.RawMessage{json.RawMessage(`"x"`)} }, modelreg.CodeParamInvalid, "apis[0]"},
		{"APIsMethod", func(m *modelreg.ModelImport) { m.APIs = []json.RawMessage{json.RawMessage(`{"method":"PATCH"}`)} }, modelreg.CodeParamInvalid, "apis[0].method"},
		{"DocsTooMany", func(m *modelreg.ModelImport) { m.ModelDocs = make([]modelreg.ModelDoc, 4) }, modelreg.CodeParamInvalid, "model_docs"},
		{"DocName", func(m *modelreg.ModelImport) {
			m.ModelDocs = []modelreg.ModelDoc{{Name: "1doc", URL: "https://x.org"}}
		}, modelreg.CodeParamInvalid, "model_docs[0].doc_name"},
		{"DocURL", func(m *modelreg.ModelImport) {
			m.ModelDocs = []modelreg.ModelDoc{{Name: "doc", URL: "ftp://x.org"}}
		}, modelreg.CodeParamInvalid, "model_docs[0].doc_url"},
		{"InstallType", func(m *modelreg.ModelImport) { m.InstallType = []string{"realtime"} }, modelreg.CodeParamInvalid, "install_type"},
		{"InstallTypeDuplicate", func(m *modelreg.ModelImport) { m.InstallType = []string{"batch", "batch"} }, modelreg.CodeParamInvalid, "install_type"},
		{"TemplateMissing", func(m *modelreg.ModelImport) { m.Type = "Template" }, modelreg.CodeParamRequired, "template"},
		{"TemplateDuplicateInput", func(m *modelreg.ModelImport) {
			m.Template = &modelreg.Template{TemplateID: "t", Inputs: []modelreg.TemplateInput{{InputID: "a", Input: "x"}, {InputID: "a", Input: "y"}}}
		}, modelreg.CodeParamInvalid, "template_inputs[1].input_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validImport()
			tt.mutate(m)
			err := m.Validate()
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if got := modelreg.ErrorAPICode(err); got != tt.code || modelreg.ErrorCode(err) != modelreg.EINVALID {
				t.Fatalf("Validate() = %v, want %s", err, tt.code)
			}
			if msg := modelreg.ErrorMessage(err); !strings.Contains(msg, tt.field) {
				t.Errorf("message %q does not name %q", msg, tt.field)
			}
		})
	}
}

func TestModelImportNormalize(t *testing.T) {
	m := validImport()
	m.Type = "tensorflow"
	m.InputParams = []modelreg.Param{{Method: "POST"}}
	m.Normalize()
	if m.Type != "TensorFlow" || m.WorkspaceID != "0" || m.InputParams[0].Method != "post" {
		t.Errorf("Normalize() = type %q, workspace %q, method %q", m.Type, m.WorkspaceID, m.InputParams[0].Method)
	}
	if diff := cmp.Diff([]string{"real-time", "batch"}, m.InstallType); diff != "" {
		t.Errorf("install_type (-want +got):\n%s", diff)
	}
}

func TestVersionKey(t *testing.T) {
	for v, want := range map[string]int{"0.0.0": 0, "1.2.3": 10203, "99.99.99": 999999, "1.10.0": 11000, "1.9.99": 10999, "01.0.0": -1, "x": -1} {
		if got := modelreg.VersionKey(v); got != want {
			t.Errorf("VersionKey(%q) = %d, want %d", v, got, want)
		}
	}
	if modelreg.VersionKey("1.10.0") <= modelreg.VersionKey("1.9.99") {
		t.Error("1.10.0 must sort after 1.9.99")
	}
}

func TestModelFilterValidate(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		f := modelreg.ModelFilter{Status: "Published", Type: "pytorch", Page: modelreg.Page{Order: "ASC"}}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		want := modelreg.ModelFilter{Status: "published", Type: "PyTorch", Page: modelreg.Page{Order: "asc", Limit: 100, SortBy: "create_at"}}
		if diff := cmp.Diff(want, f); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	for name, f := range map[string]modelreg.ModelFilter{
		"TypeAndNotType": {Type: "Image", NotType: "Template"},
		"Status":         {Status: "ready"},
		"NotType":        {NotType: "Keras"},
		"Offset":         {Page: modelreg.Page{Offset: -1}},
		"LimitHigh":      {Page: modelreg.Page{Limit: 1001}},
		"LimitNegative":  {Page: modelreg.Page{Limit: -5}},
		"SortBy":         {Page: modelreg.Page{SortBy: "name"}},
		"Order":          {Page: modelreg.Page{Order: "up"}},
		"OffsetHuge":     {Page: modelreg.Page{Offset: 1 << 30, Limit: 1000}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := f.Validate(); modelreg.ErrorAPICode(err) != modelreg.CodeInvalidArgument {
				t.Errorf("Validate() = %v, want ModelArts.0101", err)
			}
		})
	}
}

func TestApplyConfig(t *testing.T) {
	t.Run("FillsEmptyFields", func(t *testing.T) {
		var m modelreg.Model
		m.ApplyConfig(`{"runtime":"python3.6","model_algorithm":"image_classification","metrics":{"f1":0.5},
			"apis":[{"url":"/","method":"post"}],"dependencies":[{"installer":"pip","packages":[{"package_name":"numpy"}]}]}`)
		if m.Runtime != "python3.6" || m.ModelAlgorithm != "image_classification" || m.ModelMetrics != `{"f1":0.5}` ||
			m.APIs != `[{"url":"/","method":"post"}]` || len(m.Dependencies) != 1 || m.Config == "" {
			t.Errorf("ApplyConfig filled %+v", m)
		}
	})
	t.Run("RequestWins", func(t *testing.T) {
		m := modelreg.Model{Runtime: "mine", APIs: `[]`}
		m.ApplyConfig(`{"runtime":"theirs","apis":[{"url":"/"}]}`)
		if m.Runtime != "mine" || m.APIs != `[]` {
			t.Errorf("ApplyConfig overwrote the request: %q %q", m.Runtime, m.APIs)
		}
	})
	t.Run("WrongTypesFillWhatDecodes", func(t *testing.T) {
		var m modelreg.Model
		m.ApplyConfig(`{"runtime":"py","metrics":[1],"apis":"x","dependencies":7}`)
		if m.Runtime != "py" || m.ModelMetrics != "" || m.APIs != "" || m.Dependencies != nil {
			t.Errorf("ApplyConfig = %+v", m)
		}
	})
	t.Run("EmptyKeepsConfig", func(t *testing.T) {
		m := modelreg.Model{Config: `{"a":1}`}
		m.ApplyConfig("")
		if m.Config != `{"a":1}` {
			t.Errorf("Config = %q", m.Config)
		}
	})
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := modelreg.NewID()
		if !modelreg.ValidID(id) || seen[id] {
			t.Fatalf("NewID() = %q: invalid or repeated", id)
		}
		seen[id] = true
	}
}
