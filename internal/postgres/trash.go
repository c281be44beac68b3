package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/modelreg/modelreg"
)

// The trash: a trashed model keeps its row and files under the project id
// 'trash/<deleted_at>/<model id>' (see migration 0006), so every ModelArts
// query misses it and its blobs stay referenced; the trash table says whose
// it is.
//
// Locks: every operation on a trashed model (restore, purge) locks its
// models row FOR UPDATE first, like a delete, so that two of them take
// turns and the second finds what the first left. A restore and an import
// of the same name and version meet on the unique index: one of them gets
// ModelArts.3002.

// trashModels moves the models ids of the project, whose rows the caller
// has locked, into the trash, to be purged opt.Trash from now.
func trashModels(ctx context.Context, tx *Tx, projectID string, ids []string, opt modelreg.DeleteOptions) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO trash (model_id, project_id, deleted_at, deleted_by, purge_at)
		SELECT unnest($1::text[]), $2, $3, $4, $5`,
		ids, projectID, tx.ms(), opt.Actor, modelreg.Millis(tx.now.Add(opt.Trash))); err != nil {
		return err
	}
	if err := lockCounts(ctx, tx, ids); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `UPDATE models SET project_id = 'trash/' || lpad($2::bigint::text, 13, '0') || '/' || id
		WHERE id = ANY($1)`, ids, tx.ms())
	return err
}

// findProtections returns the reasons of the protected models among ids.
func findProtections(ctx context.Context, tx *Tx, ids []string) (map[string]*string, error) {
	m := map[string]*string{}
	err := tx.query(ctx, func(rows pgx.Rows) error {
		var id, reason string
		if err := rows.Scan(&id, &reason); err != nil {
			return err
		}
		m[id] = &reason
		return nil
	}, `SELECT model_id, reason FROM model_protection WHERE model_id = ANY($1) AND protected`, ids)
	return m, err
}

// FindTrash returns one page of the project's trash, latest deleted first.
func (db *DB) FindTrash(ctx context.Context, f modelreg.TrashFilter) ([]*modelreg.TrashedModel, int, error) {
	var models []*modelreg.TrashedModel
	var total int
	err := db.view(ctx, "postgres.FindTrash", func(tx *Tx) error {
		limit, skip := f.Limit, f.Skip()
		where, args := `t.project_id = $1`, []any{f.ProjectID}
		if f.Name != "" {
			where, args = where+` AND m.name ILIKE $2 ESCAPE '\'`, append(args, likePattern(f.Name))
		}
		if err := tx.queryRow(ctx, `SELECT count(*) FROM trash t JOIN models m ON m.id = t.model_id WHERE `+where,
			args...).Scan(&total); err != nil {
			return err
		}
		models = []*modelreg.TrashedModel{}
		n := len(args)
		return tx.query(ctx, func(rows pgx.Rows) error {
			var m modelreg.TrashedModel
			if err := rows.Scan(&m.ID, &m.Name, &m.Version, &m.Size, &m.DeletedAt, &m.DeletedBy, &m.PurgeAt); err != nil {
				return err
			}
			models = append(models, &m)
			return nil
		}, `SELECT t.model_id, m.name, m.version, m.size, t.deleted_at, t.deleted_by, t.purge_at
			FROM trash t JOIN models m ON m.id = t.model_id WHERE `+where+`
			ORDER BY t.deleted_at DESC, m.name, m.version DESC, t.model_id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), append(args, limit, skip)...)
	})
	return models, total, err
}

// RestoreModel moves a trashed model back into its project.
func (db *DB) RestoreModel(ctx context.Context, projectID, id string) error {
	return db.update(ctx, "postgres.RestoreModel", func(tx *Tx) error {
		var name, version string
		err := tx.queryRow(ctx, `SELECT m.name, m.version FROM trash t JOIN models m ON m.id = t.model_id
			WHERE t.model_id = $1 AND t.project_id = $2 FOR UPDATE OF m, t`, id, projectID).Scan(&name, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return modelreg.ModelNotFound(id)
		} else if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `UPDATE models SET project_id = $1 WHERE id = $2`, projectID, id)
		if pgError(err, uniqueViolation) != nil {
			return modelExists(name, version)
		} else if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM trash WHERE model_id = $1`, id); err != nil {
			return err
		}
		return recordModel(ctx, tx, id, modelreg.ActionModelRestore, nil)
	})
}

