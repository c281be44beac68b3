package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
)

// CreateService stores s as deploying with a first event, in one
// transaction. It fills s.ID (when empty), Status, PublishAt, UpdateTime,
// TransitionAt and each config entry's model name, version and status; s is
// left unchanged when it fails. Returns ECONFLICT ModelArts.3503 when the
// name is taken in the project, ENOTFOUND ModelArts.3507 when a config model
// does not exist in the project, ESTATE ModelArts.3515 when one is still
// publishing and ModelArts.3078 when one failed, and EINVALID ModelArts.3516
// when the config names a model twice.
func (db *DB) CreateService(ctx context.Context, s *modelreg.Service) error {
	c := *s
	c.Config = slices.Clone(s.Config)
	if c.ID == "" {
		c.ID = modelreg.NewID()
	}
	err := db.update(ctx, "sqlite.CreateService", func(tx *Tx) error {
		return createService(ctx, tx, &c)
	})
	if err != nil {
		return err
	}
	*s = c
	return nil
}

func createService(ctx context.Context, tx *Tx, s *modelreg.Service) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM services WHERE project_id = ? AND name = ?`, s.ProjectID, s.Name).Scan(&one)
	if err == nil {
		return modelreg.ServiceExists(s.Name)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err := checkConfigModels(ctx, tx, s.ProjectID, s.Config); err != nil {
		return err
	}
	s.Status = modelreg.ServiceDeploying
	s.PublishAt, s.UpdateTime, s.TransitionAt = tx.ms(), tx.ms(), tx.ms()
	details, err := sqlstore.EncodeService(s)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO services (id, project_id, name, status, infer_type, workspace_id,
		cluster_id, description, publish_at, update_time, transition_at, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.ProjectID, s.Name, s.Status, s.InferType, s.WorkspaceID,
		s.ClusterID, s.Description, s.PublishAt, s.UpdateTime, s.TransitionAt, details)
	if isUniqueViolation(err) {
		// Only the id can collide here: the name was checked above.
		return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeServiceExists, "Service %s already exists.", s.ID)
	} else if err != nil {
		return err
	}
	if err := insertConfig(ctx, tx, s.ID, s.Config); err != nil {
		return err
	}
	if err := addUpdateLog(ctx, tx, s.ID, s.Status, s.ClusterID, s.Config); err != nil { // updatelog.go
		return err
	}
	sqlstore.SetEntryStatus(s)
	if err := addEvent(ctx, tx, s.ID, modelreg.ServiceEvent{EventType: modelreg.EventNormal,
		EventInfo: "[" + s.Name + "] start to deploy service"}); err != nil {
		return err
	}
	return record(ctx, tx, modelreg.ServiceCreateEvent(ctx, s))
}

// checkConfigModels checks that every model of cfg exists in the project and
// is published, and fills in its name and version.
func checkConfigModels(ctx context.Context, tx *Tx, projectID string, cfg []modelreg.ServiceConfig) error {
	seen := make(map[string]bool, len(cfg))
	for _, e := range cfg {
		if seen[e.ModelID] {
			return modelreg.DuplicateVersion()
		}
		seen[e.ModelID] = true
	}
	for i := range cfg {
		e := &cfg[i]
		var status string
		err := tx.QueryRowContext(ctx, `SELECT name, version, status FROM models WHERE id = ? AND project_id = ?`,
			e.ModelID, projectID).Scan(&e.ModelName, &e.ModelVersion, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.ServiceModelGone(e.ModelID)
		} else if err != nil {
			return err
		}
		switch status {
		case modelreg.ModelPublished:
		case modelreg.ModelPublishing:
			return modelreg.Errorf(modelreg.ESTATE, modelreg.CodeModelPublishing,
				"The model %s cannot be used for deploying services because it is still being published.", e.ModelID)
		default:
			return modelreg.Errorf(modelreg.ESTATE, modelreg.CodeModelAbnormal,
				"The model %s status (%s) is not normal and it cannot be deployed.", e.ModelID, status)
		}
	}
	return nil
}

func insertConfig(ctx context.Context, tx *Tx, serviceID string, cfg []modelreg.ServiceConfig) error {
	for i, e := range cfg {
		entry, err := sqlstore.EncodeEntry(e)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_models (service_id, position, model_id, entry) VALUES (?, ?, ?, ?)`,
			serviceID, i, e.ModelID, entry); err != nil {
			if isUniqueViolation(err) {
				return modelreg.DuplicateVersion()
			}
			return err
		}
	}
	return nil
}

