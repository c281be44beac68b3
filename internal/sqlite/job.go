package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
)

// jobNotFound is the error of a job that is gone or leased to someone else.
func jobNotFound(modelID, owner string) *modelreg.Error {
	return modelreg.Errorf(modelreg.ENOTFOUND, modelreg.CodeModelNotFound,
		"The import job of model (%s) does not exist or is not leased to %s.", modelID, owner)
}

// leaseEnd returns the end of a lease taken at tx's time, in ms.
func leaseEnd(tx *Tx, lease time.Duration) int64 { return modelreg.Millis(tx.now.Add(lease)) }

// ClaimImportJob leases the oldest due job to owner: one whose not-before
// time has come and whose lease is absent or expired, of a project with
// fewer than perProject running (live-leased, upload jobs aside) jobs when
// perProject > 0. It counts the claim in the job's attempts. Returns
// ENOTFOUND when no job is due.
func (db *DB) ClaimImportJob(ctx context.Context, owner string, lease time.Duration, perProject int) (*modelreg.ImportJob, error) {
	var job *modelreg.ImportJob
	err := db.update(ctx, "sqlite.ClaimImportJob", func(tx *Tx) (err error) {
		job, err = claimImportJob(ctx, tx, owner, lease, perProject)
		return err
	})
	return job, err
}

func claimImportJob(ctx context.Context, tx *Tx, owner string, lease time.Duration, perProject int) (*modelreg.ImportJob, error) {
	var job modelreg.ImportJob
	err := tx.QueryRowContext(ctx, `SELECT model_id, project_id, source_location, attempts FROM import_jobs
		WHERE not_before <= ?1 AND (lease_until IS NULL OR lease_until < ?1)
			AND (?2 <= 0 OR project_id NOT IN (
				SELECT project_id FROM import_jobs
				WHERE lease_until >= ?1 AND source_location NOT LIKE ?3
				GROUP BY project_id HAVING count(*) >= ?2))
		ORDER BY created_at, model_id LIMIT 1`, tx.ms(), perProject, modelreg.UploadScheme+"://%").
		Scan(&job.ModelID, &job.ProjectID, &job.SourceLocation, &job.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, modelreg.Errorf(modelreg.ENOTFOUND, "", "No import job is due.")
	} else if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE import_jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE model_id = ?`, owner, leaseEnd(tx, lease), job.ModelID); err != nil {
		return nil, err
	}
	job.Attempts++
	return &job, nil
}

// checkJob returns ENOTFOUND unless modelID's job exists and is leased to
// owner. An expired lease still counts while nobody else has claimed it.
func checkJob(ctx context.Context, tx *Tx, modelID, owner string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM import_jobs WHERE model_id = ? AND lease_owner = ?`, modelID, owner).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return jobNotFound(modelID, owner)
	}
	return err
}

// RenewImportJob extends owner's lease on the job to lease from now.
// Returns ENOTFOUND when the job is gone or leased to someone else.
func (db *DB) RenewImportJob(ctx context.Context, modelID, owner string, lease time.Duration) error {
	return db.update(ctx, "sqlite.RenewImportJob", func(tx *Tx) error {
		if err := checkJob(ctx, tx, modelID, owner); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE import_jobs SET lease_until = ? WHERE model_id = ?`, leaseEnd(tx, lease), modelID)
		return err
	})
}

// AttachModelFile records that file f of the model is held by blob f.Digest,
// replacing an earlier file at the same path (whose blob is queued when
// nothing else references it), and cancels a pending collection of
// f.Digest. Returns ENOTFOUND when owner's job is gone and EUNAVAILABLE when
// a collector holds a live lease on f.Digest: it may be deleting the blob at
// this moment, so the importer must retry after the lease ends.
func (db *DB) AttachModelFile(ctx context.Context, modelID, owner string, f modelreg.ModelFile) error {
	return db.update(ctx, "sqlite.AttachModelFile", func(tx *Tx) error {
		return attachModelFile(ctx, tx, modelID, owner, f)
	})
}

func attachModelFile(ctx context.Context, tx *Tx, modelID, owner string, f modelreg.ModelFile) error {
	if err := checkJob(ctx, tx, modelID, owner); err != nil {
		return err
	}
	var leaseUntil sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT lease_until FROM blob_gc WHERE digest = ?`, f.Digest).Scan(&leaseUntil)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case leaseUntil.Valid && leaseUntil.Int64 >= tx.ms():
		return modelreg.Errorf(modelreg.EUNAVAILABLE, modelreg.CodeInternal,
			"Blob %s is being removed from the blob store, retry shortly.", f.Digest)
	default:
		if _, err := tx.ExecContext(ctx, `DELETE FROM blob_gc WHERE digest = ?`, f.Digest); err != nil {
			return err
		}
	}

	var old string
	err = tx.QueryRowContext(ctx, `SELECT digest FROM model_files WHERE model_id = ? AND path = ?`, modelID, f.Path).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO model_files (model_id, path, digest, size) VALUES (?, ?, ?, ?)
		ON CONFLICT (model_id, path) DO UPDATE SET digest = excluded.digest, size = excluded.size`,
		modelID, f.Path, f.Digest, f.Size); err != nil {
		return err
	}
	if old != "" && old != f.Digest {
		return queueIfUnreferenced(ctx, tx, old)
	}
	return nil
}

// queueIfUnreferenced queues digest for collection unless a model file
// references it or it is queued already.
func queueIfUnreferenced(ctx context.Context, tx *Tx, digest string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO blob_gc (digest, enqueued_at, not_before, attempts)
		SELECT ?1, ?2, ?2, 0 WHERE NOT EXISTS (SELECT 1 FROM model_files WHERE digest = ?1)
		ON CONFLICT (digest) DO NOTHING`, digest, tx.ms())
	return err
}

