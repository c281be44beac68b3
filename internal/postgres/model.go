package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/modelreg/modelreg"
	"github.com/modelreg/modelreg/internal/sqlstore"
)

// CreateModel stores m as publishing, with its import job, in one
// transaction. It assigns m.ID (when empty), m.Status, m.CreateAt and
// m.UpdateAt; m is left unchanged when it fails. Returns ECONFLICT
// ModelArts.3002 when the project has m.Name at m.Version already (or when
// m.ID is taken).
func (db *DB) CreateModel(ctx context.Context, m *modelreg.Model) error {
	var c modelreg.Model
	id := m.ID
	if id == "" {
		id = modelreg.NewID()
	}
	err := db.update(ctx, "postgres.CreateModel", func(tx *Tx) error {
		c = *m
		c.ID = id
		return createModel(ctx, tx, &c)
	})
	if err != nil {
		return err
	}
	*m = c
	return nil
}

func createModel(ctx context.Context, tx *Tx, m *modelreg.Model) error {
	m.Status = modelreg.ModelPublishing
	m.FailureReason = ""
	m.CreateAt = tx.ms()
	m.UpdateAt = m.CreateAt
	if err := insertModel(ctx, tx, m); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO import_jobs (model_id, project_id, source_location, attempts, not_before, created_at)
		VALUES ($1, $2, $3, 0, $4, $4)`, m.ID, m.ProjectID, m.SourceLocation, m.CreateAt); err != nil {
		return err
	}
	return record(ctx, tx, modelreg.ImportEvent(ctx, m))
}

// insertModel inserts the row of m as it is. Returns ECONFLICT
// ModelArts.3002 when the project has m.Name at m.Version already, or m.ID
// is taken.
func insertModel(ctx context.Context, tx *Tx, m *modelreg.Model) error {
	summary, details, err := sqlstore.EncodeModel(m)
	if err != nil {
		return err
	}
	// The unique constraint is the check: a concurrent create of the same
	// name and version waits for this one and then fails on it.
	_, err = tx.exec(ctx, `INSERT INTO models (id, project_id, name, version, version_key, type, status,
		description, size, workspace_id, owner, tenant, create_at, update_at, failure_reason, config, summary, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		m.ID, m.ProjectID, m.Name, m.Version, modelreg.VersionKey(m.Version), m.Type, m.Status,
		m.Description, m.Size, m.WorkspaceID, m.Owner, m.Tenant, m.CreateAt, m.UpdateAt, m.FailureReason, m.Config,
		summary, details)
	if pe := pgError(err, uniqueViolation); pe != nil {
		if pe.ConstraintName == "models_name_version" {
			return modelExists(m.Name, m.Version)
		}
		return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeModelExists, "Model (%s) already exists.", m.ID)
	}
	return err
}

// bulkLock is the key of the transaction-level advisory lock that
// serializes CreateModels calls: "modelbul" in ASCII.
const bulkLock int64 = 0x6d6f64656c62756c

