package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
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
//
// The config's models are locked FOR SHARE until commit, so a concurrent
// DeleteModelBatch of one of them either deletes it first (and this fails with
// 3507) or waits and then sees the service (and fails with 3009).
func (db *DB) CreateService(ctx context.Context, s *modelreg.Service) error {
	var c modelreg.Service
	id := s.ID
	if id == "" {
		id = modelreg.NewID()
	}
	err := db.update(ctx, "postgres.CreateService", func(tx *Tx) error {
		c = *s
		c.ID = id
		c.Config = slices.Clone(s.Config)
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
	err := tx.queryRow(ctx, `SELECT 1 FROM services WHERE project_id = $1 AND name = $2`, s.ProjectID, s.Name).Scan(&one)
	if err == nil {
		return modelreg.ServiceExists(s.Name)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err := lockConfigModels(ctx, tx, s.ProjectID, s.Config); err != nil {
		return err
	}
	s.Status = modelreg.ServiceDeploying
	s.PublishAt, s.UpdateTime, s.TransitionAt = tx.ms(), tx.ms(), tx.ms()
	details, err := sqlstore.EncodeService(s)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO services (id, project_id, name, status, infer_type, workspace_id,
		cluster_id, description, publish_at, update_time, transition_at, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		s.ID, s.ProjectID, s.Name, s.Status, s.InferType, s.WorkspaceID,
		s.ClusterID, s.Description, s.PublishAt, s.UpdateTime, s.TransitionAt, details)
	if pe := pgError(err, uniqueViolation); pe != nil {
		if pe.ConstraintName == "services_name" {
			// Created concurrently since the check above.
			return modelreg.ServiceExists(s.Name)
		}
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

// lockConfigModels locks every model of cfg FOR SHARE, in id order (so that
// two deploys of overlapping configs cannot deadlock), checks that each
// exists in the project and is published, and fills in its name and
// version. The first entry at fault, in config order, gives the error.
func lockConfigModels(ctx context.Context, tx *Tx, projectID string, cfg []modelreg.ServiceConfig) error {
	ids := make([]string, 0, len(cfg))
	seen := make(map[string]bool, len(cfg))
	for _, e := range cfg {
		if seen[e.ModelID] {
			return modelreg.DuplicateVersion()
		}
		seen[e.ModelID] = true
		ids = append(ids, e.ModelID)
	}
	slices.Sort(ids)
	type model struct{ name, version, status string }
	found := make(map[string]model, len(ids))
	// ORDER BY is applied before the locking clause: the rows are locked
	// in id order.
	err := tx.query(ctx, func(rows pgx.Rows) error {
		var id string
		var m model
		if err := rows.Scan(&id, &m.name, &m.version, &m.status); err != nil {
			return err
		}
		found[id] = m
		return nil
	}, `SELECT id, name, version, status FROM models WHERE id = ANY($1) AND project_id = $2
		ORDER BY id FOR SHARE`, ids, projectID)
	if err != nil {
		return err
	}
	for i := range cfg {
		e := &cfg[i]
		m, ok := found[e.ModelID]
		if !ok {
			return modelreg.ServiceModelGone(e.ModelID)
		}
		switch m.status {
		case modelreg.ModelPublished:
		case modelreg.ModelPublishing:
			return modelreg.Errorf(modelreg.ESTATE, modelreg.CodeModelPublishing,
				"The model %s cannot be used for deploying services because it is still being published.", e.ModelID)
		default:
			return modelreg.Errorf(modelreg.ESTATE, modelreg.CodeModelAbnormal,
				"The model %s status (%s) is not normal and it cannot be deployed.", e.ModelID, m.status)
		}
		e.ModelName, e.ModelVersion = m.name, m.version
	}
	return nil
}

func insertConfig(ctx context.Context, tx *Tx, serviceID string, cfg []modelreg.ServiceConfig) error {
	for i, e := range cfg {
		entry, err := sqlstore.EncodeEntry(e)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO service_models (service_id, position, model_id, entry) VALUES ($1, $2, $3, $4)`,
			serviceID, i, e.ModelID, entry)
		switch {
		case pgError(err, uniqueViolation) != nil:
			return modelreg.DuplicateVersion()
		case pgError(err, foreignKeyViolation) != nil:
			// The foreign key backs up lockConfigModels.
			return modelreg.ServiceModelGone(e.ModelID)
		case err != nil:
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
	_, err := tx.exec(ctx, `INSERT INTO service_events (service_id, occur_time, event_type, event_info) VALUES ($1, $2, $3, $4)`,
		serviceID, ev.OccurTime, ev.EventType, ev.EventInfo)
	return err
}

// FindServiceByID returns a service with its config.
// Returns ENOTFOUND ModelArts.3502.
func (db *DB) FindServiceByID(ctx context.Context, projectID, id string) (*modelreg.Service, error) {
	var s *modelreg.Service
	err := db.view(ctx, "postgres.FindServiceByID", func(tx *Tx) (err error) {
		s, err = findServiceByID(ctx, tx, projectID, id, "")
		return err
	})
	return s, err
}

// findServiceByID reads a service and its config; lock, when not empty, is
// a locking clause for the service row.
func findServiceByID(ctx context.Context, tx *Tx, projectID, id, lock string) (*modelreg.Service, error) {
	s, err := sqlstore.ScanService(tx.queryRow(ctx, `SELECT `+sqlstore.ServiceColumns+` FROM services WHERE id = $1 AND project_id = $2 `+lock, id, projectID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, modelreg.ServiceNotFound(id)
	} else if err != nil {
		return nil, err
	}
	s.Config = []modelreg.ServiceConfig{}
	err = tx.query(ctx, func(rows pgx.Rows) error {
		var modelID, name, version, entry string
		if err := rows.Scan(&modelID, &name, &version, &entry); err != nil {
			return err
		}
		e, err := sqlstore.DecodeEntry(entry, modelID, name, version)
		if err != nil {
			return err
		}
		s.Config = append(s.Config, e)
		return nil
	}, `SELECT sm.model_id, m.name, m.version, sm.entry
		FROM service_models sm JOIN models m ON m.id = sm.model_id
		WHERE sm.service_id = $1 ORDER BY sm.position`, id)
	if err != nil {
		return nil, err
	}
	sqlstore.SetEntryStatus(s)
	return s, nil
}

// FindServices returns one page of the services matching f and the number
// of all matches, without config, in the order of f.SortBy then id. The
// page and the count come from one statement (one round trip, one
// snapshot).
func (db *DB) FindServices(ctx context.Context, f modelreg.ServiceFilter) ([]*modelreg.Service, int, error) {
	var services []*modelreg.Service
	var n int
	err := db.read(ctx, "postgres.FindServices", func(tx *Tx) (err error) {
		services, n, err = findServices(ctx, tx, f)
		return err
	})
	return services, n, err
}

// serviceScanCols is the number of columns of sqlstore.ServiceColumns.
var serviceScanCols = len(strings.Split(sqlstore.ServiceColumns, ","))

func findServices(ctx context.Context, tx *Tx, f modelreg.ServiceFilter) ([]*modelreg.Service, int, error) {
	var p params
	where := []string{"project_id = " + p.add(f.ProjectID)}
	if f.Name != "" {
		where = append(where, `name ILIKE `+p.add(likePattern(f.Name))+` ESCAPE '\'`)
	}
	if f.ModelID != "" {
		where = append(where, `EXISTS (SELECT 1 FROM service_models sm WHERE sm.service_id = services.id AND sm.model_id = `+
			p.add(f.ModelID)+`)`)
	}
	for _, c := range []struct{ expr, v string }{
		{"id = ", f.ServiceID},
		{"cluster_id = ", f.ClusterID},
		{"workspace_id = ", f.WorkspaceID},
		{"infer_type = ", f.InferType},
		{"status = ", f.Status},
	} {
		if c.v != "" {
			where = append(where, c.expr+p.add(c.v))
		}
	}
	sortCol, order := sqlstore.ServiceSortColumn(f.SortBy), sqlstore.Direction(f.Page)
	limit, offset := f.Limit, f.Skip()
	cond := strings.Join(where, " AND ")
	lim, off := p.add(limit), p.add(offset)
	// The count, then the page joined to it: a page past the end is one
	// row of NULLs that still carries the count.
	q := `SELECT t.n, s.* FROM (SELECT count(*) FROM services WHERE ` + cond + `) AS t(n) LEFT JOIN LATERAL (SELECT ` +
		sqlstore.ServiceColumns + ` FROM services WHERE ` + cond +
		` ORDER BY ` + sortCol + ` ` + order + `, id ` + order + ` LIMIT ` + lim + ` OFFSET ` + off + `) AS s ON true`
	services := []*modelreg.Service{}
	var total int
	err := tx.query(ctx, func(rows pgx.Rows) error {
		if rows.RawValues()[1] == nil {
			return rows.Scan(append([]any{&total}, make([]any, serviceScanCols)...)...)
		}
		s, err := sqlstore.ScanService(skipFirst{rows, &total})
		if err != nil {
			return err
		}
		services = append(services, s)
		return nil
	}, q, p...)
	if err != nil {
		return nil, 0, err
	}
	return services, total, nil
}

// skipFirst scans the first column of a row into first and the others
// into the destinations Scan is given.
type skipFirst struct {
	rows  pgx.Rows
	first any
}

func (s skipFirst) Scan(dst ...any) error { return s.rows.Scan(append([]any{s.first}, dst...)...) }

// UpdateService applies u in one transaction (modelreg.Service.Apply, then
// a new config's models checked and locked as by CreateService) and
// returns the service as it is afterwards. Each change records an event.
// Returns ENOTFOUND ModelArts.3502, ESTATE ModelArts.3519 when the state
// forbids the change, and the CreateService model codes. Concurrent
// updates of one service take turns (its row is locked FOR UPDATE).
func (db *DB) UpdateService(ctx context.Context, projectID, id string, u modelreg.ServiceUpdate) (*modelreg.Service, error) {
	var s *modelreg.Service
	err := db.update(ctx, "postgres.UpdateService", func(tx *Tx) (err error) {
		s, err = updateService(ctx, tx, projectID, id, u)
		return err
	})
	return s, err
}

func updateService(ctx context.Context, tx *Tx, projectID, id string, u modelreg.ServiceUpdate) (*modelreg.Service, error) {
	s, err := findServiceByID(ctx, tx, projectID, id, "FOR UPDATE")
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
		if err := lockConfigModels(ctx, tx, projectID, change.Config); err != nil {
			return nil, err
		}
		if _, err := tx.exec(ctx, `DELETE FROM service_models WHERE service_id = $1`, id); err != nil {
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
	if _, err := tx.exec(ctx, `UPDATE services SET status = $2, description = $3, update_time = $4, transition_at = $5, due_at = $6,
		details = $7 WHERE id = $1`, id, s.Status, s.Description, s.UpdateTime, s.TransitionAt, s.DueTime, details); err != nil {
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
	return findServiceByID(ctx, tx, projectID, id, "")
}

// TransitionService moves a service from status from to status to and
// records event (at the transaction's time when its OccurTime is 0, as
// normal when its type is empty). Returns ENOTFOUND ModelArts.3502 and
// ESTATE ModelArts.3519 when the service is not in status from.
func (db *DB) TransitionService(ctx context.Context, projectID, id, from, to string, event modelreg.ServiceEvent) error {
	return db.update(ctx, "postgres.TransitionService", func(tx *Tx) error {
		var status, details, name string
		err := tx.queryRow(ctx, `SELECT status, details, name FROM services WHERE id = $1 AND project_id = $2 FOR UPDATE`, id, projectID).Scan(&status, &details, &name)
		if errors.Is(err, pgx.ErrNoRows) {
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
		if _, err := tx.exec(ctx, `UPDATE services SET status = $2, transition_at = $3, due_at = $4 WHERE id = $1`, id, to, tx.ms(), due); err != nil {
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
// Replicas share the work: each skips the services another is stopping.
func (db *DB) StopDueServices(ctx context.Context) (int, error) {
	var n int
	err := db.update(ctx, "postgres.StopDueServices", func(tx *Tx) error {
		type due struct{ id, name, project string }
		var ds []due
		err := tx.query(ctx, func(rows pgx.Rows) error {
			var d due
			if err := rows.Scan(&d.id, &d.name, &d.project); err != nil {
				return err
			}
			ds = append(ds, d)
			return nil
		}, `SELECT id, name, project_id FROM services WHERE due_at > 0 AND due_at <= $1 AND status = 'running'
			ORDER BY id FOR UPDATE SKIP LOCKED`, tx.ms())
		if err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := tx.exec(ctx, `UPDATE services SET status = 'stopped', transition_at = $2, due_at = 0 WHERE id = $1`,
				d.id, tx.ms()); err != nil {
				return err
			}
			if err := addEvent(ctx, tx, d.id, modelreg.ServiceEvent{EventType: modelreg.EventNormal,
				EventInfo: "[" + d.name + "] service stopped by its schedule"}); err != nil {
				return err
			}
			if err := record(ctx, tx, modelreg.ServiceTransitionEvent(ctx, d.project, d.id, d.name, modelreg.ServiceRunning,
				modelreg.ServiceStopped).With("schedule", true)); err != nil {
				return err
			}
		}
		n = len(ds)
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
// (not nil), else EPRECONDITION ModelReg.0412 and nothing is deleted. The
// services are locked (in id order) before their ETags are compared.
func (db *DB) DeleteServicesIf(ctx context.Context, projectID string, ids []string, ifMatch []string) error {
	if len(ids) == 0 {
		return nil
	}
	return db.update(ctx, "postgres.DeleteServices", func(tx *Tx) error {
		if ifMatch != nil {
			sorted := slices.Clone(ids)
			slices.Sort(sorted)
			for _, id := range slices.Compact(sorted) {
				s, err := findServiceByID(ctx, tx, projectID, id, "FOR UPDATE")
				if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
					continue // reported below, in the order of ids
				} else if err != nil {
					return err
				}
				if !modelreg.MatchETag(ifMatch, modelreg.ETag(s)) {
					return modelreg.PreconditionFailed("service " + id)
				}
			}
		}
		var deleted, names []string
		err := tx.query(ctx, func(rows pgx.Rows) error {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			deleted, names = append(deleted, id), append(names, name)
			return nil
		}, `DELETE FROM services WHERE project_id = $1 AND id = ANY($2) RETURNING id, name`, projectID, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !slices.Contains(deleted, id) {
				return modelreg.ServiceNotFound(id)
			}
		}
		for i, id := range deleted {
			if err := record(ctx, tx, modelreg.NewAuditEvent(ctx, projectID, modelreg.ActionServiceDelete,
				modelreg.ResourceService, id, names[i])); err != nil {
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
	err := db.view(ctx, "postgres.FindServiceEvents", func(tx *Tx) (err error) {
		events, n, err = findServiceEvents(ctx, tx, f)
		return err
	})
	return events, n, err
}

func findServiceEvents(ctx context.Context, tx *Tx, f modelreg.EventFilter) ([]*modelreg.ServiceEvent, int, error) {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM services WHERE id = $1 AND project_id = $2`, f.ServiceID, f.ProjectID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, modelreg.ServiceNotFound(f.ServiceID)
	} else if err != nil {
		return nil, 0, err
	}
	var p params
	where := []string{"service_id = " + p.add(f.ServiceID)}
	if f.EventType != "" {
		where = append(where, "event_type = "+p.add(f.EventType))
	}
	if f.StartTime > 0 {
		where = append(where, "occur_time >= "+p.add(f.StartTime))
	}
	if f.EndTime > 0 {
		where = append(where, "occur_time <= "+p.add(f.EndTime))
	}
	order := sqlstore.Direction(f.Page)
	limit, offset := f.Limit, f.Skip()
	cond := strings.Join(where, " AND ")
	var total int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM service_events WHERE `+cond, p...).Scan(&total); err != nil {
		return nil, 0, err
	}
	events := []*modelreg.ServiceEvent{}
	if total == 0 || offset >= total {
		return events, total, nil
	}
	lim, off := p.add(limit), p.add(offset)
	err = tx.query(ctx, func(rows pgx.Rows) error {
		var e modelreg.ServiceEvent
		if err := rows.Scan(&e.OccurTime, &e.EventType, &e.EventInfo); err != nil {
			return err
		}
		events = append(events, &e)
		return nil
	}, `SELECT occur_time, event_type, event_info FROM service_events WHERE `+cond+
		` ORDER BY occur_time `+order+`, id `+order+` LIMIT `+lim+` OFFSET `+off, p...)
	return events, total, err
}
