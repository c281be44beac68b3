package sqlite

import (
	"context"
	"time"

	"github.com/modelreg/modelreg"
)

// claimGone is the error of a blob collection claim that is not owner's.
func claimGone(digest, owner string) *modelreg.Error {
	return modelreg.Errorf(modelreg.ENOTFOUND, "", "Blob %s is not queued for collection by %s.", digest, owner)
}

// ClaimBlobDeletions leases up to max due digests to owner, oldest
// not-before first. It first drops from the queue every digest that a model
// file references again, so those are never returned.
func (db *DB) ClaimBlobDeletions(ctx context.Context, owner string, lease time.Duration, max int) ([]string, error) {
	var digests []string
	err := db.update(ctx, "sqlite.ClaimBlobDeletions", func(tx *Tx) (err error) {
		digests, err = claimBlobDeletions(ctx, tx, owner, lease, max)
		return err
	})
	return digests, err
}

func claimBlobDeletions(ctx context.Context, tx *Tx, owner string, lease time.Duration, max int) ([]string, error) {
	digests := []string{}
	if max < 1 {
		return digests, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM blob_gc
		WHERE EXISTS (SELECT 1 FROM model_files f WHERE f.digest = blob_gc.digest)`); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT digest FROM blob_gc
		WHERE not_before <= ?1 AND (lease_until IS NULL OR lease_until < ?1)
		ORDER BY not_before, digest LIMIT ?2`, tx.ms(), max)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return nil, err
		}
		digests = append(digests, d)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	until := leaseEnd(tx, lease)
	for _, d := range digests {
		if _, err := tx.ExecContext(ctx, `UPDATE blob_gc SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
			WHERE digest = ?`, owner, until, d); err != nil {
			return nil, err
		}
	}
	return digests, nil
}

// CompleteBlobDeletion removes owner's claimed digest from the queue.
// Returns ENOTFOUND when the digest is not queued or not leased to owner
// (its lease expired and another collector claimed it, or an import
// re-referenced it): the queue is then left as it is.
func (db *DB) CompleteBlobDeletion(ctx context.Context, digest, owner string) error {
	return db.update(ctx, "sqlite.CompleteBlobDeletion", func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blob_gc WHERE digest = ? AND lease_owner = ?`, digest, owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return claimGone(digest, owner)
		}
		return nil
	})
}

// RetryBlobDeletion releases owner's claim on digest until at. Returns
// ENOTFOUND when the digest is not queued or not leased to owner.
func (db *DB) RetryBlobDeletion(ctx context.Context, digest, owner string, at time.Time) error {
	return db.update(ctx, "sqlite.RetryBlobDeletion", func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE blob_gc SET lease_owner = NULL, lease_until = NULL, not_before = ?
			WHERE digest = ? AND lease_owner = ?`, modelreg.Millis(at), digest, owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return claimGone(digest, owner)
		}
		return nil
	})
}

// TrackBlob queues digest for collection unless a model file references it
// or it is queued already.
func (db *DB) TrackBlob(ctx context.Context, digest string) error {
	return db.update(ctx, "sqlite.TrackBlob", func(tx *Tx) error {
		return queueIfUnreferenced(ctx, tx, digest)
	})
}

// PendingImportJobs returns the number of unfinished import jobs.
func (db *DB) PendingImportJobs(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, "sqlite.PendingImportJobs", func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_jobs`).Scan(&n)
	})
	return n, err
}

// PendingBlobDeletions returns the number of queued digests, claimed or not.
func (db *DB) PendingBlobDeletions(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, "sqlite.PendingBlobDeletions", func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM blob_gc`).Scan(&n)
	})
	return n, err
}
