package sqlstore

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelreg/modelreg"
)

// row is a Scanner over given values, as a database row would hold them.
type row []any

func (r row) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return errors.New("column count")
	}
	for i, d := range dest {
		switch d := d.(type) {
		case *string:
			*d = r[i].(string)
		case *int64:
			*d = r[i].(int64)
		default:
			return errors.New("unexpected destination")
		}
	}
	return nil
}

func TestModelCodec(t *testing.T) {
	m := &modelreg.Model{
		ModelSummary: modelreg.ModelSummary{ID: "id", ProjectID: "p", Name: "n", Version: "1.0.0", Type: "PyTorch",
			Status: modelreg.ModelPublished, Description: "d", Size: 7, WorkspaceID: "0", Owner: "o", Tenant: "t",
			CreateAt: 11, FailureReason: "", InstallType: []string{"real-time"}, ModelSource: "custom"},
		UpdateAt: 12, Config: `{"a":1}`, SourceLocation: "obs://b/m/",
	}
	summary, details, err := EncodeModel(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(summary+details, `"PyTorch"`) {
		t.Errorf("a column in a document: %s %s", summary, details)
	}
	if strings.Contains(summary, `"obs://b/m/"`) || !strings.Contains(details, `"obs://b/m/"`) {
		t.Errorf("a detail outside details: %s %s", summary, details)
	}
	if strings.Contains(summary+details, `""`) || strings.Contains(summary+details, `:0`) {
		t.Errorf("an empty member stored: %s %s", summary, details)
	}
	scan := func(summary, details string) *modelreg.Model {
		t.Helper()
		got, err := ScanModel(row{m.ID, m.ProjectID, m.Name, m.Version, m.Type, m.Status, m.Description, m.Size,
			m.WorkspaceID, m.Owner, m.Tenant, m.CreateAt, m.UpdateAt, m.FailureReason, m.Config, summary, details})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if diff := cmp.Diff(m, scan(summary, details)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Documents PostgreSQL wrote in full before it wrote them compact, as
	// a row of an earlier version holds them, read the same.
	legacySummary := `{"model_id":"","model_name":"","model_version":"","model_status":"","model_type":"","model_size":0,` +
		`"tenant":"","project":"","owner":"","create_at":0,"description":"","source_type":"","workspace_id":"",` +
		`"model_source":"custom","tunable":false,"market_flag":false,"publishable_flag":false,"install_type":["real-time"],"specification":{}}`
	legacyDetails := strings.Replace(`{"model_id":"","model_name":"","model_version":"","model_status":"","model_type":"","model_size":0,`+
		`"tenant":"","project":"","owner":"","create_at":0,"description":"","source_type":"","workspace_id":"","model_source":"",`+
		`"tunable":false,"market_flag":false,"publishable_flag":false,"install_type":null,"specification":{},"source_location":"",`+
		`"source_job_id":"","source_job_version":"","runtime":"","execution_code":"","schema_doc":"","image_address":"",`+
		`"input_params":null,"output_params":null,"dependencies":null,"model_metrics":"","apis":"","model_docs":null,`+
		`"model_algorithm":"","model_labels":null,"labels_map":{"labels":null},"config":"","update_at":0,"protected":false}`,
		`"source_location":""`, `"source_location":"obs://b/m/"`, 1)
	if diff := cmp.Diff(scan(summary, details), scan(legacySummary, legacyDetails)); diff != "" {
		t.Errorf("a legacy row reads differently (-compact +legacy):\n%s", diff)
	}
}

// TestMarshal checks that a compact document decodes to what the full one
// does, and keeps empty arrays and objects.
func TestMarshal(t *testing.T) {
	type inner struct {
		S string `json:"s"`
	}
	type doc struct {
		S     string            `json:"s"`
		N     int64             `json:"n"`
		F     float64           `json:"f"`
		B     bool              `json:"b"`
		P     *inner            `json:"p"`
		L     []string          `json:"l"`
		E     []string          `json:"e"`
		M     map[string]string `json:"m"`
		I     inner             `json:"i"`
		Quote string            `json:"quote"`
	}
	for _, v := range []doc{
		{},
		{S: "x", N: -3, F: 0.5, B: true, P: &inner{}, L: []string{"", "a,b"}, E: []string{}, M: map[string]string{"k": ""},
			Quote: `a "quoted", {braced} [value]\`},
		{E: []string{}, M: map[string]string{}, I: inner{S: "}"}},
	} {
		got, err := marshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		var back doc
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if diff := cmp.Diff(v, back); diff != "" {
			t.Errorf("%s decodes differently (-want +got):\n%s", got, diff)
		}
	}
	if got, _ := marshal(&doc{}); got != `{"i":{"s":""}}` {
		t.Errorf("empty document %s", got)
	}
	if _, err := marshal([]int{1}); err == nil {
		t.Error("an array marshalled as a document")
	}
}

func TestServiceCodec(t *testing.T) {
	s := &modelreg.Service{ID: "s", ProjectID: "p", Name: "svc", Status: modelreg.ServiceRunning,
		InferType: modelreg.InferRealTime, WorkspaceID: "0", ClusterID: "c", Description: "d",
		PublishAt: 1, UpdateTime: 2, TransitionAt: 3, DueTime: 4}
	details, err := EncodeService(s)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(details), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["service_name"] != nil && doc["service_name"] != "" {
		t.Errorf("a column in the document: %s", details)
	}
	got, err := ScanService(row{s.ID, s.ProjectID, s.Name, s.Status, s.InferType, s.WorkspaceID, s.ClusterID,
		s.Description, s.PublishAt, s.UpdateTime, s.TransitionAt, s.DueTime, details})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	e := modelreg.ServiceConfig{ModelID: "m", ModelName: "n", ModelVersion: "1", Status: "x", Extra: map[string]string{"k": "v"}}
	entry, err := EncodeEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(entry, `"m"`) {
		t.Errorf("the model id is stored in the entry: %s", entry)
	}
	back, err := DecodeEntry(entry, "m", "n", "1")
	if err != nil {
		t.Fatal(err)
	}
	e.Status = ""
	if diff := cmp.Diff(e, back); diff != "" {
		t.Errorf("entry round trip (-want +got):\n%s", diff)
	}
}

func TestMergeMigrations(t *testing.T) {
	at := time.UnixMilli(1000).UTC()
	got := MergeMigrations([]string{"0001_a.sql", "0002_b.sql"},
		map[string]int64{"0001_a.sql": 1000, "0009_z.sql": 1000, "0003_c.sql": 1000})
	want := []MigrationState{
		{Name: "0001_a.sql", Known: true, Applied: true, AppliedAt: at},
		{Name: "0002_b.sql", Known: true},
		{Name: "0003_c.sql", Applied: true, AppliedAt: at},
		{Name: "0009_z.sql", Applied: true, AppliedAt: at},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPageColumns(t *testing.T) {
	for _, c := range []struct{ sortBy, want string }{
		{modelreg.ModelSortCreateAt, "create_at"}, {modelreg.ModelSortVersion, "version_key"}, {modelreg.ModelSortSize, "size"},
	} {
		if got := ModelSortColumn(c.sortBy); got != c.want {
			t.Errorf("ModelSortColumn(%q) = %q, want %q", c.sortBy, got, c.want)
		}
	}
	if ServiceSortColumn(modelreg.ServiceSortName) != "name" || ServiceSortColumn(modelreg.ServiceSortPublishAt) != "publish_at" {
		t.Error("ServiceSortColumn")
	}
	if Direction(modelreg.Page{Order: modelreg.OrderAsc}) != "ASC" || Direction(modelreg.Page{Order: modelreg.OrderDesc}) != "DESC" {
		t.Error("Direction")
	}
}

// TestSummaryDecoder: models decoded from one document are equal and
// share nothing (a change to one's install types leaves the other's).
func TestSummaryDecoder(t *testing.T) {
	d := NewSummaryDecoder()
	doc := `{"install_type":["real-time","batch"],"specification":{"min_cpu":"1"},"model_source":"custom"}`
	var a, b modelreg.ModelSummary
	if err := d.Decode(doc, &a); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(doc, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) || len(a.InstallType) != 2 || a.Specification.MinCPU != "1" || a.ModelSource != "custom" {
		t.Fatalf("decoded %+v and %+v", a, b)
	}
	b.InstallType[0] = "edge"
	if a.InstallType[0] != "real-time" {
		t.Error("two models decoded from one document share their install types")
	}
	var c modelreg.ModelSummary
	if err := d.Decode(doc, &c); err != nil || c.InstallType[0] != "real-time" {
		t.Errorf("the cached document was changed through a model: %+v %v", c, err)
	}
	if err := d.Decode(`{"install_type":`, &c); err == nil {
		t.Error("a malformed document decoded")
	}
}
