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
			CreateAt: 11, FailureReason: "", InstallType: []string{"real-time"}},
		UpdateAt: 12, Config: `{"a":1}`, SourceLocation: "obs://b/m/",
	}
	for name, marshal := range map[string]Marshal{"json": MarshalJSON} {
		t.Run(name, func(t *testing.T) {
			summary, details, err := EncodeModel(m, marshal)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(summary+details, `"PyTorch"`) {
				t.Errorf("a column in a document: %s %s", summary, details)
			}
			if strings.Contains(summary, `"obs://b/m/"`) || !strings.Contains(details, `"obs://b/m/"`) {
				t.Errorf("a detail outside details: %s %s", summary, details)
			}
			got, err := ScanModel(row{m.ID, m.ProjectID, m.Name, m.Version, m.Type, m.Status, m.Description, m.Size,
				m.WorkspaceID, m.Owner, m.Tenant, m.CreateAt, m.UpdateAt, m.FailureReason, m.Config, summary, details})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(m, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServiceCodec(t *testing.T) {
	s := &modelreg.Service{ID: "s", ProjectID: "p", Name: "svc", Status: modelreg.ServiceRunning,
		InferType: modelreg.InferRealTime, WorkspaceID: "0", ClusterID: "c", Description: "d",
		PublishAt: 1, UpdateTime: 2, TransitionAt: 3, DueTime: 4}
	details, err := EncodeService(s, MarshalJSON)
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
	entry, err := EncodeEntry(e, MarshalJSON)
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
