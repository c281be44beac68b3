package importer

import (
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
)

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		code string // "" when valid
		msg  string
	}{
		{"Empty object", `{}`, "", ""},
		{"Full", `{"model_type":"PyTorch","runtime":"python3.7","model_algorithm":"image_classification",
			"apis":[{"url":"/","method":"post"}],"dependencies":[],"metrics":{"f1":0.9},"extra":[1,2]}`, "", ""},
		{"Nulls", `{"model_type":null,"apis":null}`, "", ""},
		{"Syntax", `{"model_type": "x",}`, modelreg.CodeConfigInvalid, "invalid JSON at line 1"},
		{"SyntaxLine", "{\n\"a\": 1\n\"b\": 2}", modelreg.CodeConfigInvalid, "invalid JSON at line 3"},
		{"Truncated", `{"model_type": "x"`, modelreg.CodeConfigInvalid, "invalid JSON"},
		{"Empty", ``, modelreg.CodeConfigInvalid, "invalid JSON"},
		{"Array", `[1]`, modelreg.CodeConfigInvalid, "the document is an array, not a JSON object"},
		{"Null", `null`, modelreg.CodeConfigInvalid, "null"},
		{"Number", `42`, modelreg.CodeConfigInvalid, "a number"},
		{"ModelTypeNumber", `{"model_type": 3}`, modelreg.CodeConfigUnsupported, "model_type must be a JSON string, not a number"},
		{"RuntimeObject", `{"runtime": {}}`, modelreg.CodeConfigUnsupported, "runtime must be a JSON string, not an object"},
		{"AlgorithmBool", `{"model_algorithm": true}`, modelreg.CodeConfigUnsupported, "model_algorithm must be a JSON string, not a boolean"},
		{"APIsObject", `{"apis": {"url": "/"}}`, modelreg.CodeConfigUnsupported, "apis must be a JSON array, not an object"},
		{"DependenciesString", `{"dependencies": "numpy"}`, modelreg.CodeConfigUnsupported, "dependencies must be a JSON array, not a string"},
		{"MetricsArray", `{"metrics": [0.9]}`, modelreg.CodeConfigUnsupported, "metrics must be a JSON object, not an array"},
		{"TooLarge", `{"x":"` + strings.Repeat("a", maxConfigSize) + `"}`, modelreg.CodeConfigInvalid, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkConfig("model/config.json", []byte(tt.doc))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("checkConfig = %v, want nil", err)
				}
				return
			}
			f, ok := err.(*failure)
			if !ok {
				t.Fatalf("checkConfig = %v (%T), want a *failure", err, err)
			}
			want := tt.code + ": model/config.json "
			if !strings.HasPrefix(f.reason, want) || !strings.Contains(f.reason, tt.msg) {
				t.Errorf("reason %q, want prefix %q containing %q", f.reason, want, tt.msg)
			}
			if tt.code == modelreg.CodeConfigInvalid && !strings.Contains(f.reason, "config.json does not conform: ") {
				t.Errorf("reason %q does not say the config does not conform", f.reason)
			}
		})
	}
}

func TestConfigPath(t *testing.T) {
	files := func(paths ...string) []file {
		var fs []file
		for _, p := range paths {
			fs = append(fs, file{rel: p})
		}
		return fs
	}
	tests := []struct {
		name  string
		files []file
		want  string
	}{
		{"ModelDir", files("config.json", "model/config.json", "model/w.bin"), "model/config.json"},
		{"ModelDirWithoutConfig", files("config.json", "model/w.bin"), ""},
		{"Top", files("config.json", "w.bin"), "config.json"},
		{"Nested", files("sub/config.json", "w.bin"), ""},
		{"ModelFileNotDir", files("model", "config.json"), "config.json"},
		{"ModelsDir", files("models/config.json", "config.json"), "config.json"},
		{"None", files("w.bin"), ""},
	}
	for _, tt := range tests {
		if got := configPath(tt.files); got != tt.want {
			t.Errorf("%s: configPath = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		20 << 30:    "20 GiB",
		5 << 20:     "5 MiB",
		3 << 10:     "3 KiB",
		1000:        "1000 bytes",
		11:          "11 bytes",
		1<<30 + 512: "1073742336 bytes",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
