package postgres

// Attaching a blob and collecting it serialize on the digest's blob_gc row.
//
// The hazard: ClaimBlobDeletions hands a digest to a collector, which then
// deletes its bytes. An import attaches a digest (AttachModelFile) before it
// commits the staged bytes under it. If a claim leased the digest while the
// attach was in flight, the collector could delete the bytes just after the
// importer committed them, and a published model would miss a file. At READ
// COMMITTED the claim's "is it referenced?" check cannot see a reference
// that is not committed yet, so checking alone is not enough: the two must
// not overlap.
//
// The rule: a transaction that adds a reference to a digest, or that decides
// whether a digest is still referenced, first holds the digest's blob_gc row
// lock, and looks at model_files only in a later statement (which, at READ
// COMMITTED, sees everything committed before the lock was granted).
//
// A row lock needs a row, and a digest an import attaches usually has none,
// or has one that another transaction inserted and has not committed (a
// delete queueing it). So the lock is taken by an upsert,
//
//	INSERT INTO blob_gc ... ON CONFLICT (digest) DO UPDATE (changing nothing)
//
// which locks the existing row, or inserts one, or, when another
// transaction inserted it and has not committed, waits for that one and then
// locks or inserts. Whichever it did, the transaction holds the digest until
// it ends: another upsert of it waits, and a claim's FOR UPDATE SKIP LOCKED
// passes over it (a row inserted and not committed is invisible to the
// claim; one deleted and not committed is locked).
//
//   - AttachModelFile upserts its digest (and the one it replaces, in digest
//     order). A live lease means a collector may be deleting the bytes right
//     now: EUNAVAILABLE, nothing changed, the importer retries. Otherwise it
//     deletes the row (cancelling a pending collection, or removing the row
//     it just inserted; the lock stays until commit) and records the file.
//   - DeleteModelBatch, FinishImport (failed) and TrackBlob upsert every digest
//     they may leave unreferenced, in digest order, remove their references,
//     then delete the rows of the digests still referenced. Two deletes of
//     models sharing a blob take turns, and the second sees the first's files
//     gone: the blob is queued exactly when its last reference goes, never
//     lost between two transactions that each saw the other's reference.
//   - ClaimBlobDeletions locks due rows FOR UPDATE SKIP LOCKED and then, in
//     the next statement, drops those a model references and leases the
//     rest. A digest held by an attach is skipped; an attach that comes later
//     waits for the claim to commit and then sees its lease.
//
// Advisory locks on a hash of the digest would serialize the same way, but
// a delete would then take one lock-table entry per file of the model, and a
// model of many thousand files would exhaust max_locks_per_transaction; row
// locks live in the rows. Lock order (model row, job row, then digests in
// digest order, see postgres.go) keeps these transactions free of deadlocks;
// should one still occur, the store retries it.

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelreg/modelreg"
)

// claimGone is the error of a blob collection claim that is not owner's.
func claimGone(digest, owner string) *modelreg.Error {
	return modelreg.Errorf(modelreg.ENOTFOUND, "", "Blob %s is not queued for collection by %s.", digest, owner)
}

// leaseEnd returns the end of a lease taken at tx's time, in ms.
func leaseEnd(tx *Tx, lease time.Duration) int64 { return modelreg.Millis(tx.now.Add(lease)) }

// blobLock is a digest's queue row as lockDigests found or made it.
type blobLock struct {
	digest     string
	leaseUntil *int64
}

// lockDigests takes the blob_gc row lock of each digest, in digest order,
// inserting a queue row for those that have none (see the top of this
// file). The caller deletes the rows it does not want queued before it
// commits.
func lockDigests(ctx context.Context, tx *Tx, digests []string) ([]blobLock, error) {
	locks := []blobLock{}
	if len(digests) == 0 {
		return locks, nil
	}
	err := tx.query(ctx, func(rows pgx.Rows) error {
		var l blobLock
		if err := rows.Scan(&l.digest, &l.leaseUntil); err != nil {
			return err
		}
		locks = append(locks, l)
		return nil
	}, `INSERT INTO blob_gc (digest, enqueued_at, not_before, attempts)
		SELECT d, $2::bigint, $2::bigint, 0 FROM (SELECT DISTINCT unnest($1::text[]) COLLATE "C" AS d) AS s ORDER BY d
		ON CONFLICT (digest) DO UPDATE SET attempts = blob_gc.attempts
		RETURNING digest, lease_until`, digests, tx.ms())
	return locks, err
}

// lockModelBlobs is lockDigests for every blob of the models ids, whose
// rows the caller has locked (so that their files do not change). It
// returns the digests; once the models' files are gone, unqueueReferenced
// of them leaves queued exactly the blobs nothing references any more. It
// is the one place a model's deletion (DeleteModelBatch) or failed import
// (FinishImport) queues blobs.
func lockModelBlobs(ctx context.Context, tx *Tx, ids []string) ([]string, error) {
	return tx.queryStrings(ctx, `INSERT INTO blob_gc (digest, enqueued_at, not_before, attempts)
		SELECT DISTINCT digest, $2::bigint, $2::bigint, 0 FROM model_files WHERE model_id = ANY($1) ORDER BY digest
		ON CONFLICT (digest) DO UPDATE SET attempts = blob_gc.attempts
		RETURNING digest`, ids, tx.ms())
}

// unqueueReferenced deletes the queue rows of the digests a model file
// references. The caller holds their locks.
func unqueueReferenced(ctx context.Context, tx *Tx, digests []string) error {
	_, err := unqueueReferencedCount(ctx, tx, digests)
	return err
}

