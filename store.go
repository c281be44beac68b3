package modelreg

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"
)

// Store is everything the server keeps in its database. Every backend
// (SQLite, PostgreSQL) implements it and passes internal/storetest.
//
// The list methods take a filter its Validate has checked: the store trusts
// its Page (see Page) and every other field, and validates nothing again.
type Store interface {
	ModelStore
	ServiceStore
	DeployStore // outbox.go
	JobStore
	BlobGCStore
	AuthStore
	ProtectionStore
	TrashStore
	AuditStore
	WebhookStore
	CleanupStore
	// Ping reports whether the database answers (EUNAVAILABLE when not).
	Ping(ctx context.Context) error
	Close() error
}

// ModelStore keeps models. A model of another project is unknown to it.
type ModelStore interface {
	// CreateModel stores m as publishing, with an import job for its
	// source_location, in one transaction. It assigns m.ID (when empty),
	// m.CreateAt and m.UpdateAt. Returns ECONFLICT ModelArts.3002 when the
	// project already has m.Name at m.Version.
	CreateModel(ctx context.Context, m *Model) error

	// CreateModels stores published models that have no files and no import
	// job (modelreg's bulk path: seeding load tests, migrating a registry's
	// metadata), in one transaction: all of them or none. It assigns each
	// model's ID (when empty), Status, CreateAt and UpdateAt. Returns
	// ECONFLICT ModelArts.3002 when a name and version exist in the project,
	// in the store or earlier in ms.
	CreateModels(ctx context.Context, ms []*Model) error

	// FindModelByID returns a model with all its details.
	// Returns ENOTFOUND ModelArts.3001.
	FindModelByID(ctx context.Context, projectID, id string) (*Model, error)

	// FindModels returns one page of the models matching f (already
	// validated) and the number of all matches. The order is total: ties in
	// the sort key are broken by id. With f.After the page starts right
	// after that cursor (f.Offset is then 0); the total still counts every
	// match.
	FindModels(ctx context.Context, f ModelFilter) ([]*ModelSummary, int, error)

	// FindCascadeSet returns the models a cascade delete of id works on: id
	// first, then the other versions of its name oldest create_at first (ties
	// by id), at most limit in all, and how many versions it left out.
	// Returns ENOTFOUND ModelArts.3001 when id does not exist.
	FindCascadeSet(ctx context.Context, projectID, id string, limit int) (CascadeSet, error)

	// DeleteModelBatch deletes the models ids in one transaction (a single
	// delete is a batch of one): their rows, their import jobs, and queues
	// each of their blobs that no model outside the batch references for
	// collection. It returns one error per id, nil for a model deleted:
	// ENOTFOUND ModelArts.3001 for one that does not exist, ECONFLICT
	// ModelArts.3009 for one a service references and ECONFLICT
	// ModelReg.3101 for a protected one; the others are deleted whatever
	// became of those. When the first id does not exist it deletes nothing
	// and returns ENOTFOUND ModelArts.3001 as the call's error; when
	// opt.IfMatch does not hold for it, EPRECONDITION ModelReg.0412; any
	// other call error means nothing was deleted. A delete and a
	// CreateService naming the same model never both succeed, nor a delete
	// and a SetModelProtection that protects it.
	//
	// With opt.Trash > 0 a model that is not publishing goes to the trash
	// (TrashStore) instead, its blobs kept; a publishing one is deleted as
	// without it. With opt.DryRun everything is done and rolled back: the
	// same results, nothing changed.
	//
	// queued is the number of blob digests the call queued for collection
	// (0 when it queued none, and for a preview): the caller wakes the
	// collector only when it is positive.
	DeleteModelBatch(ctx context.Context, projectID string, ids []string, opt DeleteOptions) (errs []error, queued int, err error)

	// FindModelFiles returns the files of a model, by path.
	// Returns ENOTFOUND ModelArts.3001.
	FindModelFiles(ctx context.Context, projectID, id string) ([]ModelFile, error)

	// FindModelNames returns, for each name of f.Names (validated) that
	// has versions matching f, their aggregates (ModelName), in the order
	// of f.Names; a name without a match is left out.
	FindModelNames(ctx context.Context, f ModelNameFilter) ([]*ModelName, error)
}

