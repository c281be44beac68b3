package sqlstore

import (
	"encoding/json"
	"slices"

	"github.com/modelreg/modelreg"
)

// Both stores keep a model in columns (what is filtered, sorted or updated
// on its own) and two JSON documents: summary (the other fields of the list
// item) and details (the rest of the model). A service likewise keeps its
// columns and a details document, and each config entry a document of its
// own. Fields with a column are zeroed in the documents, so a field added
// to modelreg.Model or modelreg.Service later is kept without a schema
// change. The codecs below are the one definition of that mapping. A
// document leaves out the members that decode to zero anyway (see
// marshal); documents a store wrote in full before are read alike.

// Scanner is a row: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all are.
type Scanner interface{ Scan(dest ...any) error }

// ModelColumns are the columns ScanModel reads, in its order.
const ModelColumns = `id, project_id, name, version, type, status, description, size, workspace_id,
	owner, tenant, create_at, update_at, failure_reason, config, summary, details`

// ScanModel reads a row of ModelColumns.
//
// extra receives the columns a query reads after ModelColumns (the
// protection of findModelByID).
func ScanModel(row Scanner, extra ...any) (*modelreg.Model, error) {
	var m modelreg.Model
	var summary, details string
	var cols modelreg.ModelSummary
	if err := row.Scan(append([]any{&cols.ID, &cols.ProjectID, &cols.Name, &cols.Version, &cols.Type, &cols.Status,
		&cols.Description, &cols.Size, &cols.WorkspaceID, &cols.Owner, &cols.Tenant, &cols.CreateAt,
		&m.UpdateAt, &cols.FailureReason, &m.Config, &summary, &details}, extra...)...); err != nil {
		return nil, err
	}
	updateAt, config := m.UpdateAt, m.Config
	if err := json.Unmarshal([]byte(details), &m); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(summary), &m.ModelSummary); err != nil {
		return nil, err
	}
	m.UpdateAt, m.Config = updateAt, config
	SetSummaryColumns(&m.ModelSummary, &cols)
	return &m, nil
}

// SummaryColumns are the columns of a list item, the summary document
// last, as ScanSummary reads them (prefix is a table alias and its dot, or
// empty).
func SummaryColumns(prefix string) string {
	p := prefix
	return p + `id, ` + p + `project_id, ` + p + `name, ` + p + `version, ` + p + `type, ` + p + `status, ` +
		p + `description, ` + p + `size, ` + p + `workspace_id, ` + p + `owner, ` + p + `tenant, ` +
		p + `create_at, ` + p + `failure_reason, ` + p + `summary`
}

// SummaryDest returns the destinations of a row of SummaryColumns: cols
// gets the columns, summary the document.
func SummaryDest(cols *modelreg.ModelSummary, summary *string) []any {
	return []any{&cols.ID, &cols.ProjectID, &cols.Name, &cols.Version, &cols.Type, &cols.Status,
		&cols.Description, &cols.Size, &cols.WorkspaceID, &cols.Owner, &cols.Tenant, &cols.CreateAt,
		&cols.FailureReason, summary}
}

// SetSummaryColumns copies the summary fields that have a column from src.
func SetSummaryColumns(dst, src *modelreg.ModelSummary) {
	dst.ID, dst.ProjectID, dst.Name, dst.Version = src.ID, src.ProjectID, src.Name, src.Version
	dst.Type, dst.Status, dst.Description, dst.Size = src.Type, src.Status, src.Description, src.Size
	dst.WorkspaceID, dst.Owner, dst.Tenant, dst.CreateAt = src.WorkspaceID, src.Owner, src.Tenant, src.CreateAt
	dst.FailureReason = src.FailureReason
}

// EncodeModel returns the documents holding the fields of m that have no
// column: summary for the list fields, details for the rest.
func EncodeModel(m *modelreg.Model) (summary, details string, err error) {
	s := m.ModelSummary
	SetSummaryColumns(&s, &modelreg.ModelSummary{})
	d := *m
	d.ModelSummary = modelreg.ModelSummary{}
	d.UpdateAt, d.Config, d.Protected = 0, "", false // Protected: model_protection
	if summary, err = marshal(&s); err != nil {
		return "", "", err
	}
	if details, err = marshal(&d); err != nil {
		return "", "", err
	}
	return summary, details, nil
}

// ServiceColumns are the columns ScanService reads, in its order.
const ServiceColumns = `id, project_id, name, status, infer_type, workspace_id, cluster_id, description,
	publish_at, update_time, transition_at, due_at, details`