// CreateModels stores published models without files or import jobs, all
// in one transaction or none (modelreg's bulk path). It assigns each
// model's ID (when empty), Status, CreateAt and UpdateAt; ms are left
// unchanged when it fails. Returns ECONFLICT ModelArts.3002 naming the
// first model whose name and version exist.
func (db *DB) CreateModels(ctx context.Context, ms []*modelreg.Model) error {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
		if ids[i] == "" {
			ids[i] = modelreg.NewID()
		}
	}
	cs := make([]modelreg.Model, len(ms))
	err := db.update(ctx, "postgres.CreateModels", func(tx *Tx) error {
		// One bulk call at a time: each takes the model_counts rows of its
		// models in the order of its models, so two at once would
		// deadlock on them again and again.
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, bulkLock); err != nil {
			return err
		}
		for i, m := range ms {
			c := &cs[i]
			*c = *m
			c.ID = ids[i]
			c.Status = modelreg.ModelPublished
			c.FailureReason = ""
			c.CreateAt = tx.ms()
			c.UpdateAt = c.CreateAt
			if err := insertModel(ctx, tx, c); err != nil {
				return err
			}
			if err := record(ctx, tx, modelreg.ImportEvent(ctx, c).With("bulk", true)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, m := range ms {
		*m = cs[i]
	}
	return nil
}

func modelExists(name, version string) *modelreg.Error {
	return modelreg.Errorf(modelreg.ECONFLICT, modelreg.CodeModelExists, "Model (%s, %s) already exists.", name, version)
}

// FindModelByID returns a model with all its details.
// Returns ENOTFOUND ModelArts.3001.
func (db *DB) FindModelByID(ctx context.Context, projectID, id string) (*modelreg.Model, error) {
	var m *modelreg.Model
	err := db.read(ctx, "postgres.FindModelByID", func(tx *Tx) (err error) {
		m, err = findModelByID(ctx, tx, projectID, id)
		return err
	})
	return m, err
}

// findModelByID reads a model with its protection.
func findModelByID(ctx context.Context, tx *Tx, projectID, id string) (*modelreg.Model, error) {
	var protected bool
	m, err := sqlstore.ScanModel(tx.queryRow(ctx, `SELECT `+sqlstore.ModelColumns+`,
		COALESCE((SELECT protected FROM model_protection WHERE model_id = models.id), false)
		FROM models WHERE id = $1 AND project_id = $2`, id, projectID), &protected)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, modelreg.ModelNotFound(id)
	} else if err != nil {
		return nil, err
	}
	m.Protected = protected
	return m, nil
}

// FindModels returns one page of the models matching f and the number of
// all matches, in the order of f.SortBy then id, both in f.Order. The page
// and the count come from one snapshot: one statement (findModelsOnce) for
// a first page, a keyset page, a page at a small offset or any page of a
// substring search, otherwise a read transaction (findModels), which reads a
// deep page from the nearer end.
func (db *DB) FindModels(ctx context.Context, f modelreg.ModelFilter) ([]*modelreg.ModelSummary, int, error) {
	var models []*modelreg.ModelSummary
	var n int
	if f.After != nil || f.Skip() <= shortSkip || hasSubstring(f) {
		err := db.read(ctx, "postgres.FindModels", func(tx *Tx) (err error) {
			models, n, err = findModelsOnce(ctx, tx, f)
			return err
		})
		return models, n, err
	}
	err := db.view(ctx, "postgres.FindModels", func(tx *Tx) (err error) {
		models, n, err = findModels(ctx, tx, f)
		return err
	})
	return models, n, err
}

// shortSkip is the largest offset FindModels reads forward in one
// statement: skipping that many index entries costs less than the round
// trips of a transaction that first counts and then reads from the nearer
// end.
const shortSkip = 1000

// modelConds returns the conditions of f on models, with their parameters
// in p.
func modelConds(f modelreg.ModelFilter, p *params) []string {
	where := []string{"project_id = " + p.add(f.ProjectID)}
	if f.Name != "" {
		if f.ExactMatch {
			where = append(where, "name = "+p.add(f.Name))
		} else {
			where = append(where, `name ILIKE `+p.add(likePattern(f.Name))+` ESCAPE '\'`)
		}
	}
	if f.Description != "" {
		where = append(where, `description ILIKE `+p.add(likePattern(f.Description))+` ESCAPE '\'`)
	}
	for _, c := range []struct{ expr, v string }{
		{"version = ", f.Version},
		{"status = ", f.Status},
		{"type = ", f.Type},
		{"type <> ", f.NotType},
		{"workspace_id = ", f.WorkspaceID},
	} {
		if c.v != "" {
			where = append(where, c.expr+p.add(c.v))
		}
	}
	return where
}

// findModelsOnce is findModels in one statement (one round trip): the
// count, then the page joined to it, so that a page past the end still
// returns the count in a row of NULLs. The page is read forward, skipping
// f.Skip() rows (FindModels sends deep pages to findModels, but for a
// substring search).
//
// A substring search (name or description ILIKE '%…%') first collects its
// matches through the trigram indexes, once, as (sort key, id) pairs; the
// count and the page are read from them (substringSQL). Otherwise the
// planner may read the page by walking the sort order's index backwards
// and filtering, expecting about 1 % of the rows to match: a needle that
// matches 0.2 %, and no recent model, then walks most of the project
// (seconds at a million models).
func findModelsOnce(ctx context.Context, tx *Tx, f modelreg.ModelFilter) ([]*modelreg.ModelSummary, int, error) {
	var p params
	where := modelConds(f, &p)
	sortCol, desc := sqlstore.ModelSortColumn(f.SortBy), f.Desc()
	order := "ASC"
	if desc {
		order = "DESC"
	}
	var q string
	if hasSubstring(f) {
		q = substringSQL(f, where, sortCol, order, &p)
	} else {
		count := countSQL(f, where, &p)
		skip := f.Skip()
		if f.After != nil {
			where = append(where, afterCond(f, sortCol, "id", &p))
			skip = 0
		}
		lim, off := p.add(f.Limit), p.add(skip)
		q = `SELECT t.n, m.* FROM (` + count + `) AS t(n) LEFT JOIN LATERAL (SELECT ` + sqlstore.SummaryColumns("") +
			` FROM models WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + sortCol + ` ` + order + `, id ` + order +
			` LIMIT ` + lim + ` OFFSET ` + off + `) AS m ON true`
	}
	models := []*modelreg.ModelSummary{}
	var total int
	decoded := sqlstore.NewSummaryDecoder()
	err := tx.query(ctx, func(rows pgx.Rows) error {
		var m, cols modelreg.ModelSummary
		var summary string
		if rows.RawValues()[1] == nil { // no page: the count alone
			return rows.Scan(append([]any{&total}, make([]any, len(sqlstore.SummaryDest(&cols, &summary)))...)...)
		}
		if err := rows.Scan(append([]any{&total}, sqlstore.SummaryDest(&cols, &summary)...)...); err != nil {
			return err
		}
		if err := decoded.Decode(summary, &m); err != nil {
			return err
		}
		sqlstore.SetSummaryColumns(&m, &cols)
		models = append(models, &m)
		return nil
	}, q, p...)
	if err != nil {
		return nil, 0, err
	}
	return models, total, nil
}

func findModels(ctx context.Context, tx *Tx, f modelreg.ModelFilter) ([]*modelreg.ModelSummary, int, error) {
	var p params
	where := modelConds(f, &p)
	sortCol, desc := sqlstore.ModelSortColumn(f.SortBy), f.Desc()
	limit, skip := f.Limit, f.Skip()
	var total int
	c := p // the count by itself: the shards' query does not use where's parameters
	if countsFromShards(f) {
		c = nil
	}
	if err := tx.queryRow(ctx, countSQL(f, where, &c), c...).Scan(&total); err != nil {
		return nil, 0, err
	}
	models := []*modelreg.ModelSummary{}
	if total == 0 || skip >= total {
		return models, total, nil
	}
	reverse := false
	if f.After != nil {
		// Keyset continuation: the rows after the cursor in sort order.
		where = append(where, afterCond(f, sortCol, "id", &p))
		skip = 0
	} else if skip > total/2 {
		// A page past the middle is read from the other end (total is
		// exact: same snapshot).
		reverse, desc = true, !desc
		back := total - skip - limit
		if back < 0 {
			limit += back
			back = 0
		}
		skip = back
	}
	order := "ASC"
	if desc {
		order = "DESC"
	}
	lim, off := p.add(limit), p.add(skip)
	decoded := sqlstore.NewSummaryDecoder()
	err := tx.query(ctx, func(rows pgx.Rows) error {
		var m, cols modelreg.ModelSummary
		var summary string
		if err := rows.Scan(sqlstore.SummaryDest(&cols, &summary)...); err != nil {
			return err
		}
		if err := decoded.Decode(summary, &m); err != nil {
			return err
		}
		sqlstore.SetSummaryColumns(&m, &cols)
		models = append(models, &m)
		return nil
	}, `SELECT `+sqlstore.SummaryColumns("")+` FROM models WHERE `+strings.Join(where, " AND ")+` ORDER BY `+sortCol+` `+order+`, id `+order+` LIMIT `+lim+` OFFSET `+off, p...)
	if err != nil {
		return nil, 0, err
	}
	if reverse {
		slices.Reverse(models)
	}
	return models, total, nil
}

// hasSubstring reports whether f filters by a substring of the name or the
// description.
func hasSubstring(f modelreg.ModelFilter) bool {
	return f.Name != "" && !f.ExactMatch || f.Description != ""
}

// afterCond returns the keyset condition of f.After on the columns key and
// id (of sort column sortCol), its parameters added to p.
func afterCond(f modelreg.ModelFilter, key, id string, p *params) string {
	op := " > "
	if f.Desc() {
		op = " < "
	}
	return "(" + key + ", " + id + ")" + op + "(" + p.add(f.After.Key) + "::bigint, " + p.add(f.After.ID) + "::text)"
}

// substringSQL returns the one statement of a substring search's page and
// count (see findModelsOnce): the matches, collected once by the filter's
// own conditions where (the trigram indexes: the CTE is planned by itself,
// MATERIALIZED), counted, and the page's ids taken from them in sort order
// and joined back to models by primary key.
func substringSQL(f modelreg.ModelFilter, where []string, sortCol, order string, p *params) string {
	page := ""
	skip := f.Skip()
	if f.After != nil {
		page = ` WHERE ` + afterCond(f, "s.k", "s.id", p)
		skip = 0
	}
	lim, off := p.add(f.Limit), p.add(skip)
	return `WITH s AS MATERIALIZED (SELECT id, ` + sortCol + ` AS k FROM models WHERE ` + strings.Join(where, " AND ") + `)
		SELECT t.n, m.* FROM (SELECT count(*)::bigint FROM s) AS t(n) LEFT JOIN LATERAL (
			SELECT ` + sqlstore.SummaryColumns("x.") + ` FROM (SELECT s.id, s.k FROM s` + page +
		` ORDER BY s.k ` + order + `, s.id ` + order + ` LIMIT ` + lim + ` OFFSET ` + off + `) AS pg
			JOIN models x ON x.id = pg.id ORDER BY pg.k ` + order + `, pg.id ` + order + `) AS m ON true`
}

// countsFromShards reports whether the matches of f are counted from the
// model_counts shards.
func countsFromShards(f modelreg.ModelFilter) bool {
	return f.Name == "" && f.Description == "" && f.Version == "" && f.WorkspaceID == ""
}

// countSQL returns a query of the number of models matching f, whose
// conditions are where, with its parameters added to p (which holds
// where's). With no filter but status, type and not-type it sums
// model_counts (exact: the triggers keep it in step with models);
// otherwise it counts the matches.
func countSQL(f modelreg.ModelFilter, where []string, p *params) string {
	if !countsFromShards(f) {
		return `SELECT count(*)::bigint FROM models WHERE ` + strings.Join(where, " AND ")
	}
	q := `SELECT COALESCE(sum(n), 0)::bigint FROM model_counts WHERE project_id = ` + p.add(f.ProjectID)
	if f.Status != "" {
		q += ` AND status = ` + p.add(f.Status)
	}
	if f.Type != "" {
		q += ` AND type = ` + p.add(f.Type)
	}
	if f.NotType != "" {
		q += ` AND type <> ` + p.add(f.NotType)
	}
	return q
}

// FindCascadeSet returns the models a cascade delete of id works on: id
// first, then the other versions of its name oldest first (ties by id), at
// most limit in all (DefaultCascadeLimit when limit < 1), and how many
// versions it left out. Returns ENOTFOUND ModelArts.3001.
func (db *DB) FindCascadeSet(ctx context.Context, projectID, id string, limit int) (modelreg.CascadeSet, error) {
	var set modelreg.CascadeSet
	err := db.view(ctx, "postgres.FindCascadeSet", func(tx *Tx) (err error) {
		set, err = findCascadeSet(ctx, tx, projectID, id, limit)
		return err
	})
	return set, err
}

func findCascadeSet(ctx context.Context, tx *Tx, projectID, id string, limit int) (modelreg.CascadeSet, error) {
	if limit < 1 {
		limit = modelreg.DefaultCascadeLimit
	}
	var name string
	err := tx.queryRow(ctx, `SELECT name FROM models WHERE id = $1 AND project_id = $2`, id, projectID).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return modelreg.CascadeSet{}, modelreg.ModelNotFound(id)
	} else if err != nil {
		return modelreg.CascadeSet{}, err
	}
	others, err := tx.queryStrings(ctx, `SELECT id FROM models WHERE project_id = $1 AND name = $2 AND id <> $3
		ORDER BY create_at, id LIMIT $4`, projectID, name, id, limit-1)
	if err != nil {
		return modelreg.CascadeSet{}, err
	}
	var n int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM models WHERE project_id = $1 AND name = $2 AND id <> $3`,
		projectID, name, id).Scan(&n); err != nil {
		return modelreg.CascadeSet{}, err
	}
	return modelreg.CascadeSet{IDs: append([]string{id}, others...), Remaining: n - len(others)}, nil
}