// queueModelBlobs queues the blobs of the models ids that no model outside
// ids references. Call it before removing the models' files. It is the one
// place a model's deletion (DeleteModelBatch) or failed import
// (FinishImport) queues blobs.
func queueModelBlobs(ctx context.Context, tx *Tx, ids []string) (int64, error) {
	list, err := json.Marshal(ids)
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO blob_gc (digest, enqueued_at, not_before, attempts)
		SELECT DISTINCT f.digest, ?2, ?2, 0 FROM model_files f
		WHERE f.model_id IN (SELECT value FROM json_each(?1)) AND NOT EXISTS (
			SELECT 1 FROM model_files g WHERE g.digest = f.digest AND g.model_id NOT IN (SELECT value FROM json_each(?1)))
		ON CONFLICT (digest) DO NOTHING`, string(list), tx.ms())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// FinishImport ends owner's job. A published result sets the model's
// status, size and config; a failed one marks it failed with the reason,
// drops its files and queues their unreferenced blobs. Returns ENOTFOUND
// when the job is gone and EINVALID for any other result status.
func (db *DB) FinishImport(ctx context.Context, modelID, owner string, res modelreg.ImportResult) error {
	return db.update(ctx, "sqlite.FinishImport", func(tx *Tx) error {
		return finishImport(ctx, tx, modelID, owner, res)
	})
}

func finishImport(ctx context.Context, tx *Tx, modelID, owner string, res modelreg.ImportResult) error {
	if err := checkJob(ctx, tx, modelID, owner); err != nil {
		return err
	}
	switch res.Status {
	case modelreg.ModelPublished:
		m, err := sqlstore.ScanModel(tx.QueryRowContext(ctx, `SELECT `+sqlstore.ModelColumns+` FROM models WHERE id = ?`, modelID))
		if err != nil {
			return err
		}
		m.ApplyConfig(res.Config)
		_, details, err := sqlstore.EncodeModel(m)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE models SET status = ?, size = ?, config = ?, details = ?, failure_reason = '', update_at = ?
			WHERE id = ?`, modelreg.ModelPublished, res.Size, m.Config, details, tx.ms(), modelID); err != nil {
			return err
		}
	case modelreg.ModelFailed:
		if _, err := queueModelBlobs(ctx, tx, []string{modelID}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM model_files WHERE model_id = ?`, modelID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE models SET status = ?, size = 0, failure_reason = ?, update_at = ?
			WHERE id = ?`, modelreg.ModelFailed, res.Reason, tx.ms(), modelID); err != nil {
			return err
		}
	default:
		return modelreg.Errorf(modelreg.EINVALID, modelreg.CodeInternal, "Invalid import result status %q.", res.Status)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM import_jobs WHERE model_id = ?`, modelID); err != nil {
		return err
	}
	return recordModel(ctx, tx, modelID, modelreg.FinishAction(res.Status), func(ev *modelreg.AuditEvent) {
		modelreg.FinishDetails(ev, res)
	})
}

// CreateUploadModel stores m as publishing, like CreateModel, with its import
// job leased to owner until lease from now (its first attempt). Returns
// ECONFLICT ModelArts.3002 when the name and version are taken.
func (db *DB) CreateUploadModel(ctx context.Context, m *modelreg.Model, owner string, lease time.Duration) error {
	c := *m
	if c.ID == "" {
		c.ID = modelreg.NewID()
	}
	err := db.update(ctx, "sqlite.CreateUploadModel", func(tx *Tx) error {
		if err := createModel(ctx, tx, &c); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE import_jobs SET lease_owner = ?, lease_until = ?, attempts = 1 WHERE model_id = ?`,
			owner, leaseEnd(tx, lease), c.ID)
		return err
	})
	if err != nil {
		return err
	}
	*m = c
	return nil
}

// RetryImport releases owner's job to be claimed again at or after at,
// recording reason. Returns ENOTFOUND when the job is gone.
func (db *DB) RetryImport(ctx context.Context, modelID, owner, reason string, at time.Time) error {
	return db.update(ctx, "sqlite.RetryImport", func(tx *Tx) error {
		if err := checkJob(ctx, tx, modelID, owner); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE import_jobs SET lease_owner = NULL, lease_until = NULL, not_before = ?, last_error = ?
			WHERE model_id = ?`, modelreg.Millis(at), reason, modelID)
		return err
	})
}
