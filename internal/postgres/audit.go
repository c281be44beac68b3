package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
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
func record(ctx context.Context, tx *Tx, ev *modelreg.AuditEvent) error {
	ev.Time = tx.ms()
	if auditOff {
		ev.ID = modelreg.NewEventID(tx.now)
		return nil
	}
	// One round trip: the event's row, its id made of a time-ordered
	// random prefix and its seq (sqlstore.EventID's layout, so a marker
	// finds the row by the primary key), and the project's webhooks (none:
	// one row of NULLs), which the outbox below filters by action.
	var seq int64
	var hooks []string
	err := tx.query(ctx, func(rows pgx.Rows) error {
		var id, events *string
		if err := rows.Scan(&seq, &ev.ID, &id, &events); err != nil {
			return err
		}
		w := modelreg.Webhook{}
		if id != nil && events != nil && json.Unmarshal([]byte(*events), &w.Events) == nil && w.Matches(ev.Action) {
			hooks = append(hooks, *id)
		}
		return nil
	}, `WITH ev AS (
			INSERT INTO audit_events (seq, id, project_id, time, action, resource_type,
				resource_id, resource_name, outcome, error_code, user_id, user_name, access_key, request_id, source_ip, details)
			SELECT n.seq, $1 || lpad(to_hex(n.seq), 12, '0'), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
			FROM (SELECT nextval('audit_events_seq_seq') AS seq) n
			RETURNING seq, id)
		SELECT ev.seq, ev.id, w.id, w.events FROM ev LEFT JOIN webhooks w ON w.project_id = $2`,
		sqlstore.EventID(tx.now, 0)[:24], ev.ProjectID, ev.Time, ev.Action, ev.ResourceType, ev.ResourceID,
		ev.ResourceName, ev.Outcome, ev.ErrorCode, ev.Actor.UserID, ev.Actor.UserName, ev.Actor.AccessKey,
		ev.RequestID, ev.SourceIP, ev.DetailsJSON())
	if err != nil || len(hooks) == 0 {
		return err
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if _, err := tx.exec(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_seq, action, payload,
				status, created_at, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			modelreg.NewID(), h, ev.ID, seq, ev.Action, string(payload), modelreg.DeliveryPending, ev.Time); err != nil {
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
	err := db.view(ctx, "postgres.FindAuditEvents", func(tx *Tx) error {
		var p params
		where := []string{"project_id = " + p.add(f.ProjectID)}
		if f.Marker != "" {
			// A marker is an event id: one of sqlstore.EventID finds its row
			// by the primary key; one written before migration 0013 by the
			// legacy rows' index.
			var seq int64
			err := pgx.ErrNoRows
			if s, ok := sqlstore.EventSeq(f.Marker); ok {
				err = tx.queryRow(ctx, `SELECT seq FROM audit_events WHERE project_id = $1 AND seq = $2 AND id = $3`,
					f.ProjectID, s, f.Marker).Scan(&seq)
			}
			if errors.Is(err, pgx.ErrNoRows) {
				err = tx.queryRow(ctx, `SELECT seq FROM audit_events WHERE id = $1 AND project_id = $2 AND legacy`,
					f.Marker, f.ProjectID).Scan(&seq)
			}
			if errors.Is(err, pgx.ErrNoRows) {
				return modelreg.Invalid("Invalid parameter marker: no such event.")
			}
			if err != nil {
				return err
			}
			where = append(where, "seq < "+p.add(seq))
		}
		if f.Action != "" {
			where = append(where, "action = "+p.add(f.Action))
		}
		if f.ResourceID != "" {
			where = append(where, "resource_id = "+p.add(f.ResourceID))
		}
		if f.Actor != "" {
			a := p.add(f.Actor)
			where = append(where, "(user_id = "+a+" OR user_name = "+a+" OR access_key = "+a+")")
		}
		if f.Since != 0 {
			where = append(where, "time >= "+p.add(f.Since))
		}
		if f.Until != 0 {
			where = append(where, "time <= "+p.add(f.Until))
		}
		limit := p.add(f.Limit + 1)
		out = []*modelreg.AuditEvent{}
		err := tx.query(ctx, func(rows pgx.Rows) error {
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
			return nil
		}, `SELECT id, project_id, time, action, resource_type, resource_id, resource_name,
				outcome, error_code, user_id, user_name, access_key, request_id, source_ip, details
			FROM audit_events WHERE `+strings.Join(where, " AND ")+` ORDER BY seq DESC LIMIT `+limit, p...)
		if err != nil {
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
	err := db.update(ctx, "postgres.DeleteAuditEventsBefore", func(tx *Tx) (err error) {
		// Found through the BRIN index on time (migration 0013), which
		// costs the changes' transactions nothing; up to max a call, the
		// caller calls again until fewer are left.
		n, err = tx.exec(ctx, `DELETE FROM audit_events WHERE ctid = ANY(ARRAY(
			SELECT ctid FROM audit_events WHERE time < $2 LIMIT $1))`, max, modelreg.Millis(before))
		return err
	})
	return int(n), err
}

// CreateWebhook stores w with its audit event.
func (db *DB) CreateWebhook(ctx context.Context, w *modelreg.Webhook) error {
	if w.ID == "" {
		w.ID = modelreg.NewID()
	}
	return db.update(ctx, "postgres.CreateWebhook", func(tx *Tx) error {
		w.CreatedAt = tx.ms()
		events, err := json.Marshal(w.Events)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO webhooks (id, project_id, url, secret_sealed, events, description, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, w.ID, w.ProjectID, w.URL, w.SecretSealed, string(events), w.Description, w.CreatedAt, w.CreatedBy); err != nil {
			return err
		}
		return record(ctx, tx, modelreg.NewAuditEvent(ctx, w.ProjectID, modelreg.ActionWebhookCreate, modelreg.ResourceWebhook, w.ID, w.URL).
			With("events", w.Events))
	})
}

// FindWebhooks returns the project's webhooks, oldest first.
func (db *DB) FindWebhooks(ctx context.Context, projectID string) ([]*modelreg.Webhook, error) {
	var out []*modelreg.Webhook
	err := db.view(ctx, "postgres.FindWebhooks", func(tx *Tx) error {
		out = []*modelreg.Webhook{}
		return tx.query(ctx, func(rows pgx.Rows) error {
			w := &modelreg.Webhook{ProjectID: projectID}
			var events string
			if err := rows.Scan(&w.ID, &w.URL, &events, &w.Description, &w.CreatedAt, &w.CreatedBy); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
				return err
			}
			out = append(out, w)
			return nil
		}, `SELECT id, url, events, description, created_at, created_by
			FROM webhooks WHERE project_id = $1 ORDER BY created_at, id`, projectID)
	})
	return out, err
}

// DeleteWebhook deletes a webhook and its deliveries.
func (db *DB) DeleteWebhook(ctx context.Context, projectID, id string) error {
	return db.update(ctx, "postgres.DeleteWebhook", func(tx *Tx) error {
		var url string
		err := tx.queryRow(ctx, `DELETE FROM webhooks WHERE id = $1 AND project_id = $2 RETURNING url`, id, projectID).Scan(&url)
		if errors.Is(err, pgx.ErrNoRows) {
			return modelreg.WebhookNotFound(id)
		}
		if err != nil {
			return err
		}
		return record(ctx, tx, modelreg.NewAuditEvent(ctx, projectID, modelreg.ActionWebhookDelete, modelreg.ResourceWebhook, id, url))
	})
}

// FindWebhookDeliveries returns the latest deliveries of a webhook.
func (db *DB) FindWebhookDeliveries(ctx context.Context, projectID, id string, limit int) ([]*modelreg.WebhookDelivery, error) {
	var out []*modelreg.WebhookDelivery
	err := db.view(ctx, "postgres.FindWebhookDeliveries", func(tx *Tx) error {
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM webhooks WHERE id = $1 AND project_id = $2`, id, projectID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return modelreg.WebhookNotFound(id)
		}
		if err != nil {
			return err
		}
		out = []*modelreg.WebhookDelivery{}
		return tx.query(ctx, func(rows pgx.Rows) error {
			d := &modelreg.WebhookDelivery{}
			if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Action, &d.Status, &d.Attempts, &d.CreatedAt,
				&d.NextAttemptAt, &d.LastAttemptAt, &d.LastStatus, &d.LastError); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		}, `SELECT id, webhook_id, event_id, action, status, attempts, created_at, next_at,
				last_attempt_at, last_status, last_error
			FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY event_seq DESC, id DESC LIMIT $2`, id, limit)
	})
	return out, err
}

// ClaimWebhookDeliveries leases due pending deliveries to owner. Rows
// another replica is claiming are skipped (SKIP LOCKED), so two senders
// never claim one delivery at once.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, owner string, lease time.Duration, max int) ([]*modelreg.WebhookDelivery, error) {
	var out []*modelreg.WebhookDelivery
	err := db.update(ctx, "postgres.ClaimWebhookDeliveries", func(tx *Tx) error {
		out = nil
		now := tx.ms()
		return tx.query(ctx, func(rows pgx.Rows) error {
			d := &modelreg.WebhookDelivery{}
			var payload string
			if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Action, &d.Status, &d.Attempts, &d.CreatedAt,
				&d.NextAttemptAt, &payload, &d.URL, &d.SecretSealed); err != nil {
				return err
			}
			d.Payload = []byte(payload)
			out = append(out, d)
			return nil
		}, `WITH due AS (
				SELECT id FROM webhook_deliveries
				WHERE status = $1 AND next_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
				ORDER BY next_at, event_seq, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			UPDATE webhook_deliveries d SET lease_owner = $4, lease_until = $5
			FROM due, webhooks w WHERE d.id = due.id AND w.id = d.webhook_id
			RETURNING d.id, d.webhook_id, d.event_id, d.action, d.status, d.attempts, d.created_at, d.next_at,
				d.payload, w.url, w.secret_sealed`,
			modelreg.DeliveryPending, now, max, owner, modelreg.Millis(tx.now.Add(lease)))
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
	err := db.update(ctx, "postgres.FinishWebhookDeliveries", func(tx *Tx) error {
		done = 0
		for _, a := range attempts {
			n, err := tx.exec(ctx, `UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1,
					last_attempt_at = $2, last_status = $3, last_error = $4, next_at = $5, lease_owner = NULL, lease_until = NULL
				WHERE id = $6 AND lease_owner = $7`, a.Status, tx.ms(), a.Code, a.Error, modelreg.Millis(a.Next), a.ID, owner)
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
	err := db.read(ctx, "postgres.PendingWebhookDeliveries", func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE status = $1`, modelreg.DeliveryPending).Scan(&n)
	})
	return n, err
}

// CreateCleanupPolicy stores p with its audit event.
func (db *DB) CreateCleanupPolicy(ctx context.Context, p *modelreg.CleanupPolicy) error {
	if p.ID == "" {
		p.ID = modelreg.NewID()
	}
	return db.update(ctx, "postgres.CreateCleanupPolicy", func(tx *Tx) error {
		p.CreatedAt, p.UpdatedAt = tx.ms(), tx.ms()
		if _, err := tx.exec(ctx, `INSERT INTO cleanup_policies (id, project_id, name_pattern, keep_last, keep_days,
				enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
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
	var out []*modelreg.CleanupPolicy
	err := db.view(ctx, "postgres.FindCleanupPolicies", func(tx *Tx) error {
		out = []*modelreg.CleanupPolicy{}
		return tx.query(ctx, func(rows pgx.Rows) error {
			p, err := scanPolicy(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		}, `SELECT `+policyColumns+` FROM cleanup_policies WHERE $1 = '' OR project_id = $1 ORDER BY created_at, id`, projectID)
	})
	return out, err
}

// FindCleanupPolicy returns one policy. Returns ENOTFOUND ModelReg.3301.
func (db *DB) FindCleanupPolicy(ctx context.Context, projectID, id string) (*modelreg.CleanupPolicy, error) {
	var p *modelreg.CleanupPolicy
	err := db.view(ctx, "postgres.FindCleanupPolicy", func(tx *Tx) (err error) {
		p, err = findPolicy(ctx, tx, projectID, id, "")
		return err
	})
	return p, err
}

func findPolicy(ctx context.Context, tx *Tx, projectID, id, lock string) (*modelreg.CleanupPolicy, error) {
	p, err := scanPolicy(tx.queryRow(ctx, `SELECT `+policyColumns+` FROM cleanup_policies WHERE id = $1 AND project_id = $2 `+lock, id, projectID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, modelreg.PolicyNotFound(id)
	}
	return p, err
}

// UpdateCleanupPolicy stores p's fields with its audit event.
func (db *DB) UpdateCleanupPolicy(ctx context.Context, p *modelreg.CleanupPolicy) error {
	return db.update(ctx, "postgres.UpdateCleanupPolicy", func(tx *Tx) error {
		p.UpdatedAt = tx.ms()
		n, err := tx.exec(ctx, `UPDATE cleanup_policies SET name_pattern = $1, keep_last = $2, keep_days = $3,
				enabled = $4, updated_at = $5 WHERE id = $6 AND project_id = $7`,
			p.NamePattern, p.KeepLast, p.KeepDays, p.Enabled, p.UpdatedAt, p.ID, p.ProjectID)
		if err != nil {
			return err
		}
		if n == 0 {
			return modelreg.PolicyNotFound(p.ID)
		}
		return record(ctx, tx, policyEvent(ctx, modelreg.ActionCleanupPolicyUpdate, p))
	})
}

// DeleteCleanupPolicy deletes a policy with its audit event.
func (db *DB) DeleteCleanupPolicy(ctx context.Context, projectID, id string) error {
	return db.update(ctx, "postgres.DeleteCleanupPolicy", func(tx *Tx) error {
		p, err := findPolicy(ctx, tx, projectID, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM cleanup_policies WHERE id = $1`, id); err != nil {
			return err
		}
		return record(ctx, tx, policyEvent(ctx, modelreg.ActionCleanupPolicyDelete, p))
	})
}

// FindCleanupCandidates returns the project's models whose name matches
// pattern, with whether each is deployed or protected.
func (db *DB) FindCleanupCandidates(ctx context.Context, projectID, pattern string) ([]modelreg.CleanupCandidate, error) {
	var out []modelreg.CleanupCandidate
	err := db.view(ctx, "postgres.FindCleanupCandidates", func(tx *Tx) error {
		out = nil
		return tx.query(ctx, func(rows pgx.Rows) error {
			var c modelreg.CleanupCandidate
			if err := rows.Scan(&c.ID, &c.Name, &c.Version, &c.CreateAt, &c.Deployed, &c.Protected); err != nil {
				return err
			}
			if ok, _ := path.Match(pattern, c.Name); ok {
				out = append(out, c)
			}
			return nil
		}, `SELECT m.id, m.name, m.version, m.create_at,
				EXISTS (SELECT 1 FROM service_models s WHERE s.model_id = m.id),
				COALESCE((SELECT p.protected FROM model_protection p WHERE p.model_id = m.id), false)
			FROM models m WHERE m.project_id = $1`, projectID)
	})
	return out, err
}

// MarkCleanupRun records that the policy ran at t.
func (db *DB) MarkCleanupRun(ctx context.Context, id string, t time.Time) error {
	return db.update(ctx, "postgres.MarkCleanupRun", func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE cleanup_policies SET last_run_at = $1 WHERE id = $2`, modelreg.Millis(t), id)
		return err
	})
}

// modelEvent returns an event of action on model id (live or trashed),
// with its project, name and version read in tx.
func modelEvent(ctx context.Context, tx *Tx, id, action string) (*modelreg.AuditEvent, error) {
	var project, name, version string
	err := tx.queryRow(ctx, `SELECT COALESCE(t.project_id, m.project_id), m.name, m.version
		FROM models m LEFT JOIN trash t ON t.model_id = m.id WHERE m.id = $1`, id).Scan(&project, &name, &version)
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

// userProjects returns the projects userID is a member of, in tx.
func userProjects(ctx context.Context, tx *Tx, userID string) ([]string, error) {
	return tx.queryStrings(ctx, `SELECT project_id FROM user_projects WHERE user_id = $1 ORDER BY project_id`, userID)
}

// recordCredential records action on the credential ak of userID under
// each project it reaches: its scope, or its user's projects.
func recordCredential(ctx context.Context, tx *Tx, action, ak, userID, scope string) error {
	projects := []string{scope}
	if scope == "" {
		var err error
		if projects, err = userProjects(ctx, tx, userID); err != nil {
			return err
		}
	}
	return recordEach(ctx, tx, projects, func(p string) *modelreg.AuditEvent {
		return modelreg.NewAuditEvent(ctx, p, action, modelreg.ResourceCredential, ak, ak).With("user_id", userID)
	})
}
