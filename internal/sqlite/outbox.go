package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/modelreg/modelreg"
)

// SetDeployOutbox turns the outbox on or off; off drops the pending calls.
func (db *DB) SetDeployOutbox(ctx context.Context, on bool) error {
	return db.update(ctx, "sqlite.SetDeployOutbox", func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE deploy_settings SET outbox = ? WHERE id = 1`, on); err != nil {
			return err
		}
		if on {
			return nil
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM deploy_outbox`)
		return err
	})
}

// ClaimDeployCalls leases up to max due calls to owner: the oldest call of
// each service, when it is due and not leased.
func (db *DB) ClaimDeployCalls(ctx context.Context, owner string, lease time.Duration, max int) ([]modelreg.DeployCall, error) {
	var calls []modelreg.DeployCall
	err := db.update(ctx, "sqlite.ClaimDeployCalls", func(tx *Tx) error {
		now := tx.ms()
		rows, err := tx.QueryContext(ctx, `SELECT id, project_id, service_id, action, attempts FROM deploy_outbox o
			WHERE due_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
			AND NOT EXISTS (SELECT 1 FROM deploy_outbox p WHERE p.service_id = o.service_id AND p.id < o.id)
			ORDER BY id LIMIT ?`, now, now, max)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c modelreg.DeployCall
			if err := rows.Scan(&c.ID, &c.ProjectID, &c.ServiceID, &c.Action, &c.Attempts); err != nil {
				rows.Close()
				return err
			}
			c.Attempts++
			calls = append(calls, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range calls {
			if _, err := tx.ExecContext(ctx, `UPDATE deploy_outbox SET lease_owner = ?, lease_until = ?, attempts = ? WHERE id = ?`,
				owner, now+lease.Milliseconds(), c.Attempts, c.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return calls, err
}

// CompleteDeployCall removes owner's claimed call.
func (db *DB) CompleteDeployCall(ctx context.Context, id int64, owner string) error {
	return db.update(ctx, "sqlite.CompleteDeployCall", func(tx *Tx) error {
		return oneRow(tx.ExecContext(ctx, `DELETE FROM deploy_outbox WHERE id = ? AND lease_owner = ?`, id, owner))
	})
}

// RetryDeployCall releases owner's claim until at.
func (db *DB) RetryDeployCall(ctx context.Context, id int64, owner string, at time.Time) error {
	return db.update(ctx, "sqlite.RetryDeployCall", func(tx *Tx) error {
		return oneRow(tx.ExecContext(ctx, `UPDATE deploy_outbox SET lease_owner = NULL, lease_until = NULL, due_at = ?
			WHERE id = ? AND lease_owner = ?`, modelreg.Millis(at), id, owner))
	})
}

// oneRow is the error of a statement that must change exactly one row of
// the outbox: ENOTFOUND when it changed none.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return modelreg.Errorf(modelreg.ENOTFOUND, "", "The deploy call is not leased to this owner.")
	}
	return nil
}

// PendingDeployCalls returns the number of calls in the outbox.
func (db *DB) PendingDeployCalls(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, "sqlite.PendingDeployCalls", func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM deploy_outbox`).Scan(&n)
	})
	return n, err
}

// serviceExists returns ENOTFOUND ModelArts.3502 unless the project has
// service id.
func serviceExists(ctx context.Context, tx *Tx, projectID, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM services WHERE id = ? AND project_id = ?`, id, projectID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return modelreg.ServiceNotFound(id)
	}
	return err
}

// AddServiceEvent records an event of a service.
func (db *DB) AddServiceEvent(ctx context.Context, projectID, id string, ev modelreg.ServiceEvent) error {
	return db.update(ctx, "sqlite.AddServiceEvent", func(tx *Tx) error {
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
		return modelreg.Internal("sqlite.SetServiceMonitors", err)
	}
	return db.update(ctx, "sqlite.SetServiceMonitors", func(tx *Tx) error {
		if err := serviceExists(ctx, tx, projectID, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO service_monitors (service_id, figures) VALUES (?, ?)
			ON CONFLICT (service_id) DO UPDATE SET figures = excluded.figures`, id, string(figures))
		return err
	})
}

// FindServiceMonitors returns the reported figures of a service.
func (db *DB) FindServiceMonitors(ctx context.Context, projectID, id string) ([]modelreg.ModelMonitor, error) {
	ms := []modelreg.ModelMonitor{}
	err := db.view(ctx, "sqlite.FindServiceMonitors", func(tx *Tx) error {
		if err := serviceExists(ctx, tx, projectID, id); err != nil {
			return err
		}
		var figures string
		err := tx.QueryRowContext(ctx, `SELECT figures FROM service_monitors WHERE service_id = ?`, id).Scan(&figures)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		return json.Unmarshal([]byte(figures), &ms)
	})
	return ms, err
}