// DeleteModelBatch deletes the models ids in one transaction and returns
// each model's refusal in its place: a model that is gone, protected or
// deployed is refused, the others are deleted together (deleteModels), or
// with opt.Trash moved into the trash (trashModels). Returns ENOTFOUND
// ModelArts.3001, and deletes nothing, when the first id does not exist,
// and EPRECONDITION ModelReg.0412 when opt.IfMatch does not hold for it. A
// single delete is a batch of one. With opt.DryRun the transaction is
// rolled back after the work: the results are the real ones. queued is the
// number of blob digests the call queued for collection (0 for a preview).
//
// It takes its locks in the global order (see postgres.go): the models'
// rows FOR UPDATE (by id), the queue rows of their digests (by digest),
// then the model_counts rows (by key). Of two concurrent deletes of a model
// the second waits and then finds no row (3001); a CreateService holding
// the row FOR SHARE makes the delete wait and then see its service (3009),
// and one that comes second finds the model gone (3507). SetModelProtection
// locks the row too: a protection committed first is seen (3101).
func (db *DB) DeleteModelBatch(ctx context.Context, projectID string, ids []string, opt modelreg.DeleteOptions) (errs []error, queued int, err error) {
	err = db.update(ctx, "postgres.DeleteModelBatch", func(tx *Tx) (err error) {
		if errs, queued, err = deleteModelBatch(ctx, tx, projectID, ids, opt); err == nil && opt.DryRun {
			return errDryRun
		}
		return err
	})
	if modelreg.ErrorCode(err) == modelreg.EPRECONDITION && !opt.DryRun {
		// A refused delete leaves its event: the refusal changed nothing,
		// so it is written on its own.
		if rerr := db.update(ctx, "postgres.DeleteModelBatch", func(tx *Tx) error {
			return record(ctx, tx, modelreg.DeleteRefusedEvent(ctx, projectID, ids[0], "", "", err))
		}); rerr != nil {
			return nil, 0, rerr
		}
	}
	if errors.Is(err, errDryRun) {
		return errs, 0, nil
	} else if err != nil {
		return nil, 0, err
	}
	return errs, queued, nil
}

