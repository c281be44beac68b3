package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
)

// jobNotFound is the error of a job that is gone or leased to someone else.
func jobNotFound(modelID, owner string) *modelreg.Error {
	return modelreg.Errorf(modelreg.ENOTFOUND, modelreg.CodeModelNotFound,
		"The import job of model (%s) does not exist or is not leased to %s.", modelID, owner)
}

// claimLock is the key of the transaction-level advisory lock that
// serializes ClaimImportJob calls with a per-project limit: "modelclm" in
// ASCII.
const claimLock int64 = 0x6d6f64656c636c6d

// ClaimImportJob leases the oldest due job to owner: one whose not-before
// time has come and whose lease is absent or expired. It counts the claim in
// the job's attempts. Workers on several replicas share the queue: each
// skips the jobs another is claiming (FOR UPDATE SKIP LOCKED), and the job
// of a worker that died is claimed again once its lease has expired.
// With perProject > 0, a project with perProject running (live-leased,
// upload jobs aside) jobs is skipped; the claims of all replicas then take
// turns on an advisory lock, so two of them never both take the last free
// place of a project. Returns ENOTFOUND when no job is due.
func (db *DB) ClaimImportJob(ctx context.Context, owner string, lease time.Duration, perProject int) (*modelreg.ImportJob, error) {
	var job *modelreg.ImportJob
	err := db.update(ctx, "postgres.ClaimImportJob", func(tx *Tx) error {
		if perProject > 0 {
			if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, claimLock); err != nil {
				return err
			}
		}
		var j modelreg.ImportJob
		err := tx.queryRow(ctx, `UPDATE import_jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
			WHERE model_id = (
				SELECT model_id FROM import_jobs
				WHERE not_before <= $3 AND (lease_until IS NULL OR lease_until < $3)
					AND ($4 <= 0 OR project_id NOT IN (
						SELECT project_id FROM import_jobs
						WHERE lease_until >= $3 AND source_location NOT LIKE $5
						GROUP BY project_id HAVING count(*) >= $4))
				ORDER BY created_at, model_id LIMIT 1
				FOR UPDATE SKIP LOCKED)
			RETURNING model_id, project_id, source_location, attempts`,
			owner, leaseEnd(tx, lease), tx.ms(), perProject, modelreg.UploadScheme+"://%").Scan(&j.ModelID, &j.ProjectID, &j.SourceLocation, &j.Attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return modelreg.Errorf(modelreg.ENOTFOUND, "", "No import job is due.")
		}
		job = &j
		return err
	})
	return job, err
}

// lockJob locks the row of model modelID (with modelLock, a locking clause)
// and then the row of its import job, the order every transaction takes
// them in. It returns ENOTFOUND unless the job exists and is leased to
// owner; an expired lease still counts while nobody else has claimed it.
func lockJob(ctx context.Context, tx *Tx, modelID, owner, modelLock string) error {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM models WHERE id = $1 `+modelLock, modelID).Scan(&one)
	if err == nil {
		err = tx.queryRow(ctx, `SELECT 1 FROM import_jobs WHERE model_id = $1 AND lease_owner = $2 FOR UPDATE`,
			modelID, owner).Scan(&one)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return jobNotFound(modelID, owner)
	}
	return err
}

// CreateUploadModel stores m as publishing, like CreateModel, with its import
// job leased to owner until lease from now (its first attempt). Returns
// ECONFLICT ModelArts.3002 when the name and version are taken.
func (db *DB) CreateUploadModel(ctx context.Context, m *modelreg.Model, owner string, lease time.Duration) error {
	var c modelreg.Model
	id := m.ID
	if id == "" {
		id = modelreg.NewID()
	}
	err := db.update(ctx, "postgres.CreateUploadModel", func(tx *Tx) error {
		c = *m
		c.ID = id
		if err := createModel(ctx, tx, &c); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `UPDATE import_jobs SET lease_owner = $2, lease_until = $3, attempts = 1 WHERE model_id = $1`,
			c.ID, owner, leaseEnd(tx, lease))
		return err
	})
	if err != nil {
		return err
	}
	*m = c
	return nil
}

// RenewImportJob extends owner's lease on the job to lease from now.
// Returns ENOTFOUND when the job is gone or leased to someone else.
func (db *DB) RenewImportJob(ctx context.Context, modelID, owner string, lease time.Duration) error {
	return db.update(ctx, "postgres.RenewImportJob", func(tx *Tx) error {
		n, err := tx.exec(ctx, `UPDATE import_jobs SET lease_until = $3 WHERE model_id = $1 AND lease_owner = $2`,
			modelID, owner, leaseEnd(tx, lease))
		if err == nil && n == 0 {
			return jobNotFound(modelID, owner)
		}
		return err
	})
}

// AttachModelFile records that file f of the model is held by blob f.Digest,
// replacing an earlier file at the same path (whose blob is queued when
// nothing else references it), and cancels a pending collection of
// f.Digest. Returns ENOTFOUND when owner's job is gone and EUNAVAILABLE when
// a collector holds a live lease on f.Digest: it may be deleting the blob at
// this moment, so the importer must retry after the lease ends. See
// blobgc.go for how this and ClaimBlobDeletions exclude each other.
func (db *DB) AttachModelFile(ctx context.Context, modelID, owner string, f modelreg.ModelFile) error {
	return db.update(ctx, "postgres.AttachModelFile", func(tx *Tx) error {
		return attachModelFile(ctx, tx, modelID, owner, f)
	})
}

func attachModelFile(ctx context.Context, tx *Tx, modelID, owner string, f modelreg.ModelFile) error {
	// FOR KEY SHARE: the weakest lock that keeps DeleteModelBatch out.
	if err := lockJob(ctx, tx, modelID, owner, "FOR KEY SHARE"); err != nil {
		return err
	}
	var old string
	err := tx.queryRow(ctx, `SELECT digest FROM model_files WHERE model_id = $1 AND path = $2`, modelID, f.Path).Scan(&old)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	digests := []string{f.Digest}
	if old != "" && old != f.Digest {
		digests = append(digests, old)
	}
	locks, err := lockDigests(ctx, tx, digests)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if l.digest == f.Digest && l.leaseUntil != nil && *l.leaseUntil >= tx.ms() {
			return modelreg.Errorf(modelreg.EUNAVAILABLE, modelreg.CodeInternal,
				"Blob %s is being removed from the blob store, retry shortly.", f.Digest)
		}
	}
	if _, err := tx.exec(ctx, `DELETE FROM blob_gc WHERE digest = $1`, f.Digest); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO model_files (model_id, path, digest, size) VALUES ($1, $2, $3, $4)
		ON CONFLICT (model_id, path) DO UPDATE SET digest = excluded.digest, size = excluded.size`,
		modelID, f.Path, f.Digest, f.Size); err != nil {
		return err
	}
	if len(digests) > 1 {
		// The replaced blob stays queued unless another file holds it.
		return unqueueReferenced(ctx, tx, digests[1:])
	}
	return nil
}