// PurgeTrash deletes trashed models of the project for good (all of them
// when ids is nil), except the protected ones.
func (db *DB) PurgeTrash(ctx context.Context, projectID string, ids []string) ([]string, []error, error) {
	var errs []error
	var out []string
	err := db.update(ctx, "postgres.PurgeTrash", func(tx *Tx) error {
		var locked []string
		var err error
		if ids == nil {
			locked, err = tx.queryStrings(ctx, `SELECT m.id FROM trash t JOIN models m ON m.id = t.model_id
				WHERE t.project_id = $1 ORDER BY m.id FOR UPDATE OF m`, projectID)
			out = locked
		} else {
			locked, err = tx.queryStrings(ctx, `SELECT m.id FROM trash t JOIN models m ON m.id = t.model_id
				WHERE t.project_id = $1 AND t.model_id = ANY($2) ORDER BY m.id FOR UPDATE OF m`, projectID, ids)
			out = ids
		}
		if err != nil {
			return err
		}
		// Rows that left the trash while this waited for their lock.
		if locked, err = tx.queryStrings(ctx, `SELECT model_id FROM trash WHERE model_id = ANY($1) AND project_id = $2
			ORDER BY model_id`, locked, projectID); err != nil {
			return err
		}
		if ids == nil {
			out = locked // the whole trash: what is still in it
		}
		protected, err := findProtections(ctx, tx, locked)
		if err != nil {
			return err
		}
		errs = make([]error, len(out))
		var purge []string
		for i, id := range out {
			switch {
			case !slices.Contains(locked, id):
				errs[i] = modelreg.ModelNotFound(id)
			case protected[id] != nil:
				errs[i] = modelreg.ModelProtected(id, *protected[id])
			default:
				purge = append(purge, id)
			}
		}
		for i, e := range errs {
			if modelreg.ErrorCode(e) == modelreg.ECONFLICT {
				if err := recordModel(ctx, tx, out[i], modelreg.ActionModelPurge, func(ev *modelreg.AuditEvent) { ev.Refused(e) }); err != nil {
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
	if out == nil {
		out = []string{}
	}
	return out, errs, nil
}

// PurgeExpiredTrash purges up to max unprotected trashed models whose purge
// time has come. Rows another replica is purging are skipped.
func (db *DB) PurgeExpiredTrash(ctx context.Context, max int) (int, error) {
	var n int
	err := db.update(ctx, "postgres.PurgeExpiredTrash", func(tx *Tx) error {
		ids, err := tx.queryStrings(ctx, `SELECT m.id FROM trash t JOIN models m ON m.id = t.model_id
			WHERE t.purge_at <= $1 AND NOT EXISTS (SELECT 1 FROM model_protection p WHERE p.model_id = m.id AND p.protected)
			ORDER BY m.id LIMIT $2 FOR UPDATE OF m SKIP LOCKED`, tx.ms(), max)
		if err != nil {
			return err
		}
		if ids, err = tx.queryStrings(ctx, `SELECT t.model_id FROM trash t WHERE t.model_id = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM model_protection p WHERE p.model_id = t.model_id AND p.protected)`, ids); err != nil {
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

// SetModelProtection sets the protection of a live or trashed model. It
// locks the model's row, so a delete of it waits for it and then sees it.
func (db *DB) SetModelProtection(ctx context.Context, projectID string, p modelreg.ModelProtection) (*modelreg.ModelProtection, error) {
	var out *modelreg.ModelProtection
	err := db.update(ctx, "postgres.SetModelProtection", func(tx *Tx) error {
		if err := lockOwnModel(ctx, tx, projectID, p.ModelID); err != nil {
			return err
		}
		q := p
		q.UpdatedAt = tx.ms()
		if _, err := tx.exec(ctx, `INSERT INTO model_protection (model_id, protected, reason, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id) DO UPDATE SET protected = excluded.protected,
			reason = excluded.reason, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			q.ModelID, q.Protected, q.Reason, q.UpdatedAt, q.UpdatedBy); err != nil {
			return err
		}
		out = &q
		return recordModel(ctx, tx, q.ModelID, modelreg.ProtectAction(q.Protected), func(ev *modelreg.AuditEvent) {
			ev.With("reason", q.Reason)
		})
	})
	return out, err
}

// FindModelProtection returns the protection of a live or trashed model.
func (db *DB) FindModelProtection(ctx context.Context, projectID, id string) (*modelreg.ModelProtection, error) {
	var p *modelreg.ModelProtection
	err := db.view(ctx, "postgres.FindModelProtection", func(tx *Tx) error {
		if err := findOwnModel(ctx, tx, projectID, id, ""); err != nil {
			return err
		}
		p = &modelreg.ModelProtection{ModelID: id}
		err := tx.queryRow(ctx, `SELECT protected, reason, updated_at, updated_by FROM model_protection WHERE model_id = $1`,
			id).Scan(&p.Protected, &p.Reason, &p.UpdatedAt, &p.UpdatedBy)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return p, err
}

// lockOwnModel locks the row of a model of the project, live or in its
// trash. A row that changed while it waited (moved to the trash, restored)
// is looked up again in a new statement, which sees what that change
// committed. Returns ENOTFOUND ModelArts.3001.
func lockOwnModel(ctx context.Context, tx *Tx, projectID, id string) error {
	err := findOwnModel(ctx, tx, projectID, id, "FOR UPDATE OF m")
	if modelreg.ErrorCode(err) == modelreg.ENOTFOUND {
		err = findOwnModel(ctx, tx, projectID, id, "FOR UPDATE OF m")
	}
	return err
}

// findOwnModel returns ENOTFOUND ModelArts.3001 unless id is a model of
// the project, live or in its trash; lock is appended to the query.
func findOwnModel(ctx context.Context, tx *Tx, projectID, id, lock string) error {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM models m LEFT JOIN trash t ON t.model_id = m.id
		WHERE m.id = $1 AND (m.project_id = $2 OR m.project_id LIKE 'trash/%' AND t.project_id = $2) `+lock,
		id, projectID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return modelreg.ModelNotFound(id)
	}
	return err
}
