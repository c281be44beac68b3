package httpapi

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSuccessStatuses checks the decision on success statuses
// (docs/decisions.md, "Adoption"): in the contract, every creation and
// deletion of a ModelArts or modelreg route answers 200, and of an IAM
// route 201 and 204; docs/api.md says both.
func TestSuccessStatuses(t *testing.T) {
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for path, ops := range doc.Paths {
		iam := strings.HasPrefix(path, "/v3")
		for method, v := range ops {
			op, _ := v.(map[string]any)
			responses, _ := op["responses"].(map[string]any)
			var want string
			switch {
			case method == "post" && iam:
				want = "201"
			case method == "delete" && iam:
				want = "204"
			case method == "post" || method == "delete":
				want = "200"
			default:
				continue
			}
			if strings.HasSuffix(path, "/commit") || strings.HasSuffix(path, "/restore") {
				want = "200"
			}
			checked++
			for code := range responses {
				if strings.HasPrefix(code, "2") && code != want {
					t.Errorf("%s %s: success %s, want %s", strings.ToUpper(method), path, code, want)
				}
			}
			if _, ok := responses[want]; !ok {
				t.Errorf("%s %s: no %s response", strings.ToUpper(method), path, want)
			}
		}
	}
	if checked < 8 {
		t.Fatalf("checked %d operations: the contract did not parse", checked)
	}
	api, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(api), "\n") {
		if strings.HasPrefix(line, "| Success status |") {
			if !strings.Contains(line, "**200**") || !strings.Contains(line, "**201**") || !strings.Contains(line, "**204**") {
				t.Errorf("docs/api.md's success status does not name 200, 201 and 204: %s", line)
			}
			return
		}
	}
	t.Error("docs/api.md has no Success status row")
}
