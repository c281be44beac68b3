package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modelreg/modelreg"
)

// SetDeployOutbox turns the outbox on or off; off drops the pending calls.
func (db *DB) SetDeployOutbox(ctx context.Context, on bool) error {
	return db.update(ctx, "postgres.SetDeployOutbox", func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE deploy_settings SET outbox = $1 WHERE id = 1`, on); err != nil {
			return err
		}
		if on {
			return nil
		}
		_, err := tx.exec(ctx, `DELETE FROM deploy_outbox`)
		return err
	})
}

// ClaimDeployCalls leases up to max due calls to owner: the oldest call of
// each service, when it is due and not leased. Replicas skip the rows
// another is claiming.
func (db *DB) ClaimDeployCalls(ctx context.Context, owner string, lease time.Duration, max int) ([]modelreg.DeployCall, error) {
	var calls []modelreg.DeployCall
	err := db.update(ctx, "postgres.ClaimDeployCalls", func(tx *Tx) error {
		calls = nil
		now := tx.ms()
		return tx.query(ctx, func(rows pgx.Rows) error {
			var c modelreg.DeployCall
			if err := rows.Scan(&c.ID, &c.ProjectID, &c.ServiceID, &c.Action, &c.Attempts); err != nil {
				return err
			}
			calls = append(calls, c)
			return nil
		}, `UPDATE deploy_outbox SET lease_owner = $1, lease_until = $2 + $3::bigint, attempts = attempts + 1
			WHERE id IN (SELECT id FROM deploy_outbox o
				WHERE due_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
				AND NOT EXISTS (SELECT 1 FROM deploy_outbox p WHERE p.service_id = o.service_id AND p.id < o.id)
				ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
			RETURNING id, project_id, service_id, action, attempts`, owner, now, lease.Milliseconds(), max)
	})
	return calls, err
}

// CompleteDeployCall removes owner's claimed call.
func (db *DB) CompleteDeployCall(ctx context.Context, id int64, owner string) error {
	return db.update(ctx, "postgres.CompleteDeployCall", func(tx *Tx) error {
		return oneRow(tx.exec(ctx, `DELETE FROM deploy_outbox WHERE id = $1 AND lease_owner = $2`, id, owner))
	})
}

// RetryDeployCall releases owner's claim until at.
func (db *DB) RetryDeployCall(ctx context.Context, id int64, owner string, at time.Time) error {
	return db.update(ctx, "postgres.RetryDeployCall", func(tx *Tx) error {
		return oneRow(tx.exec(ctx, `UPDATE deploy_outbox SET lease_owner = NULL, lease_until = NULL, due_at = $3
			WHERE id = $1 AND lease_owner = $2`, id, owner, modelreg.Millis(at)))
	})
}

// oneRow is the error of a statement that must change exactly one row of
// the outbox: ENOTFOUND when it changed none.
func oneRow(n int64, err error) error {
	if err != nil {
		return err
	}
	if n == 0 {
		return modelreg.Errorf(modelreg.ENOTFOUND, "", "The deploy call is not leased to this owner.")
	}
	return nil
}

// PendingDeployCalls returns the number of calls in the outbox.
func (db *DB) PendingDeployCalls(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, "postgres.PendingDeployCalls", func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT count(*) FROM deploy_outbox`).Scan(&n)
	})
	return n, err
}

// serviceExists returns ENOTFOUND ModelArts.3502 unless the project has
// service id.
func serviceExists(ctx context.Context, tx *Tx, projectID, id string) error {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM services WHERE id = $1 AND project_id = $2`, id, projectID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return modelreg.ServiceNotFound(id)
	}
	return err
}

// AddServiceEvent records an event of a service.
func (db *DB) AddServiceEvent(ctx context.Context, projectID, id string, ev modelreg.ServiceEvent) error {
	return db.update(ctx, "postgres.AddServiceEvent", func(tx *Tx) error {
		if err := serviceExists(ctx, tx, projectID, id); err != nil {
			return err
		}
		return addEvent(ctx, tx, id, ev)
	})
}

// SetServiceMonitors replaces the reported figures of a service.
func (db *DB) SetServiceMonitors(ctx context.Context, projectID, id string, ms []modelreg.ModelMonitor) error {
	if ms == nil {
		ms = []modelreg.ModelMonitor{}
	}
	figures, err := json.Marshal(ms)
	if err != nil {
		return modelreg.Internal("postgres.SetServiceMonitors", err)
	}
	return db.update(ctx, "postgres.SetServiceMonitors", func(tx *Tx) error {
		if err := serviceExists(ctx, tx, projectID, id); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO service_monitors (service_id, figures) VALUES ($1, $2)
			ON CONFLICT (service_id) DO UPDATE SET figures = excluded.figures`, id, string(figures))
		return err
	})
}

// FindServiceMonitors returns the reported figures of a service.
func (db *DB) FindServiceMonitors(ctx context.Context, projectID, id string) ([]modelreg.ModelMonitor, error) {
	var ms []modelreg.ModelMonitor
	err := db.view(ctx, "postgres.FindServiceMonitors", func(tx *Tx) error {
		ms = []modelreg.ModelMonitor{}
		if err := serviceExists(ctx, tx, projectID, id); err != nil {
			return err
		}
		var figures string
		err := tx.queryRow(ctx, `SELECT figures FROM service_monitors WHERE service_id = $1`, id).Scan(&figures)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		return json.Unmarshal([]byte(figures), &ms)
	})
	return ms, err
}