// FinishImport ends owner's job. A published result sets the model's
// status and size, and its config with the details it fills (see
// modelreg.Model.ApplyConfig); a failed one marks it failed with the reason,
// drops its files and queues their unreferenced blobs. Returns ENOTFOUND
// when the job is gone and EINVALID for any other result status.
func (db *DB) FinishImport(ctx context.Context, modelID, owner string, res modelreg.ImportResult) error {
	return db.update(ctx, "postgres.FinishImport", func(tx *Tx) error {
		return finishImport(ctx, tx, modelID, owner, res)
	})
}

func finishImport(ctx context.Context, tx *Tx, modelID, owner string, res modelreg.ImportResult) error {
	if err := lockJob(ctx, tx, modelID, owner, "FOR NO KEY UPDATE"); err != nil {
		return err
	}
	switch res.Status {
	case modelreg.ModelPublished:
		// The model's config.json fills the details its import request
		// left empty; without one, the initial_config stays.
		m, err := sqlstore.ScanModel(tx.queryRow(ctx, `SELECT `+sqlstore.ModelColumns+` FROM models WHERE id = $1`, modelID))
		if err != nil {
			return err
		}
		m.ApplyConfig(res.Config)
		_, details, err := sqlstore.EncodeModel(m)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE models SET status = $2, size = $3, config = $4, details = $5, failure_reason = '', update_at = $6
			WHERE id = $1`, modelID, modelreg.ModelPublished, res.Size, m.Config, details, tx.ms()); err != nil {
			return err
		}
	case modelreg.ModelFailed:
		digests, err := lockModelBlobs(ctx, tx, []string{modelID})
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM model_files WHERE model_id = $1`, modelID); err != nil {
			return err
		}
		if err := unqueueReferenced(ctx, tx, digests); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE models SET status = $2, size = 0, failure_reason = $3, update_at = $4
			WHERE id = $1`, modelID, modelreg.ModelFailed, res.Reason, tx.ms()); err != nil {
			return err
		}
	default:
		return modelreg.Errorf(modelreg.EINVALID, modelreg.CodeInternal, "Invalid import result status %q.", res.Status)
	}
	if _, err := tx.exec(ctx, `DELETE FROM import_jobs WHERE model_id = $1`, modelID); err != nil {
		return err
	}
	return recordModel(ctx, tx, modelID, modelreg.FinishAction(res.Status), func(ev *modelreg.AuditEvent) {
		modelreg.FinishDetails(ev, res)
	})
}

// RetryImport releases owner's job to be claimed again at or after at,
// recording reason. Returns ENOTFOUND when the job is gone.
func (db *DB) RetryImport(ctx context.Context, modelID, owner, reason string, at time.Time) error {
	return db.update(ctx, "postgres.RetryImport", func(tx *Tx) error {
		n, err := tx.exec(ctx, `UPDATE import_jobs SET lease_owner = NULL, lease_until = NULL, not_before = $3, last_error = $4
			WHERE model_id = $1 AND lease_owner = $2`, modelID, owner, modelreg.Millis(at), reason)
		if err == nil && n == 0 {
			return jobNotFound(modelID, owner)
		}
		return err
	})
}
