package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/modelreg/modelreg"
)

// The trash: a trashed model keeps its row and files under the project id
// 'trash/<deleted_at>/<model id>' (see migration 0005), so every ModelArts
// query misses it and its blobs stay referenced; the trash table says whose
// it is.

// trashModels moves the models ids of the project into the trash, to be
// purged opt.Trash from now.
func trashModels(ctx context.Context, tx *Tx, projectID string, ids []string, opt modelreg.DeleteOptions) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO trash (model_id, project_id, deleted_at, deleted_by, purge_at)
		SELECT value, ?2, ?3, ?4, ?5 FROM json_each(?1)`,
		string(list), projectID, tx.ms(), opt.Actor, modelreg.Millis(tx.now.Add(opt.Trash))); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE models SET project_id = 'trash/' || printf('%013d', ?2) || '/' || id
		WHERE id IN (SELECT value FROM json_each(?1))`, string(list), tx.ms())
	return err
}

// FindTrash returns one page of the project's trash, latest deleted first.
func (db *DB) FindTrash(ctx context.Context, f modelreg.TrashFilter) ([]*modelreg.TrashedModel, int, error) {
	var models []*modelreg.TrashedModel
	var total int
	err := db.view(ctx, "sqlite.FindTrash", func(tx *Tx) error {
		limit, skip := f.Limit, f.Skip()
		where, args := `t.project_id = ?`, []any{f.ProjectID}
		if f.Name != "" {
			where, args = where+` AND m.name LIKE ? ESCAPE '\'`, append(args, likePattern(f.Name))
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM trash t JOIN models m ON m.id = t.model_id WHERE `+where,
			args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT t.model_id, m.name, m.version, m.size, t.deleted_at, t.deleted_by, t.purge_at
			FROM trash t JOIN models m ON m.id = t.model_id WHERE `+where+`
			ORDER BY t.deleted_at DESC, m.name, m.version DESC, t.model_id DESC LIMIT ? OFFSET ?`, append(args, limit, skip)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		models = []*modelreg.TrashedModel{}
		for rows.Next() {
			var m modelreg.TrashedModel
			if err := rows.Scan(&m.ID, &m.Name, &m.Version, &m.Size, &m.DeletedAt, &m.DeletedBy, &m.PurgeAt); err != nil {
				return err
			}
			models = append(models, &m)
		}
		return rows.Err()
	})
	return models, total, err
}

// RestoreModel moves a trashed model back into its project.
func (db *DB) RestoreModel(ctx context.Context, projectID, id string) error {
	return db.update(ctx, "sqlite.RestoreModel", func(tx *Tx) error {
		var name, version string
		err := tx.QueryRowContext(ctx, `SELECT m.name, m.version FROM trash t JOIN models m ON m.id = t.model_id
			WHERE t.model_id = ? AND t.project_id = ?`, id, projectID).Scan(&name, &version)
		if errors.Is(err, sql.ErrNoRows) {
			return modelreg.ModelNotFound(id)
		} else if err != nil {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM models WHERE project_id = ? AND name = ? AND version = ?`,
			projectID, name, version).Scan(&one)
		if err == nil {
			return modelExists(name, version)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE models SET project_id = ? WHERE id = ?`, projectID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM trash WHERE model_id = ?`, id); err != nil {
			return err
		}
		return recordModel(ctx, tx, id, modelreg.ActionModelRestore, nil)
	})
}

// PurgeTrash deletes trashed models of the project for good (all of them
// when ids is nil), except the protected ones.
func (db *DB) PurgeTrash(ctx context.Context, projectID string, ids []string) ([]string, []error, error) {
	var errs []error
	err := db.update(ctx, "sqlite.PurgeTrash", func(tx *Tx) error {
		if ids == nil {
			rows, err := tx.QueryContext(ctx, `SELECT model_id FROM trash WHERE project_id = ? ORDER BY deleted_at, model_id`, projectID)
			if err != nil {
				return err
			}
			ids = []string{}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		list, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT j.key, t.model_id IS NOT NULL, IFNULL(p.protected, 0), IFNULL(p.reason, '')
			FROM json_each(?) j LEFT JOIN trash t ON t.model_id = j.value AND t.project_id = ?
			LEFT JOIN model_protection p ON p.model_id = t.model_id ORDER BY j.key`, string(list), projectID)
		if err != nil {
			return err
		}
		errs = make([]error, len(ids))
		var purge []string
		for rows.Next() {
			var i int
			var exists, protected bool
			var reason string
			if err := rows.Scan(&i, &exists, &protected, &reason); err != nil {
				rows.Close()
				return err
			}
			switch {
			case !exists:
				errs[i] = modelreg.ModelNotFound(ids[i])
			case protected:
				errs[i] = modelreg.ModelProtected(ids[i], reason)
			default:
				purge = append(purge, ids[i])
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i, e := range errs {
			if modelreg.ErrorCode(e) == modelreg.ECONFLICT {
				if err := recordModel(ctx, tx, ids[i], modelreg.ActionModelPurge, func(ev *modelreg.AuditEvent) { ev.Refused(e) }); err != nil {
					return err
				}
			}
		}
		for _, id := range purge {
			if err := recordModel(ctx, tx, id, modelreg.ActionModelPurge, nil); err != nil {
				return err
			}
		}
		_, err = deleteModels(ctx, tx, purge)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return ids, errs, nil
}

// PurgeExpiredTrash purges up to max unprotected trashed models whose purge
// time has come.
func (db *DB) PurgeExpiredTrash(ctx context.Context, max int) (int, error) {
	// Most passes find nothing due: find that out without the writer.
	var due bool
	err := db.view(ctx, "sqlite.PurgeExpiredTrash", func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM trash t WHERE t.purge_at <= ?
			AND NOT EXISTS (SELECT 1 FROM model_protection p WHERE p.model_id = t.model_id AND p.protected))`, tx.ms()).Scan(&due)
	})
	if err != nil || !due {
		return 0, err
	}
	var n int
	err = db.update(ctx, "sqlite.PurgeExpiredTrash", func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT t.model_id FROM trash t LEFT JOIN model_protection p ON p.model_id = t.model_id
			WHERE t.purge_at <= ? AND NOT IFNULL(p.protected, 0) ORDER BY t.purge_at, t.model_id LIMIT ?`, tx.ms(), max)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(ids)
		for _, id := range ids {
			if err := recordModel(ctx, tx, id, modelreg.ActionModelPurge, func(ev *modelreg.AuditEvent) {
				ev.With("expired", true)
			}); err != nil {
				return err
			}
		}
		_, err = deleteModels(ctx, tx, ids)
		return err
	})
	return n, err
}

// SetModelProtection sets the protection of a live or trashed model.
func (db *DB) SetModelProtection(ctx context.Context, projectID string, p modelreg.ModelProtection) (*modelreg.ModelProtection, error) {
	var out *modelreg.ModelProtection
	err := db.update(ctx, "sqlite.SetModelProtection", func(tx *Tx) error {
		if err := findOwnModel(ctx, tx, projectID, p.ModelID); err != nil {
			return err
		}
		p.UpdatedAt = tx.ms()
		if _, err := tx.ExecContext(ctx, `INSERT INTO model_protection (model_id, protected, reason, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (model_id) DO UPDATE SET protected = excluded.protected,
			reason = excluded.reason, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			p.ModelID, p.Protected, p.Reason, p.UpdatedAt, p.UpdatedBy); err != nil {
			return err
		}
		out = &p
		return recordModel(ctx, tx, p.ModelID, modelreg.ProtectAction(p.Protected), func(ev *modelreg.AuditEvent) {
			ev.With("reason", p.Reason)
		})
	})
	return out, err
}

// FindModelProtection returns the protection of a live or trashed model.
func (db *DB) FindModelProtection(ctx context.Context, projectID, id string) (*modelreg.ModelProtection, error) {
	p := &modelreg.ModelProtection{ModelID: id}
	err := db.view(ctx, "sqlite.FindModelProtection", func(tx *Tx) error {
		if err := findOwnModel(ctx, tx, projectID, id); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT protected, reason, updated_at, updated_by FROM model_protection WHERE model_id = ?`,
			id).Scan(&p.Protected, &p.Reason, &p.UpdatedAt, &p.UpdatedBy)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// findOwnModel returns ENOTFOUND ModelArts.3001 unless id is a model of
// the project, live or in its trash.
func findOwnModel(ctx context.Context, tx *Tx, projectID, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM models WHERE id = ?1 AND (project_id = ?2
		OR project_id LIKE 'trash/%' AND EXISTS (SELECT 1 FROM trash WHERE model_id = ?1 AND project_id = ?2))`,
		id, projectID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return modelreg.ModelNotFound(id)
	}
	return err
}
