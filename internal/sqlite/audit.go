package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path"
	"strings"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
)

// Compile-time checks.
var (
	_ modelreg.AuditStore   = (*DB)(nil)
	_ modelreg.WebhookStore = (*DB)(nil)
	_ modelreg.CleanupStore = (*DB)(nil)
)

// auditOff leaves the events out: for BenchmarkDeleteModel's NoEvent
// variants only, which measure what the event costs. Never set elsewhere.
var auditOff bool

// record writes ev in tx, the transaction of the change it describes, and
// queues a delivery of it for each webhook of its project that wants its
// action (the outbox). It assigns ev.ID and ev.Time.
//
// The row costs two B-tree pages a commit (the table's and the project
// index's, migration 0012): its seq is assigned here, 1 + the larger of the
// last seq and the floor retention leaves, and embedded in its id, so that
// no index on id is kept up. The project's webhooks are looked up only when
// the hooks cache says it has any.
func record(ctx context.Context, tx *Tx, ev *modelreg.AuditEvent) error {
	if auditOff {
		ev.ID, ev.Time = modelreg.NewEventID(tx.now), tx.ms()
		return nil
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(IFNULL((SELECT MAX(seq) FROM audit_events), 0), floor) + 1
		FROM audit_seq WHERE k = 0`).Scan(&seq); err != nil {
		return err
	}
	ev.ID, ev.Time = sqlstore.EventID(tx.now, seq), tx.ms()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (seq, id, project_id, time, action, resource_type,
			resource_id, resource_name, outcome, error_code, user_id, user_name, access_key, request_id, source_ip, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, ev.ID, ev.ProjectID, ev.Time, ev.Action, ev.ResourceType, ev.ResourceID, ev.ResourceName, ev.Outcome,
		ev.ErrorCode, ev.Actor.UserID, ev.Actor.UserName, ev.Actor.AccessKey, ev.RequestID, ev.SourceIP,
		ev.DetailsJSON()); err != nil {
		return err
	}
	has, err := tx.db.hooks.has(ctx, tx, ev.ProjectID)
	if err != nil || !has {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, events FROM webhooks WHERE project_id = ?`, ev.ProjectID)
	if err != nil {
		return err
	}
	var hooks []string
	for rows.Next() {
		var id, events string
		if err := rows.Scan(&id, &events); err != nil {
			rows.Close()
			return err
		}
		w := modelreg.Webhook{}
		if json.Unmarshal([]byte(events), &w.Events) == nil && w.Matches(ev.Action) {
			hooks = append(hooks, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(hooks) == 0 {
		return nil
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_seq, action, payload,
				status, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			modelreg.NewID(), h, ev.ID, seq, ev.Action, string(payload), modelreg.DeliveryPending, ev.Time, ev.Time); err != nil {
			return err
		}
	}
	tx.queued = true
	return nil
}

// FindAuditEvents returns a page of the project's events, newest first.
func (db *DB) FindAuditEvents(ctx context.Context, f modelreg.AuditFilter) ([]*modelreg.AuditEvent, string, error) {
	var out []*modelreg.AuditEvent
	next := ""
	err := db.view(ctx, "sqlite.FindAuditEvents", func(tx *Tx) error {
		where := []string{"project_id = ?"}
		args := []any{f.ProjectID}
		if f.Marker != "" {
			// A marker is an event id: one of sqlstore.EventID finds its row by the
			// seq in it, an older one through the legacy index.
			var seq int64
			err := sql.ErrNoRows
			if s, ok := sqlstore.EventSeq(f.Marker); ok {
				err = tx.QueryRowContext(ctx, `SELECT seq FROM audit_events WHERE seq = ? AND id = ? AND project_id = ?`,
					s, f.Marker, f.ProjectID).Scan(&seq)
			}
			if errors.Is(err, sql.ErrNoRows) {
				err = tx.QueryRowContext(ctx, `SELECT seq FROM audit_events WHERE id = ? AND project_id = ? AND legacy = 1`,
					f.Marker, f.ProjectID).Scan(&seq)
			}
			if errors.Is(err, sql.ErrNoRows) {
				return modelreg.Invalid("Invalid parameter marker: no such event.")
			}
			if err != nil {
				return err
			}
			where, args = append(where, "seq < ?"), append(args, seq)
		}
		if f.Action != "" {
			where, args = append(where, "action = ?"), append(args, f.Action)
		}
		if f.ResourceID != "" {
			where, args = append(where, "resource_id = ?"), append(args, f.ResourceID)
		}
		if f.Actor != "" {
			where, args = append(where, "(user_id = ? OR user_name = ? OR access_key = ?)"), append(args, f.Actor, f.Actor, f.Actor)
		}
		if f.Since != 0 {
			where, args = append(where, "time >= ?"), append(args, f.Since)
		}
		if f.Until != 0 {
			where, args = append(where, "time <= ?"), append(args, f.Until)
		}
		args = append(args, f.Limit+1)
		rows, err := tx.QueryContext(ctx, `SELECT id, project_id, time, action, resource_type, resource_id, resource_name,
				outcome, error_code, user_id, user_name, access_key, request_id, source_ip, details
			FROM audit_events WHERE `+strings.Join(where, " AND ")+` ORDER BY seq DESC LIMIT ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []*modelreg.AuditEvent{}
		for rows.Next() {
			ev := &modelreg.AuditEvent{}
			var details string
			if err := rows.Scan(&ev.ID, &ev.ProjectID, &ev.Time, &ev.Action, &ev.ResourceType, &ev.ResourceID,
				&ev.ResourceName, &ev.Outcome, &ev.ErrorCode, &ev.Actor.UserID, &ev.Actor.UserName,
				&ev.Actor.AccessKey, &ev.RequestID, &ev.SourceIP, &details); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(details), &ev.Details); err != nil || ev.Details == nil {
				ev.Details = map[string]any{}
			}
			out = append(out, ev)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) > f.Limit {
			out = out[:f.Limit]
			next = out[len(out)-1].ID
		}
		return nil
	})
	return out, next, err
}

// DeleteAuditEventsBefore removes up to max events older than before.
func (db *DB) DeleteAuditEventsBefore(ctx context.Context, before time.Time, max int) (int, error) {
	var n int64
	err := db.update(ctx, "sqlite.DeleteAuditEventsBefore", func(tx *Tx) error {
		// The oldest first, by seq (times follow seq but for clock steps):
		// no index on time to keep up in every change's transaction.
		// The floor keeps seq increasing when the newest events go
		// (record assigns above it).
		if _, err := tx.ExecContext(ctx, `UPDATE audit_seq SET floor = MAX(floor, IFNULL((SELECT MAX(seq) FROM audit_events), 0))
			WHERE k = 0`); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE seq IN
			(SELECT seq FROM audit_events ORDER BY seq LIMIT ?) AND time < ?`, max, modelreg.Millis(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// CreateWebhook stores w with its audit event.
func (db *DB) CreateWebhook(ctx context.Context, w *modelreg.Webhook) error {
	return db.update(ctx, "sqlite.CreateWebhook", func(tx *Tx) error {
		if w.ID == "" {
			w.ID = modelreg.NewID()
		}
		w.CreatedAt = tx.ms()
		tx.db.hooks.changing(tx)
		events, err := json.Marshal(w.Events)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhooks (id, project_id, url, secret_sealed, events, description, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, w.ProjectID, w.URL, w.SecretSealed, string(events), w.Description, w.CreatedAt, w.CreatedBy); err != nil {
			return err
		}
		return record(ctx, tx, modelreg.NewAuditEvent(ctx, w.ProjectID, modelreg.ActionWebhookCreate, modelreg.ResourceWebhook, w.ID, w.URL).
			With("events", w.Events))
	})
}

// FindWebhooks returns the project's webhooks, oldest first.
func (db *DB) FindWebhooks(ctx context.Context, projectID string) ([]*modelreg.Webhook, error) {
	out := []*modelreg.Webhook{}
	err := db.view(ctx, "sqlite.FindWebhooks", func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, url, events, description, created_at, created_by
			FROM webhooks WHERE project_id = ? ORDER BY created_at, id`, projectID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			w := &modelreg.Webhook{ProjectID: projectID}
			var events string
			if err := rows.Scan(&w.ID, &w.URL, &events, &w.Description, &w.CreatedAt, &w.CreatedBy); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
				return err
			}
			out = append(out, w)
		}
		return rows.Err()
	})
	return out, err
}

// DeleteWebhook deletes a webhook and its deliveries.
func (db *DB) DeleteWebhook(ctx context.Context, projectID, id string) error {
	return db.update(ctx, "sqlite.DeleteWebhook", func(tx *Tx) error {
		var url string
		err := tx.QueryRowContext(ctx, `SELECT url FROM webhooks WHERE id = ? AND project_id = ?`, id, projectID).Scan(&url)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.WebhookNotFound(id)
		}
		if err != nil {
			return err
		}
		tx.db.hooks.changing(tx)
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, id); err != nil {
			return err
		}
		return record(ctx, tx, modelreg.NewAuditEvent(ctx, projectID, modelreg.ActionWebhookDelete, modelreg.ResourceWebhook, id, url))
	})
}

// FindWebhookDeliveries returns the latest deliveries of a webhook.
func (db *DB) FindWebhookDeliveries(ctx context.Context, projectID, id string, limit int) ([]*modelreg.WebhookDelivery, error) {
	out := []*modelreg.WebhookDelivery{}
	err := db.view(ctx, "sqlite.FindWebhookDeliveries", func(tx *Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM webhooks WHERE id = ? AND project_id = ?`, id, projectID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.WebhookNotFound(id)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, webhook_id, event_id, action, status, attempts, created_at, next_at,
				last_attempt_at, last_status, last_error
			FROM webhook_deliveries WHERE webhook_id = ? ORDER BY event_seq DESC, id DESC LIMIT ?`, id, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d := &modelreg.WebhookDelivery{}
			if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Action, &d.Status, &d.Attempts, &d.CreatedAt,
				&d.NextAttemptAt, &d.LastAttemptAt, &d.LastStatus, &d.LastError); err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// ClaimWebhookDeliveries leases due pending deliveries to owner: the single
// writer makes the claim exclusive.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, owner string, lease time.Duration, max int) ([]*modelreg.WebhookDelivery, error) {
	// Look first on the reader pool: an empty poll does not take the
	// writer away from the changes.
	var due bool
	if err := db.view(ctx, "sqlite.ClaimWebhookDeliveries", func(tx *Tx) error {
		now := tx.ms()
		return tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_deliveries
			WHERE status = ? AND next_at <= ? AND (lease_until IS NULL OR lease_until <= ?))`,
			modelreg.DeliveryPending, now, now).Scan(&due)
	}); err != nil || !due {
		return nil, err
	}
	var out []*modelreg.WebhookDelivery
	err := db.update(ctx, "sqlite.ClaimWebhookDeliveries", func(tx *Tx) error {
		out = nil
		now := tx.ms()
		rows, err := tx.QueryContext(ctx, `SELECT d.id, d.webhook_id, d.event_id, d.action, d.status, d.attempts,
				d.created_at, d.next_at, d.payload, w.url, w.secret_sealed
			FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.status = ? AND d.next_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
			ORDER BY d.next_at, d.event_seq, d.id LIMIT ?`, modelreg.DeliveryPending, now, now, max)
		if err != nil {
			return err
		}
		for rows.Next() {
			d := &modelreg.WebhookDelivery{}
			var payload string
			if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Action, &d.Status, &d.Attempts, &d.CreatedAt,
				&d.NextAttemptAt, &payload, &d.URL, &d.SecretSealed); err != nil {
				rows.Close()
				return err
			}
			d.Payload = []byte(payload)
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := modelreg.Millis(tx.now.Add(lease))
		for _, d := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE id = ?`,
				owner, until, d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// FinishWebhookDelivery records an attempt of owner's claimed delivery.
func (db *DB) FinishWebhookDelivery(ctx context.Context, id, owner, status string, code int, errText string, next time.Time) error {
	n, err := db.FinishWebhookDeliveries(ctx, owner, []modelreg.DeliveryAttempt{{ID: id, Status: status, Code: code, Error: errText, Next: next}})
	if err == nil && n == 0 {
		return &modelreg.Error{Code: modelreg.ENOTFOUND, Message: "Delivery not leased to " + owner + "."}
	}
	return err
}

// FinishWebhookDeliveries records attempts of owner's claimed deliveries
// in one transaction.
func (db *DB) FinishWebhookDeliveries(ctx context.Context, owner string, attempts []modelreg.DeliveryAttempt) (int, error) {
	var done int
	err := db.update(ctx, "sqlite.FinishWebhookDeliveries", func(tx *Tx) error {
		done = 0
		for _, a := range attempts {
			res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,
					last_attempt_at = ?, last_status = ?, last_error = ?, next_at = ?, lease_owner = NULL, lease_until = NULL
				WHERE id = ? AND lease_owner = ?`, a.Status, tx.ms(), a.Code, a.Error, modelreg.Millis(a.Next), a.ID, owner)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			done += int(n)
		}
		return nil
	})
	return done, err
}

// PendingWebhookDeliveries returns the number of pending deliveries.
func (db *DB) PendingWebhookDeliveries(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, "sqlite.PendingWebhookDeliveries", func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries WHERE status = ?`, modelreg.DeliveryPending).Scan(&n)
	})
	return n, err
}

// CreateCleanupPolicy stores p with its audit event.
func (db *DB) CreateCleanupPolicy(ctx context.Context, p *modelreg.CleanupPolicy) error {
	return db.update(ctx, "sqlite.CreateCleanupPolicy", func(tx *Tx) error {
		if p.ID == "" {
			p.ID = modelreg.NewID()
		}
		p.CreatedAt, p.UpdatedAt = tx.ms(), tx.ms()
		if _, err := tx.ExecContext(ctx, `INSERT INTO cleanup_policies (id, project_id, name_pattern, keep_last, keep_days,
				enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.ProjectID, p.NamePattern, p.KeepLast, p.KeepDays, p.Enabled, p.CreatedAt, p.UpdatedAt); err != nil {
			return err
		}
		return record(ctx, tx, policyEvent(ctx, modelreg.ActionCleanupPolicyCreate, p))
	})
}

func policyEvent(ctx context.Context, action string, p *modelreg.CleanupPolicy) *modelreg.AuditEvent {
	return modelreg.NewAuditEvent(ctx, p.ProjectID, action, modelreg.ResourceCleanupPolicy, p.ID, p.NamePattern).
		With("keep_last", p.KeepLast).With("keep_days", p.KeepDays).With("enabled", p.Enabled)
}

const policyColumns = `id, project_id, name_pattern, keep_last, keep_days, enabled, created_at, updated_at, last_run_at`

func scanPolicy(s interface{ Scan(...any) error }) (*modelreg.CleanupPolicy, error) {
	p := &modelreg.CleanupPolicy{}
	err := s.Scan(&p.ID, &p.ProjectID, &p.NamePattern, &p.KeepLast, &p.KeepDays, &p.Enabled, &p.CreatedAt, &p.UpdatedAt, &p.LastRunAt)
	return p, err
}

// FindCleanupPolicies returns the project's policies (every project's for
// projectID ""), oldest first.
func (db *DB) FindCleanupPolicies(ctx context.Context, projectID string) ([]*modelreg.CleanupPolicy, error) {
	out := []*modelreg.CleanupPolicy{}
	err := db.view(ctx, "sqlite.FindCleanupPolicies", func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+policyColumns+` FROM cleanup_policies
			WHERE ? = '' OR project_id = ? ORDER BY created_at, id`, projectID, projectID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPolicy(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// FindCleanupPolicy returns one policy. Returns ENOTFOUND ModelReg.3301.
func (db *DB) FindCleanupPolicy(ctx context.Context, projectID, id string) (*modelreg.CleanupPolicy, error) {
	var p *modelreg.CleanupPolicy
	err := db.view(ctx, "sqlite.FindCleanupPolicy", func(tx *Tx) (err error) {
		p, err = findPolicy(ctx, tx, projectID, id)
		return err
	})
	return p, err
}

func findPolicy(ctx context.Context, tx *Tx, projectID, id string) (*modelreg.CleanupPolicy, error) {
	p, err := scanPolicy(tx.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM cleanup_policies WHERE id = ? AND project_id = ?`, id, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, modelreg.PolicyNotFound(id)
	}
	return p, err
}

// UpdateCleanupPolicy stores p's fields with its audit event.
func (db *DB) UpdateCleanupPolicy(ctx context.Context, p *modelreg.CleanupPolicy) error {
	return db.update(ctx, "sqlite.UpdateCleanupPolicy", func(tx *Tx) error {
		p.UpdatedAt = tx.ms()
		res, err := tx.ExecContext(ctx, `UPDATE cleanup_policies SET name_pattern = ?, keep_last = ?, keep_days = ?,
				enabled = ?, updated_at = ? WHERE id = ? AND project_id = ?`,
			p.NamePattern, p.KeepLast, p.KeepDays, p.Enabled, p.UpdatedAt, p.ID, p.ProjectID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return modelreg.PolicyNotFound(p.ID)
		}
		return record(ctx, tx, policyEvent(ctx, modelreg.ActionCleanupPolicyUpdate, p))
	})
}

// DeleteCleanupPolicy deletes a policy with its audit event.
func (db *DB) DeleteCleanupPolicy(ctx context.Context, projectID, id string) error {
	return db.update(ctx, "sqlite.DeleteCleanupPolicy", func(tx *Tx) error {
		p, err := findPolicy(ctx, tx, projectID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cleanup_policies WHERE id = ?`, id); err != nil {
			return err
		}
		return record(ctx, tx, policyEvent(ctx, modelreg.ActionCleanupPolicyDelete, p))
	})
}

// FindCleanupCandidates returns the project's models whose name matches
// pattern, with whether each is deployed or protected.
func (db *DB) FindCleanupCandidates(ctx context.Context, projectID, pattern string) ([]modelreg.CleanupCandidate, error) {
	var out []modelreg.CleanupCandidate
	err := db.view(ctx, "sqlite.FindCleanupCandidates", func(tx *Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT m.id, m.name, m.version, m.create_at,
				EXISTS (SELECT 1 FROM service_models s WHERE s.model_id = m.id),
				IFNULL((SELECT p.protected FROM model_protection p WHERE p.model_id = m.id), 0)
			FROM models m WHERE m.project_id = ?`, projectID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c modelreg.CleanupCandidate
			if err := rows.Scan(&c.ID, &c.Name, &c.Version, &c.CreateAt, &c.Deployed, &c.Protected); err != nil {
				return err
			}
			if ok, _ := path.Match(pattern, c.Name); ok {
				out = append(out, c)
			}
		}
		return rows.Err()
	})
	return out, err
}

// MarkCleanupRun records that the policy ran at t.
func (db *DB) MarkCleanupRun(ctx context.Context, id string, t time.Time) error {
	return db.update(ctx, "sqlite.MarkCleanupRun", func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE cleanup_policies SET last_run_at = ? WHERE id = ?`, modelreg.Millis(t), id)
		return err
	})
}

// modelEvent returns an event of action on model id (live or trashed),
// with its project, name and version read in tx.
func modelEvent(ctx context.Context, tx *Tx, id, action string) (*modelreg.AuditEvent, error) {
	var project, name, version string
	err := tx.QueryRowContext(ctx, `SELECT IFNULL(t.project_id, m.project_id), m.name, m.version
		FROM models m LEFT JOIN trash t ON t.model_id = m.id WHERE m.id = ?`, id).Scan(&project, &name, &version)
	if err != nil {
		return nil, err
	}
	return modelreg.NewAuditEvent(ctx, project, action, modelreg.ResourceModel, id, name).With("model_version", version), nil
}

// recordModel records an event of action on model id (see modelEvent),
// after edit adjusts it (nil: as it is).
func recordModel(ctx context.Context, tx *Tx, id, action string, edit func(*modelreg.AuditEvent)) error {
	ev, err := modelEvent(ctx, tx, id, action)
	if err != nil {
		return err
	}
	if edit != nil {
		edit(ev)
	}
	return record(ctx, tx, ev)
}

// recordEach records ev once for each project (the trail is per project):
// a user's or a credential's event goes to every project it reaches.
func recordEach(ctx context.Context, tx *Tx, projects []string, ev func(projectID string) *modelreg.AuditEvent) error {
	for _, p := range projects {
		if err := record(ctx, tx, ev(p)); err != nil {
			return err
		}
	}
	return nil
}

// credentialProjects returns the projects a credential reaches: its scope,
// or its user's projects.
func credentialProjects(ctx context.Context, tx *Tx, userID, scope string) ([]string, error) {
	if scope != "" {
		return []string{scope}, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT project_id FROM user_projects WHERE user_id = ? ORDER BY project_id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// recordCredential records action on the credential ak of userID under
// each project it reaches.
func recordCredential(ctx context.Context, tx *Tx, action, ak, userID, scope string) error {
	projects, err := credentialProjects(ctx, tx, userID, scope)
	if err != nil {
		return err
	}
	return recordEach(ctx, tx, projects, func(p string) *modelreg.AuditEvent {
		return modelreg.NewAuditEvent(ctx, p, action, modelreg.ResourceCredential, ak, ak).With("user_id", userID)
	})
}
