package modelreg_test

import (
	"strings"
	"testing"

	"github.com/modelreg/modelreg"
)

// TestValidationNamesTheFirstBadField checks that when several fields of a
// request are bad, validation always names the same one, the first in the
// documentation's order: many runs, one message (ranging over a map named
// a random one).
func TestValidationNamesTheFirstBadField(t *testing.T) {
	long := strings.Repeat("a", 1025)
	tests := []struct {
		name  string
		check func() error
		want  string // in the message
	}{
		{"ModelTextFields", func() error {
			m := validImport()
			m.SourceJobID, m.SourceJobVersion, m.Runtime, m.ExecutionCode = long, long, long, long
			return m.Validate()
		}, "(source_job_id:"},
		{"ParamTextFields", func() error {
			m := validImport()
			m.InputParams = []modelreg.Param{{URL: "/\x01", Method: "post", Protocol: "http\x01", ParamName: "x", ParamType: "int"}}
			return m.Validate()
		}, "(input_params[0].url:"},
		{"BatchConfigFields", func() error {
			s := validService()
			s.InferType = modelreg.InferBatch
			return s.Validate()
		}, "(config[0].src_path)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 {
				if msg := modelreg.ErrorMessage(tt.check()); !strings.Contains(msg, tt.want) {
					t.Fatalf("message %q, want it to name %s", msg, tt.want)
				}
			}
		})
	}
}