// lockCounts locks the model_counts rows the triggers of a change to the
// models ids (a delete, a move to or from the trash) update, in their key
// order: the triggers would take them in the order of the rows, and two
// batches would deadlock on them. One model updates one row: nothing to
// order.
func lockCounts(ctx context.Context, tx *Tx, ids []string) error {
	if len(ids) < 2 {
		return nil
	}
	_, err := tx.exec(ctx, `SELECT 1 FROM model_counts c
		WHERE (c.project_id, c.status, c.type, c.shard) IN (
			SELECT project_id, status, type, hashtext(id) & 15 FROM models WHERE id = ANY($1))
		ORDER BY c.project_id, c.status, c.type, c.shard FOR UPDATE`, ids)
	return err
}

// errDryRun rolls back the transaction of a preview.
var errDryRun = errors.New("dry run: rolled back")

func deleteModelBatch(ctx context.Context, tx *Tx, projectID string, ids []string, opt modelreg.DeleteOptions) ([]error, int, error) {
	var lockedIDs, statuses []string
	var names [][2]string
	err := tx.query(ctx, func(rows pgx.Rows) error {
		var id, status, name, version string
		if err := rows.Scan(&id, &status, &name, &version); err != nil {
			return err
		}
		lockedIDs, statuses = append(lockedIDs, id), append(statuses, status)
		names = append(names, [2]string{name, version})
		return nil
	}, `SELECT id, status, name, version FROM models WHERE id = ANY($1) AND project_id = $2 ORDER BY id FOR UPDATE`, ids, projectID)
	if err != nil {
		return nil, 0, err
	}
	// New statements: they see the protections and services committed
	// before the row locks were granted.
	protected, err := findProtections(ctx, tx, lockedIDs)
	if err != nil {
		return nil, 0, err
	}
	deployed, err := tx.queryStrings(ctx, `SELECT DISTINCT model_id FROM service_models WHERE model_id = ANY($1)`, lockedIDs)
	if err != nil {
		return nil, 0, err
	}
	errs := make([]error, len(ids))
	var gone, trashed []string
	for i, id := range ids {
		j := slices.Index(lockedIDs, id)
		switch {
		case j < 0:
			if i == 0 {
				return nil, 0, modelreg.ModelNotFound(id)
			}
			errs[i] = modelreg.ModelNotFound(id)
		case protected[id] != nil:
			errs[i] = modelreg.ModelProtected(id, *protected[id])
		case slices.Contains(deployed, id):
			errs[i] = modelreg.ModelDeployed(id)
		case opt.Trash > 0 && statuses[j] != modelreg.ModelPublishing:
			trashed = append(trashed, id)
		default:
			gone = append(gone, id)
		}
	}
	if opt.IfMatch != nil {
		m, err := findModelByID(ctx, tx, projectID, ids[0])
		if err != nil {
			return nil, 0, err
		}
		if !modelreg.MatchETag(opt.IfMatch, modelreg.ETag(m)) {
			return nil, 0, modelreg.PreconditionFailed("model " + ids[0])
		}
	}
	for i, id := range ids {
		j := slices.Index(lockedIDs, id)
		if j < 0 {
			continue
		}
		var ev *modelreg.AuditEvent
		if errs[i] != nil {
			ev = modelreg.DeleteRefusedEvent(ctx, projectID, id, names[j][0], names[j][1], errs[i])
		} else {
			ev = modelreg.DeleteEvent(ctx, projectID, id, names[j][0], names[j][1], slices.Contains(trashed, id))
		}
		if err := record(ctx, tx, ev); err != nil {
			return nil, 0, err
		}
	}
	if err := trashModels(ctx, tx, projectID, trashed, opt); err != nil {
		return nil, 0, err
	}
	queued, err := deleteModels(ctx, tx, gone)
	if pgError(err, foreignKeyViolation) != nil && len(ids) == 1 {
		// service_models' ON DELETE RESTRICT: the database's own guard
		// behind the check above. For a batch it fails the whole call.
		return nil, 0, modelreg.ModelDeployed(ids[0])
	}
	return errs, queued, err
}