// ServiceStore keeps services (deployment records) and their events.
type ServiceStore interface {
	// CreateService stores s as deploying with an event, filling ID,
	// PublishAt, UpdateTime, TransitionAt and each config entry's model name
	// and version. Returns ECONFLICT ModelArts.3503 when the name is taken in
	// the project, ENOTFOUND ModelArts.3507 when a config model does not
	// exist, ESTATE ModelArts.3515 when one is not published.
	CreateService(ctx context.Context, s *Service) error

	// FindServiceByID returns a service with its config.
	// Returns ENOTFOUND ModelArts.3502.
	FindServiceByID(ctx context.Context, projectID, id string) (*Service, error)

	// FindServices returns one page of the services matching f (validated)
	// and the number of all matches, without config.
	FindServices(ctx context.Context, f ServiceFilter) ([]*Service, int, error)

	// UpdateService applies u (validated) and records an event. A status
	// change stops (-> stopped) or starts (-> deploying) the service; asking
	// for the current status changes nothing. Returns ENOTFOUND
	// ModelArts.3502, ESTATE ModelArts.3519 when the state forbids the
	// change, and the CreateService model codes for a new config.
	UpdateService(ctx context.Context, projectID, id string, u ServiceUpdate) (*Service, error)

	// TransitionService moves a service from status from to status to and
	// records event. Its due time becomes DueTime(to, its schedule, now):
	// entering running starts the countdown of a stop schedule. Returns
	// ENOTFOUND ModelArts.3502, and ESTATE ModelArts.3519 when the service
	// is not in status from.
	TransitionService(ctx context.Context, projectID, id, from, to string, event ServiceEvent) error

	// StopDueServices stops every running service whose due time has come
	// (in every project), each with an event, and returns how many it
	// stopped.
	StopDueServices(ctx context.Context) (int, error)

	// DeleteServices deletes the given services in one transaction, or none
	// of them: ENOTFOUND ModelArts.3502 names the first unknown id.
	DeleteServices(ctx context.Context, projectID string, ids []string) error

	// DeleteServicesIf is DeleteServices with a precondition: with ifMatch
	// not nil, every service's ETag (of its FindServiceByID details) must
	// match it when the delete runs, else EPRECONDITION ModelReg.0412 and
	// nothing is deleted.
	DeleteServicesIf(ctx context.Context, projectID string, ids []string, ifMatch []string) error

	// FindServiceEvents returns one page of a service's events (f
	// validated) and the number of all matches. Returns ENOTFOUND ModelArts.3502.
	FindServiceEvents(ctx context.Context, f EventFilter) ([]*ServiceEvent, int, error)

	// FindServiceUpdateLogs returns a service's update log, newest first (at
	// most MaxUpdateLogs), only the entries of updateTime (ms) when it is
	// not 0. CreateService writes the first entry, an UpdateService with a
	// config one more, each with UpdateLogResult of the service's status; a
	// status change out of deploying (UpdateService, TransitionService)
	// resolves the RUNNING entries with ResolvedUpdateResult. The entries
	// go with the service. Returns ENOTFOUND ModelArts.3502.
	FindServiceUpdateLogs(ctx context.Context, projectID, id string, updateTime int64) ([]*ServiceUpdateLog, error)
}

// ImportJob is the pending import of one model.
type ImportJob struct {
	ModelID        string
	ProjectID      string
	SourceLocation string
	Attempts       int // claims so far, this one included
}

// ImportResult ends an import job.
type ImportResult struct {
	Status string // ModelPublished or ModelFailed
	Reason string // why it failed, for users
	Size   int64  // total bytes of the model's files
	Config string // model/config.json, when the model has one
}