// unqueueReferencedCount is unqueueReferenced, returning the number of
// digests it took off the queue.
func unqueueReferencedCount(ctx context.Context, tx *Tx, digests []string) (int64, error) {
	if len(digests) == 0 {
		return 0, nil
	}
	return tx.exec(ctx, `DELETE FROM blob_gc g WHERE g.digest = ANY($1)
		AND EXISTS (SELECT 1 FROM model_files f WHERE f.digest = g.digest)`, digests)
}

// ClaimBlobDeletions leases up to max due digests to owner, oldest
// not-before first; digests leased to another collector until now or later
// are not due. A queued digest that a model file references is dropped from
// the queue, never returned. Collectors on several replicas share the queue:
// each skips the rows another is claiming.
func (db *DB) ClaimBlobDeletions(ctx context.Context, owner string, lease time.Duration, max int) ([]string, error) {
	var digests []string
	// A poll that finds nothing due, as most do, is one statement and no
	// transaction. Whatever it saw, the claim below decides afresh.
	var due bool
	err := db.read(ctx, "postgres.ClaimBlobDeletions", func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blob_gc
			WHERE not_before <= $1 AND (lease_until IS NULL OR lease_until < $1))`, tx.ms()).Scan(&due)
	})
	if err != nil {
		return nil, err
	}
	if !due || max < 1 {
		return []string{}, nil
	}
	err = db.update(ctx, "postgres.ClaimBlobDeletions", func(tx *Tx) (err error) {
		digests, err = claimBlobDeletions(ctx, tx, owner, lease, max)
		return err
	})
	return digests, err
}

func claimBlobDeletions(ctx context.Context, tx *Tx, owner string, lease time.Duration, max int) ([]string, error) {
	claimed := []string{}
	until := leaseEnd(tx, lease)
	for len(claimed) < max {
		due, err := tx.queryStrings(ctx, `SELECT digest FROM blob_gc
			WHERE not_before <= $1 AND (lease_until IS NULL OR lease_until < $1)
			ORDER BY not_before, digest LIMIT $2 FOR UPDATE SKIP LOCKED`, tx.ms(), max-len(claimed))
		if err != nil || len(due) == 0 {
			return claimed, err
		}
		// A new statement: it sees every reference committed before the
		// locks above were granted, and no attach of these digests can be
		// in flight now.
		dropped, err := tx.queryStrings(ctx, `DELETE FROM blob_gc g WHERE g.digest = ANY($1)
			AND EXISTS (SELECT 1 FROM model_files f WHERE f.digest = g.digest) RETURNING g.digest`, due)
		if err != nil {
			return nil, err
		}
		leased, err := tx.queryStrings(ctx, `UPDATE blob_gc SET lease_owner = $2, lease_until = $3, attempts = attempts + 1
			WHERE digest = ANY($1) AND NOT digest = ANY($4) RETURNING digest`, due, owner, until, dropped)
		if err != nil {
			return nil, err
		}
		claimed = append(claimed, leased...)
		if len(dropped) == 0 {
			break // the due rows were fewer than asked for, or all leased
		}
	}
	return claimed, nil
}

// CompleteBlobDeletion removes owner's claimed digest from the queue.
// Returns ENOTFOUND when the digest is not queued or not leased to owner
// (its lease expired and another collector claimed it, or an import
// re-referenced it): the queue is then left as it is.
func (db *DB) CompleteBlobDeletion(ctx context.Context, digest, owner string) error {
	return db.update(ctx, "postgres.CompleteBlobDeletion", func(tx *Tx) error {
		n, err := tx.exec(ctx, `DELETE FROM blob_gc WHERE digest = $1 AND lease_owner = $2`, digest, owner)
		if err == nil && n == 0 {
			return claimGone(digest, owner)
		}
		return err
	})
}

// RetryBlobDeletion releases owner's claim on digest until at. Returns
// ENOTFOUND when the digest is not queued or not leased to owner.
func (db *DB) RetryBlobDeletion(ctx context.Context, digest, owner string, at time.Time) error {
	return db.update(ctx, "postgres.RetryBlobDeletion", func(tx *Tx) error {
		n, err := tx.exec(ctx, `UPDATE blob_gc SET lease_owner = NULL, lease_until = NULL, not_before = $3
			WHERE digest = $1 AND lease_owner = $2`, digest, owner, modelreg.Millis(at))
		if err == nil && n == 0 {
			return claimGone(digest, owner)
		}
		return err
	})
}

// TrackBlob queues digest for collection unless a model file references it
// or it is queued already (a claim on it is kept).
func (db *DB) TrackBlob(ctx context.Context, digest string) error {
	return db.update(ctx, "postgres.TrackBlob", func(tx *Tx) error {
		if _, err := lockDigests(ctx, tx, []string{digest}); err != nil {
			return err
		}
		return unqueueReferenced(ctx, tx, []string{digest})
	})
}

// PendingImportJobs returns the number of unfinished import jobs.
func (db *DB) PendingImportJobs(ctx context.Context) (int, error) {
	var n int
	err := db.read(ctx, "postgres.PendingImportJobs", func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT count(*) FROM import_jobs`).Scan(&n)
	})
	return n, err
}

// PendingBlobDeletions returns the number of queued digests, claimed or not.
func (db *DB) PendingBlobDeletions(ctx context.Context) (int, error) {
	var n int
	err := db.read(ctx, "postgres.PendingBlobDeletions", func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT count(*) FROM blob_gc`).Scan(&n)
	})
	return n, err
}