func addEvent(ctx context.Context, tx *Tx, serviceID string, ev modelreg.ServiceEvent) error {
	if ev.OccurTime == 0 {
		ev.OccurTime = tx.ms()
	}
	if ev.EventType == "" {
		ev.EventType = modelreg.EventNormal
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO service_events (service_id, occur_time, event_type, event_info) VALUES (?, ?, ?, ?)`,
		serviceID, ev.OccurTime, ev.EventType, ev.EventInfo)
	return err
}

// FindServiceByID returns a service with its config.
// Returns ENOTFOUND ModelArts.3502.
func (db *DB) FindServiceByID(ctx context.Context, projectID, id string) (*modelreg.Service, error) {
	var s *modelreg.Service
	err := db.view(ctx, "sqlite.FindServiceByID", func(tx *Tx) (err error) {
		s, err = findServiceByID(ctx, tx, projectID, id)
		return err
	})
	return s, err
}

func findServiceByID(ctx context.Context, tx *Tx, projectID, id string) (*modelreg.Service, error) {
	s, err := sqlstore.ScanService(tx.QueryRowContext(ctx, `SELECT `+sqlstore.ServiceColumns+` FROM services WHERE id = ? AND project_id = ?`, id, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, modelreg.ServiceNotFound(id)
	} else if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT sm.model_id, m.name, m.version, sm.entry
		FROM service_models sm JOIN models m ON m.id = sm.model_id
		WHERE sm.service_id = ? ORDER BY sm.position`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	s.Config = []modelreg.ServiceConfig{}
	for rows.Next() {
		var modelID, name, version, entry string
		if err := rows.Scan(&modelID, &name, &version, &entry); err != nil {
			return nil, err
		}
		e, err := sqlstore.DecodeEntry(entry, modelID, name, version)
		if err != nil {
			return nil, err
		}
		s.Config = append(s.Config, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sqlstore.SetEntryStatus(s)
	return s, nil
}

// FindServices returns one page of the services matching f and the number
// of all matches, without config, in the order of f.SortBy then id.
func (db *DB) FindServices(ctx context.Context, f modelreg.ServiceFilter) ([]*modelreg.Service, int, error) {
	var services []*modelreg.Service
	var n int
	err := db.view(ctx, "sqlite.FindServices", func(tx *Tx) (err error) {
		services, n, err = findServices(ctx, tx, f)
		return err
	})
	return services, n, err
}

func findServices(ctx context.Context, tx *Tx, f modelreg.ServiceFilter) ([]*modelreg.Service, int, error) {
	where, args := []string{"project_id = ?"}, []any{f.ProjectID}
	if f.Name != "" {
		where, args = append(where, `name LIKE ? ESCAPE '\'`), append(args, likePattern(f.Name))
	}
	if f.ModelID != "" {
		where = append(where, `EXISTS (SELECT 1 FROM service_models sm WHERE sm.service_id = services.id AND sm.model_id = ?)`)
		args = append(args, f.ModelID)
	}
	for _, c := range []struct {
		expr, v string
	}{
		{"id = ?", f.ServiceID},
		{"cluster_id = ?", f.ClusterID},
		{"workspace_id = ?", f.WorkspaceID},
		{"infer_type = ?", f.InferType},
		{"status = ?", f.Status},
	} {
		if c.v != "" {
			where, args = append(where, c.expr), append(args, c.v)
		}
	}
	sortCol, order := sqlstore.ServiceSortColumn(f.SortBy), sqlstore.Direction(f.Page)
	limit, offset := f.Limit, f.Skip()
	cond := strings.Join(where, " AND ")
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM services WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	services := []*modelreg.Service{}
	if total == 0 || offset >= total {
		return services, total, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+sqlstore.ServiceColumns+` FROM services WHERE `+cond+
		` ORDER BY `+sortCol+` `+order+`, id `+order+` LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		s, err := sqlstore.ScanService(rows)
		if err != nil {
			return nil, 0, err
		}
		services = append(services, s)
	}
	return services, total, rows.Err()
}

// UpdateService applies u in one transaction (modelreg.Service.Apply, then
// a new config's models checked as by CreateService) and returns the
// service as it is afterwards. Each change records an event. Returns
// ENOTFOUND ModelArts.3502, ESTATE ModelArts.3519 when the state forbids
// the change, and the CreateService model codes.
func (db *DB) UpdateService(ctx context.Context, projectID, id string, u modelreg.ServiceUpdate) (*modelreg.Service, error) {
	var s *modelreg.Service
	err := db.update(ctx, "sqlite.UpdateService", func(tx *Tx) (err error) {
		s, err = updateService(ctx, tx, projectID, id, u)
		return err
	})
	return s, err
}

func updateService(ctx context.Context, tx *Tx, projectID, id string, u modelreg.ServiceUpdate) (*modelreg.Service, error) {
	s, err := findServiceByID(ctx, tx, projectID, id)
	if err != nil {
		return nil, err
	}
	before := s.Status
	if u.IfMatch != nil && !modelreg.MatchETag(u.IfMatch, modelreg.ETag(s)) {
		return nil, modelreg.PreconditionFailed("service " + id)
	}
	change, err := s.Apply(u, tx.ms())
	if err != nil {
		return nil, err
	}
	if change.Config != nil {
		if err := checkConfigModels(ctx, tx, projectID, change.Config); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_models WHERE service_id = ?`, id); err != nil {
			return nil, err
		}
		if err := insertConfig(ctx, tx, id, change.Config); err != nil {
			return nil, err
		}
	}
	if !change.Changed() {
		return s, nil
	}
	details, err := sqlstore.EncodeService(s)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE services SET status = ?, description = ?, update_time = ?, transition_at = ?, due_at = ?,
		details = ? WHERE id = ?`, s.Status, s.Description, s.UpdateTime, s.TransitionAt, s.DueTime, details, id); err != nil {
		return nil, err
	}
	for _, info := range change.Events {
		if err := addEvent(ctx, tx, id, modelreg.ServiceEvent{EventType: modelreg.EventNormal, EventInfo: info}); err != nil {
			return nil, err
		}
	}
	if s.Status != before { // updatelog.go
		if err := resolveUpdateLogs(ctx, tx, id, s.Status); err != nil {
			return nil, err
		}
	}
	if change.Config != nil {
		if err := addUpdateLog(ctx, tx, id, s.Status, s.ClusterID, change.Config); err != nil {
			return nil, err
		}
	}
	if err := record(ctx, tx, modelreg.ServiceUpdateEvent(ctx, s, change.Events)); err != nil {
		return nil, err
	}
	return findServiceByID(ctx, tx, projectID, id)
}

// TransitionService moves a service from status from to status to and
// records event (at the transaction's time when its OccurTime is 0, as
// normal when its type is empty). Returns ENOTFOUND ModelArts.3502 and
// ESTATE ModelArts.3519 when the service is not in status from.
func (db *DB) TransitionService(ctx context.Context, projectID, id, from, to string, event modelreg.ServiceEvent) error {
	return db.update(ctx, "sqlite.TransitionService", func(tx *Tx) error {
		var status, details, name string
		err := tx.QueryRowContext(ctx, `SELECT status, details, name FROM services WHERE id = ? AND project_id = ?`, id, projectID).Scan(&status, &details, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.ServiceNotFound(id)
		} else if err != nil {
			return err
		}
		if status != from {
			return modelreg.Errorf(modelreg.ESTATE, modelreg.CodeServiceState,
				"Service %s is %s, not %s: it cannot become %s.", id, status, from, to)
		}
		var stored modelreg.Service // its details: the schedule
		if err := json.Unmarshal([]byte(details), &stored); err != nil {
			return err
		}
		due := modelreg.DueTime(to, stored.Schedule, tx.ms())
		if _, err := tx.ExecContext(ctx, `UPDATE services SET status = ?, transition_at = ?, due_at = ? WHERE id = ?`, to, tx.ms(), due, id); err != nil {
			return err
		}
		if err := resolveUpdateLogs(ctx, tx, id, to); err != nil { // updatelog.go
			return err
		}
		if err := addEvent(ctx, tx, id, event); err != nil {
			return err
		}
		return record(ctx, tx, modelreg.ServiceTransitionEvent(ctx, projectID, id, name, from, to))
	})
}

// StopDueServices stops every running service whose due time has come,
// each with an event, in one transaction, and returns how many it stopped.
func (db *DB) StopDueServices(ctx context.Context) (int, error) {
	var n int
	err := db.update(ctx, "sqlite.StopDueServices", func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name, project_id FROM services
			WHERE due_at > 0 AND due_at <= ? AND status = 'running' ORDER BY due_at, id`, tx.ms())
		if err != nil {
			return err
		}
		var due [][3]string
		for rows.Next() {
			var id, name, project string
			if err := rows.Scan(&id, &name, &project); err != nil {
				rows.Close()
				return err
			}
			due = append(due, [3]string{id, name, project})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, s := range due {
			if _, err := tx.ExecContext(ctx, `UPDATE services SET status = 'stopped', transition_at = ?, due_at = 0 WHERE id = ?`,
				tx.ms(), s[0]); err != nil {
				return err
			}
			if err := addEvent(ctx, tx, s[0], modelreg.ServiceEvent{EventType: modelreg.EventNormal,
				EventInfo: "[" + s[1] + "] service stopped by its schedule"}); err != nil {
				return err
			}
			if err := record(ctx, tx, modelreg.ServiceTransitionEvent(ctx, s[2], s[0], s[1], modelreg.ServiceRunning, modelreg.ServiceStopped).
				With("schedule", true)); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	return n, err
}

// DeleteServices deletes the given services, with their configs and events,
// in one transaction, or none of them: ENOTFOUND ModelArts.3502 names the
// first unknown id. An id given twice is deleted once.
func (db *DB) DeleteServices(ctx context.Context, projectID string, ids []string) error {
	return db.DeleteServicesIf(ctx, projectID, ids, nil)
}

// DeleteServicesIf is DeleteServices when every service matches ifMatch
// (not nil), else EPRECONDITION ModelReg.0412 and nothing is deleted.
func (db *DB) DeleteServicesIf(ctx context.Context, projectID string, ids []string, ifMatch []string) error {
	return db.update(ctx, "sqlite.DeleteServices", func(tx *Tx) error {
		seen := make(map[string]bool, len(ids))
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if ifMatch != nil {
				s, err := findServiceByID(ctx, tx, projectID, id)
				if err != nil {
					return err
				}
				if !modelreg.MatchETag(ifMatch, modelreg.ETag(s)) {
					return modelreg.PreconditionFailed("service " + id)
				}
			}
			var name string
			err := tx.QueryRowContext(ctx, `SELECT name FROM services WHERE id = ? AND project_id = ?`, id, projectID).Scan(&name)
			if errors.Is(err, sql.ErrNoRows) {
				return modelreg.ServiceNotFound(id)
			} else if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM services WHERE id = ?`, id); err != nil {
				return err
			}
			if err := record(ctx, tx, modelreg.NewAuditEvent(ctx, projectID, modelreg.ActionServiceDelete,
				modelreg.ResourceService, id, name)); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindServiceEvents returns one page of a service's events, ordered by
// occur_time then insertion, and the number of all matches.
// Returns ENOTFOUND ModelArts.3502.
func (db *DB) FindServiceEvents(ctx context.Context, f modelreg.EventFilter) ([]*modelreg.ServiceEvent, int, error) {
	var events []*modelreg.ServiceEvent
	var n int
	err := db.view(ctx, "sqlite.FindServiceEvents", func(tx *Tx) (err error) {
		events, n, err = findServiceEvents(ctx, tx, f)
		return err
	})
	return events, n, err
}

func findServiceEvents(ctx context.Context, tx *Tx, f modelreg.EventFilter) ([]*modelreg.ServiceEvent, int, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM services WHERE id = ? AND project_id = ?`, f.ServiceID, f.ProjectID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, modelreg.ServiceNotFound(f.ServiceID)
	} else if err != nil {
		return nil, 0, err
	}
	where, args := []string{"service_id = ?"}, []any{f.ServiceID}
	if f.EventType != "" {
		where, args = append(where, "event_type = ?"), append(args, f.EventType)
	}
	if f.StartTime > 0 {
		where, args = append(where, "occur_time >= ?"), append(args, f.StartTime)
	}
	if f.EndTime > 0 {
		where, args = append(where, "occur_time <= ?"), append(args, f.EndTime)
	}
	order := sqlstore.Direction(f.Page)
	limit, offset := f.Limit, f.Skip()
	cond := strings.Join(where, " AND ")
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM service_events WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	events := []*modelreg.ServiceEvent{}
	if total == 0 || offset >= total {
		return events, total, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT occur_time, event_type, event_info FROM service_events WHERE `+cond+
		` ORDER BY occur_time `+order+`, id `+order+` LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var e modelreg.ServiceEvent
		if err := rows.Scan(&e.OccurTime, &e.EventType, &e.EventInfo); err != nil {
			return nil, 0, err
		}
		events = append(events, &e)
	}
	return events, total, rows.Err()
}