// JobStore is the durable queue of import jobs. Jobs are leased: a job
// whose lease expired (its worker died) is claimed again.
type JobStore interface {
	// ClaimImportJob leases the oldest due job to owner. With perProject
	// > 0 it skips the jobs of a project that already has perProject
	// jobs under a live lease (uploads, whose jobs are leased to their
	// client, do not count), so one project's imports never hold every
	// worker. Returns ENOTFOUND when no job is due (or every due job's
	// project is at its limit).
	ClaimImportJob(ctx context.Context, owner string, lease time.Duration, perProject int) (*ImportJob, error)

	// RenewImportJob extends owner's lease. Returns ENOTFOUND when the job
	// is gone (its model was deleted) or leased to someone else.
	RenewImportJob(ctx context.Context, modelID, owner string, lease time.Duration) error

	// AttachModelFile records that the model's file f is held by blob
	// f.Digest, replacing an earlier file at the same path (whose blob is
	// queued for collection if nothing else references it), and cancels a
	// pending collection of f.Digest. It must be called before the blob is
	// committed to the blob store. Returns ENOTFOUND when the model or
	// owner's job is gone, and EUNAVAILABLE when the blob is being collected
	// at this moment (retry shortly).
	AttachModelFile(ctx context.Context, modelID, owner string, f ModelFile) error

	// FinishImport ends owner's job: sets the model's status, size and
	// config, or marks it failed with a reason and queues its unreferenced
	// blobs. Returns ENOTFOUND when the model or job is gone.
	FinishImport(ctx context.Context, modelID, owner string, res ImportResult) error

	// RetryImport releases owner's job to be claimed again at or after at,
	// noting reason. Returns ENOTFOUND when the job is gone.
	RetryImport(ctx context.Context, modelID, owner, reason string, at time.Time) error

	// PendingImportJobs returns the number of import jobs not finished,
	// leased or not: the depth of the import queue.
	PendingImportJobs(ctx context.Context) (int, error)

	// CreateUploadModel is CreateModel for a model whose files are uploaded
	// through the API rather than copied from its source_location: its
	// import job is created already leased to owner (the upload) until
	// lease from now, which counts as the job's first attempt, so no import
	// runner claims it while the upload renews the lease. Once the lease has
	// expired a runner may claim the job like any other. Returns ECONFLICT
	// ModelArts.3002 when the project already has m.Name at m.Version.
	CreateUploadModel(ctx context.Context, m *Model, owner string, lease time.Duration) error
}

// BlobGCStore is the outbox of blobs waiting to be removed from the blob
// store. Removal is leased, like jobs.
type BlobGCStore interface {
	// ClaimBlobDeletions leases up to max due digests to owner. Queued
	// digests that a model references again are dropped from the queue,
	// never returned.
	ClaimBlobDeletions(ctx context.Context, owner string, lease time.Duration, max int) ([]string, error)

	// CompleteBlobDeletion removes owner's claimed digest from the queue.
	CompleteBlobDeletion(ctx context.Context, digest, owner string) error

	// RetryBlobDeletion releases owner's claim until at.
	RetryBlobDeletion(ctx context.Context, digest, owner string, at time.Time) error

	// TrackBlob queues digest for collection if no model references it (a
	// blob found in the store with no owner, or one committed after its
	// model was deleted).
	TrackBlob(ctx context.Context, digest string) error

	// PendingBlobDeletions returns the length of the queue.
	PendingBlobDeletions(ctx context.Context) (int, error)
}

// BlobStore holds artifact bytes addressed by their sha256 digest (lower-case
// hex). Writing is two-phase so that a blob becomes visible only after the
// database references it: Stage, then AttachModelFile, then Commit.
type BlobStore interface {
	// Stage streams r into temporary storage, hashing it on the way. When r
	// holds more than maxSize bytes (maxSize > 0) it stops, keeps nothing and
	// returns ETOOLARGE ModelArts.3044.
	Stage(ctx context.Context, r io.Reader, maxSize int64) (StagedBlob, error)

	// Open returns the blob's content. Returns ENOTFOUND.
	Open(ctx context.Context, digest string) (io.ReadCloser, error)

	// Stat returns the blob's size. Returns ENOTFOUND.
	Stat(ctx context.Context, digest string) (int64, error)

	// Delete removes the blob; removing a missing blob is not an error.
	Delete(ctx context.Context, digest string) error

	// Walk calls fn for every committed blob.
	Walk(ctx context.Context, fn func(digest string, size int64, modTime time.Time) error) error

	// CleanStaging removes staged blobs older than before (left by a crash).
	CleanStaging(ctx context.Context, before time.Time) error
}

// StagedBlob is a blob written to temporary storage, not yet visible.
type StagedBlob interface {
	Digest() string
	Size() int64
	// Commit makes the blob visible under its digest. Committing a blob
	// that already exists keeps the existing one.
	Commit(ctx context.Context) error
	// Discard removes the staged bytes.
	Discard(ctx context.Context) error
}

// NewID returns a random UUID v4 in lower case.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Millis returns t as milliseconds since the Unix epoch.
func Millis(t time.Time) int64 { return t.UnixMilli() }