// deleteModels deletes the models ids, whose rows the caller has locked,
// for good: their files and import jobs go with them (ON DELETE CASCADE),
// their blobs that no other model (live or trashed) references are queued
// for collection (lockModelBlobs, then unqueueReferenced). It is the one
// place a model row is deleted: a delete without the trash, and a purge.
// It returns the number of digests left queued.
func deleteModels(ctx context.Context, tx *Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	digests, err := lockModelBlobs(ctx, tx, ids)
	if err != nil {
		return 0, err
	}
	if err := lockCounts(ctx, tx, ids); err != nil {
		return 0, err
	}
	if _, err = tx.exec(ctx, `DELETE FROM models WHERE id = ANY($1)`, ids); err != nil {
		return 0, err
	}
	if len(digests) == 0 {
		return 0, nil
	}
	var referenced int64
	if referenced, err = unqueueReferencedCount(ctx, tx, digests); err != nil {
		return 0, err
	}
	return len(digests) - int(referenced), nil
}

// FindModelFiles returns the files of a model ordered by path.
// Returns ENOTFOUND ModelArts.3001.
func (db *DB) FindModelFiles(ctx context.Context, projectID, id string) ([]modelreg.ModelFile, error) {
	var files []modelreg.ModelFile
	err := db.read(ctx, "postgres.FindModelFiles", func(tx *Tx) error {
		found := false
		files = []modelreg.ModelFile{}
		err := tx.query(ctx, func(rows pgx.Rows) error {
			var path, digest *string
			var size *int64
			if err := rows.Scan(&path, &digest, &size); err != nil {
				return err
			}
			found = true
			if path != nil {
				files = append(files, modelreg.ModelFile{Path: *path, Digest: *digest, Size: *size})
			}
			return nil
		}, `SELECT f.path, f.digest, f.size FROM models m LEFT JOIN model_files f ON f.model_id = m.id
			WHERE m.id = $1 AND m.project_id = $2 ORDER BY f.path`, id, projectID)
		if err == nil && !found {
			return modelreg.ModelNotFound(id)
		}
		return err
	})
	return files, err
}