// ScanService reads a row of ServiceColumns: the service without its
// config.
func ScanService(row Scanner) (*modelreg.Service, error) {
	var c modelreg.Service
	var details string
	if err := row.Scan(&c.ID, &c.ProjectID, &c.Name, &c.Status, &c.InferType, &c.WorkspaceID, &c.ClusterID,
		&c.Description, &c.PublishAt, &c.UpdateTime, &c.TransitionAt, &c.DueTime, &details); err != nil {
		return nil, err
	}
	var s modelreg.Service
	if err := json.Unmarshal([]byte(details), &s); err != nil {
		return nil, err
	}
	s.ID, s.ProjectID, s.Name, s.Status, s.InferType, s.WorkspaceID = c.ID, c.ProjectID, c.Name, c.Status, c.InferType, c.WorkspaceID
	s.ClusterID, s.Description = c.ClusterID, c.Description
	s.PublishAt, s.UpdateTime, s.TransitionAt, s.DueTime = c.PublishAt, c.UpdateTime, c.TransitionAt, c.DueTime
	s.Config = nil
	return &s, nil
}

// EncodeService returns the document holding the fields of s that have no
// column (and not its config, which has its own table).
func EncodeService(s *modelreg.Service) (string, error) {
	d := *s
	d.ID, d.ProjectID, d.Name, d.Status, d.InferType, d.WorkspaceID = "", "", "", "", "", ""
	d.ClusterID, d.Description = "", ""
	d.PublishAt, d.UpdateTime, d.TransitionAt, d.DueTime = 0, 0, 0, 0
	d.Config = nil
	return marshal(&d)
}

// storedEntry is a config entry as stored in service_models.entry. The
// model id, name and version and the status are not stored there; Extra,
// which the API never shows, is.
type storedEntry struct {
	modelreg.ServiceConfig
	Extra map[string]string `json:"extra,omitempty"`
}

// EncodeEntry returns the document of config entry e.
func EncodeEntry(e modelreg.ServiceConfig) (string, error) {
	se := storedEntry{ServiceConfig: e, Extra: e.Extra}
	se.ModelID, se.ModelName, se.ModelVersion, se.Status = "", "", "", ""
	return marshal(&se)
}

// DecodeEntry reads the document of a config entry, Extra included, for
// the model modelID, name and version.
func DecodeEntry(doc, modelID, name, version string) (modelreg.ServiceConfig, error) {
	var se storedEntry
	if err := json.Unmarshal([]byte(doc), &se); err != nil {
		return modelreg.ServiceConfig{}, err
	}
	e := se.ServiceConfig
	e.Extra = se.Extra
	e.ModelID, e.ModelName, e.ModelVersion = modelID, name, version
	return e, nil
}

// SetEntryStatus sets each config entry's status from the service's: its
// instances are all up when the service runs, none otherwise.
func SetEntryStatus(s *modelreg.Service) {
	st := modelreg.EntryNotReady
	if s.Status == modelreg.ServiceRunning {
		st = modelreg.EntryReady
	}
	for i := range s.Config {
		s.Config[i].Status = st
	}
}

// NameAggregates returns the aggregates of got in the order of names,
// leaving out the names got lacks (no version matched).
func NameAggregates(names []string, got map[string]*modelreg.ModelName) []*modelreg.ModelName {
	out := make([]*modelreg.ModelName, 0, len(got))
	for _, n := range names {
		if a, ok := got[n]; ok {
			out = append(out, a)
		}
	}
	return out
}

// SummaryDecoder decodes the summary documents of one page of models. The
// models of a page mostly share their document (the fields without a
// column), and decoding it was most of a page's CPU, so each distinct
// document is decoded once. The zero value is not usable: make one with
// NewSummaryDecoder for each page.
type SummaryDecoder map[string]*modelreg.ModelSummary

// NewSummaryDecoder returns an empty SummaryDecoder.
func NewSummaryDecoder() SummaryDecoder { return SummaryDecoder{} }

// Decode sets the document fields of m, a zero ModelSummary, from summary.
// m shares nothing with another model decoded from the same document.
func (d SummaryDecoder) Decode(summary string, m *modelreg.ModelSummary) error {
	if c, ok := d[summary]; ok {
		*m = *c
		m.InstallType = slices.Clone(c.InstallType)
		return nil
	}
	if err := json.Unmarshal([]byte(summary), m); err != nil {
		return err
	}
	c := *m
	c.InstallType = slices.Clone(m.InstallType)
	d[summary] = &c
	return nil
}