// FindModelNames returns the aggregates of the names of f that have a
// matching version, in the order of f.Names: one statement over the
// models_project_name index, the newest version of each name by DISTINCT
// ON, the counts and flags by window aggregates.
func (db *DB) FindModelNames(ctx context.Context, f modelreg.ModelNameFilter) ([]*modelreg.ModelName, error) {
	var p params
	where := modelConds(modelreg.ModelFilter{ProjectID: f.ProjectID, Description: f.Description, Status: f.Status, Type: f.Type}, &p)
	where = append(where, "name = ANY("+p.add(f.Names)+"::text[])")
	q := `SELECT DISTINCT ON (name) ` + sqlstore.SummaryColumns("") + `,
			count(*) OVER w,
			bool_or(EXISTS (SELECT 1 FROM service_models s WHERE s.model_id = models.id)) OVER w,
			bool_or(COALESCE((SELECT protected FROM model_protection x WHERE x.model_id = models.id), false)) OVER w
		FROM models WHERE ` + strings.Join(where, " AND ") + `
		WINDOW w AS (PARTITION BY name)
		ORDER BY name, create_at DESC, id DESC`
	got := map[string]*modelreg.ModelName{}
	err := db.read(ctx, "postgres.FindModelNames", func(tx *Tx) error {
		return tx.query(ctx, func(rows pgx.Rows) error {
			var m, cols modelreg.ModelSummary
			var summary string
			var a modelreg.ModelName
			var n int64
			if err := rows.Scan(append(sqlstore.SummaryDest(&cols, &summary), &n, &a.Deployed, &a.Protected)...); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(summary), &m); err != nil {
				return err
			}
			sqlstore.SetSummaryColumns(&m, &cols)
			a.Name, a.Newest, a.VersionCount = m.Name, &m, int(n)
			got[m.Name] = &a
			return nil
		}, q, p...)
	})
	if err != nil {
		return nil, err
	}
	return sqlstore.NameAggregates(f.Names, got), nil
}
